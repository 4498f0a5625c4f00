// What runs beside Redis (issue 11), end to end with real redis-server under the test server and,
// with PEBBLE_BIN, real Pebble v1.26: persistence across a SIGKILL, the alive/ready checks and
// on-check-failure restarting a stopped Redis, the mode without a password, the metrics exporter.
#include <redispebble/reconciler.hpp>
#include <redispebble/testing/server.hpp>

#include "support/processes.hpp"
#include "support/reconcile_run.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/unix_http.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::each_process;
using redispebble::test::pid_with_argv;
using namespace redispebble::test;

namespace {

// One reconcile of `d` through the Pebble on `socket`.
reconcile_report run(const std::string& socket, const desired_state& d) { return reconcile_at(socket, d); }

test::command_result cli(int port, const std::optional<std::string>& password, const std::vector<std::string>& args) {
    return test::redis_cli("127.0.0.1", port, password, args);
}

/// redis-server's pid from INFO server; 0 when it does not answer.
int redis_pid(int port, const std::optional<std::string>& password) {
    auto r = cli(port, password, {"INFO", "server"});
    auto at = r.out.find("process_id:");
    return at == std::string::npos ? 0 : std::stoi(r.out.substr(at + 11));
}

/// Turns the metrics exporter on, on a free port: that port.
int enable_metrics(desired_state& d) {
    const int metrics = testing::free_tcp_port();
    d.config.metrics = true;
    d.config.metrics_port = static_cast<std::uint16_t>(metrics);
    return metrics;
}

/// Everything Pebble keeps that a reader of its API can see: plan, checks, every change with its logs.
std::string pebble_visible(const std::string& socket) {
    std::string all = unix_http(socket, "GET", "/v1/plan?format=yaml").body;
    all += unix_http(socket, "GET", "/v1/checks").body;
    all += unix_http(socket, "GET", "/v1/services").body;
    all += unix_http(socket, "GET", "/v1/logs?n=-1").body;
    auto changes = unix_http(socket, "GET", "/v1/changes?select=all");
    all += changes.body;
    const auto list = changes.result();
    if (list.is_array())
        for (const auto& c : list.as_array())
            all += unix_http(socket, "GET", "/v1/changes/" + std::string(c.as_object().at("id").as_string())).body;
    return all;
}

std::string check_status(const std::string& socket, const std::string& name) {
    auto a = unix_http(socket, "GET", "/v1/checks?names=" + name);
    const auto r = a.result();
    if (!r.is_array() || r.as_array().empty()) return "";
    return std::string(r.as_array().front().as_object().at("status").as_string());
}

} // namespace

TEST_CASE("A key written survives a SIGKILL of Redis because Pebble restarts it with appendonly on", "[companions][persistence]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("persist-Pw");
        auto& d = u.inputs;
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return redis_pid(u.port, "persist-Pw") > 0; }));
        CHECK(has(cli(u.port, "persist-Pw", {"CONFIG", "GET", "appendonly"}).out, "yes"));
        CHECK(has(cli(u.port, "persist-Pw", {"CONFIG", "GET", "dir"}).out, d.config.storage_path));
        REQUIRE(has(cli(u.port, "persist-Pw", {"SET", "kept", "after-sigkill"}).out, "OK"));
        const int pid = redis_pid(u.port, "persist-Pw");
        REQUIRE(::kill(pid, SIGKILL) == 0);
        // Pebble's on-failure default (restart) brings it back; the AOF gives the key back.
        REQUIRE(eventually([&] { int now = redis_pid(u.port, "persist-Pw"); return now > 0 && now != pid; }, 30s));
        CHECK(cli(u.port, "persist-Pw", {"GET", "kept"}).out == "after-sigkill\n");
        CHECK(std::filesystem::exists(d.config.storage_path + "/appendonlydir"));
        // Logs stay on stdout: Pebble has Redis's own words.
        CHECK(has(unix_http(p.socket, "GET", "/v1/logs?services=redis&n=-1").body, "Ready to accept connections"));
    });
}

