// End to end: the reconciler drives a Pebble that runs real redis-server processes.
// Each scenario runs against every backend available: a real `pebble` when PEBBLE_BIN names one
// (skipped otherwise), and redispebble::testing::pebble_server when it is built.
// Over 600 lines: the backends (real Pebble with its layers directory, the test server) are this
// file's own fixtures; the companions' scenarios already live in test_companions.cpp. The layers
// scenarios (issue 8) are the part to move out next, once the backends are in tests/support.
#include <redispebble/reconciler.hpp>

#include "support/pebble_daemon.hpp"
#include "support/reconcile_run.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#if __has_include(<redispebble/testing/server.hpp>)
#include <redispebble/testing/server.hpp>
#define REDISPEBBLE_HAVE_TEST_SERVER 1
#endif

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::run_command;
using redispebble::test::temp_dir;

namespace {

using test::describe;
using test::eventually;
using test::has;
using test::unit_inputs;

// One reconcile of `d` through the Pebble on `socket`.
reconcile_report run(const std::string& socket, const desired_state& d, probe_options probe = {}) {
    return test::reconcile_at(socket, d, probe);
}

// One Pebble to reconcile against.
struct backend {
    virtual ~backend() = default;
    virtual std::string socket_path() = 0;
    virtual std::string name() = 0;
    /// What the daemon keeps on disk and prints (real Pebble: its state file and output).
    virtual std::string kept_text() { return ""; }
};

// Layer files under $PEBBLE/layers that Pebble reads at start-up: relative path -> YAML.
using layer_files = std::map<std::string, std::string>;

struct real_pebble : backend {
    test::pebble_daemon daemon;
    explicit real_pebble(const std::string& bin, const layer_files& layers = {}) : daemon(bin, layers) {}
    std::string socket_path() override { return daemon.socket_path(); }
    std::string name() override { return "real pebble"; }
    std::string kept_text() override {
        std::ifstream in(daemon.state_dir() + "/.pebble.state", std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str() + daemon.output();
    }
};

#ifdef REDISPEBBLE_HAVE_TEST_SERVER
struct test_server : backend {
    temp_dir pebble_dir;  // $PEBBLE: holds layers/
    testing::pebble_server server;
    explicit test_server(const layer_files& layers = {}) : server(options(pebble_dir, layers)) {}
    static testing::server_options options() {
        testing::server_options o;
        o.start_window = std::chrono::milliseconds(300);
        return o;
    }
    static testing::server_options options(const temp_dir& dir, const layer_files& layers) {
        testing::server_options o = options();
        for (const auto& [name, yaml] : layers) {
            const auto path = std::filesystem::path(dir.path) / "layers" / name;
            std::filesystem::create_directories(path.parent_path());
            std::ofstream(path) << yaml;
        }
        o.layers_dir = dir.path + "/layers";
        return o;
    }
    std::string socket_path() override { return server.socket_path(); }
    std::string name() override { return "test server"; }
};
#endif

using backend_factory = std::function<std::unique_ptr<backend>()>;

std::vector<std::pair<std::string, backend_factory>> backends(const layer_files& layers = {}) {
    std::vector<std::pair<std::string, backend_factory>> out;
#ifdef REDISPEBBLE_HAVE_TEST_SERVER
    out.emplace_back("test server", [layers] { return std::make_unique<test_server>(layers); });
#endif
    if (auto bin = test::pebble_bin())
        out.emplace_back("real pebble", [b = *bin, layers] { return std::make_unique<real_pebble>(b, layers); });
    else
        WARN("PEBBLE_BIN is not set: the real-Pebble runs of this scenario are skipped");
    return out;
}

test::command_result cli(const std::string& ip, int port, const std::optional<std::string>& password,
                         std::vector<std::string> args, const std::string& tls_dir = "") {
    return test::redis_cli(ip, port, password, args, tls_dir);
}

// Runs `scenario` on each backend (INFO names it): a fresh Pebble, with `layers` in its layers
// directory, and a fresh unit on 127.0.0.1 whose admin password is `password`.
void on_each_backend(const std::string& password, const std::function<void(backend&, test::redis_unit&)>& scenario,
                     const layer_files& layers = {}) {
    for (auto& [name, make] : backends(layers)) {
        INFO("backend: " << name);
        auto pebble = make();
        test::redis_unit u(password);
        scenario(*pebble, u);
    }
}

// A master unit on 127.0.0.2 and a replica unit on 127.0.0.3, on the same port, each with its own
// Pebble (from `make`) and storage root; each unit's password as given.
struct replication_pair {
    std::unique_ptr<backend> pebble_m, pebble_r;
    temp_dir root_m, root_r;
    int port = testing::free_tcp_port();
    desired_state master, replica;
    replication_pair(const backend_factory& make, const std::string& master_password,
                     const std::string& replica_password)
        : pebble_m(make()), pebble_r(make()) {
        for (auto* r : {&root_m, &root_r}) std::filesystem::permissions(r->path, std::filesystem::perms(0755));
        master = unit_inputs(root_m.path, "127.0.0.2", port, "127.0.0.2", master_password);
        replica = unit_inputs(root_r.path, "127.0.0.3", port, "127.0.0.2", replica_password);
    }
};

// The same through async_reconcile on an io_context (the driver's coroutine path).
reconcile_report run_async(const std::string& socket, const desired_state& d, probe_options probe = {}) {
    boost::asio::io_context io;
    pebble::client_options o;
    o.socket_path = socket;
    o.request_timeout = 10s;
    pebble::client c(io, o);
    reconcile_options ro;
    ro.deadline = 30s;
    ro.probe = probe;
    reconcile_report out;
    async_reconcile(c, d, ro, [&](pebble::error_code, reconcile_report r) { out = std::move(r); });
    io.run();
    return out;
}

// The owner of `path` as names.
std::pair<std::string, std::string> owner_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    const passwd* pw = ::getpwuid(st.st_uid);
    const group* gr = ::getgrgid(st.st_gid);
    return {pw ? pw->pw_name : std::to_string(st.st_uid), gr ? gr->gr_name : std::to_string(st.st_gid)};
}

} // namespace

