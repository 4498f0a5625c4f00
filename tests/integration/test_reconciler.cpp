// The reconciler's cancellation against the test server: client::cancel() and destroying the client
// during async_reconcile complete it with operation_aborted and a report of what was done.
#include <redispebble/reconciler.hpp>

#include <redispebble/testing/server.hpp>

#include "support/pebble_daemon.hpp"
#include "support/reconcile_run.hpp"
#include "support/run_command.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <algorithm>

#include <future>
#include <optional>
#include <string>

using namespace redispebble;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Simulated services; a start that takes `start_window` keeps the restart's change in flight.
testing::server_options simulated(std::chrono::milliseconds start_window) {
    testing::server_options o;
    o.run_processes = false;
    o.start_window = start_window;
    return o;
}

pebble::client_options at(const testing::pebble_server& s) { return test::client_options_for(s, 10s); }

desired_state unit(const test::temp_dir& dir) {
    desired_state d;
    d.config.storage_path = dir.path + "/storage";
    d.config.bind_address = "127.0.0.1";
    d.peer = {secret("a-password"), "redis-0", "redis-0"};
    return d;
}

struct outcome {
    bool called = false;
    pebble::error_code ec;
    reconcile_report report;
};

bool contains(const std::vector<std::string>& v, const std::string& prefix) {
    for (const auto& s : v)
        if (s.rfind(prefix, 0) == 0) return true;
    return false;
}

// A test server with simulated services (start window as given) and a unit whose storage is in a
// scratch directory.
struct simulated_unit {
    testing::pebble_server server;
    test::temp_dir dir;
    desired_state want = unit(dir);
    explicit simulated_unit(std::chrono::milliseconds start_window) : server(simulated(start_window)) {}
};

// A simulated unit with an io_context for the asynchronous calls and a client on it.
struct async_unit : simulated_unit {
    using simulated_unit::simulated_unit;
    asio::io_context ctx;
    pebble::client c{ctx, at(server)};
};

// async_reconcile of `d` through `c`, running `ctx` until it ends: what the handler got.
outcome reconcile_on(asio::io_context& ctx, pebble::client& c, const desired_state& d, const reconcile_options& ro) {
    outcome got;
    async_reconcile(c, d, ro, [&](pebble::error_code ec, reconcile_report r) { got = {true, ec, std::move(r)}; });
    ctx.run();
    return got;
}

// Sets ro.log so that `act` runs on `later` 100 ms after the reconcile logs a line containing `needle`.
void when_logged(reconcile_options& ro, asio::steady_timer& later, std::string needle, std::function<void()> act) {
    ro.log = [&later, needle = std::move(needle), act = std::move(act)](std::string_view line) {
        if (line.find(needle) == std::string_view::npos) return;
        later.expires_after(100ms);
        later.async_wait([act](pebble::error_code) { act(); });
    };
}

} // namespace

TEST_CASE("cancel right after async_reconcile starts completes with operation_aborted and touches nothing", "[reconciler][cancel]") {
    async_unit u(50ms);
    outcome got;
    async_reconcile(u.c, u.want, {}, [&](pebble::error_code ec, reconcile_report r) {
        got = {true, ec, std::move(r)};
    });
    u.c.cancel();
    u.ctx.run();
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
    CHECK(got.report.retry_later);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "read the Pebble plan");
    CHECK(got.report.message == "Reconcile cancelled before it could read the Pebble plan");
    CHECK(got.report.actions_done.empty());
    CHECK(u.server.record().requests.empty());
}

TEST_CASE("cancel while the restart is in flight completes with operation_aborted and says what was done", "[reconciler][cancel]") {
    async_unit u(5s);
    reconcile_options ro;
    // When the wait for the restart begins, cancel from outside the reconcile a moment later.
    asio::steady_timer later(u.ctx);
    when_logged(ro, later, "wait for change", [&] { u.c.cancel(); });
    const outcome got = reconcile_on(u.ctx, u.c, u.want, ro);
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
    CHECK(got.report.message == "Reconcile cancelled before it could wait for the service change");
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "wait for the service change");
    CHECK(contains(got.report.actions_done, "pushed "));
    CHECK(contains(got.report.actions_done, "added layer \"redis\""));
    CHECK(contains(got.report.actions_done, "requested restart of \"redis\""));
    CHECK_FALSE(contains(got.report.actions_done, "restarted "));
}

