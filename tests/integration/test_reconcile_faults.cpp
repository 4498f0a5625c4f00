// Faults, as a table: every step of a reconcile (read plan, read service, read files, push, add
// layer, restart, wait) x every fault (socket missing, connection refused, closed mid-response,
// garbage, delay past the request timeout, Pebble restarted and its layers lost, change in Error).
// Each faulty run must end before its deadline with a report naming what was done before the
// fault and no exception; the next reconcile must converge to Active without an extra restart.
// Against redispebble::testing::pebble_server always; the "Pebble restarted" rows against a real
// `pebble` too when PEBBLE_BIN names one.
#include <redispebble/reconciler.hpp>

#include "support/pebble_daemon.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<redispebble/testing/server.hpp>)
#include <redispebble/testing/server.hpp>
#define REDISPEBBLE_HAVE_TEST_SERVER 1
#endif

using namespace redispebble;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// The steps, as the driver logs them before performing each ("reconcile: <step> ...").
const std::vector<std::string>& steps() {
    static const std::vector<std::string> s{"get plan",   "get service", "stat path", "read files",
                                            "make directories", "push files", "add layer", "restart",
                                            "wait for change"};
    return s;
}

enum class fault_kind { socket_missing, refused, closed_mid_response, garbage, delay, pebble_restarted, change_error };

std::string name_of(fault_kind f) {
    switch (f) {
    case fault_kind::socket_missing: return "socket missing";
    case fault_kind::refused: return "connection refused";
    case fault_kind::closed_mid_response: return "closed mid-response";
    case fault_kind::garbage: return "garbage";
    case fault_kind::delay: return "delay past the request timeout";
    case fault_kind::pebble_restarted: return "Pebble restarted and its layers lost";
    case fault_kind::change_error: return "change in Error";
    }
    return "?";
}

// What a fresh unit's reconcile has done before each step.
std::vector<std::string> done_before(const std::string& step, const redis_config& cfg) {
    std::vector<std::string> out;
    const auto& all = steps();
    const auto at = std::find(all.begin(), all.end(), step) - all.begin();
    if (at > 4) out.push_back("made directory " + cfg.storage_path + " (" + cfg.user + ":" + cfg.group + ", 750)");
    if (at > 5) {
        out.push_back("pushed " + secrets_file_path(cfg));
        out.push_back("pushed " + client_auth_file_path(cfg));  // the ready check's password file
    }
    if (at > 6) out.push_back("added layer \"redis\"");
    return out;  // the restart request's text holds a change id: checked by prefix below
}

desired_state unit_inputs(const std::string& root, int port) {
    desired_state d;
    d.config.storage_path = root + "/storage";
    d.config.port = static_cast<std::uint16_t>(port);
    d.config.bind_address = "127.0.0.1";
    d.peer = {secret("fault-Table-pass"), "127.0.0.1", "127.0.0.1"};
    return d;
}

std::string describe(const reconcile_report& r) {
    std::string s = std::string(to_string(r.status)) + ": " + r.message + " | failed step: " +
                    r.failed_step.value_or("-") + " | actions:";
    for (const auto& a : r.actions_done) s += " [" + a + "]";
    return s;
}

// A fresh unit's plan lacks its service, and the reconciler does not ask Pebble for the state of
// a service the plan lacks (Pebble lists only the plan's services). For the "get service" step the
// plan first gets a layer of another label holding a service of that name, never started: then
// the step is made, and the faulty run has done nothing before it, as for a fresh unit.
void plan_has_service_for(const std::string& step, pebble::client& c, const redis_config& cfg) {
    if (step != "get service") return;
    pebble::add_layer_options o;
    o.label = "base";
    o.layer_yaml = "services:\n  " + cfg.service_name + ":\n    override: replace\n    command: sleep 1000\n";
    c.add_layer(o);
}

// One faulty run: `apply` is called once, just before `step` is performed.
struct faulty_run {
    reconcile_report report;
    clock_type::duration took{};
    bool fault_applied = false;
};