TEST_CASE("A fresh unit becomes Active and reconciling again restarts nothing and a new password restarts Redis", "[e2e]") {
    on_each_backend("first-Password", [](backend& pebble, test::redis_unit& u) {
        auto& inputs = u.inputs;

        auto first = run(pebble.socket_path(), inputs);
        INFO(describe(first));
        REQUIRE(first.status == unit_status::active);
        CHECK(first.restarts() == 1);
        CHECK(first.writes() == 4);  // the storage directory, the secrets file, the ready check's client-auth file, the layer
        CHECK(first.redis_state == "role master");
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "first-Password", {"PING"}).out, "PONG"); }));
        CHECK(has(cli("127.0.0.1", u.port, std::nullopt, {"PING"}).out, "NOAUTH"));

        // The password is nowhere in Pebble's plan, nor in any change, task or log line the
        // reconcile left (the probe's exec included), nor in what Pebble keeps on disk.
        pebble::client_options o;
        o.socket_path = pebble.socket_path();
        pebble::client c(o);
        CHECK_FALSE(has(c.plan(), "first-Password"));
        std::string seen;
        for (const auto& ch : c.changes({"all", ""})) {
            seen += ch.summary + ch.err + ch.data;
            for (const auto& t : ch.tasks) {
                seen += t.summary;
                for (const auto& l : t.log) seen += l;
            }
        }
        for (const auto& l : c.logs({{}, -1})) seen += l.message;
        CHECK(has(seen, "Execute command \"redis-cli\""));
        CHECK_FALSE(has(seen + pebble.kept_text(), "first-Password"));

        auto second = run(pebble.socket_path(), inputs);
        INFO(describe(second));
        CHECK(second.status == unit_status::active);
        CHECK(second.restarts() == 0);
        CHECK(second.writes() == 0);
        CHECK(second.actions_done.empty());

        inputs.peer.admin_password = secret("second-Password");
        auto third = run(pebble.socket_path(), inputs);
        INFO(describe(third));
        CHECK(third.status == unit_status::active);
        CHECK(third.restarts() == 1);
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "second-Password", {"PING"}).out, "PONG"); }));
        auto old = cli("127.0.0.1", u.port, "first-Password", {"PING"});
        CHECK(has(old.out + old.err, "WRONGPASS"));
    });
}

