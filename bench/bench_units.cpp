// Many units from one process: N units, each behind its own Pebble-compatible test server and each
// needing a layer change and a restart, reconciled (a) concurrently on one io_context, (b) one after
// another; against (c) one unit alone. Prints wall times and the ratios; targets: (a)/(c) <= 1.5.
//
//   redispebble_bench_units [N=100] [START_WINDOW_MS=1000]
//
// The start window defaults to Pebble's own (1 s: a restart takes that long on a real Pebble).
#include <redispebble/reconciler.hpp>
#include <redispebble/testing/server.hpp>

#include <boost/asio/io_context.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace redispebble;
using clock_type = std::chrono::steady_clock;

namespace {

desired_state inputs(int i) {
    desired_state d;
    d.config.storage_path = "/tmp/redispebble-bench-units/" + std::to_string(i);
    d.peer = {secret("bench-password"), "unit-0", "unit-" + std::to_string(i)};
    return d;
}

// Simulated services have no Redis to ask: the probe (an exec of redis-cli) is off.
reconcile_options options() {
    reconcile_options o;
    o.probe.enabled = false;
    return o;
}

std::vector<std::unique_ptr<testing::pebble_server>> servers(int n, std::chrono::milliseconds window) {
    std::vector<std::unique_ptr<testing::pebble_server>> out;
    for (int i = 0; i < n; ++i) {
        testing::server_options o;
        o.run_processes = false;  // simulated redis-server: the bench measures the orchestration
        o.start_window = window;
        out.push_back(std::make_unique<testing::pebble_server>(o));
    }
    return out;
}

// Reconciles every server's unit concurrently on one io_context; returns seconds and the count Active.
std::pair<double, int> concurrent(std::vector<std::unique_ptr<testing::pebble_server>>& s) {
    boost::asio::io_context io;
    std::vector<std::unique_ptr<pebble::client>> clients;
    int active = 0;
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < s.size(); ++i) {
        pebble::client_options o;
        o.socket_path = s[i]->socket_path();
        clients.push_back(std::make_unique<pebble::client>(io, o));
        async_reconcile(*clients.back(), inputs(static_cast<int>(i)), options(),
                        [&](pebble::error_code, reconcile_report r) { active += r.status == unit_status::active && r.restarts() == 1; });
    }
    io.run();
    return {std::chrono::duration<double>(clock_type::now() - t0).count(), active};
}

std::pair<double, int> sequential(std::vector<std::unique_ptr<testing::pebble_server>>& s) {
    int active = 0;
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < s.size(); ++i) {
        pebble::client_options o;
        o.socket_path = s[i]->socket_path();
        pebble::client c(o);
        auto r = reconcile(c, inputs(static_cast<int>(i)), options());
        active += r.status == unit_status::active && r.restarts() == 1;
    }
    return {std::chrono::duration<double>(clock_type::now() - t0).count(), active};
}

} // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 100;
    const auto window = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 1000);
    if (n < 1) return 2;
    fmt::print("units: {}, start window: {} ms (simulated services)\n", n, window.count());

    auto one = servers(1, window);
    auto [t_one, ok_one] = concurrent(one);
    auto many = servers(n, window);
    auto [t_conc, ok_conc] = concurrent(many);
    auto again = servers(n, window);
    auto [t_seq, ok_seq] = sequential(again);

    fmt::print("one unit alone:              {:8.3f} s ({} active)\n", t_one, ok_one);
    fmt::print("{:3} units concurrently:      {:8.3f} s ({} active, one io_context)\n", n, t_conc, ok_conc);
    fmt::print("{:3} units one after another: {:8.3f} s ({} active)\n", n, t_seq, ok_seq);
    fmt::print("ratio concurrent / one unit:   {:.2f}x (target <= 1.50x)\n", t_conc / t_one);
    fmt::print("ratio sequential / concurrent: {:.1f}x\n", t_seq / t_conc);
    return ok_one == 1 && ok_conc == n && ok_seq == n ? 0 : 1;
}