TEST_CASE("A stopped Redis fails its ready check threshold times and Pebble restarts it and the unit is Active again", "[companions][checks]") {
    on_each_pebble([](pebble_under_test& p) {
        const std::string password = "ch3ck-'quoted\" Pw";
        redis_unit u(password);
        auto& d = u.inputs;
        d.config.check_period = "500ms";
        d.config.check_timeout = "400ms";
        d.config.check_threshold = 2;
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return redis_pid(u.port, password) > 0; }));
        REQUIRE(eventually([&] {
            auto a = unix_http(p.socket, "GET", "/v1/checks?names=redis-ready");
            return has(a.body, "\"successes\":2") || has(a.body, "\"successes\":3");
        }, 20s));
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200);
        CHECK(check_status(p.socket, "redis-alive") == "up");

        const int pid = redis_pid(u.port, password);
        REQUIRE(::kill(pid, SIGSTOP) == 0);
        REQUIRE(eventually([&] { return check_status(p.socket, "redis-ready") == "down"; }, 20s));
        // (The process may already be gone and back: Pebble restarts it at the threshold.)
        CHECK(eventually([&] { int now = redis_pid(u.port, password); return now > 0 && now != pid; }, 30s));
        if (p.server) CHECK(p.server->record().check_restarts.at("redis") >= 1);
        CHECK(eventually([&] { return check_status(p.socket, "redis-ready") == "up"; }, 20s));
        CHECK(eventually([&] { return unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200; }, 20s));
        auto again = reconcile_active(p.socket, d);
        INFO(describe(again));

        // 502 while Redis does not answer (stopped again, before the threshold restarts it).
        const int pid2 = redis_pid(u.port, password);
        REQUIRE(::kill(pid2, SIGSTOP) == 0);
        CHECK(eventually([&] { return unix_http(p.socket, "GET", "/v1/health?level=ready").status == 502; }, 20s));
        ::kill(pid2, SIGCONT);

        // The password is nowhere Pebble shows it: plan, checks, services, logs, changes.
        const std::string visible = pebble_visible(p.socket);
        CHECK(!has(visible, "ch3ck-"));
        CHECK(has(visible, "redispebble-client-auth"));
    });
}

TEST_CASE("Peer data enable-password false runs Redis without a password and switching modes converges in one apply", "[companions][no-password]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("");
        auto& d = u.inputs;
        d.peer.enable_password = false;
        // No file is pushed in this mode, so nothing makes the storage directory: a Juju storage
        // mount exists already; here the test makes it (owned by redis).
        std::filesystem::create_directories(d.config.storage_path);
        REQUIRE(test::run_command({"/bin/chown", "redis:redis", d.config.storage_path}).exit_code == 0);
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return has(cli(u.port, std::nullopt, {"PING"}).out, "PONG"); }));
        CHECK(has(cli(u.port, std::nullopt, {"CONFIG", "GET", "protected-mode"}).out, "no"));
        CHECK(!std::filesystem::exists(d.config.storage_path + "/redispebble-secrets.conf"));
        CHECK(eventually([&] { return check_status(p.socket, "redis-ready") == "up"; }, 30s));

        d.peer.enable_password = true;
        d.peer.admin_password = secret("now-A-Password");
        reconcile_active(p.socket, d);
        CHECK(eventually([&] { return has(cli(u.port, "now-A-Password", {"PING"}).out, "PONG"); }));
        CHECK(has(cli(u.port, std::nullopt, {"PING"}).out, "NOAUTH"));
        CHECK(has(cli(u.port, "now-A-Password", {"CONFIG", "GET", "protected-mode"}).out, "yes"));
        CHECK(run(p.socket, d).decided.no_op());

        d.peer.enable_password = false;
        reconcile_active(p.socket, d);
        CHECK(eventually([&] { return has(cli(u.port, std::nullopt, {"PING"}).out, "PONG"); }));
        CHECK(run(p.socket, d).decided.no_op());
    });
}