TEST_CASE("A master unit and a replica unit replicate through their own Pebbles", "[e2e]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        replication_pair u(make, "shared-Pass", "shared-Pass");
        auto rm = run(u.pebble_m->socket_path(), u.master);
        auto rr = run(u.pebble_r->socket_path(), u.replica);
        INFO(describe(rm) << " / " << describe(rr));
        REQUIRE(rm.status == unit_status::active);
        REQUIRE(rr.status == unit_status::active);  // the probe saw master_link_status:up
        CHECK(has(rr.redis_state, "link up"));
        CHECK(eventually([&] {
            return has(cli("127.0.0.3", u.port, "shared-Pass", {"INFO", "replication"}).out, "master_link_status:up");
        }, 15s));
        CHECK(has(cli("127.0.0.2", u.port, "shared-Pass", {"SET", "k", "v"}).out, "OK"));
        CHECK(eventually([&] { return has(cli("127.0.0.3", u.port, "shared-Pass", {"GET", "k"}).out, "v"); }));
    }
}

TEST_CASE("TLS units use the pushed certificates and a missing one is Blocked", "[e2e]") {
    on_each_backend("tls-Pass", [](backend& pebble, test::redis_unit& u) {
        temp_dir certs;
        auto& inputs = u.inputs;
        const auto tls = test::make_test_certificates(certs.path);
        inputs.config.enable_tls = true;
        inputs.resources["cert-file"] = tls.resources.at("cert-file");
        inputs.resources["ca-cert-file"] = tls.resources.at("ca-cert-file");

        auto blocked = run(pebble.socket_path(), inputs);
        CHECK(blocked.status == unit_status::blocked);
        CHECK(blocked.message == "Not enough certificates found");
        CHECK(blocked.actions_done.empty());

        inputs.resources["key-file"] = tls.resources.at("key-file");
        auto r = run(pebble.socket_path(), inputs);
        INFO(describe(r));
        REQUIRE(r.status == unit_status::active);
        CHECK(r.writes() == 7);  // storage directory, secrets file, client-auth file, three certificates, the layer
        for (auto f : {"redis.crt", "redis.key", "ca.crt"})
            CHECK(std::filesystem::exists(inputs.config.storage_path + "/" + f));
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "tls-Pass", {"PING"}, certs.path).out, "PONG"); }));
    });
}

TEST_CASE("Redis that cannot start is Blocked with its output and no password", "[e2e]") {
    on_each_backend("secret-Pass", [](backend& pebble, test::redis_unit& u) {
        auto& inputs = u.inputs;
        // Something already listens on the port: redis-server exits at once.
        testing::child_process squatter({{"redis-server", "--port", std::to_string(u.port), "--bind", "127.0.0.1", "--save",
                                          "", "--appendonly", "no"}, {}, u.root.path, {}, {}, ""});
        REQUIRE(testing::wait_for_tcp(u.port, 5s));
        auto r = run(pebble.socket_path(), inputs);
        INFO(describe(r));
        CHECK(r.status == unit_status::blocked);
        CHECK(has(r.message, "failed to start"));
        CHECK(has(r.message, "Address already in use"));
        CHECK_FALSE(has(r.message, "secret-Pass"));
        CHECK(r.retry_later);
        CHECK(r.failed_step);
        // Unchanged inputs: Pebble keeps the service in backoff, and the reason stays in the report.
        for (int i = 0; i < 2; ++i) {
            auto again = i == 0 ? run(pebble.socket_path(), inputs) : run_async(pebble.socket_path(), inputs);
            INFO(describe(again));
            CHECK(again.status == unit_status::blocked);
            CHECK(has(again.message, "Address already in use"));
            CHECK_FALSE(has(again.message, "secret-Pass"));
            CHECK(again.restarts() == 0);
            CHECK(again.writes() == 0);
        }
    });
}

