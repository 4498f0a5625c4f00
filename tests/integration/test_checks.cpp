// Pebble's health checks on the test server and, with PEBBLE_BIN, on real Pebble v1.26: http, tcp
// and exec checks run with their period and threshold, POST /v1/checks/refresh, and a service's
// on-check-failure (restart, ignore) when a check reaches its threshold.
#include <redispebble/testing/server.hpp>

#include "support/reconcile_run.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/unix_http.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace json = boost::json;
using namespace redispebble::test;
using namespace std::chrono_literals;

namespace {

void add_layer(const std::string& socket, const std::string& yaml) {
    json::object body{{"action", "add"}, {"combine", true}, {"label", "checks"}, {"format", "yaml"}, {"layer", yaml}};
    auto a = unix_http(socket, "POST", "/v1/layers", json::serialize(body));
    INFO(a.body);
    REQUIRE(a.status == 200);
}

void start_and_wait(const std::string& socket, const std::string& service) {
    json::object body{{"action", "start"}, {"services", json::array{json::string(service)}}};
    auto a = unix_http(socket, "POST", "/v1/services", json::serialize(body));
    INFO(a.body);
    REQUIRE(a.status == 202);
    const json::value v = a.json();
    const std::string id(v.as_object().at("change").as_string());
    auto w = unix_http(socket, "GET", "/v1/changes/" + id + "/wait?timeout=20s", "", 30s);
    INFO(w.body);
    REQUIRE(w.status == 200);
    const json::value wr = w.result();
    REQUIRE(wr.as_object().at("status").as_string() == "Done");
}

json::object check_info(const std::string& socket, const std::string& name) {
    auto a = unix_http(socket, "GET", "/v1/checks?names=" + name);
    const json::value r = a.result();
    if (a.status != 200 || !r.is_array() || r.as_array().empty()) return {};
    return r.as_array().front().as_object();
}

std::string check_status(const std::string& socket, const std::string& name) {
    auto o = check_info(socket, name);
    auto it = o.find("status");
    return it == o.end() ? "" : std::string(it->value().as_string());
}

std::int64_t counter(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? 0 : it->value().as_int64();
}

/// Every change of `kind`, newest last.
std::vector<json::object> changes_of(const std::string& socket, const std::string& kind) {
    std::vector<json::object> out;
    auto a = unix_http(socket, "GET", "/v1/changes?select=all");
    const json::value r = a.result();
    if (!r.is_array()) return out;
    for (const auto& c : r.as_array())
        if (c.as_object().at("kind").as_string() == kind) out.push_back(c.as_object());
    std::sort(out.begin(), out.end(), [](const json::object& x, const json::object& y) {
        return std::stoi(std::string(x.at("id").as_string())) < std::stoi(std::string(y.at("id").as_string()));
    });
    return out;
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

void touch(const std::string& path) { std::ofstream(path) << "x\n"; }

/// POST /v1/checks/refresh of `name`: its result ({"info", "error"}).
json::object refresh(const std::string& socket, const std::string& name) {
    auto a = unix_http(socket, "POST", "/v1/checks/refresh", json::serialize(json::object{{"name", name}}));
    INFO(a.body);
    REQUIRE(a.status == 200);
    return a.result().as_object();
}

/// One check entry of a layer: `override: replace`, `settings` (lines of four-space indented
/// keys, each ending in a newline) and an exec probe running `command`.
std::string exec_check(const std::string& name, const std::string& settings, const std::string& command = "\"true\"") {
    return fmt::format("  {}:\n    override: replace\n{}    exec:\n      command: {}\n", name, settings, command);
}

/// POST /v1/checks with `action` on `names`; 200 required.
void post_checks(const std::string& socket, const std::string& action, const std::vector<std::string>& names) {
    json::array a;
    for (const auto& n : names) a.emplace_back(n);
    auto r = unix_http(socket, "POST", "/v1/checks", json::serialize(json::object{{"action", action}, {"checks", a}}));
    INFO(r.body);
    REQUIRE(r.status == 200);
}

/// A layer with one new startup-disabled check: a plan change that changes no other check.
void add_other_layer(const std::string& socket) {
    add_layer(socket, "checks:\n" + exec_check("other", "    startup: disabled\n"));
}

/// Runs `scenario` on the test server with a layers_dir holding 001-base.yaml = `yaml`, then, with
/// PEBBLE_BIN, on real Pebble with $PEBBLE/layers/001-base.yaml = `yaml`. Its `restart` restarts
/// the daemon: restart_daemon(), or stopping `pebble run` (SIGTERM) and running it again.
void on_each_pebble_with_layers(const std::string& yaml,
                                const std::function<void(const std::string& socket, const std::function<void()>& restart)>& scenario) {
    {
        INFO("on the test server");
        temp_dir dir;
        std::filesystem::create_directories(dir.path + "/layers");
        std::ofstream(dir.path + "/layers/001-base.yaml") << yaml;
        redispebble::testing::server_options opts;
        opts.layers_dir = dir.path + "/layers";
        auto server = redispebble::testing::pebble_server::start(opts);
        scenario(server->socket_path(), [&] { server->restart_daemon(); });
    }
    if (auto bin = pebble_bin()) {
        INFO("on real Pebble");
        pebble_daemon d(*bin, {{"001-base.yaml", yaml}});
        scenario(d.socket_path(), [&] {
            d.stop();
            d.start();
        });
    }
}

/// GET /v1/changes/ID: the change.
json::object change_of(const std::string& socket, const std::string& id) {
    auto a = unix_http(socket, "GET", "/v1/changes/" + id);
    INFO(a.body);
    REQUIRE(a.status == 200);
    return a.result().as_object();
}

std::string change_id_of(const json::object& info) {
    auto it = info.find("change-id");
    return it == info.end() ? "" : std::string(it->value().as_string());
}

/// The change once it is ready (GET /v1/changes/ID/wait): Pebble ends an aborted check change a
/// moment after the request that aborted it.
json::object ready_change(const std::string& socket, const std::string& id) {
    auto w = unix_http(socket, "GET", "/v1/changes/" + id + "/wait?timeout=20s", "", 30s);
    INFO(w.body);
    REQUIRE(w.status == 200);
    return w.result().as_object();
}

/// The change-update notice of change `id`.
json::object change_notice(const std::string& socket, const std::string& id) {
    auto a = unix_http(socket, "GET", "/v1/notices?types=change-update&keys=" + id);
    INFO(a.body);
    REQUIRE(a.status == 200);
    const json::value r = a.result();
    REQUIRE(r.as_array().size() == 1);
    return r.as_array().front().as_object();
}

/// Checks the change `id` of check `check` ended Done as an aborted check change does on Pebble
/// (the task runner takes its task through Abort and Undo to Done: five change-update notices
/// from Do), its notices naming the check.
void check_aborted(const std::string& socket, const std::string& id, const std::string& check) {
    INFO("change " << id << " of check " << check);
    const json::object c = ready_change(socket, id);
    CHECK(c.at("status").as_string() == "Done");
    CHECK(c.at("tasks").as_array().front().as_object().at("status").as_string() == "Done");
    const json::object n = change_notice(socket, id);
    CHECK(n.at("occurrences").as_int64() == 5);
    CHECK(n.at("last-data").as_object().at("check-name").as_string() == check);
}

} // namespace

TEST_CASE("An http check is run with its period and threshold and goes down on a non-2xx answer", "[checks][http]") {
    on_each_pebble([](pebble_under_test& p) {
        redispebble::test::tiny_http_server web;
        add_layer(p.socket, fmt::format("checks:\n  web:\n    override: replace\n    level: ready\n    period: 100ms\n"
                                        "    threshold: 2\n    http:\n      url: http://127.0.0.1:{}/health\n",
                                        web.port()));
        CHECK(eventually([&] { return counter(check_info(p.socket, "web"), "successes") >= 2; }));
        CHECK(web.requests >= 2);
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200);

        web.status = 500;
        REQUIRE(eventually([&] { return check_status(p.socket, "web") == "down"; }));
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 502);
        auto performs = changes_of(p.socket, "perform-check");
        REQUIRE(!performs.empty());
        const auto& failed = performs.front();
        CHECK(failed.at("status").as_string() == "Error");
        CHECK(has(std::string(failed.at("err").as_string()), "non-2xx status code 500"));

        web.status = 204;
        CHECK(eventually([&] { return check_status(p.socket, "web") == "up"; }));
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200);
        auto recovers = changes_of(p.socket, "recover-check");
        REQUIRE(!recovers.empty());
        CHECK(recovers.back().at("status").as_string() == "Done");
    });
}

