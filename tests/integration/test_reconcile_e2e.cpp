// End to end: the reconciler drives a Pebble that runs real redis-server processes.
// Each scenario runs against every backend available: a real `pebble` when PEBBLE_BIN names one
// (skipped otherwise), and redispebble::testing::pebble_server when it is built.
#include <redispebble/reconciler.hpp>

#include "support/pebble_daemon.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <memory>
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

using test::eventually;
using test::has;

// One Pebble to reconcile against.
struct backend {
    virtual ~backend() = default;
    virtual std::string socket_path() = 0;
    virtual std::string name() = 0;
};

struct real_pebble : backend {
    test::pebble_daemon daemon;
    explicit real_pebble(const std::string& bin) : daemon(bin) {}
    std::string socket_path() override { return daemon.socket_path(); }
    std::string name() override { return "real pebble"; }
};

#ifdef REDISPEBBLE_HAVE_TEST_SERVER
struct test_server : backend {
    testing::pebble_server server;
    test_server() : server(options()) {}
    static testing::server_options options() {
        testing::server_options o;
        o.start_window = std::chrono::milliseconds(300);
        return o;
    }
    std::string socket_path() override { return server.socket_path(); }
    std::string name() override { return "test server"; }
};
#endif

using backend_factory = std::function<std::unique_ptr<backend>()>;

std::vector<std::pair<std::string, backend_factory>> backends() {
    std::vector<std::pair<std::string, backend_factory>> out;
#ifdef REDISPEBBLE_HAVE_TEST_SERVER
    out.emplace_back("test server", [] { return std::make_unique<test_server>(); });
#endif
    if (auto bin = test::pebble_bin())
        out.emplace_back("real pebble", [b = *bin] { return std::make_unique<real_pebble>(b); });
    else
        WARN("PEBBLE_BIN is not set: the real-Pebble runs of this scenario are skipped");
    return out;
}

// A unit's inputs for a Redis on `ip`:`port`, storage under `root`.
desired_state unit_inputs(const std::string& root, const std::string& ip, int port, const std::string& master,
                          const std::string& password) {
    desired_state d;
    d.config.storage_path = root + "/storage";
    d.config.port = static_cast<std::uint16_t>(port);
    d.config.bind_address = ip;
    d.peer = {secret(password), master, ip};
    return d;
}

test::command_result cli(const std::string& ip, int port, const std::optional<std::string>& password,
                         std::vector<std::string> args, const std::string& tls_dir = "") {
    return test::redis_cli(ip, port, password, args, tls_dir);
}

reconcile_report run(const std::string& socket, const desired_state& d) {
    pebble::client_options o;
    o.socket_path = socket;
    o.request_timeout = 10s;
    pebble::client c(o);
    reconcile_options ro;
    ro.deadline = 30s;
    return reconcile(c, d, ro);
}

std::string describe(const reconcile_report& r) {
    std::string s = std::string(to_string(r.status)) + ": " + r.message + " | actions:";
    for (const auto& a : r.actions_done) s += " [" + a + "]";
    return s;
}

} // namespace

TEST_CASE("A fresh unit becomes Active and reconciling again restarts nothing and a new password restarts Redis", "[e2e]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        auto pebble = make();
        temp_dir root;
        std::filesystem::permissions(root.path, std::filesystem::perms::all & ~std::filesystem::perms::others_write &
                                                    ~std::filesystem::perms::group_write);
        const int port = testing::free_tcp_port();
        auto inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", "first-Password");

        auto first = run(pebble->socket_path(), inputs);
        INFO(describe(first));
        REQUIRE(first.status == unit_status::active);
        CHECK(first.restarts() == 1);
        CHECK(first.writes() == 3);  // secrets file, the ready check's client-auth file, the layer
        CHECK(eventually([&] { return has(cli("127.0.0.1", port, "first-Password", {"PING"}).out, "PONG"); }));
        CHECK(has(cli("127.0.0.1", port, std::nullopt, {"PING"}).out, "NOAUTH"));

        // The password is nowhere in Pebble's plan.
        pebble::client_options o;
        o.socket_path = pebble->socket_path();
        pebble::client c(o);
        CHECK_FALSE(has(c.plan(), "first-Password"));

        auto second = run(pebble->socket_path(), inputs);
        INFO(describe(second));
        CHECK(second.status == unit_status::active);
        CHECK(second.restarts() == 0);
        CHECK(second.writes() == 0);
        CHECK(second.actions_done.empty());

        inputs.peer.admin_password = secret("second-Password");
        auto third = run(pebble->socket_path(), inputs);
        INFO(describe(third));
        CHECK(third.status == unit_status::active);
        CHECK(third.restarts() == 1);
        CHECK(eventually([&] { return has(cli("127.0.0.1", port, "second-Password", {"PING"}).out, "PONG"); }));
        auto old = cli("127.0.0.1", port, "first-Password", {"PING"});
        CHECK(has(old.out + old.err, "WRONGPASS"));
    }
}