TEST_CASE("An existing root-owned storage directory is given to the service user so SAVE works and data survives a restart", "[e2e][storage]") {
    for (auto& [name, make] : backends()) {
        for (auto mode : {secret_mode::config_file, secret_mode::command_line}) {
            INFO("backend: " << name << ", secrets mode " << (mode == secret_mode::config_file ? "config-file" : "command-line"));
            auto pebble = make();
            test::redis_unit u("vol-Pass");
            auto& inputs = u.inputs;
            // An attached volume: an existing directory owned by root, mode 755, with a file in it.
            const std::string storage = u.root.path + "/storage";
            std::filesystem::create_directory(storage);
            std::filesystem::permissions(storage, std::filesystem::perms(0755));
            { std::ofstream(storage + "/lost+found.txt") << "x"; }
            REQUIRE(owner_of(storage).first == "root");
            inputs.config.secrets = mode;
            inputs.config.user = "nobody";
            inputs.config.group = "nogroup";
            auto r = mode == secret_mode::config_file ? run(pebble->socket_path(), inputs)
                                                      : run_async(pebble->socket_path(), inputs);
            INFO(describe(r));
            REQUIRE(r.status == unit_status::active);
            CHECK(owner_of(storage) == std::pair<std::string, std::string>{"nobody", "nogroup"});
            CHECK(owner_of(storage + "/lost+found.txt").first == "nobody");  // recursive: see docs/reconcile.md
            CHECK(has(cli("127.0.0.1", u.port, "vol-Pass", {"SET", "kept", "yes"}).out, "OK"));
            CHECK(has(cli("127.0.0.1", u.port, "vol-Pass", {"SAVE"}).out, "OK"));
            CHECK(std::filesystem::exists(storage + "/dump.rdb"));

            // In sync: nothing written, nothing restarted.
            auto again = run(pebble->socket_path(), inputs);
            INFO(describe(again));
            CHECK(again.status == unit_status::active);
            CHECK(again.writes() == 0);
            CHECK(again.restarts() == 0);

            // Redis restarted: the key written before is there after.
            pebble::client_options o;
            o.socket_path = pebble->socket_path();
            pebble::client c(o);
            auto id = c.restart({{"redis"}});
            CHECK_FALSE(c.wait_change(id, {20s, false}).failed());
            CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "vol-Pass", {"GET", "kept"}).out, "yes"); }));
        }
    }
}

// Found by trying issue 8 from outside (the breaker's run): an attached volume reached through a
// symbolic link. `chown -R` without -H re-owned the link, never the directory: every apply re-ran
// the chown and restarted Redis, which could not open its AOF directory.
TEST_CASE("A storage path that is a symbolic link to a root-owned directory ends owned by redis and SAVE works", "[e2e][storage]") {
    on_each_backend("link-Pw", [](backend& pebble, test::redis_unit& u) {
        auto& inputs = u.inputs;
        const std::string target = u.root.path + "/volume";
        const std::string link = u.root.path + "/storage";
        std::filesystem::create_directory(target);
        std::filesystem::permissions(target, std::filesystem::perms(0755));  // root 755
        std::filesystem::create_directory_symlink(target, link);
        REQUIRE(inputs.config.storage_path == link);

        auto first = run(pebble.socket_path(), inputs);
        INFO(describe(first));
        CHECK(first.status == unit_status::active);
        CHECK(owner_of(target) == std::pair<std::string, std::string>{"redis", "redis"});
        CHECK(std::filesystem::is_symlink(link));
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "link-Pw", {"SAVE"}).out, "OK"); }, 15s));
        auto second = run(pebble.socket_path(), inputs);
        INFO(describe(second));
        CHECK(second.status == unit_status::active);
        CHECK(second.decided.no_op());  // zero writes: not a chown on every apply
        CHECK(second.writes() == 0);
        CHECK(second.restarts() == 0);
    });
}

TEST_CASE("With secrets on the command line a missing storage path is made and Redis starts in it", "[e2e][storage]") {
    on_each_backend("cl-Pass", [](backend& pebble, test::redis_unit& u) {
        auto& inputs = u.inputs;
        inputs.config.storage_path = u.root.path + "/volumes/redis";  // two levels missing
        inputs.config.secrets = secret_mode::command_line;
        auto r = run_async(pebble.socket_path(), inputs);
        INFO(describe(r));
        REQUIRE(r.status == unit_status::active);
        CHECK(r.actions_done.front() == "made directory " + inputs.config.storage_path + " (redis:redis, 750)");
        CHECK(owner_of(inputs.config.storage_path) == std::pair<std::string, std::string>{"redis", "redis"});
        CHECK(has(cli("127.0.0.1", u.port, "cl-Pass", {"SAVE"}).out, "OK"));
        auto again = run(pebble.socket_path(), inputs);
        CHECK(again.writes() == 0);
        CHECK(again.restarts() == 0);
    });
}