TEST_CASE("A tcp check goes down when nothing listens on its port", "[checks][tcp]") {
    on_each_pebble([](pebble_under_test& p) {
        const int port = redispebble::testing::free_tcp_port();
        add_layer(p.socket, fmt::format("checks:\n  port:\n    override: replace\n    level: alive\n    period: 100ms\n"
                                        "    threshold: 2\n    tcp:\n      port: {}\n      host: 127.0.0.1\n",
                                        port));
        CHECK(eventually([&] { return check_status(p.socket, "port") == "down"; }));
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=alive").status == 502);
        redispebble::test::tiny_http_server web;  // some other port: still down
        CHECK(check_status(p.socket, "port") == "down");
    });
}

TEST_CASE("An exec check failing threshold times restarts a service whose on-check-failure is restart", "[checks][exec]") {
    on_each_pebble([](pebble_under_test& p) {
        temp_dir dir;
        const std::string pids = dir.path + "/pids", kept = dir.path + "/kept", fail = dir.path + "/fail";
        add_layer(p.socket, fmt::format(
            "services:\n"
            "  watched:\n    override: replace\n    command: /bin/sh -c 'echo $$ >> {0}; exec sleep 1000'\n"
            "    on-check-failure:\n      flag: restart\n"
            "  bystander:\n    override: replace\n    command: /bin/sh -c 'echo $$ >> {1}; exec sleep 1000'\n"
            "    on-check-failure:\n      flag: ignore\n"
            "checks:\n  flag:\n    override: replace\n    period: 100ms\n    threshold: 2\n"
            "    exec:\n      command: /bin/sh -c 'echo checking; test ! -e {2}'\n",
            pids, kept, fail));
        start_and_wait(p.socket, "watched");
        start_and_wait(p.socket, "bystander");
        REQUIRE(lines_of(pids).size() == 1);
        REQUIRE(eventually([&] { return counter(check_info(p.socket, "flag"), "successes") >= 1; }));

        touch(fail);
        // Threshold reached: the perform-check change fails and the service is restarted once.
        REQUIRE(eventually([&] { return lines_of(pids).size() == 2; }, 20s));
        CHECK(check_status(p.socket, "flag") == "down");
        auto performs = changes_of(p.socket, "perform-check");
        REQUIRE(!performs.empty());
        CHECK(performs.front().at("status").as_string() == "Error");
        CHECK(has(std::string(performs.front().at("err").as_string()), "exit status 1"));
        // recover-check keeps failing without restarting again (the action runs at the threshold).
        REQUIRE(eventually([&] { return counter(check_info(p.socket, "flag"), "failures") >= 6; }, 20s));
        CHECK(lines_of(pids).size() == 2);
        CHECK(lines_of(kept).size() == 1);  // ignore
        if (p.server) CHECK(p.server->record().check_restarts.at("watched") == 1);

        std::filesystem::remove(fail);
        REQUIRE(eventually([&] { return check_status(p.socket, "flag") == "up"; }));
        auto recovers = changes_of(p.socket, "recover-check");
        REQUIRE(!recovers.empty());
        CHECK(recovers.back().at("status").as_string() == "Done");
        // A failure below the threshold is in the recover task's log with the command's output.
        auto change = unix_http(p.socket, "GET", "/v1/changes/" + std::string(recovers.back().at("id").as_string()));
        CHECK(has(change.body, "exit status 1; checking"));

        touch(fail);  // down again: a second restart
        CHECK(eventually([&] { return lines_of(pids).size() == 3; }, 20s));
    });
}