TEST_CASE("A master unit and a replica unit replicate through their own Pebbles", "[e2e]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        auto pebble_m = make();
        auto pebble_r = make();
        temp_dir root_m, root_r;
        for (auto* r : {&root_m, &root_r}) std::filesystem::permissions(r->path, std::filesystem::perms(0755));
        const int port = testing::free_tcp_port();
        auto master = unit_inputs(root_m.path, "127.0.0.2", port, "127.0.0.2", "shared-Pass");
        auto replica = unit_inputs(root_r.path, "127.0.0.3", port, "127.0.0.2", "shared-Pass");
        auto rm = run(pebble_m->socket_path(), master);
        auto rr = run(pebble_r->socket_path(), replica);
        INFO(describe(rm) << " / " << describe(rr));
        REQUIRE(rm.status == unit_status::active);
        REQUIRE(rr.status == unit_status::active);
        CHECK(eventually([&] {
            return has(cli("127.0.0.3", port, "shared-Pass", {"INFO", "replication"}).out, "master_link_status:up");
        }, 15s));
        CHECK(has(cli("127.0.0.2", port, "shared-Pass", {"SET", "k", "v"}).out, "OK"));
        CHECK(eventually([&] { return has(cli("127.0.0.3", port, "shared-Pass", {"GET", "k"}).out, "v"); }));
    }
}

TEST_CASE("TLS units use the pushed certificates and a missing one is Blocked", "[e2e]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        auto pebble = make();
        temp_dir root, certs;
        std::filesystem::permissions(root.path, std::filesystem::perms(0755));
        const auto tls = test::make_test_certificates(certs.path);
        const int port = testing::free_tcp_port();
        auto inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", "tls-Pass");
        inputs.config.enable_tls = true;
        inputs.resources["cert-file"] = tls.resources.at("cert-file");
        inputs.resources["ca-cert-file"] = tls.resources.at("ca-cert-file");

        auto blocked = run(pebble->socket_path(), inputs);
        CHECK(blocked.status == unit_status::blocked);
        CHECK(blocked.message == "Not enough certificates found");
        CHECK(blocked.actions_done.empty());

        inputs.resources["key-file"] = tls.resources.at("key-file");
        auto r = run(pebble->socket_path(), inputs);
        INFO(describe(r));
        REQUIRE(r.status == unit_status::active);
        CHECK(r.writes() == 6);  // secrets file, client-auth file, three certificates, the layer
        for (auto f : {"redis.crt", "redis.key", "ca.crt"})
            CHECK(std::filesystem::exists(inputs.config.storage_path + "/" + f));
        CHECK(eventually([&] { return has(cli("127.0.0.1", port, "tls-Pass", {"PING"}, certs.path).out, "PONG"); }));
    }
}

TEST_CASE("Redis that cannot start is Blocked with its output and no password", "[e2e]") {
    for (auto& [name, make] : backends()) {
        INFO("backend: " << name);
        auto pebble = make();
        temp_dir root;
        std::filesystem::permissions(root.path, std::filesystem::perms(0755));
        // Something already listens on the port: redis-server exits at once.
        const int port = testing::free_tcp_port();
        testing::child_process squatter({{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
                                          "", "--appendonly", "no"}, {}, root.path, {}, {}, ""});
        REQUIRE(testing::wait_for_tcp(port, 5s));
        auto inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", "secret-Pass");
        auto r = run(pebble->socket_path(), inputs);
        INFO(describe(r));
        CHECK(r.status == unit_status::blocked);
        CHECK(has(r.message, "failed to start"));
        CHECK(has(r.message, "Address already in use"));
        CHECK_FALSE(has(r.message, "secret-Pass"));
        CHECK(r.retry_later);
        CHECK(r.failed_step);
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
        temp_dir root;
        std::filesystem::permissions(root.path, std::filesystem::perms(0755));
        const int port = testing::free_tcp_port();
        auto inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", "restart-Pass");
        REQUIRE(run(daemon.socket_path(), inputs).status == unit_status::active);
        daemon.stop();  // the container restarts: Redis stops, the layer is lost
        CHECK(run(daemon.socket_path(), inputs).status == unit_status::waiting);
        daemon.start();
        auto again = run(daemon.socket_path(), inputs);
        INFO(describe(again));
        CHECK(again.status == unit_status::active);
        CHECK(again.restarts() == 1);
        CHECK(again.writes() == 1);  // the layer only: the secrets file survived on disk
        CHECK(eventually([&] { return has(cli("127.0.0.1", port, "restart-Pass", {"PING"}).out, "PONG"); }));
    } else {
        WARN("PEBBLE_BIN is not set: the restarted-Pebble scenario runs against the test server only");
    }
#ifdef REDISPEBBLE_HAVE_TEST_SERVER
    {
        testing::pebble_server server(test_server::options());
        temp_dir root;
        std::filesystem::permissions(root.path, std::filesystem::perms(0755));
        const int port = testing::free_tcp_port();
        auto inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", "restart-Pass");
        REQUIRE(run(server.socket_path(), inputs).status == unit_status::active);
        CHECK(server.record().starts.at("redis") == 1);
        server.restart_daemon();  // services stopped, layers lost, changes kept
        CHECK(server.plan_yaml() == "{}\n");
        auto again = run(server.socket_path(), inputs);
        INFO(describe(again));
        CHECK(again.status == unit_status::active);
        CHECK(again.writes() == 1);
        CHECK(server.record().starts.at("redis") == 2);
        CHECK(eventually([&] { return has(cli("127.0.0.1", port, "restart-Pass", {"PING"}).out, "PONG"); }));
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
    auto once = reconcile(c2, inputs, {});
    CHECK(once.attempts == 1);
    CHECK(once.status == unit_status::waiting);
    CHECK(once.retry_later);
}
#endif