TEST_CASE("A replica with a wrong masterauth is Waiting naming its master then Blocked with Redis's reason", "[e2e][probe]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        // The replica's peer data carries another password: its masterauth is wrong for this master.
        replication_pair u(make, "master-Pass", "other-Pass");
        REQUIRE(run(u.pebble_m->socket_path(), u.master).status == unit_status::active);
        probe_options patient;
        patient.link_bound = 3600s;
        patient.settle = 1s;
        auto waiting = run(u.pebble_r->socket_path(), u.replica, patient);
        INFO(describe(waiting));
        CHECK(waiting.status == unit_status::waiting);
        CHECK(has(waiting.message, "Replica of 127.0.0.2:" + std::to_string(u.port) + ": link to the master is down"));
        CHECK(waiting.restarts() == 1);

        probe_options bounded;
        bounded.link_bound = 1s;
        reconcile_report blocked;
        CHECK(eventually([&] {
            blocked = run_async(u.pebble_r->socket_path(), u.replica, bounded);
            return blocked.status == unit_status::blocked && has(blocked.message, "WRONGPASS");
        }, 15s));
        INFO(describe(blocked));
        CHECK(has(blocked.message, "Replica of 127.0.0.2:" + std::to_string(u.port) + " cannot sync with its master"));
        CHECK(blocked.restarts() == 0);
        CHECK(blocked.writes() == 0);
        for (const auto* pw : {"master-Pass", "other-Pass"}) CHECK_FALSE(has(blocked.message, pw));
    }
}

TEST_CASE("Pebble absent is Waiting and a restarted Pebble converges on the next reconcile", "[e2e]") {
    {
        temp_dir dir;
        auto r = run(dir.path + "/no.socket", unit_inputs(dir.path, "127.0.0.1", 6379, "127.0.0.1", "pw"));
        CHECK(r.status == unit_status::waiting);
        CHECK(r.message == "Waiting for Pebble in workload container");
        CHECK(r.retry_later);
    }
    if (auto bin = test::pebble_bin()) {
        test::pebble_daemon daemon(*bin);
        test::redis_unit u("restart-Pass");
        auto& inputs = u.inputs;
        REQUIRE(run(daemon.socket_path(), inputs).status == unit_status::active);
        daemon.stop();  // the container restarts: Redis stops, the layer is lost
        CHECK(run(daemon.socket_path(), inputs).status == unit_status::waiting);
        daemon.start();
        auto again = run(daemon.socket_path(), inputs);
        INFO(describe(again));
        CHECK(again.status == unit_status::active);
        CHECK(again.restarts() == 1);
        CHECK(again.writes() == 1);  // the layer only: the secrets file survived on disk
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "restart-Pass", {"PING"}).out, "PONG"); }));
    } else {
        WARN("PEBBLE_BIN is not set: the restarted-Pebble scenario runs against the test server only");
    }
#ifdef REDISPEBBLE_HAVE_TEST_SERVER
    {
        testing::pebble_server server(test_server::options());
        test::redis_unit u("restart-Pass");
        auto& inputs = u.inputs;
        REQUIRE(run(server.socket_path(), inputs).status == unit_status::active);
        CHECK(server.record().starts.at("redis") == 1);
        server.restart_daemon();  // services stopped, layers lost, changes kept
        CHECK(server.plan_yaml() == "{}\n");
        auto again = run(server.socket_path(), inputs);
        INFO(describe(again));
        CHECK(again.status == unit_status::active);
        CHECK(again.writes() == 1);
        CHECK(server.record().starts.at("redis") == 2);
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "restart-Pass", {"PING"}).out, "PONG"); }));
        // Connection faults in the middle of a reconcile never escape as exceptions.
        server.inject(testing::fault::close_mid_response, 1);
        auto faulty = run(server.socket_path(), inputs);
        CHECK((faulty.status == unit_status::waiting || faulty.status == unit_status::active));
        server.inject(testing::fault::refuse);
        CHECK(run(server.socket_path(), inputs).status == unit_status::waiting);
        server.clear_faults();
        auto healed = run(server.socket_path(), inputs);
        CHECK(healed.status == unit_status::active);
        CHECK(healed.restarts() == 0);
    }
#endif
    if (false) {
        WARN("PEBBLE_BIN is not set: the restarted-Pebble scenario is skipped");
    }
}