TEST_CASE("POST /v1/checks looks every name up before acting and answers the changed checks sorted, or null", "[checks][start-stop]") {
    // As real Pebble v1.26 answers (CheckManager.StartChecks/StopChecks): an unknown name anywhere
    // in the list means no check is started or stopped.
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n"
                            "  c1:\n    override: replace\n    period: 10s\n    exec:\n      command: \"true\"\n"
                            "  c2:\n    override: replace\n    startup: disabled\n    period: 10s\n"
                            "    exec:\n      command: \"true\"\n");
        const auto post = [&](const std::string& body) { return unix_http(p.socket, "POST", "/v1/checks", body); };
        auto a = post(R"({"action":"start","checks":["c2","zz","nope","c1"]})");
        CHECK(a.status == 400);
        CHECK(has(a.body, "cannot start checks: cannot find checks in plan: nope, zz"));
        CHECK(check_status(p.socket, "c2") == "inactive");  // c2, before the unknown names, was not started
        a = post(R"({"action":"stop","checks":["c1","nope"]})");
        CHECK(a.status == 400);
        CHECK(has(a.body, "cannot stop checks: cannot find checks in plan: nope"));
        CHECK(check_status(p.socket, "c1") == "up");  // not stopped
        a = post(R"({"action":"start","checks":[]})");
        CHECK(a.status == 400);
        CHECK(has(a.body, "must specify checks for start action"));
        a = post(R"({"action":"bogus","checks":[]})");
        CHECK(has(a.body, "must specify checks for bogus action"));
        a = post(R"({"action":"bogus","checks":["c1"]})");
        CHECK(a.status == 400);
        CHECK(has(a.body, R"(invalid action \"bogus\")"));

        a = post(R"({"action":"start","checks":["c1"]})");  // already running: nothing changed
        REQUIRE(a.status == 200);
        CHECK(a.result().as_object().at("changed").is_null());
        a = post(R"({"action":"start","checks":["c2","c1"]})");
        REQUIRE(a.status == 200);
        CHECK(json::serialize(a.result()) == R"({"changed":["c2"]})");
        a = post(R"({"action":"stop","checks":["c2","c1"]})");
        REQUIRE(a.status == 200);
        CHECK(json::serialize(a.result()) == R"({"changed":["c1","c2"]})");  // sorted, not in request order
        CHECK(check_status(p.socket, "c1") == "inactive");
        CHECK(check_status(p.socket, "c2") == "inactive");
    });
}