TEST_CASE("The metrics exporter reports redis_up 1 and a password change reaches it with one restart", "[companions][metrics]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("metrics-Pw1");
        auto& d = u.inputs;
        const int metrics = enable_metrics(d);
        reconcile_active(p.socket, d);
        const std::string url = "http://127.0.0.1:" + std::to_string(metrics) + "/metrics";
        auto scrape = [&] { return test::run_command({"/usr/bin/curl", "-s", "--max-time", "5", url}).out; };
        CHECK(eventually([&] { return has(scrape(), "\nredis_up 1\n"); }, 30s));
        const auto mode = std::filesystem::status(u.root.path + "/storage/redispebble-exporter-passwords.json").permissions();
        CHECK((mode & std::filesystem::perms::others_read) == std::filesystem::perms::none);
        CHECK((mode & std::filesystem::perms::group_read) == std::filesystem::perms::none);

        d.peer.admin_password = secret("metrics-Pw2");
        reconcile_active(p.socket, d);
        CHECK(eventually([&] { return has(cli(u.port, "metrics-Pw2", {"PING"}).out, "PONG"); }));
        CHECK(eventually([&] { return has(scrape(), "\nredis_up 1\n"); }, 30s));
        CHECK(run(p.socket, d).decided.no_op());  // converged: no restart loop
        if (p.server) CHECK(p.server->record().restarts.at("redis-exporter") == 2);  // the first start, the new password
        CHECK(!has(pebble_visible(p.socket), "metrics-Pw"));
    });
}

TEST_CASE("A stopped exporter fails its own check and Pebble restarts it while Redis keeps running", "[companions][metrics][checks]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("exp-check-Pw");
        auto& d = u.inputs;
        const int metrics = enable_metrics(d);
        d.config.check_period = "500ms";
        d.config.check_timeout = "400ms";
        d.config.check_threshold = 2;
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return check_status(p.socket, "redis-exporter-alive") == "up"; }, 20s));
        const int redis = redis_pid(u.port, "exp-check-Pw");
        REQUIRE(redis > 0);
        // The exporter's pid: the process listening with our metrics address in its argv.
        auto exporter_pid = [&] { return pid_with_argv("-web.listen-address 127.0.0.1:" + std::to_string(metrics)); };
        const int pid = exporter_pid();
        REQUIRE(pid > 0);
        REQUIRE(::kill(pid, SIGSTOP) == 0);
        CHECK(eventually([&] { int now = exporter_pid(); return now > 0 && now != pid; }, 30s));
        if (p.server) CHECK(p.server->record().check_restarts.at("redis-exporter") >= 1);
        CHECK(eventually([&] { return check_status(p.socket, "redis-exporter-alive") == "up"; }, 20s));
        CHECK(redis_pid(u.port, "exp-check-Pw") == redis);  // Redis was not restarted
        // The exporter's check has no level: the container's health stayed with Redis's checks.
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200);
        ::kill(pid, SIGCONT);
        reconcile_active(p.socket, d);
    });
}

// Found by trying issue 8 from outside: a certificate made for server use only (extendedKeyUsage
// serverAuth) under the default tls-auth-clients optional. Redis serves TLS with it, but the probe,
// the ready check and the exporter presented it as a client certificate, which Redis verifies under
// optional and refused: Waiting forever, readiness 502. They now present it only under `yes`.
TEST_CASE("A server-only certificate under tls-auth-clients optional leaves the unit Active ready and scraped", "[companions][checks][metrics][tls]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("server-only-Pw");
        auto& d = u.inputs;
        test::make_ca_and_certificate(u.root.path,
                                      {"ca.key", "ca.crt", "ca", "srv.key", "srv.csr", "redis", "srv.crt",
                                       "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth"},
                                      "a server-only certificate");
        auto read = [&](const std::string& name) {
            std::ifstream in(u.root.path + "/" + name);
            return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        };
        d.config.enable_tls = true;
        d.config.check_period = "1s";
        d.config.check_timeout = "800ms";
        const int metrics = enable_metrics(d);
        d.resources = {{"cert-file", secret(read("srv.crt"))}, {"key-file", secret(read("srv.key"))},
                       {"ca-cert-file", secret(read("ca.crt"))}};
        reconcile_active(p.socket, d);
        // The ready check passes (health is 200 before any check has run, so count successes).
        CHECK(eventually([&] {
            const auto r = unix_http(p.socket, "GET", "/v1/checks?names=redis-ready").result();
            return r.is_array() && !r.as_array().empty() && r.as_array().front().as_object().at("successes").to_number<int>() > 0;
        }, 20s));
        const std::string url = "http://127.0.0.1:" + std::to_string(metrics) + "/metrics";
        CHECK(eventually([&] {
            return has(test::run_command({"/usr/bin/curl", "-s", "--max-time", "5", url}).out, "\nredis_up 1\n");
        }, 30s));
    });
}