TEST_CASE("destroying the client during async_reconcile completes it with operation_aborted", "[reconciler][cancel]") {
    simulated_unit u(5s);
    asio::io_context ctx;
    std::optional<pebble::client> c;
    c.emplace(ctx, at(u.server));
    reconcile_options ro;
    asio::steady_timer later(ctx);
    when_logged(ro, later, "wait for change", [&] { c.reset(); });
    const outcome got = reconcile_on(ctx, *c, u.want, ro);
    CHECK_FALSE(c);
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "wait for the service change");
    CHECK(contains(got.report.actions_done, "added layer \"redis\""));
}

TEST_CASE("destroying a client with its own thread during async_reconcile completes it with operation_aborted", "[reconciler][cancel]") {
    simulated_unit u(5s);
    std::promise<void> waiting;
    std::promise<outcome> done;
    // Outlives the block: destroying the client completes the reconcile, whose report is logged
    // through ro.log after the block has ended (AddressSanitizer: stack-use-after-scope).
    bool told = false;
    {
        pebble::client c(at(u.server));
        reconcile_options ro;
        ro.log = [&](std::string_view line) {
            if (!told && line.find("wait for change") != std::string_view::npos) {
                told = true;
                waiting.set_value();
            }
        };
        async_reconcile(c, u.want, ro, [&](pebble::error_code ec, reconcile_report r) {
            done.set_value({true, ec, std::move(r)});
        });
        REQUIRE(waiting.get_future().wait_for(30s) == std::future_status::ready);
    }
    auto f = done.get_future();
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    auto got = f.get();
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
}

TEST_CASE("cancel during the retry backoff ends the reconcile at once", "[reconciler][cancel]") {
    test::temp_dir dir;
    asio::io_context ctx;
    pebble::client_options o;
    o.socket_path = dir.path + "/no-pebble-here.socket";
    pebble::client c(ctx, o);
    reconcile_options ro;
    ro.deadline = 10min;
    ro.retry_backoff = 5min;
    // Cancel while the reconcile sleeps before its second attempt.
    asio::steady_timer later(ctx);
    when_logged(ro, later, "retrying in", [&] { c.cancel(); });
    const outcome got = reconcile_on(ctx, c, unit(dir), ro);
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.attempts == 2);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "read the Pebble plan");
}

TEST_CASE("the synchronous reconcile stops at a cancel and its report says so", "[reconciler][cancel]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    reconcile_options ro;
    ro.log = [&](std::string_view line) {
        if (line.find("add layer") != std::string_view::npos) c.cancel();
    };
    auto r = reconcile(c, u.want, ro);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "add layer \"redis\"");
    CHECK(r.message == "Reconcile cancelled before it could add layer \"redis\"");
    CHECK(contains(r.actions_done, "pushed "));
    CHECK(u.server.record().layers_added == 0);
}

// The synchronous forms run the asynchronous coroutine on the caller's thread (a private io_context):
// a client on an executor that nothing runs is no obstacle (its own synchronous calls would time out).
TEST_CASE("the synchronous reconcile observe and apply work on a client whose executor nothing runs", "[reconciler]") {
    simulated_unit u(50ms);
    asio::io_context idle;  // never run
    pebble::client c(idle.get_executor(), at(u.server));
    reconcile_options ro;
    ro.probe.enabled = false;  // simulated services: no Redis to ask
    const reconcile_report r = reconcile(c, u.want, ro);
    CHECK(r.status == unit_status::active);
    CHECK(r.restarts() == 1);
    CHECK(u.server.record().layers_added == 1);
    const reconcile_report again = apply(c, u.want, decide(observe(c, u.want, ro), u.want), ro);
    CHECK(again.status == unit_status::active);
    CHECK(again.writes() == 0);
    CHECK(again.restarts() == 0);
}

TEST_CASE("Pebble absent at the start names the step that failed", "[reconciler]") {
    test::temp_dir dir;
    pebble::client_options o;
    o.socket_path = dir.path + "/no-pebble-here.socket";
    pebble::client c(o);
    auto r = reconcile(c, unit(dir));
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == msg_waiting_for_pebble);
    CHECK(r.retry_later);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "read the Pebble plan");
}

// observe(), decide(), apply(): the reconcile in the caller's hands (issue 15).

namespace {

reconcile_options no_probe() {
    reconcile_options ro;
    ro.probe.enabled = false;  // simulated services: no Redis to ask
    return ro;
}

int requests_with(const testing::pebble_server& s, const std::string& method) {
    int n = 0;
    for (const auto& r : s.record().requests) n += r.method == method;
    return n;
}

} // namespace