TEST_CASE("A startup-disabled check started through POST /v1/checks runs with its period", "[checks][start-stop]") {
    // Real Pebble v1.26 runs every check that has a perform-check change, whatever its startup:
    // started, this failing check goes down (the test server never ran it: it stayed "up").
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n  off:\n    override: replace\n    startup: disabled\n    period: 100ms\n"
                            "    threshold: 1\n    exec:\n      command: /bin/false\n");
        CHECK(check_status(p.socket, "off") == "inactive");
        auto a = unix_http(p.socket, "POST", "/v1/checks", R"({"action":"start","checks":["off"]})");
        REQUIRE(a.status == 200);
        CHECK(json::serialize(a.result()) == R"({"changed":["off"]})");
        CHECK(eventually([&] { return check_status(p.socket, "off") == "down"; }));
        CHECK(counter(check_info(p.socket, "off"), "failures") >= 1);
        CHECK(!changes_of(p.socket, "recover-check").empty());
    });
}

TEST_CASE("The checks of $PEBBLE/layers run in a change from start-up, so POST /v1/checks stops them", "[checks][start-stop]") {
    // Pebble's daemon start-up calls CheckManager.PlanChanged with the plan it read: each enabled
    // check has its perform-check change (change-id), "stop" stops it and "start" of it changes
    // nothing. (The test server ran them without a change: "stop" answered null and they ran on.)
    const std::string yaml = "checks:\n  boot:\n    override: replace\n    period: 10s\n    exec:\n      command: /bin/true\n";
    on_each_pebble_with_layers(yaml, [](const std::string& socket, const std::function<void()>&) {
        auto o = check_info(socket, "boot");
        CHECK(o.count("change-id") == 1);
        auto a = unix_http(socket, "POST", "/v1/checks", R"({"action":"start","checks":["boot"]})");
        REQUIRE(a.status == 200);
        CHECK(a.result().as_object().at("changed").is_null());
        a = unix_http(socket, "POST", "/v1/checks", R"({"action":"stop","checks":["boot"]})");
        REQUIRE(a.status == 200);
        CHECK(json::serialize(a.result()) == R"({"changed":["boot"]})");
        CHECK(check_status(socket, "boot") == "inactive");
    });
}

TEST_CASE("POST /v1/checks and /v1/services decode their bodies as Pebble's Go structs do", "[checks][start-stop]") {
    // Pebble v1.26's v1PostChecks and v1PostServices say "cannot decode data from request body"
    // (not "cannot decode request body", the other handlers' words); a null in the list is Go's
    // zero string "", a name no plan has; a non-string action is a decode error, not "".
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n  c1:\n    override: replace\n    period: 10s\n    exec:\n      command: \"true\"\n");
        const auto post = [&](const std::string& path, const std::string& body) {
            auto a = unix_http(p.socket, "POST", path, body);
            INFO(body << " -> " << a.body);
            CHECK(a.status == 400);
            return a.json().as_object().at("result").as_object().at("message").as_string();
        };
        CHECK(post("/v1/checks", R"({"action":"start","checks":[1]})") ==
              "cannot decode data from request body: json: cannot unmarshal number into Go struct field .checks of type string");
        CHECK(post("/v1/checks", R"({"action":"start","checks":{}})") ==
              "cannot decode data from request body: json: cannot unmarshal object into Go struct field .checks of type []string");
        CHECK(post("/v1/checks", R"({"action":1,"checks":["c1"]})") ==
              "cannot decode data from request body: json: cannot unmarshal number into Go struct field .action of type string");
        CHECK(post("/v1/checks", R"({"action":"stop","checks":["c1",null]})") ==
              "cannot stop checks: cannot find checks in plan: ");
        CHECK(check_status(p.socket, "c1") == "up");  // not stopped
        CHECK(post("/v1/services", R"({"action":"start","services":[1]})") ==
              "cannot decode data from request body: json: cannot unmarshal number into Go struct field .services of type string");
        CHECK(post("/v1/services", R"({"action":"start","services":[null]})") ==
              "cannot start services: service \"\" does not exist");
    });
}

