// Proof with real Redis: redis-server processes on loopback started with exactly the argv Pebble
// would make from the generated layer, in the working directory the layer names, with the files
// the certificate plan and the secrets file say.
#include <redispebble/redis.hpp>

#include <redispebble/shlex.hpp>
#include <redispebble/testing/process.hpp>

#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::run_command;
using redispebble::test::temp_dir;

namespace {

using tls_material = test::test_certificates;
using test::has;

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
                                 const std::string& password, secret_mode mode, const tls_material* tls = nullptr,
                                 tls_client_auth auth = tls_client_auth::optional) {
    auto u = std::make_unique<unit>();
    u->cfg.tls_auth_clients = auth;
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

test::command_result cli(const cli_target& t, const std::optional<std::string>& password, std::vector<std::string> args) {
    return test::redis_cli(t.ip, t.port, password, args, t.tls ? t.tls->dir : "");
}

bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds timeout) { return test::eventually(ok, timeout); }

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
    const tls_material tls = test::make_test_certificates(certs_dir.path);
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

// Issue 8, point 3: tls-auth-clients, with real redis-cli. Redis documents: `yes` (its default)
// requires a client certificate signed by the CA, `optional` accepts a client without one but
// checks one that is presented, `no` asks for none.
TEST_CASE("tls-auth-clients decides whether redis-cli needs a client certificate and replication over TLS works", "[redis-server][tls]") {
    temp_dir certs_dir;
    const tls_material tls = test::make_test_certificates(certs_dir.path);
    test::make_foreign_certificate(certs_dir.path);
    const std::string pw = "tls-auth-Pass";
    for (auto auth : {tls_client_auth::yes, tls_client_auth::optional, tls_client_auth::no}) {
        INFO("tls-auth-clients " << to_string(auth));
        temp_dir master_dir, replica_dir;
        const int port = testing::free_tcp_port();
        auto master = start_unit(master_dir.path, "127.0.0.2", port, "127.0.0.2", pw, secret_mode::config_file, &tls, auth);
        auto replica = start_unit(replica_dir.path, "127.0.0.3", port, "127.0.0.2", pw, secret_mode::config_file, &tls, auth);
        CHECK(std::find(master->argv.begin(), master->argv.end(), std::string(to_string(auth))) != master->argv.end());
        const cli_target m{"127.0.0.2", port, &tls}, r{"127.0.0.3", port, &tls};
        require_up(*master, m, pw);  // with the client certificate signed by the CA: always served
        require_up(*replica, r, pw);

        // `redis-cli --tls --cacert ca.crt ping`: no client certificate.
        auto bare = test::redis_cli("127.0.0.2", port, pw, {"PING"}, tls.dir, "");
        INFO("without a client certificate: " << bare.out << bare.err);
        CHECK(has(bare.out, "PONG") == (auth != tls_client_auth::yes));
        // A certificate from another CA.
        auto foreign = test::redis_cli("127.0.0.2", port, pw, {"PING"}, tls.dir, "foreign-cert.pem", "foreign-key.pem");
        INFO("with a foreign client certificate: " << foreign.out << foreign.err);
        CHECK(has(foreign.out, "PONG") == (auth == tls_client_auth::no));

        // Replication over TLS: the replica presents its certificate to the master.
        const bool linked =
            wait_until([&] { return has(cli(r, pw, {"INFO", "replication"}).out, "master_link_status:up"); }, 15s);
        INFO("replica output: " << replica->process->output());
        CHECK(linked);
        CHECK(has(cli(m, pw, {"SET", "k", "auth-" + std::string(to_string(auth))}).out, "OK"));
        CHECK(wait_until([&] { return has(cli(r, pw, {"GET", "k"}).out, "auth-" + std::string(to_string(auth))); }, 5s));
    }
}