TEST_CASE("observe of an in-sync unit followed by decide gives no action", "[reconciler][observe]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    REQUIRE(reconcile(c, u.want, no_probe()).status == unit_status::active);

    const std::size_t before = u.server.record().requests.size();
    const observed_state seen = observe(c, u.want);
    // It only looked: every request since is a GET.
    const auto& requests = u.server.record().requests;
    for (std::size_t i = before; i < requests.size(); ++i) CHECK(requests[i].method == "GET");
    CHECK(seen.pebble_reachable);
    REQUIRE(seen.plan);
    CHECK(seen.plan->services.count("redis") == 1);
    CHECK(seen.service_current == std::optional<std::string>("active"));
    REQUIRE(seen.storage);
    CHECK(seen.storage->exists);
    CHECK(seen.storage->type == "directory");
    CHECK(seen.secrets_key);
    CHECK_FALSE(seen.file_sha256.empty());
    // The unit's files are there; the files it no longer wants (prepare().retire_files) are
    // observed too, as absent.
    const auto retired = prepare(u.want).retire_files;
    for (const auto& [path, sha] : seen.file_sha256) {
        INFO(path);
        const bool retire = std::find(retired.begin(), retired.end(), path) != retired.end();
        CHECK(bool(sha) != retire);
    }

    const decision d = decide(seen, u.want);
    CHECK(d.no_op());
    CHECK(d.status_after == unit_status::active);
    CHECK(d.differences.empty());
}

TEST_CASE("observe of a fresh unit then decide asks for what reconcile would do", "[reconciler][observe]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    const observed_state seen = observe(c, u.want);
    CHECK(requests_with(u.server, "POST") == 0);
    REQUIRE(seen.storage);
    CHECK_FALSE(seen.storage->exists);
    const decision d = decide(seen, u.want);
    REQUIRE(d.storage);
    CHECK(d.storage->make);
    CHECK_FALSE(d.push.empty());
    CHECK(d.add_layer);
    CHECK(d.restart == std::vector<std::string>{"redis"});
    // Active is the status once these actions are done, not now.
    CHECK(d.status_after == unit_status::active);
    CHECK_FALSE(d.no_op());
}

TEST_CASE("apply of a decision without its restart does exactly that decision", "[reconciler][apply]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    decision d = decide(observe(c, u.want), u.want);
    REQUIRE(d.restart == std::vector<std::string>{"redis"});
    d.restart.clear();  // the caller restarts later, in its own maintenance window

    const reconcile_report r = apply(c, u.want, d, no_probe());
    INFO(r.message);
    CHECK(r.status == unit_status::active);
    CHECK_FALSE(r.failed_step);
    CHECK(r.decided.restart.empty());
    CHECK(r.restarts() == 0);
    CHECK(contains(r.actions_done, "made directory "));
    CHECK(contains(r.actions_done, "pushed "));
    CHECK(contains(r.actions_done, "added layer \"redis\""));
    CHECK(u.server.record().layers_added == 1);
    CHECK(u.server.record().restarts.count("redis") == 0);
    CHECK(u.server.record().starts.count("redis") == 0);
    for (const auto& req : u.server.record().requests) {
        const bool service_action = req.method == "POST" && req.target.rfind("/v1/services", 0) == 0;
        CHECK_FALSE(service_action);
    }

    // What is left: the layer is applied and the files are there, the service not started.
    const decision next = decide(observe(c, u.want), u.want);
    CHECK_FALSE(next.storage);
    CHECK(next.push.empty());
    CHECK_FALSE(next.add_layer);
    CHECK(next.restart.empty());
    CHECK(next.start == std::vector<std::string>{"redis"});
    const reconcile_report started = apply(c, u.want, next, no_probe());
    CHECK(started.status == unit_status::active);
    CHECK(started.restarts() == 1);
    CHECK(started.writes() == 0);
    CHECK(decide(observe(c, u.want), u.want).no_op());
}

TEST_CASE("apply of an observed decision is what reconcile does and a second reconcile does nothing", "[reconciler][apply]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    const reconcile_report r = apply(c, u.want, decide(observe(c, u.want), u.want), no_probe());
    CHECK(r.status == unit_status::active);
    CHECK(r.restarts() == 1);
    const reconcile_report again = reconcile(c, u.want, no_probe());
    CHECK(again.status == unit_status::active);
    CHECK(again.writes() == 0);
    CHECK(again.restarts() == 0);
}

TEST_CASE("apply with dry_run reports the decision and sends nothing", "[reconciler][apply]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    const decision d = decide(observe(c, u.want), u.want);
    const std::size_t before = u.server.record().requests.size();
    reconcile_options ro = no_probe();
    ro.dry_run = true;
    const reconcile_report r = apply(c, u.want, d, ro);
    CHECK(u.server.record().requests.size() == before);
    CHECK(r.actions_done.empty());
    CHECK(r.status == unit_status::active);
    CHECK(r.decided.push.size() == d.push.size());
}