TEST_CASE("POST /v1/checks/refresh runs a check at once and answers its info and error", "[checks][refresh]") {
    on_each_pebble([](pebble_under_test& p) {
        temp_dir dir;
        const std::string ok = dir.path + "/ok";
        add_layer(p.socket, fmt::format("checks:\n  slow:\n    override: replace\n    level: ready\n    period: 1h\n"
                                        "    threshold: 3\n    exec:\n      command: /bin/sh -c 'echo not yet; test -e {}'\n",
                                        ok));
        auto a = unix_http(p.socket, "POST", "/v1/checks/refresh", R"({"name":"slow"})");
        INFO(a.body);
        REQUIRE(a.status == 200);
        auto r = a.result().as_object();
        CHECK(r.at("error").as_string() == "exit status 1; not yet");
        auto info = r.at("info").as_object();
        CHECK(info.at("name").as_string() == "slow");
        CHECK(info.at("status").as_string() == "up");
        CHECK(counter(info, "failures") == 1);
        CHECK(counter(info, "threshold") == 3);

        touch(ok);
        a = unix_http(p.socket, "POST", "/v1/checks/refresh", R"({"name":"slow"})");
        INFO(a.body);
        REQUIRE(a.status == 200);
        r = a.result().as_object();
        CHECK(!r.contains("error"));
        CHECK(counter(r.at("info").as_object(), "successes") == 1);
        CHECK(counter(r.at("info").as_object(), "failures") == 0);

        auto none = unix_http(p.socket, "POST", "/v1/checks/refresh", R"({})");
        CHECK(none.status == 400);
        CHECK(has(none.body, "must specify check name"));
        auto unknown = unix_http(p.socket, "POST", "/v1/checks/refresh", R"({"name":"nope"})");
        CHECK(unknown.status == 404);
        CHECK(has(unknown.body, R"(cannot find check with name \"nope\")"));
        CHECK(unix_http(p.socket, "GET", "/v1/checks/refresh").status == 405);

        // A stopped check is run directly; its counters stay as they were.
        REQUIRE(unix_http(p.socket, "POST", "/v1/checks", R"({"action":"stop","checks":["slow"]})").status == 200);
        std::filesystem::remove(ok);
        a = unix_http(p.socket, "POST", "/v1/checks/refresh", R"({"name":"slow"})");
        REQUIRE(a.status == 200);
        r = a.result().as_object();
        CHECK(r.at("error").as_string() == "exit status 1; not yet");
        CHECK(r.at("info").as_object().at("status").as_string() == "inactive");
        CHECK(counter(r.at("info").as_object(), "failures") == 0);
    });
}

TEST_CASE("An exec check with a user and no group runs with the user's primary group on several servers at once", "[checks][exec][testing-server]") {
    // Pebble's NormalizeUidGid. The test server looks the account up on each server's own thread:
    // with getpwnam/getgrgid (one static buffer per process) two servers raced (ThreadSanitizer).
    if (::geteuid() != 0) {
        WARN("not root: a check cannot run as another user here");
        return;
    }
    constexpr int servers = 2, rounds = 5;
    std::vector<pebble_under_test> ps;
    for (int i = 0; i < servers; ++i) ps.push_back(start_test_server());
    for (auto& p : ps)
        add_layer(p.socket, "checks:\n  who:\n    override: replace\n    period: 1h\n    exec:\n"
                            "      command: /bin/sh -c 'echo $(id -un):$(id -gn); exit 1'\n      user: nobody\n");
    std::vector<std::string> errors(servers * rounds);
    std::vector<std::thread> threads;
    for (int i = 0; i < servers; ++i)
        threads.emplace_back([&, i] {
            for (int k = 0; k < rounds; ++k) {
                auto a = unix_http(ps[static_cast<std::size_t>(i)].socket, "POST", "/v1/checks/refresh", R"({"name":"who"})");
                const json::value r = a.result();
                if (a.status == 200 && r.is_object() && r.as_object().contains("error"))
                    errors[static_cast<std::size_t>(i * rounds + k)] = std::string(r.as_object().at("error").as_string());
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& e : errors) CHECK(e == "exit status 1; nobody:nogroup");
}

TEST_CASE("A running check that a layer turns startup disabled keeps its change and runs on with its old config", "[checks][plan-changed]") {
    // Pebble v1.26's CheckManager.PlanChanged keeps the change of a check that turns from enabled
    // (or unset) to disabled: it runs on with the config its change was made with (here "true",
    // not the layer's "false"), and GET /v1/checks still says "enabled" until it is stopped. (The
    // test server ran the new command and answered the plan's startup.)
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n" + exec_check("keep", "    period: 200ms\n    threshold: 1\n"));
        const std::string id = change_id_of(check_info(p.socket, "keep"));
        REQUIRE(!id.empty());
        add_layer(p.socket, "checks:\n  keep:\n    override: merge\n    startup: disabled\n"
                            "    exec:\n      command: \"false\"\n");
        const auto before = counter(check_info(p.socket, "keep"), "successes");
        CHECK(eventually([&] { return counter(check_info(p.socket, "keep"), "successes") >= before + 2; }));
        auto o = check_info(p.socket, "keep");
        INFO(json::serialize(o));
        CHECK(change_id_of(o) == id);
        CHECK(o.at("status").as_string() == "up");
        CHECK(o.at("startup").as_string() == "enabled");
        CHECK(counter(o, "failures") == 0);
        CHECK(changes_of(p.socket, "recover-check").empty());

        auto a = unix_http(p.socket, "POST", "/v1/checks", R"({"action":"stop","checks":["keep"]})");
        REQUIRE(a.status == 200);
        CHECK(json::serialize(a.result()) == R"({"changed":["keep"]})");
        o = check_info(p.socket, "keep");
        CHECK(o.at("status").as_string() == "inactive");
        CHECK(o.at("startup").as_string() == "disabled");  // stop reads the plan's check
        check_aborted(p.socket, id, "keep");
    });
}

