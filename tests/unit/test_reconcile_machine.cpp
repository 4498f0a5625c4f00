#include <redispebble/reconcile_machine.hpp>

#include <redispebble/digest.hpp>

#include <catch2/catch.hpp>

#include <functional>

using namespace redispebble;
using kind = pebble_request::kind;
using outcome = pebble_reply::outcome;

namespace {

// An in-memory container: what Pebble and the filesystem hold. The driver below applies the
// machine's requests to it, the way the real driver applies them through the client.
struct container {
    bool up = true;
    layer plan;
    std::map<std::string, std::string> files;
    std::string service_state = "inactive";
    int restarts = 0, writes = 0, next_change = 1;
    bool start_fails = false;
    std::function<std::optional<pebble_reply>(const pebble_request&)> fault;  // injected answer

    pebble_reply handle(const pebble_request& r) {
        if (fault)
            if (auto injected = fault(r)) return *injected;
        pebble_reply rep;
        if (!up) {
            rep.result = outcome::unreachable;
            rep.error = "socket not found";
            return rep;
        }
        switch (r.what) {
        case kind::get_plan: rep.plan = plan; break;
        case kind::get_service:
            if (plan.services.count(r.service)) rep.service_current = service_state;
            break;
        case kind::read_files:
            for (const auto& p : r.paths)
                rep.file_sha256[p] = files.count(p) ? std::optional<std::string>(sha256_hex(files[p])) : std::nullopt;
            break;
        case kind::push_files:
            for (const auto& f : r.files) files[f.path] = f.content.reveal(), ++writes;
            break;
        case kind::add_layer: merge_into(plan, *r.layer_to_add), ++writes; break;
        case kind::restart:
        case kind::start:
            rep.change_id = std::to_string(next_change++);
            ++restarts;
            service_state = start_fails ? "backoff" : "active";
            break;
        case kind::wait_change:
            rep.change_failed = start_fails;
            if (start_fails)
                rep.change_error = "cannot perform the following tasks:\n- Start service \"redis\" (exited quickly)\n"
                                   "Most recent service output:\n    # Bad directive or wrong number of arguments\n"
                                   "    requirepass s3cret pass";
            break;
        }
        return rep;
    }
};

reconcile_report run(container& c, const desired_state& d, int* steps = nullptr, bool dry_run = false) {
    reconcile_machine m(d, dry_run);
    std::optional<pebble_request> req = m.start();
    int n = 0;
    while (req) {
        REQUIRE(++n < 20);
        req = m.resume(c.handle(*req));
    }
    if (steps) *steps = n;
    REQUIRE(m.done());
    return m.report();
}

desired_state unit() {
    desired_state d;
    d.config.health_checks = false;  // the checks' client-auth file: tests/unit/test_companions.cpp
    d.peer.admin_password = secret("s3cret pass");
    d.peer.current_master = "redis-0";
    d.peer.hostname = "redis-0";
    return d;
}

} // namespace

TEST_CASE("A fresh unit is pushed and layered and restarted and then Active", "[reconcile-machine]") {
    container c;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK_FALSE(r.retry_later);
    CHECK(r.restarts() == 1);
    CHECK(r.writes() == 2);
    CHECK(c.restarts == 1);
    CHECK(c.files.count("/var/lib/redis/redispebble-secrets.conf") == 1);
    CHECK(c.plan.services.count("redis") == 1);
    CHECK(c.service_state == "active");
    CHECK_FALSE(r.failed_step);
}

TEST_CASE("A second reconcile with unchanged inputs makes zero restarts and zero writes", "[reconcile-machine]") {
    container c;
    run(c, unit());
    const int restarts = c.restarts, writes = c.writes;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK(r.restarts() == 0);
    CHECK(r.writes() == 0);
    CHECK(c.restarts == restarts);
    CHECK(c.writes == writes);
    CHECK(r.actions_done.empty());
}