faulty_run run_with_fault(pebble::client& c, const desired_state& d, const std::string& step,
                          const std::function<void()>& apply, const reconcile_options& base) {
    faulty_run out;
    reconcile_options ro = base;
    ro.log = [&](std::string_view line) {
        const std::string prefix = "reconcile: " + step;
        if (!out.fault_applied && line.substr(0, prefix.size()) == prefix) {
            out.fault_applied = true;
            apply();
        }
    };
    const auto t0 = clock_type::now();
    REQUIRE_NOTHROW(out.report = reconcile(c, d, ro));
    out.took = clock_type::now() - t0;
    return out;
}

// The common checks of a faulty run.
void check_faulty(const faulty_run& f, const reconcile_options& ro, const std::vector<std::string>& before) {
    INFO(describe(f.report));
    CHECK(f.fault_applied);
    CHECK(f.took < ro.deadline);  // the only timed assertion: it ends before its deadline
    // Everything done before the fault is named, in order.
    REQUIRE(f.report.actions_done.size() >= before.size());
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(f.report.actions_done[i] == before[i]);
    if (f.report.failed_step) {
        CHECK_FALSE(f.report.status == unit_status::active);
        CHECK(f.report.retry_later);
    }
    // Never the password, whatever the fault.
    CHECK(f.report.message.find("fault-Table-pass") == std::string::npos);
}

// Reconciles until Active (Waiting runs are retried by the driver within the deadline), then once
// more: that one must do nothing.
int converge(pebble::client& c, const desired_state& d, int& restarts_requested, bool probe = true) {
    reconcile_options ro;
    ro.probe.enabled = probe;
    ro.deadline = 30s;
    ro.change_timeout = 10s;
    ro.retry_backoff = 200ms;
    int runs = 0;
    reconcile_report r;
    // A service Pebble is restarting after a failure (backoff) is left to Pebble: come back later.
    for (; runs < 40; ++runs) {
        r = reconcile(c, d, ro);
        for (const auto& a : r.actions_done)
            if (a.rfind("requested ", 0) == 0) ++restarts_requested;
        if (r.status == unit_status::active) break;
        std::this_thread::sleep_for(250ms);
    }
    INFO(describe(r));
    CHECK(r.status == unit_status::active);
    const auto steady = reconcile(c, d, ro);
    INFO(describe(steady));
    CHECK(steady.status == unit_status::active);
    CHECK(steady.actions_done.empty());
    return runs;
}

int restart_requests(const std::vector<std::string>& actions) {
    int n = 0;
    for (const auto& a : actions)
        if (a.rfind("requested ", 0) == 0) ++n;
    return n;
}

} // namespace