TEST_CASE("A running check whose period threshold or probe a layer changes is aborted and restarted in a new change", "[checks][plan-changed]") {
    // PlanChanged compares the running change's config with the new plan's (reflect.DeepEqual of
    // plan.Check: defaults filled in, so "10s" and "10000ms", or no threshold and 3, are the
    // same): a changed check's change is aborted (Done) and it starts again in a new
    // perform-check change with its counters at 0; a down check's recover-check too; a
    // startup-disabled check started through POST /v1/checks too. (The test server kept every
    // running change and ran the new settings in it.)
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n" + exec_check("per", "    period: 1h\n") + exec_check("thr", "    period: 1h\n") +
                                exec_check("probe", "    period: 1h\n") + exec_check("same", "    period: 1h\n") +
                                exec_check("down", "    period: 1h\n    threshold: 1\n", "\"false\"") +
                                exec_check("off", "    startup: disabled\n    period: 1h\n"));
        post_checks(p.socket, "start", {"off"});
        std::map<std::string, std::string> old_id;
        for (const char* name : {"per", "thr", "probe", "same", "off"}) {
            CHECK(!refresh(p.socket, name).contains("error"));
            old_id[name] = change_id_of(check_info(p.socket, name));
        }
        CHECK(refresh(p.socket, "down").contains("error"));  // threshold 1: down, in recover-check
        // Pebble makes the recover-check change once the perform-check task has ended in Error.
        REQUIRE(eventually([&] { return changes_of(p.socket, "recover-check").size() == 1; }));
        old_id["down"] = std::string(changes_of(p.socket, "recover-check").front().at("id").as_string());
        CHECK(change_id_of(check_info(p.socket, "down")) == old_id["down"]);

        add_layer(p.socket, "checks:\n"
                            "  per:\n    override: merge\n    period: 2h\n"
                            "  thr:\n    override: merge\n    threshold: 5\n"
                            "  probe:\n    override: merge\n    exec:\n      command: /bin/true\n"
                            "  same:\n    override: merge\n    period: 60m\n    threshold: 3\n"
                            "  down:\n    override: merge\n    threshold: 2\n"
                            "  off:\n    override: merge\n    period: 2h\n");
        for (const char* name : {"per", "thr", "probe", "down", "off"}) {
            INFO(name);
            const auto o = check_info(p.socket, name);
            INFO(json::serialize(o));
            const std::string id = change_id_of(o);
            CHECK(!id.empty());
            CHECK(id != old_id[name]);
            CHECK(o.at("status").as_string() == "up");
            CHECK(counter(o, "successes") == 0);
            CHECK(counter(o, "failures") == 0);
            check_aborted(p.socket, old_id[name], name);
            const json::object c = change_of(p.socket, id);
            CHECK(c.at("kind").as_string() == "perform-check");
            CHECK(c.at("status").as_string() == "Doing");
            CHECK(change_notice(p.socket, id).at("last-data").as_object().at("check-name").as_string() == name);
        }
        CHECK(counter(check_info(p.socket, "thr"), "threshold") == 5);
        CHECK(check_info(p.socket, "off").at("startup").as_string() == "disabled");
        const auto same = check_info(p.socket, "same");  // 1h and 60m, no threshold and 3: unchanged
        CHECK(change_id_of(same) == old_id["same"]);
        CHECK(counter(same, "successes") == 1);
    });
}

TEST_CASE("A plan change starts a stopped enabled check again and resets a stopped disabled one", "[checks][plan-changed]") {
    // PlanChanged starts every check of the plan that has no running change unless its startup
    // is disabled; a disabled one without a change is set inactive with its counters at 0.
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n" + exec_check("on", "    period: 1h\n") +
                                exec_check("off", "    startup: disabled\n    period: 1h\n"));
        post_checks(p.socket, "start", {"off"});
        refresh(p.socket, "on");
        refresh(p.socket, "off");
        post_checks(p.socket, "stop", {"on", "off"});
        CHECK(counter(check_info(p.socket, "off"), "successes") == 1);
        CHECK(counter(check_info(p.socket, "on"), "successes") == 1);
        add_other_layer(p.socket);
        auto on = check_info(p.socket, "on");
        CHECK(on.at("status").as_string() == "up");
        CHECK(!change_id_of(on).empty());
        CHECK(counter(on, "successes") == 0);
        auto off = check_info(p.socket, "off");
        CHECK(off.at("status").as_string() == "inactive");
        CHECK(counter(off, "successes") == 0);
    });
}