namespace {

std::string service_current(const std::string& socket, const std::string& name) {
    auto a = unix_http(socket, "GET", "/v1/services?names=" + name);
    const auto r = a.result();
    if (!r.is_array() || r.as_array().empty()) return "";
    return std::string(r.as_array().front().as_object().at("current").as_string());
}

layer current_plan(const std::string& socket) {
    const auto r = unix_http(socket, "GET", "/v1/plan?format=yaml").result();
    REQUIRE(r.is_string());
    return parse_plan(std::string(r.as_string()));
}

bool has_action(const reconcile_report& r, const std::string& action) {
    return std::find(r.actions_done.begin(), r.actions_done.end(), action) != r.actions_done.end();
}

/// How many running redis-server processes serve `port` (not zombies).
int redis_servers_on(int port) {
    int n = 0;
    each_process([&](int, const std::string& argv) {
        // Redis sets its process title to "redis-server HOST:PORT".
        if (argv.rfind("redis-server", 0) == 0 && has(argv + " ", ":" + std::to_string(port) + " ")) ++n;
    });
    return n;
}

} // namespace

// Found by trying issues 8 and 11 from outside: combining into our label never removes an entry, so
// after metrics on then off the exporter kept running with the password file it read, its check
// stayed in the plan, and status said in sync. Pebble cannot delete an entry: our layer retires it
// (override: replace, startup: disabled) and the reconciler stops it through Pebble.
TEST_CASE("Turning metrics off stops the exporter and its check through Pebble and turning it on brings them back", "[companions][metrics][retire]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("metrics-off-Pw");
        auto& d = u.inputs;
        const int metrics = enable_metrics(d);
        const std::string password_file = u.root.path + "/storage/redispebble-exporter-passwords.json";
        auto exporter_pid = [&] { return pid_with_argv("-web.listen-address 127.0.0.1:" + std::to_string(metrics)); };
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return service_current(p.socket, "redis-exporter") == "active" && exporter_pid() > 0; }, 15s));
        REQUIRE(std::filesystem::exists(password_file));
        const int redis = redis_pid(u.port, "metrics-off-Pw");
        REQUIRE(redis > 0);

        d.config.metrics = false;
        auto off = reconcile_active(p.socket, d);
        INFO(describe(off));
        CHECK(off.restarts() == 0);   // the exporter's entry changed, not Redis's
        CHECK(has_action(off, "stopped \"redis-exporter\""));
        CHECK(has_action(off, "stopped check \"redis-exporter-alive\""));
        CHECK(has_action(off, "removed " + password_file));
        CHECK(service_current(p.socket, "redis-exporter") == "inactive");
        CHECK(eventually([&] { return exporter_pid() == 0; }, 15s));
        CHECK(check_status(p.socket, "redis-exporter-alive") == "inactive");
        CHECK(!std::filesystem::exists(password_file));
        const auto plan = current_plan(p.socket);
        CHECK(plan.services.at("redis-exporter").startup == "disabled");
        CHECK(plan.checks.at("redis-exporter-alive").startup == "disabled");
        CHECK(unix_http(p.socket, "GET", "/v1/health").status == 200);

        check_converged(p.socket, d);
        CHECK(exporter_pid() == 0);

        d.config.metrics = true;
        auto on = reconcile_active(p.socket, d);
        INFO(describe(on));
        CHECK(eventually([&] { return service_current(p.socket, "redis-exporter") == "active" && exporter_pid() > 0; }, 15s));
        CHECK(eventually([&] { return check_status(p.socket, "redis-exporter-alive") == "up"; }, 15s));
        CHECK(std::filesystem::exists(password_file));
        CHECK(on.restarts() == 1);    // the exporter alone
        CHECK(redis_pid(u.port, "metrics-off-Pw") == redis);   // Redis kept running throughout
        check_converged(p.socket, d);
    });
}