TEST_CASE("async_observe and async_apply converge a unit and then observe it in sync", "[reconciler][observe][apply]") {
    async_unit u(50ms);
    std::optional<reconcile_report> applied;
    std::optional<decision> after;
    pebble::error_code ec1, ec2, ec3;
    async_observe(u.c, u.want, {}, [&](pebble::error_code e1, observed_state seen) {
        ec1 = e1;
        async_apply(u.c, u.want, decide(seen, u.want), no_probe(), [&](pebble::error_code e2, reconcile_report r) {
            ec2 = e2;
            applied = std::move(r);
            async_observe(u.c, u.want, {}, [&](pebble::error_code e3, observed_state again) {
                ec3 = e3;
                after = decide(again, u.want);
            });
        });
    });
    u.ctx.run();
    CHECK_FALSE(ec1);
    CHECK_FALSE(ec2);
    CHECK_FALSE(ec3);
    REQUIRE(applied);
    CHECK(applied->status == unit_status::active);
    CHECK(applied->restarts() == 1);
    REQUIRE(after);
    CHECK(after->no_op());
}

TEST_CASE("A completion token where the options go means default options for async_observe async_apply and async_reconcile", "[reconciler][observe][apply]") {
    async_unit u(50ms);
    std::optional<decision> first;
    std::optional<reconcile_report> applied;
    asio::co_spawn(
        u.ctx,
        [&]() -> asio::awaitable<void> {
            const observed_state seen = co_await async_observe(u.c, u.want, asio::use_awaitable);
            first = decide(seen, u.want);
            // A decision with no action and a Waiting status: apply makes no request and no probe.
            decision wait;
            wait.message = "waiting for the leader";
            applied = co_await async_apply(u.c, u.want, wait, asio::use_awaitable);
        },
        asio::detached);
    u.ctx.run();
    REQUIRE(first);
    CHECK(first->add_layer.has_value());   // a fresh unit: our layer is to be added
    REQUIRE(applied);
    CHECK(applied->status == unit_status::waiting);
    CHECK(applied->message == "waiting for the leader");
    CHECK(applied->actions_done.empty());

    // A plain handler in the options slot, against a Pebble that is not there.
    pebble::client_options gone;
    gone.socket_path = u.dir.path + "/absent.socket";
    pebble::client absent(u.ctx, gone);
    std::optional<reconcile_report> r;
    pebble::error_code got = asio::error::would_block;
    async_reconcile(absent, u.want, [&](pebble::error_code ec, reconcile_report rep) {
        got = ec;
        r = std::move(rep);
    });
    u.ctx.restart();
    u.ctx.run();
    CHECK_FALSE(got);
    REQUIRE(r);
    CHECK(r->status == unit_status::waiting);
    CHECK(r->message == msg_waiting_for_pebble);
}

TEST_CASE("observe with an empty socket path fails with invalid_option and reconcile reports it Blocked", "[reconciler][observe][input]") {
    test::temp_dir dir;
    pebble::client_options o;   // socket_path left empty
    pebble::client c(o);
    const desired_state want = unit(dir);
    pebble::error_code ec;
    reconcile_report failure;
    (void)observe(c, want, {}, ec, &failure);
    CHECK(ec == pebble::error::invalid_option);
    REQUIRE(failure.failed_step);
    CHECK(*failure.failed_step == "read the Pebble plan");
    CHECK_THROWS_AS(observe(c, want), observe_error);

    const reconcile_report r = reconcile(c, want);
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot read the Pebble plan: client_options.socket_path: must not be empty "
                       "(the path of Pebble's socket, usually $PEBBLE/.pebble.socket)");
    CHECK_FALSE(r.retry_later);   // an option to fix, not a moment to wait for
}

TEST_CASE("observe with Pebble absent is not an error and decide says Waiting for Pebble", "[reconciler][observe]") {
    test::temp_dir dir;
    pebble::client_options o;
    o.socket_path = dir.path + "/no-pebble-here.socket";
    pebble::client c(o);
    const desired_state want = unit(dir);
    observed_state seen;
    REQUIRE_NOTHROW(seen = observe(c, want));
    CHECK_FALSE(seen.pebble_reachable);
    const decision d = decide(seen, want);
    CHECK(d.status_after == unit_status::waiting);
    CHECK(d.message == msg_waiting_for_pebble);
}