TEST_CASE("A replan starts every stopped check whose startup is not disabled without its service-context", "[checks][replan]") {
    // Pebble v1.26's replan (v1PostServices) calls CheckManager.Replan: each check of the plan that
    // is not running and not `startup: disabled` gets a perform-check change (before the replan
    // change, so a lower id) with the plan's check as it is (no mergeServiceContext: this one
    // misses the service's FOO) and counters 0; running and disabled checks are left alone. (The
    // test server left the stopped checks inactive.) The service is enabled so that the replan has
    // a task: Pebble runs the new check changes at its next ensure, which a replan without tasks
    // does not ask for, and a refresh of a check whose change has not run yet waits for it.
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "services:\n  svc:\n    override: replace\n    startup: enabled\n    command: sleep 1000\n"
                            "    environment:\n      FOO: bar\n"
                            "checks:\n" + exec_check("on", "    period: 1h\n") +
                                exec_check("off", "    startup: disabled\n    period: 1h\n") +
                                exec_check("ctx", "    period: 1h\n    threshold: 5\n", "sh -c 'test \"$FOO\" = bar'\n"
                                                  "      service-context: svc") +
                                exec_check("run", "    period: 1h\n"));
        post_checks(p.socket, "start", {"off"});
        refresh(p.socket, "on");
        post_checks(p.socket, "stop", {"on", "off", "ctx"});
        CHECK(counter(check_info(p.socket, "on"), "successes") == 1);
        const std::string run_id = change_id_of(check_info(p.socket, "run"));
        REQUIRE(!run_id.empty());

        const auto replan = [&] {
            auto a = unix_http(p.socket, "POST", "/v1/services", R"({"action":"replan"})");
            INFO(a.body);
            REQUIRE(a.status == 202);
            const std::string id(a.json().as_object().at("change").as_string());
            CHECK(ready_change(p.socket, id).at("status").as_string() == "Done");
            return std::stoi(id);
        };
        const int replan_id = replan();
        std::map<std::string, std::string> ids;
        for (const char* name : {"on", "ctx"}) {
            INFO(name);
            const auto o = check_info(p.socket, name);
            CHECK(o.at("status").as_string() == "up");
            CHECK(counter(o, "successes") == 0);
            ids[name] = change_id_of(o);
            REQUIRE(!ids[name].empty());
            CHECK(std::stoi(ids[name]) < replan_id);
            CHECK(change_of(p.socket, ids[name]).at("kind").as_string() == "perform-check");
        }
        const auto off = check_info(p.socket, "off");
        CHECK(off.at("status").as_string() == "inactive");
        CHECK(change_id_of(off).empty());
        CHECK(change_id_of(check_info(p.socket, "run")) == run_id);
        CHECK(refresh(p.socket, "ctx").at("error").as_string() == "exit status 1");

        replan();  // everything that should run runs: nothing changes
        CHECK(change_id_of(check_info(p.socket, "on")) == ids["on"]);
        CHECK(change_id_of(check_info(p.socket, "ctx")) == ids["ctx"]);
        CHECK(change_id_of(check_info(p.socket, "run")) == run_id);
        CHECK(check_status(p.socket, "off") == "inactive");
    });
}

TEST_CASE("A check started through POST /v1/checks runs without its service-context until a plan change restarts it", "[checks][plan-changed]") {
    // Pebble v1.26's StartChecks makes the change with the plan's check as it is (PlanChanged
    // merges the service-context in): the started check misses the service's environment; the
    // next plan change finds its config changed and restarts it with the context.
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "services:\n  svc:\n    override: replace\n    command: sleep 1000\n"
                            "    environment:\n      FOO: bar\n"
                            "checks:\n  ctx:\n    override: replace\n    startup: disabled\n    period: 1h\n"
                            "    threshold: 5\n    exec:\n      command: sh -c 'test \"$FOO\" = bar'\n"
                            "      service-context: svc\n");
        post_checks(p.socket, "start", {"ctx"});
        const std::string id = change_id_of(check_info(p.socket, "ctx"));
        CHECK(refresh(p.socket, "ctx").at("error").as_string() == "exit status 1");
        add_other_layer(p.socket);
        CHECK(change_id_of(check_info(p.socket, "ctx")) != id);
        CHECK(!refresh(p.socket, "ctx").contains("error"));
        check_aborted(p.socket, id, "ctx");
    });
}