TEST_CASE("Pebble absent is Waiting with a retry and nothing attempted", "[reconcile-machine]") {
    container c;
    c.up = false;
    int steps = 0;
    auto r = run(c, unit(), &steps);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == "Waiting for Pebble in workload container");
    CHECK(r.retry_later);
    CHECK(steps == 1);
}

TEST_CASE("Pebble restarting mid-reconcile loses layers and the next reconcile converges", "[reconcile-machine]") {
    container c;
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::add_layer) return std::nullopt;
        c.plan = {};  // a restarted Pebble forgets its layers
        pebble_reply rep;
        rep.result = outcome::unreachable;
        rep.error = "connection closed";
        return rep;
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "add layer \"redis\"");
    CHECK(r.actions_done == std::vector<std::string>{"pushed /var/lib/redis/redispebble-secrets.conf"});
    c.fault = nullptr;
    auto again = run(c, unit());
    CHECK(again.status == unit_status::active);
    CHECK(again.writes() == 1);  // only the layer: the file is already right
    CHECK(again.restarts() == 1);
}

TEST_CASE("Redis failing to start is Blocked with its output and without the password", "[reconcile-machine]") {
    container c;
    c.start_fails = true;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.retry_later);
    CHECK(r.message.find("failed to start") != std::string::npos);
    CHECK(r.message.find("Bad directive") != std::string::npos);
    CHECK(r.message.find("s3cret") == std::string::npos);
    REQUIRE(r.failed_step);
    CHECK(r.writes() == 2);  // the report says what was done before the failure
}

TEST_CASE("A per-file push error is Blocked naming the file", "[reconcile-machine]") {
    container c;
    c.fault = [](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::push_files) return std::nullopt;
        pebble_reply rep;
        rep.file_errors[r.files.front().path] = "permission denied";
        return rep;
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot write /var/lib/redis/redispebble-secrets.conf: permission denied");
    CHECK(r.restarts() == 0);
    CHECK(r.writes() == 0);
}

TEST_CASE("A change still running at the deadline is Waiting and retried", "[reconcile-machine]") {
    container c;
    c.fault = [](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::wait_change) return std::nullopt;
        pebble_reply rep;
        rep.result = outcome::timed_out;
        return rep;
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    CHECK(r.message == "Service \"redis\" is still starting");
}

TEST_CASE("A Pebble error adding the layer is Blocked with Pebble's message", "[reconcile-machine]") {
    container c;
    c.fault = [](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::add_layer) return std::nullopt;
        pebble_reply rep;
        rep.result = outcome::failed;
        rep.error = "cannot use reserved label prefix \"pebble-\"";
        return rep;
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot add layer \"redis\": cannot use reserved label prefix \"pebble-\"");
}

TEST_CASE("Incomplete peer data stops after reading the plan", "[reconcile-machine]") {
    container c;
    auto d = unit();
    d.peer.current_master.clear();
    int steps = 0;
    auto r = run(c, d, &steps);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == "Waiting for peer data to be updated");
    CHECK(steps == 1);
    CHECK(c.writes == 0);
}

TEST_CASE("redact_output keeps the last lines and hides passwords", "[reconcile-machine]") {
    std::string text;
    for (int i = 0; i < 30; ++i) text += "line " + std::to_string(i) + "\n";
    text += "redis-server --requirepass hunter2 --port 1\nthe password pw0rd leaked";
    auto out = redact_output(text, secret("pw0rd"), 3);
    CHECK(out == "line 29\nredis-server --requirepass <redacted> --port 1\nthe password <redacted> leaked");
}

TEST_CASE("A dry run observes and decides but changes nothing", "[reconcile-machine]") {
    container c;
    auto r = run(c, unit(), nullptr, true);
    CHECK(r.status == unit_status::active);
    CHECK(r.actions_done.empty());
    CHECK(r.decided.add_layer);
    CHECK(r.decided.push.size() == 1);
    CHECK(c.writes == 0);
    CHECK(c.restarts == 0);
}