#ifdef REDISPEBBLE_HAVE_TEST_SERVER
TEST_CASE("Every fault at every step of a reconcile ends in time and the next reconcile converges",
          "[reconcile][faults]") {
    const std::vector<fault_kind> faults{fault_kind::socket_missing,      fault_kind::refused,
                                         fault_kind::closed_mid_response, fault_kind::garbage,
                                         fault_kind::delay,               fault_kind::pebble_restarted,
                                         fault_kind::change_error};
    for (const auto f : faults) {
        for (const auto& step : steps()) {
            // A change in Error only exists once a change was made: the wait step.
            if (f == fault_kind::change_error && step != "wait for change") continue;
            DYNAMIC_SECTION(name_of(f) << " at " << step) {
                testing::server_options so;
                so.run_processes = false;  // simulated Redis: the faults are Pebble's, not Redis's
                so.start_window = 200ms;
                testing::pebble_server server(so);
                test::temp_dir root;
                const auto inputs = unit_inputs(root.path, testing::free_tcp_port());
                const std::string socket = server.socket_path();

                pebble::client_options co;
                co.socket_path = socket;
                co.request_timeout = 1s;
                co.connect_timeout = 1s;
                pebble::client c(co);

                reconcile_options ro;
                ro.deadline = 20s;
                ro.change_timeout = 5s;
                ro.probe.enabled = false;  // simulated Redis: nothing answers redis-cli
                std::function<void()> apply;
                std::function<void()> undo = [] {};
                switch (f) {
                case fault_kind::socket_missing:
                    apply = [&] {
                        std::filesystem::rename(socket, socket + ".away");
                        c.close();  // the kept-alive connection goes with Pebble
                    };
                    undo = [&] { std::filesystem::rename(socket + ".away", socket); };
                    break;
                case fault_kind::refused:
                    apply = [&] {
                        server.inject(testing::fault::refuse);
                        c.close();
                    };
                    undo = [&] { server.clear_faults(); };
                    break;
                case fault_kind::closed_mid_response:
                    apply = [&] { server.inject(testing::fault::close_mid_response, 1); };
                    undo = [&] { server.clear_faults(); };
                    break;
                case fault_kind::garbage:
                    apply = [&] { server.inject(testing::fault::garbage, 1); };
                    undo = [&] { server.clear_faults(); };
                    break;
                case fault_kind::delay:
                    apply = [&] { server.inject(testing::fault::delay, 1, co.request_timeout + 1s); };
                    undo = [&] { server.clear_faults(); };
                    break;
                case fault_kind::pebble_restarted:
                    apply = [&] {
                        server.restart_daemon();
                        c.close();
                    };
                    break;
                case fault_kind::change_error:
                    apply = [&] { server.set_failing(inputs.config.service_name, true); };
                    undo = [&] { server.set_failing(inputs.config.service_name, false); };
                    break;
                }
                // (A change in Error needs the failure before the start: set it at the restart.)
                const std::string at = f == fault_kind::change_error ? "restart" : step;
                plan_has_service_for(at, c, inputs.config);
                auto faulty = run_with_fault(c, inputs, at, apply, ro);
                undo();
                check_faulty(faulty, ro, done_before(at, inputs.config));
                if (f == fault_kind::change_error) {
                    CHECK(faulty.report.status == unit_status::blocked);
                    CHECK(faulty.report.failed_step == std::optional<std::string>("start service"));
                }

                int requested = restart_requests(faulty.report.actions_done);
                converge(c, inputs, requested, /*probe=*/false);
                // No extra restart: one restart or start request in all, two when Pebble lost the
                // service or Redis failed to start (it must be started again).
                const int allowed = (f == fault_kind::pebble_restarted || f == fault_kind::change_error) ? 2 : 1;
                CHECK(requested <= allowed);
                CHECK(server.service_state(inputs.config.service_name) == "active");
            }
        }
    }
}
#endif

TEST_CASE("A real Pebble restarted at every step of a reconcile converges on the next one", "[reconcile][faults]") {
    const auto bin = test::pebble_bin();
    if (!bin) {
        WARN("PEBBLE_BIN is not set: the real-Pebble rows of the fault table are skipped");
        return;
    }
    for (const auto& step : steps()) {
        DYNAMIC_SECTION("real Pebble restarted at " << step) {
            test::pebble_daemon daemon(*bin);
            test::temp_dir root;
            std::filesystem::permissions(root.path, std::filesystem::perms(0755));
            const int port = testing::free_tcp_port();
            const auto inputs = unit_inputs(root.path, port);
            pebble::client_options co;
            co.socket_path = daemon.socket_path();
            co.request_timeout = 5s;
            pebble::client c(co);
            reconcile_options ro;
            ro.deadline = 30s;
            ro.change_timeout = 10s;
            plan_has_service_for(step, c, inputs.config);
            auto faulty = run_with_fault(c, inputs, step, [&] {
                daemon.stop();
                daemon.start();
                c.close();
            }, ro);
            check_faulty(faulty, ro, done_before(step, inputs.config));
            int requested = restart_requests(faulty.report.actions_done);
            converge(c, inputs, requested);
            CHECK(requested <= 2);
            CHECK(test::eventually([&] {
                return test::has(test::redis_cli("127.0.0.1", port, std::string("fault-Table-pass"), {"PING"}).out, "PONG");
            }));
        }
    }
}