TEST_CASE("POST /v1/checks stop aborts the check change and the change ends Done", "[checks][start-stop]") {
    // Pebble's task runner cannot undo a perform-check task (no undo handler): the aborted task
    // goes Abort, Undo, then Done. (The test server ended it Undone.)
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n" + exec_check("c1", "    period: 1h\n"));
        const std::string id = change_id_of(check_info(p.socket, "c1"));
        REQUIRE(!id.empty());
        post_checks(p.socket, "stop", {"c1"});
        check_aborted(p.socket, id, "c1");
    });
}

TEST_CASE("After a recovery the new perform-check counts its successes from 0", "[checks][refresh]") {
    // doRecoverCheck's success sets the check's successes to 1; the perform-check it starts has
    // its own details from 0, so its first success says 1 again, its second 2.
    on_each_pebble([](pebble_under_test& p) {
        temp_dir dir;
        const std::string ok = dir.path + "/ok";
        add_layer(p.socket, "checks:\n" + exec_check("flap", "    period: 1h\n    threshold: 1\n", "test -e " + ok));
        CHECK(refresh(p.socket, "flap").contains("error"));
        CHECK(check_status(p.socket, "flap") == "down");
        touch(ok);
        CHECK(counter(refresh(p.socket, "flap").at("info").as_object(), "successes") == 1);
        CHECK(eventually([&] { return changes_of(p.socket, "perform-check").size() == 2; }));
        CHECK(counter(check_info(p.socket, "flap"), "successes") == 1);
        CHECK(counter(refresh(p.socket, "flap").at("info").as_object(), "successes") == 1);
        CHECK(counter(refresh(p.socket, "flap").at("info").as_object(), "successes") == 2);
    });
}

TEST_CASE("GET /v1/health level ready counts ready and alive checks but not those without a level", "[checks][health]") {
    // v1Health: "ready implies alive"; a check without a level matches only when no level is
    // asked. A level other than alive or ready is 400, in GET /v1/checks too.
    on_each_pebble([](pebble_under_test& p) {
        add_layer(p.socket, "checks:\n" + exec_check("u", "    period: 1h\n    threshold: 1\n", "\"false\""));
        refresh(p.socket, "u");
        CHECK(unix_http(p.socket, "GET", "/v1/health").status == 502);
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 200);
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=alive").status == 200);
        add_layer(p.socket, "checks:\n" + exec_check("a", "    level: alive\n    period: 1h\n    threshold: 1\n", "\"false\""));
        refresh(p.socket, "a");
        CHECK(unix_http(p.socket, "GET", "/v1/health?level=ready").status == 502);
        for (const char* path : {"/v1/health?level=bogus", "/v1/checks?level=bogus"}) {
            auto a = unix_http(p.socket, "GET", path);
            INFO(path << " -> " << a.body);
            CHECK(a.status == 400);
            CHECK(has(a.body, R"(level must be \"alive\" or \"ready\")"));
        }
    });
}

TEST_CASE("After a daemon restart no check change of the previous run is still Doing", "[checks][restart]") {
    // A container restart stops `pebble run` gracefully: its task runner stops and each check's
    // handler returns, so every running check change ends Done (three change-update notices: Do,
    // Doing, Done). The new daemon reads its layers and starts their checks in new changes; a
    // check of a layer added through the API is gone. (restart_daemon() left the old changes
    // Doing.)
    const std::string yaml = "checks:\n" + exec_check("boot", "    period: 1h\n");
    const std::string api = "checks:\n" + exec_check("api", "    period: 1h\n");
    on_each_pebble_with_layers(yaml, [&](const std::string& socket, const std::function<void()>& restart) {
        add_layer(socket, api);
        refresh(socket, "boot");
        const std::string boot_id = change_id_of(check_info(socket, "boot"));
        const std::string api_id = change_id_of(check_info(socket, "api"));
        REQUIRE(!boot_id.empty());
        REQUIRE(!api_id.empty());
        restart();
        for (const auto& id : {boot_id, api_id}) {
            INFO("change " << id);
            const json::object c = change_of(socket, id);
            CHECK(c.at("status").as_string() == "Done");
            CHECK(c.at("ready").as_bool());
            CHECK(change_notice(socket, id).at("occurrences").as_int64() == 3);
        }
        auto checks = unix_http(socket, "GET", "/v1/checks").result().as_array();
        REQUIRE(checks.size() == 1);
        const json::object boot = checks.front().as_object();
        CHECK(boot.at("name").as_string() == "boot");
        const std::string new_id = change_id_of(boot);
        CHECK(!new_id.empty());
        CHECK(new_id != boot_id);
        CHECK(counter(boot, "successes") == 0);
        std::vector<std::string> doing;
        for (const char* kind : {"perform-check", "recover-check"})
            for (const auto& c : changes_of(socket, kind))
                if (c.at("status").as_string() != "Done") doing.emplace_back(c.at("id").as_string());
        CHECK(doing == std::vector<std::string>{new_id});
    });
}