#ifdef REDISPEBBLE_HAVE_TEST_SERVER
TEST_CASE("With retry_backoff a reconcile waits for Pebble to appear and then converges", "[e2e]") {
    temp_dir root;
    const std::string socket = root.path + "/late.socket";
    auto inputs = unit_inputs(root.path, "127.0.0.1", 6379, "127.0.0.1", "late-Pass");
    std::unique_ptr<testing::pebble_server> late;
    std::thread starter([&] {
        std::this_thread::sleep_for(400ms);
        testing::server_options o;
        o.socket_path = socket;
        o.run_processes = false;
        o.start_window = 50ms;
        late = std::make_unique<testing::pebble_server>(o);
    });
    pebble::client_options co;
    co.socket_path = socket;
    pebble::client c(co);
    reconcile_options ro;
    ro.deadline = 20s;
    ro.retry_backoff = 100ms;
    ro.probe.enabled = false;  // run_processes = false: there is no Redis to ask
    auto r = reconcile(c, inputs, ro);
    starter.join();
    INFO(describe(r));
    CHECK(r.status == unit_status::active);
    CHECK(r.attempts > 1);
    CHECK(r.restarts() == 1);
    // Without a backoff there is one attempt only, and the caller is told to come back.
    temp_dir other;
    pebble::client_options co2;
    co2.socket_path = other.path + "/absent.socket";
    pebble::client c2(co2);
    reconcile_options ro2;
    ro2.probe.enabled = false;
    auto once = reconcile(c2, inputs, ro2);
    CHECK(once.attempts == 1);
    CHECK(once.status == unit_status::waiting);
    CHECK(once.retry_later);
}
#endif

TEST_CASE("make-dirs leaves an existing directory and its owner alone and list itself=true names the owner", "[e2e][storage]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        auto pebble = make();
        temp_dir root;
        const std::string vol = root.path + "/vol";
        std::filesystem::create_directory(vol);
        std::filesystem::permissions(vol, std::filesystem::perms(0755));
        pebble::client_options o;
        o.socket_path = pebble->socket_path();
        pebble::client c(o);

        pebble::make_dir_options d;
        d.path = vol;
        d.make_parents = true;
        d.permissions = "750";
        d.user = "nobody";
        d.group = "nogroup";
        auto results = c.make_dirs({d});
        REQUIRE(results.size() == 1);
        CHECK(results[0].ok());
        CHECK(owner_of(vol) == std::pair<std::string, std::string>{"root", "root"});  // unchanged
        d.make_parents = false;
        results = c.make_dirs({d});
        REQUIRE(results.size() == 1);
        CHECK(results[0].diag.message == "mkdir " + vol + ": file exists");

        d.path = root.path + "/a/b";
        d.make_parents = true;
        CHECK(c.make_dirs({d})[0].ok());
        CHECK(owner_of(root.path + "/a") == std::pair<std::string, std::string>{"nobody", "nogroup"});  // parents too

        pebble::list_files_options l;
        l.path = vol;
        l.itself = true;
        auto listed = c.list_files(l);
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].type == "directory");
        CHECK(listed[0].user == "root");
        CHECK(listed[0].group == "root");
        CHECK(listed[0].permissions == "755");
        std::filesystem::create_directory_symlink(vol, root.path + "/link");
        l.path = root.path + "/link";
        listed = c.list_files(l);
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].type == "directory");  // os.Stat follows the link
        CHECK(listed[0].name == "link");
        l.path = root.path + "/missing";
        pebble::error_code ec;
        c.list_files(l, ec);
        CHECK(ec == pebble::error::not_found);
    }
}

// Issue 8, point 1: other layers in the same plan.
namespace {

// Redis's run_id: a new one means a new redis-server process.
std::string redis_run_id(int port, const std::string& password) {
    const std::string out = cli("127.0.0.1", port, password, {"INFO", "server"}).out;
    const auto pos = out.find("run_id:");
    return pos == std::string::npos ? std::string() : out.substr(pos + 7, 40);
}

void add_layer(const std::string& socket, const std::string& label, const std::string& yaml) {
    pebble::client_options o;
    o.socket_path = socket;
    pebble::client c(o);
    c.add_layer({label, yaml, true});
}

std::string plan_of(const std::string& socket) {
    pebble::client_options o;
    o.socket_path = socket;
    pebble::client c(o);
    return c.plan();
}

} // namespace