TEST_CASE("observe names the step that failed in its error", "[reconciler][observe]") {
    simulated_unit u(50ms);
    pebble::client c(at(u.server));
    reconcile_options ro;
    ro.log = [&](std::string_view line) {
        if (line.find("reconcile: stat path") == 0) u.server.inject(testing::fault::close_mid_response, 2);  // the client retries an idempotent GET once on a kept-alive connection
    };
    try {
        (void)observe(c, u.want, ro);
        FAIL("observe did not throw");
    } catch (const observe_error& e) {
        CHECK(e.code() == pebble::condition::transport);
        REQUIRE(e.report().failed_step);
        CHECK(*e.report().failed_step == "stat storage-path");
        CHECK(std::string(e.what()).find("stat storage-path") != std::string::npos);
        CHECK(std::string(e.what()).find("a-password") == std::string::npos);
    }
    // The error_code form: the same, and what was seen before the failure.
    pebble::error_code ec;
    reconcile_report failure;
    const observed_state seen = observe(c, u.want, ro, ec, &failure);
    CHECK(ec == pebble::condition::transport);
    REQUIRE(failure.failed_step);
    CHECK(*failure.failed_step == "stat storage-path");
    CHECK(seen.plan);
}

TEST_CASE("async_observe cancelled at once completes with operation_aborted and the step", "[reconciler][observe][cancel]") {
    async_unit u(50ms);
    reconcile_report failure;
    std::optional<pebble::error_code> got;
    async_observe(u.c, u.want, {}, failure, [&](pebble::error_code ec, observed_state) { got = ec; });
    u.c.cancel();
    u.ctx.run();
    REQUIRE(got);
    CHECK(*got == asio::error::operation_aborted);
    REQUIRE(failure.failed_step);
    CHECK(*failure.failed_step == "read the Pebble plan");
    CHECK(u.server.record().requests.empty());
}

TEST_CASE("async_apply cancelled during the restart says what was done", "[reconciler][apply][cancel]") {
    async_unit u(5s);
    pebble::client looker(at(u.server));  // its own thread: a synchronous call on u.c would need u.ctx running
    const decision d = decide(observe(looker, u.want), u.want);
    reconcile_options ro = no_probe();
    asio::steady_timer later(u.ctx);
    when_logged(ro, later, "wait for change", [&] { u.c.cancel(); });
    outcome got;
    async_apply(u.c, u.want, d, ro, [&](pebble::error_code ec, reconcile_report r) { got = {true, ec, std::move(r)}; });
    u.ctx.run();
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "wait for the service change");
    CHECK(contains(got.report.actions_done, "added layer \"redis\""));
}

TEST_CASE("Reading the plan back takes the expected plan when Pebble rendered exactly it and parses any other answer", "[reconciler]") {
    std::vector<std::string> backends{"test server"};
    if (test::pebble_bin()) backends.push_back("pebble");
    for (const auto& backend : backends) {
        INFO("backend: " << backend);
        std::unique_ptr<testing::pebble_server> server;
        std::unique_ptr<test::pebble_daemon> daemon;
        if (backend == "pebble") daemon = std::make_unique<test::pebble_daemon>(*test::pebble_bin());
        testing::server_options so;
        so.run_processes = false;
        if (!daemon) server = testing::pebble_server::start(so);
        pebble::client_options o;
        o.socket_path = daemon ? daemon->socket_path() : server->socket_path();
        pebble::client c(o);
        pebble::add_layer_options add;
        add.label = "x";
        add.layer_yaml = "services:\n  a:\n    override: replace\n    command: /bin/sleep 100\n"
                         "    environment: {K: \"v 1\", J: \"yes\"}\n    after: [b]\n"
                         "checks:\n  up:\n    override: replace\n    period: 90s\n    exec: {command: /bin/true}\n";
        c.add_layer(add);
        const std::string text = c.plan();
        const layer parsed = parse_plan(text);
        CHECK(to_plan_yaml(parsed) == text);  // Pebble renders its plan as to_plan_yaml does

        // The same rendering from another structure (an empty user is not rendered): taken as is.
        layer expected = parsed;
        expected.services.at("a").user = "";
        REQUIRE(to_plan_yaml(expected) == text);
        pebble_request r;
        r.what = pebble_request::kind::get_plan;
        r.expected_plan = expected;
        auto rep = perform(c, r, 5s);
        REQUIRE(rep.plan);
        CHECK(rep.plan->services.at("a").user == std::optional<std::string>(""));

        // Any other expected plan: the answer is parsed.
        expected.services.at("a").command = "/bin/other";
        r.expected_plan = expected;
        rep = perform(c, r, 5s);
        REQUIRE(rep.plan);
        CHECK(*rep.plan == parsed);
    }
}
