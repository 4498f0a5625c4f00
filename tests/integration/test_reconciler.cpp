// The reconciler's cancellation against the test server: client::cancel() and destroying the client
// during async_reconcile complete it with operation_aborted and a report of what was done.
#include <redispebble/reconciler.hpp>

#include <redispebble/testing/server.hpp>

#include "support/run_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

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

pebble::client_options at(const testing::pebble_server& s) {
    pebble::client_options o;
    o.socket_path = s.socket_path();
    o.request_timeout = 10s;
    return o;
}

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

} // namespace

TEST_CASE("cancel right after async_reconcile starts completes with operation_aborted and touches nothing", "[reconciler][cancel]") {
    testing::pebble_server server(simulated(50ms));
    test::temp_dir dir;
    asio::io_context ctx;
    pebble::client c(ctx, at(server));
    outcome got;
    async_reconcile(c, unit(dir), {}, [&](pebble::error_code ec, reconcile_report r) {
        got = {true, ec, std::move(r)};
    });
    c.cancel();
    ctx.run();
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
    CHECK(got.report.retry_later);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "read the Pebble plan");
    CHECK(got.report.message == "Reconcile cancelled before it could read the Pebble plan");
    CHECK(got.report.actions_done.empty());
    CHECK(server.record().requests.empty());
}

TEST_CASE("cancel while the restart is in flight completes with operation_aborted and says what was done", "[reconciler][cancel]") {
    testing::pebble_server server(simulated(5s));
    test::temp_dir dir;
    asio::io_context ctx;
    pebble::client c(ctx, at(server));
    reconcile_options ro;
    // When the wait for the restart begins, cancel from outside the reconcile a moment later.
    asio::steady_timer later(ctx);
    ro.log = [&](std::string_view line) {
        if (line.find("wait for change") == std::string_view::npos) return;
        later.expires_after(100ms);
        later.async_wait([&](pebble::error_code) { c.cancel(); });
    };
    outcome got;
    async_reconcile(c, unit(dir), ro, [&](pebble::error_code ec, reconcile_report r) {
        got = {true, ec, std::move(r)};
    });
    ctx.run();
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
    testing::pebble_server server(simulated(5s));
    test::temp_dir dir;
    asio::io_context ctx;
    std::optional<pebble::client> c;
    c.emplace(ctx, at(server));
    reconcile_options ro;
    asio::steady_timer later(ctx);
    ro.log = [&](std::string_view line) {
        if (line.find("wait for change") == std::string_view::npos) return;
        later.expires_after(100ms);
        later.async_wait([&](pebble::error_code) { c.reset(); });
    };
    outcome got;
    async_reconcile(*c, unit(dir), ro, [&](pebble::error_code ec, reconcile_report r) {
        got = {true, ec, std::move(r)};
    });
    ctx.run();
    CHECK_FALSE(c);
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.status == unit_status::waiting);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "wait for the service change");
    CHECK(contains(got.report.actions_done, "added layer \"redis\""));
}

TEST_CASE("destroying a client with its own thread during async_reconcile completes it with operation_aborted", "[reconciler][cancel]") {
    testing::pebble_server server(simulated(5s));
    test::temp_dir dir;
    std::promise<void> waiting;
    std::promise<outcome> done;
    // Outlives the block: destroying the client completes the reconcile, whose report is logged
    // through ro.log after the block has ended (AddressSanitizer: stack-use-after-scope).
    bool told = false;
    {
        pebble::client c(at(server));
        reconcile_options ro;
        ro.log = [&](std::string_view line) {
            if (!told && line.find("wait for change") != std::string_view::npos) {
                told = true;
                waiting.set_value();
            }
        };
        async_reconcile(c, unit(dir), ro, [&](pebble::error_code ec, reconcile_report r) {
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
    ro.log = [&](std::string_view line) {
        if (line.find("retrying in") == std::string_view::npos) return;
        later.expires_after(100ms);
        later.async_wait([&](pebble::error_code) { c.cancel(); });
    };
    outcome got;
    async_reconcile(c, unit(dir), ro, [&](pebble::error_code ec, reconcile_report r) {
        got = {true, ec, std::move(r)};
    });
    ctx.run();
    REQUIRE(got.called);
    CHECK(got.ec == asio::error::operation_aborted);
    CHECK(got.report.attempts == 2);
    REQUIRE(got.report.failed_step);
    CHECK(*got.report.failed_step == "read the Pebble plan");
}

TEST_CASE("the synchronous reconcile stops at a cancel and its report says so", "[reconciler][cancel]") {
    testing::pebble_server server(simulated(50ms));
    test::temp_dir dir;
    pebble::client c(at(server));
    reconcile_options ro;
    ro.log = [&](std::string_view line) {
        if (line.find("add layer") != std::string_view::npos) c.cancel();
    };
    auto r = reconcile(c, unit(dir), ro);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "add layer \"redis\"");
    CHECK(r.message == "Reconcile cancelled before it could add layer \"redis\"");
    CHECK(contains(r.actions_done, "pushed "));
    CHECK(server.record().layers_added == 0);
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