TEST_CASE("A later layer merging environment into the service makes 4 applies do 1 write set and 1 restart", "[e2e][layers]") {
    on_each_backend("layered-Pass", [](backend& pebble, test::redis_unit& u) {
        int writes = 0, restarts = 0;
        auto first = run(pebble.socket_path(), u.inputs);
        INFO(describe(first));
        REQUIRE(first.status == unit_status::active);
        writes += first.writes();
        restarts += first.restarts();
        REQUIRE(eventually([&] { return !redis_run_id(u.port, "layered-Pass").empty(); }));
        const std::string id = redis_run_id(u.port, "layered-Pass");
        add_layer(pebble.socket_path(), "extra",
                  "services:\n  redis:\n    override: merge\n    environment: {EXTRA_OPTION: \"1\"}\n");
        const std::string plan = plan_of(pebble.socket_path());
        REQUIRE(has(plan, "EXTRA_OPTION"));
        for (int i = 0; i < 3; ++i) {
            auto r = run(pebble.socket_path(), u.inputs);
            INFO("apply " << i + 2 << ": " << describe(r));
            CHECK(r.status == unit_status::active);
            CHECK(r.decided.differences.empty());
            writes += r.writes();
            restarts += r.restarts();
        }
        // Once, by the first apply: the storage directory, the secrets file, the ready check's
        // client-auth file and the layer; nothing after the extra layer.
        CHECK(first.writes() == 4);
        CHECK(writes == first.writes());
        CHECK(restarts == 1);
        CHECK(plan_of(pebble.socket_path()) == plan);
        CHECK(redis_run_id(u.port, "layered-Pass") == id);  // the same redis-server process
    });
}

TEST_CASE("Layers from the layers directory below and around ours are applied once and a changed input once", "[e2e][layers]") {
    // A rock's own layer under our label, a tuning layer above it, and a layer of another service.
    const layer_files files{
        {"001-redis.yaml", "services:\n  redis:\n    override: replace\n    command: /bin/false\n"
                           "    startup: disabled\n    environment: {ROCK: \"1\"}\n"},
        {"002-tuning.yaml", "services:\n  redis:\n    override: merge\n    environment: {TUNING: \"on\"}\n"},
        {"003-tools.d/001-sidecar.yaml", "services:\n  sidecar:\n    override: replace\n    command: /bin/sleep 1000\n"
                                         "    startup: disabled\n"},
    };
    on_each_backend("layered-Pass", [](backend& pebble, test::redis_unit& u) {
        REQUIRE(has(plan_of(pebble.socket_path()), "TUNING"));
        int writes = 0, restarts = 0;
        for (int i = 0; i < 4; ++i) {
            auto r = run(pebble.socket_path(), u.inputs);
            INFO("apply " << i + 1 << ": " << describe(r));
            CHECK(r.status == unit_status::active);
            writes += r.writes();
            restarts += r.restarts();
        }
        CHECK(writes == 4);  // by the first apply: storage directory, secrets file, client-auth file, layer
        CHECK(restarts == 1);
        const std::string plan = plan_of(pebble.socket_path());
        CHECK(has(plan, "TUNING"));     // the layer above our label still merges into the service
        CHECK_FALSE(has(plan, "ROCK")); // ours replaced the rock's service at its place
        CHECK(has(plan, "sidecar"));
        REQUIRE(eventually([&] { return has(cli("127.0.0.1", u.port, "layered-Pass", {"PING"}).out, "PONG"); }));

        // A changed input with the layers still there: applied once.
        u.inputs.peer.admin_password = secret("new-layered-Pass");
        auto changed = run(pebble.socket_path(), u.inputs);
        INFO(describe(changed));
        CHECK(changed.status == unit_status::active);
        CHECK(changed.restarts() == 1);
        CHECK(changed.writes() == 3);  // the secrets file, the client-auth file, the layer
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "new-layered-Pass", {"PING"}).out, "PONG"); }));
        auto again = run(pebble.socket_path(), u.inputs);
        CHECK(again.restarts() == 0);
        CHECK(again.writes() == 0);
    }, files);
}