// The same kind for health checks: health-checks false after true left redis-alive and redis-ready
// running (so /v1/health, Kubernetes' probes, still followed them) and their password file in place.
TEST_CASE("Turning health checks off stops the checks and turning them on starts them again", "[companions][checks][retire]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("checks-off-Pw");
        auto& d = u.inputs;
        d.config.check_period = "500ms";
        d.config.check_timeout = "400ms";
        const std::string auth_file = u.root.path + "/storage/redispebble-client-auth";
        reconcile_active(p.socket, d);
        REQUIRE(std::filesystem::exists(auth_file));

        d.config.health_checks = false;
        reconcile_active(p.socket, d);
        CHECK(check_status(p.socket, "redis-ready") == "inactive");
        CHECK(check_status(p.socket, "redis-alive") == "inactive");
        CHECK(!std::filesystem::exists(auth_file));
        const auto plan = current_plan(p.socket);
        CHECK(plan.services.at("redis").on_check_failure.empty());
        check_converged(p.socket, d);

        d.config.health_checks = true;
        auto on = reconcile_active(p.socket, d);
        INFO(describe(on));
        CHECK(eventually([&] { return check_status(p.socket, "redis-ready") == "up"; }, 15s));
        CHECK(std::filesystem::exists(auth_file));
        CHECK(run(p.socket, d).decided.no_op());
    });
}

// A renamed service (service-name changed): the old Redis must be stopped before the new one starts
// on the same port, and stay stopped.
TEST_CASE("Renaming the service stops the old Redis through Pebble and starts the new one alone on the port", "[companions][retire]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("rename-Pw");
        auto& d = u.inputs;
        reconcile_active(p.socket, d);
        REQUIRE(eventually([&] { return redis_servers_on(u.port) == 1; }));
        REQUIRE(has(cli(u.port, "rename-Pw", {"SET", "kept", "yes"}).out, "OK"));

        d.config.service_name = "cache";
        auto renamed = reconcile_active(p.socket, d);
        INFO(describe(renamed));
        CHECK(has_action(renamed, "stopped \"redis\""));
        CHECK(service_current(p.socket, "redis") == "inactive");
        CHECK(service_current(p.socket, "cache") == "active");
        CHECK(check_status(p.socket, "redis-ready") == "inactive");
        CHECK(eventually([&] { return redis_servers_on(u.port) == 1; }));
        CHECK(eventually([&] { return has(cli(u.port, "rename-Pw", {"GET", "kept"}).out, "yes"); }));
        CHECK(eventually([&] { return check_status(p.socket, "cache-ready") == "up"; }, 30s));

        check_converged(p.socket, d);
        CHECK(redis_servers_on(u.port) == 1);
    });
}

// Found by trying issue 11 from outside: a switch to enable-password false left the 0600 password
// files (secrets file, exporter's and ready check's) in the container. They are removed through
// Pebble's files API in the same apply.
TEST_CASE("Switching to no-password mode removes the password files through Pebble", "[companions][no-password][retire]") {
    on_each_pebble([](pebble_under_test& p) {
        redis_unit u("files-gone-Pw");
        auto& d = u.inputs;
        enable_metrics(d);
        reconcile_active(p.socket, d);
        const std::vector<std::string> files{u.root.path + "/storage/redispebble-secrets.conf",
                                             u.root.path + "/storage/redispebble-client-auth",
                                             u.root.path + "/storage/redispebble-exporter-passwords.json"};
        for (const auto& f : files) REQUIRE(std::filesystem::exists(f));

        d.peer.enable_password = false;
        auto off = reconcile_active(p.socket, d);
        INFO(describe(off));
        for (const auto& f : files) {
            INFO(f);
            CHECK(has_action(off, "removed " + f));
            CHECK(!std::filesystem::exists(f));
        }
        CHECK(eventually([&] { return has(cli(u.port, std::nullopt, {"PING"}).out, "PONG"); }));
        check_converged(p.socket, d);
    });
}
