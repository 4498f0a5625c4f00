// Proof with real Redis: redis-server processes on loopback started with exactly the argv Pebble
// would make from the generated layer, in the working directory the layer names, with the files
// the certificate plan and the secrets file say.
#include <redispebble/redis.hpp>

#include <redispebble/shlex.hpp>
#include <redispebble/testing/process.hpp>

#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::run_command;
using redispebble::test::temp_dir;

namespace {

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

struct tls_material {
    std::map<std::string, secret> resources;  // the charm's resources, by resource name
    std::string dir;                          // where the client's copies are
};

// A CA and one certificate for both units (SANs 127.0.0.2 and 127.0.0.3), made by openssl. The
// files get other names than the ones Redis reads, as Juju's resources do.
tls_material make_certificates(const std::string& dir) {
    const std::string script =
        "set -e; cd '" + dir + "';"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj /CN=test-ca 2>/dev/null;"
        "openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=redis 2>/dev/null;"
        "printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3\\n' > san.ext;"
        "openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem "
        "-days 2 -extfile san.ext 2>/dev/null";
    auto r = run_command({"/bin/sh", "-c", script}, {}, {}, 60s);
    REQUIRE(r.exit_code == 0);
    tls_material m;
    m.dir = dir;
    m.resources["cert-file"] = secret(redispebble::test::read_file(dir + "/server-cert.pem"));
    m.resources["key-file"] = secret(redispebble::test::read_file(dir + "/server-key.pem"));
    m.resources["ca-cert-file"] = secret(redispebble::test::read_file(dir + "/ca-cert.pem"));
    return m;
}

void write_file(const file_spec& f) {
    std::filesystem::create_directories(std::filesystem::path(f.path).parent_path());
    std::ofstream out(f.path, std::ios::binary);
    out << f.content.reveal();
    REQUIRE(out.good());
    std::filesystem::permissions(f.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// One unit: what the reconciler would have pushed, and redis-server as Pebble would start it.
struct unit {
    redis_config cfg;
    peer_data peer;
    std::unique_ptr<testing::child_process> process;
    std::vector<std::string> argv;
};

std::unique_ptr<unit> start_unit(const std::string& storage, const std::string& ip, int port, const std::string& master,
                                 const std::string& password, secret_mode mode, const tls_material* tls = nullptr) {
    auto u = std::make_unique<unit>();
    u->cfg.storage_path = storage;
    u->cfg.port = static_cast<std::uint16_t>(port);
    u->cfg.bind_address = ip;
    u->cfg.secrets = mode;
    u->cfg.enable_tls = tls != nullptr;
    u->peer = {secret(password), master, ip};
    std::vector<file_spec> certs;
    if (tls) {
        auto plan = certificate_plan(u->cfg, tls->resources);
        REQUIRE(plan.complete());
        certs = plan.files;
    }
    for (const auto& f : certs) write_file(f);
    if (auto s = secrets_file(u->cfg, u->peer)) write_file(*s);
    const layer l = make_layer(u->cfg, u->peer, certs);
    const service& svc = l.services.at("redis");
    const parsed_command cmd = parse_service_command(*svc.command);
    u->argv = cmd.base;
    testing::process_options opts;
    opts.argv = cmd.base;
    opts.working_dir = *svc.working_dir;
    opts.environment = svc.environment;
    u->process = std::make_unique<testing::child_process>(opts);
    return u;
}

struct cli_target {
    std::string ip;
    int port;
    const tls_material* tls = nullptr;
};

// redis-cli with the password in REDISCLI_AUTH (never in argv).
test::command_result cli(const cli_target& t, const std::optional<std::string>& password, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/redis-cli", "-h", t.ip, "-p", std::to_string(t.port), "--no-auth-warning"};
    if (t.tls) {
        for (std::string a : std::vector<std::string>{"--tls", "--cacert", t.tls->dir + "/ca-cert.pem", "--cert",
                                                      t.tls->dir + "/server-cert.pem", "--key", t.tls->dir + "/server-key.pem"})
            argv.push_back(a);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    std::map<std::string, std::string> env;
    if (password) env["REDISCLI_AUTH"] = *password;
    return run_command(argv, {}, env, 10s);
}

bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (ok()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return ok();
}

void require_up(unit& u, const cli_target& t, const std::string& password) {
    const bool up = wait_until([&] { return has(cli(t, password, {"PING"}).out, "PONG"); }, 10s);
    INFO("redis-server output: " << u.process->output());
    REQUIRE(up);
}

} // namespace

TEST_CASE("A master and a replica replicate with password authentication through masterauth", "[redis-server]") {
    temp_dir master_dir, replica_dir;
    const int port = testing::free_tcp_port();
    const std::string pw = "r3plication-Pass";
    // Two units on two loopback addresses and the same port, as two pods would be.
    auto master = start_unit(master_dir.path, "127.0.0.2", port, "127.0.0.2", pw, secret_mode::config_file);
    auto replica = start_unit(replica_dir.path, "127.0.0.3", port, "127.0.0.2", pw, secret_mode::config_file);
    const cli_target m{"127.0.0.2", port}, r{"127.0.0.3", port};
    require_up(*master, m, pw);
    require_up(*replica, r, pw);

    // Neither argv holds the password.
    for (const auto& w : master->argv) CHECK_FALSE(has(w, pw));
    for (const auto& w : replica->argv) CHECK_FALSE(has(w, pw));

    const bool linked = wait_until([&] { return has(cli(r, pw, {"INFO", "replication"}).out, "master_link_status:up"); }, 15s);
    INFO("replica output: " << replica->process->output());
    REQUIRE(linked);
    CHECK(has(cli(m, pw, {"INFO", "replication"}).out, "connected_slaves:1"));
    CHECK(has(cli(r, pw, {"INFO", "replication"}).out, "role:slave"));

    CHECK(has(cli(m, pw, {"SET", "greeting", "hello"}).out, "OK"));
    CHECK(wait_until([&] { return has(cli(r, pw, {"GET", "greeting"}).out, "hello"); }, 5s));
}

TEST_CASE("A wrong password is refused and the right one accepted", "[redis-server]") {
    temp_dir dir;
    const int port = testing::free_tcp_port();
    auto u = start_unit(dir.path, "127.0.0.1", port, "127.0.0.1", "right-password", secret_mode::config_file);
    const cli_target t{"127.0.0.1", port};
    require_up(*u, t, "right-password");
    auto wrong = cli(t, std::string("wrong-password"), {"PING"});
    CHECK(has(wrong.out + wrong.err, "WRONGPASS"));
    auto none = cli(t, std::nullopt, {"PING"});
    CHECK(has(none.out + none.err, "NOAUTH"));
    CHECK(has(cli(t, std::string("right-password"), {"PING"}).out, "PONG"));
    // The master is a master: no replicaof for the current master.
    CHECK(has(cli(t, std::string("right-password"), {"INFO", "replication"}).out, "role:master"));
}

TEST_CASE("Awkward passwords work in both secret modes", "[redis-server]") {
    // Spaces, both quotes, $, a backslash, #, non-ASCII UTF-8, brackets and braces.
    const std::string pw = "p a\"s's$w\\ord#\xc3\xa9 [x] {y}";
    for (auto mode : {secret_mode::config_file, secret_mode::command_line}) {
        INFO("mode " << to_string(mode));
        temp_dir dir;
        const int port = testing::free_tcp_port();
        auto u = start_unit(dir.path, "127.0.0.1", port, "127.0.0.1", pw, mode);
        const cli_target t{"127.0.0.1", port};
        require_up(*u, t, pw);
        CHECK(has(cli(t, pw, {"PING"}).out, "PONG"));
        CHECK(has(cli(t, pw + "x", {"PING"}).out + cli(t, pw + "x", {"PING"}).err, "WRONGPASS"));
        // Redis holds exactly these bytes for both directives (redis-cli prints raw when not a tty).
        CHECK(cli(t, pw, {"CONFIG", "GET", "requirepass"}).out == "requirepass\n" + pw + "\n");
        CHECK(cli(t, pw, {"CONFIG", "GET", "masterauth"}).out == "masterauth\n" + pw + "\n");
        const bool in_argv = std::find(u->argv.begin(), u->argv.end(), pw) != u->argv.end();
        CHECK(in_argv == (mode == secret_mode::command_line));
    }
}

TEST_CASE("TLS with certificates made by openssl serves TLS only and replicates over TLS", "[redis-server]") {
    temp_dir certs_dir, master_dir, replica_dir;
    const tls_material tls = make_certificates(certs_dir.path);
    const int port = testing::free_tcp_port();
    const std::string pw = "tls-Pass";
    auto master = start_unit(master_dir.path, "127.0.0.2", port, "127.0.0.2", pw, secret_mode::config_file, &tls);
    auto replica = start_unit(replica_dir.path, "127.0.0.3", port, "127.0.0.2", pw, secret_mode::config_file, &tls);
    // The certificates sit under the names the flags use.
    for (auto name : {"redis.crt", "redis.key", "ca.crt"})
        CHECK(std::filesystem::exists(std::filesystem::path(master_dir.path) / name));
    const cli_target m{"127.0.0.2", port, &tls}, r{"127.0.0.3", port, &tls};
    require_up(*master, m, pw);
    require_up(*replica, r, pw);
    // Plain TCP on the same port gets no answer: --port 0 turned the plain port off.
    auto plain = cli({"127.0.0.2", port}, pw, {"PING"});
    CHECK_FALSE(has(plain.out, "PONG"));
    const bool linked = wait_until([&] { return has(cli(r, pw, {"INFO", "replication"}).out, "master_link_status:up"); }, 15s);
    INFO("replica output: " << replica->process->output());
    CHECK(linked);
    CHECK(has(cli(m, pw, {"SET", "k", "over-tls"}).out, "OK"));
    CHECK(wait_until([&] { return has(cli(r, pw, {"GET", "k"}).out, "over-tls"); }, 5s));
}