TEST_CASE("A layer above ours overriding the command is reported as overridden and never restarts Redis", "[e2e][layers]") {
    on_each_backend("layered-Pass", [](backend& pebble, test::redis_unit& u) {
        auto first = run(pebble.socket_path(), u.inputs);
        INFO(describe(first));
        REQUIRE(first.status == unit_status::active);
        REQUIRE(eventually([&] { return !redis_run_id(u.port, "layered-Pass").empty(); }));
        const std::string id = redis_run_id(u.port, "layered-Pass");
        // Our own command with one more option, as a debug layer would set it.
        const std::string debug_command = redis_command(u.inputs.config, u.inputs.peer) + " --loglevel debug";
        add_layer(pebble.socket_path(), "debug",
                  "services:\n  redis:\n    override: merge\n    command: " + debug_command + "\n");
        for (int i = 0; i < 3; ++i) {
            auto r = run(pebble.socket_path(), u.inputs);
            INFO("apply " << i + 2 << ": " << describe(r));
            CHECK(r.status == unit_status::blocked);
            CHECK(has(r.message, "services.redis.command"));
            CHECK(has(r.message, "overrides"));
            CHECK(r.writes() == 0);
            CHECK(r.restarts() == 0);
            REQUIRE(r.decided.overridden.size() == 1);
            CHECK(r.decided.overridden[0].path == "services.redis.command");
            CHECK(has(r.decided.overridden[0].current, "--loglevel debug"));
            CHECK_FALSE(has(r.decided.overridden[0].desired, "layered-Pass"));
        }
        CHECK(redis_run_id(u.port, "layered-Pass") == id);

        // A changed input: applied once (the restart runs the debug layer's command, which reads our
        // secrets file), then reported again without a restart.
        u.inputs.peer.admin_password = secret("changed-Pass");
        auto changed = run(pebble.socket_path(), u.inputs);
        INFO(describe(changed));
        CHECK(changed.status == unit_status::blocked);
        CHECK(changed.writes() == 3);  // the secrets file, the client-auth file, the layer
        CHECK(changed.restarts() == 1);
        CHECK(eventually([&] { return has(cli("127.0.0.1", u.port, "changed-Pass", {"PING"}).out, "PONG"); }));
        auto again = run(pebble.socket_path(), u.inputs);
        CHECK(again.writes() == 0);
        CHECK(again.restarts() == 0);
        CHECK(has(again.message, "services.redis.command"));
    });
}

// Found by trying issue 8 from outside: a layer above ours replacing our ready check (here with one
// that always passes) was reported Active and in sync; only the Redis service's fields were compared.
TEST_CASE("A layer above that replaces our ready check is reported as overriding a field our layer sets", "[e2e][layers]") {
    on_each_backend("layered-Pass", [](backend& pebble, test::redis_unit& u) {
        auto first = run(pebble.socket_path(), u.inputs);
        INFO(describe(first));
        REQUIRE(first.status == unit_status::active);
        add_layer(pebble.socket_path(), "debug",
                  "checks:\n  redis-ready:\n    override: replace\n    level: ready\n    exec:\n      command: /bin/true\n");
        auto second = run(pebble.socket_path(), u.inputs);
        INFO(describe(second));
        CHECK(second.status == unit_status::blocked);
        CHECK(has(second.message, "checks.redis-ready"));
        CHECK(second.actions_done.empty());
    });
}

TEST_CASE("A layer above ours replacing the service is reported and Redis is not restarted on every apply", "[e2e][layers]") {
    on_each_backend("layered-Pass", [](backend& pebble, test::redis_unit& u) {
        REQUIRE(run(pebble.socket_path(), u.inputs).status == unit_status::active);
        REQUIRE(eventually([&] { return !redis_run_id(u.port, "layered-Pass").empty(); }));
        const std::string id = redis_run_id(u.port, "layered-Pass");
        add_layer(pebble.socket_path(), "replacer",
                  "services:\n  redis:\n    override: replace\n    command: /bin/sleep 1000\n");
        u.inputs.peer.admin_password = secret("other-Pass");  // our layer changes: it is added again
        for (int i = 0; i < 3; ++i) {
            auto r = run(pebble.socket_path(), u.inputs);
            INFO("apply " << i + 2 << ": " << describe(r));
            CHECK(r.status == unit_status::blocked);
            CHECK(has(r.message, "replaces service \"redis\""));
            CHECK(r.restarts() == 0);
        }
        CHECK(redis_run_id(u.port, "layered-Pass") == id);  // never restarted
    });
}
