// Many units from one process: N units, each behind its own Pebble-compatible test server and each
// needing a layer change and a restart, reconciled (a) concurrently on one io_context, against
// (b) one unit alone and (c) units one after another (timed on min(N, 10) units, scaled to N).
// (a) runs twice, on fresh servers each time: the process's first run (its heap grows to hold N
// units) and again (the heap already grown, as in a controller after its first round).
// Prints wall times, the ratios (target: (a)/(b) <= 1.5), the memory and file descriptors per
// unit, the CPU time the reconciling thread spent per unit (what one I/O thread must carry; user
// and kernel, and its page faults), the CPU the test servers spent meanwhile, and what the N
// servers cost idle.
//
//   redispebble_bench_units [--pin] [N...] [--window MS...]     defaults: 100 1000 --window 1000 200
//
// The start window defaults to Pebble's own (1 s: a restart takes that long on a real Pebble). The
// services are simulated (no redis-server): the bench measures the orchestration. The test servers
// run in this process (a testing::server_fleet: one thread serves them all, and each has a checks
// thread that sleeps) and share the machine with the reconciler; --pin keeps them off the
// reconciling thread's CPU.
#include <redispebble/reconciler.hpp>
#include <redispebble/testing/server.hpp>

#include "raw_units.hpp"

#include <boost/asio/io_context.hpp>

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>

using namespace redispebble;
using clock_type = std::chrono::steady_clock;

namespace {

desired_state inputs(int i) {
    desired_state d;
    d.config.storage_path = "/tmp/redispebble-bench-units/" + std::to_string(i);
    d.peer = {secret("bench-password"), "unit-0", "unit-" + std::to_string(i)};
    // No health checks: with simulated services no Redis answers them, and the test servers run
    // them (Pebble's checkers) and restart failing services (on-check-failure) on their own threads,
    // which made each later unit wait through restarts it did not ask for (2.4 s per unit one after
    // another with the 1 s window, against 1.0 s for a lone unit).
    d.config.health_checks = false;
    return d;
}

// Simulated services have no Redis to ask: the probe (an exec of redis-cli) is off.
reconcile_options options() {
    reconcile_options o;
    o.probe.enabled = false;
    return o;
}

long status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0) return std::stol(line.substr(n));
    return -1;
}

// Heap bytes in use, all arenas (the test servers' threads allocate from their own): what the
// allocator has handed out and not had back. Unlike the RSS it does not go down when a run reuses
// memory an earlier run freed (the RSS difference once printed -64.9 KiB per unit).
long heap_in_use() {
    const struct mallinfo2 m = ::mallinfo2();
    return static_cast<long>(m.uordblks + m.hblkhd);
}

long open_fds() {
    long n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

/// CPU seconds used in user and in kernel mode, by this thread (RUSAGE_THREAD) or the whole process
/// (RUSAGE_SELF: the test servers' threads too).
/// With the page faults (minor: first touches of fresh memory; on the 2-core VM each cost about
/// 20 us of kernel time, about a quarter of a unit's CPU on a first run).
struct cpu_time {
    double user = 0, sys = 0;
    long faults = 0;
    double total() const { return user + sys; }
    cpu_time operator-(const cpu_time& o) const { return {user - o.user, sys - o.sys, faults - o.faults}; }
};

cpu_time cpu(int who) {
    rusage u{};
    ::getrusage(who, &u);
    const auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return {sec(u.ru_utime), sec(u.ru_stime), u.ru_minflt};
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; false (with a message) when even that is short.
bool enough_fds(long need) {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return false;
    if (r.rlim_cur != RLIM_INFINITY && static_cast<long>(r.rlim_cur) < need) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
        ::getrlimit(RLIMIT_NOFILE, &r);
    }
    if (r.rlim_cur != RLIM_INFINITY && static_cast<long>(r.rlim_cur) < need) {
        fmt::print(stderr,
                   "redispebble_bench_units: this run needs about {} file descriptors (3 per unit: its test server's "
                   "listener and both ends of its connection) but RLIMIT_NOFILE allows {} "
                   "(hard limit {}); raise it (ulimit -n {}) or ask for fewer units\n",
                   need, r.rlim_cur, r.rlim_max, need);
        return false;
    }
    return true;
}

// --pin: the reconciling thread on the first CPU this process may use, the test servers' threads on
// the others (they inherit the mask of the thread that creates them). Then the 2 x N server threads
// do not take turns with the reconciler on its core, and its wall time shows what one I/O thread
// needs; its CPU time is measured either way.
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> out;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) out.push_back(c);
    return out;
}

struct pinning {
    bool on = false;
    std::vector<int> all = allowed_cpus();
    void to(const std::vector<int>& cpus) const {
        if (!on) return;
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int c : cpus) CPU_SET(c, &set);
        ::sched_setaffinity(0, sizeof set, &set);
    }
    void servers() const { to(std::vector<int>(all.begin() + 1, all.end())); }
    void reconciler() const { to({all.front()}); }
    void everywhere() const { to(all); }
};
pinning pin;

// The N units' Pebbles: one fleet, serving on one thread (1000 servers with a thread each spent
// about a fifth of their CPU waking one another and switching).
std::unique_ptr<testing::server_fleet> servers(int n, std::chrono::milliseconds window) {
    pin.servers();
    testing::server_options o;
    o.run_processes = false;  // simulated redis-server: the bench measures the orchestration
    o.start_window = window;
    auto out = std::make_unique<testing::server_fleet>(static_cast<std::size_t>(n), o);
    pin.reconciler();
    return out;
}

struct run_result {
    double seconds = 0;
    int active = 0;
    cpu_time cpu;              // of the reconciling thread
    cpu_time process_cpu;      // of the whole process: the reconciling thread and the test servers
    long heap_after_growth = 0; // bytes: in use once the run is over, every client still alive
    long fds_growth = 0;
};

// Reconciles every server's unit concurrently on one io_context.
run_result concurrent(testing::server_fleet& s) {
    run_result r;
    const long heap0 = heap_in_use(), fds0 = open_fds();
    const cpu_time cpu0 = cpu(RUSAGE_THREAD), process0 = cpu(RUSAGE_SELF);
    boost::asio::io_context io(1);
    std::vector<std::unique_ptr<pebble::client>> clients;
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < s.size(); ++i) {
        pebble::client_options o;
        o.socket_path = s[i].socket_path();
        clients.push_back(std::make_unique<pebble::client>(io, o));
        async_reconcile(*clients.back(), inputs(static_cast<int>(i)), options(),
                        [&](pebble::error_code, reconcile_report rep) {
                            r.active += rep.status == unit_status::active && rep.restarts() == 1;
                        });
    }
    io.run();
    r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    r.cpu = cpu(RUSAGE_THREAD) - cpu0;
    r.process_cpu = cpu(RUSAGE_SELF) - process0;
    r.heap_after_growth = heap_in_use() - heap0;
    r.fds_growth = open_fds() - fds0;  // the kept-alive connections: client and server ends
    return r;
}

run_result sequential(testing::server_fleet& s) {
    run_result r;
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < s.size(); ++i) {
        pebble::client_options o;
        o.socket_path = s[i].socket_path();
        pebble::client c(o);
        auto rep = reconcile(c, inputs(static_cast<int>(i)), options());
        r.active += rep.status == unit_status::active && rep.restarts() == 1;
    }
    r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    return r;
}

bool measure(int n, std::chrono::milliseconds window) {
    auto one = servers(1, window);
    auto r1 = concurrent(*one);
    const long fds_before = open_fds();
    const long rss_before = status_kib("VmRSS:");
    auto many = servers(n, window);
    const long server_fds = open_fds() - fds_before;  // the fleet's reactor and each server's listener
    const long server_rss = status_kib("VmRSS:") - rss_before;
    // What the test servers cost doing nothing (their service monitor and check loops wake up on
    // their own): the process's CPU over one idle second, before the reconcile.
    const cpu_time idle0 = cpu(RUSAGE_SELF);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double idle_servers = (cpu(RUSAGE_SELF) - idle0).total();
    auto rn = concurrent(*many);
    many.reset();
    // Again on fresh servers: the process's heap has grown to hold n units, as in a controller
    // after its first round. The first run paid a page fault for each page the heap grew by
    // (about 12 per unit, each tens of microseconds of kernel time on this kind of VM).
    auto fresh = servers(n, window);
    auto rw = concurrent(*fresh);
    fresh.reset();
    // The floor: the same exchanges over raw sockets (raw_units.hpp), alone and N at once.
    const std::string raw_path = "/tmp/redispebble-bench-raw-" + std::to_string(::getpid()) + ".sock";
    const raw_units::result raw1 = raw_units::run(1, window, raw_path);
    const raw_units::result rawn = raw_units::run(n, window, raw_path);
    const int seq_n = std::min(n, 10);
    auto again = servers(seq_n, window);
    auto rs = sequential(*again);
    const double seq_scaled = rs.seconds * n / seq_n;
    fmt::print("{} units, start window {} ms:\n", n, window.count());
    fmt::print("  one unit alone:                 {:8.3f} s ({} active)\n", r1.seconds, r1.active);
    fmt::print("  {:4} units concurrently:        {:8.3f} s ({} active, one io_context, one thread; the process's first run)\n", n,
               rn.seconds, rn.active);
    fmt::print("  again, on fresh servers:        {:8.3f} s ({} active; the heap already grown)\n", rw.seconds, rw.active);
    fmt::print("  one after another:              {:8.3f} s for {} units ({} active): {:.1f} s for {}\n", rs.seconds, seq_n, rs.active,
               seq_scaled, n);
    fmt::print("  ratio concurrent / one unit:    {:8.2f}x first run, {:.2f}x again (target <= 1.50x)\n", rn.seconds / r1.seconds,
               rw.seconds / r1.seconds);
    fmt::print("  ratio one after another / concurrent: {:.1f}x\n", seq_scaled / rn.seconds);
    for (const auto* r : {&rn, &rw}) {
        const char* which = r == &rn ? "first run" : "again    ";
        fmt::print("  {}: reconciling thread CPU {:.2f} ms per unit ({:.2f} s in all: {:.2f} s user, {:.2f} s kernel; "
                   "{:.1f} page faults per unit); the test servers' CPU meanwhile {:.2f} ms per unit\n",
                   which, 1e3 * r->cpu.total() / n, r->cpu.total(), r->cpu.user, r->cpu.sys,
                   static_cast<double>(r->cpu.faults) / n, 1e3 * (r->process_cpu - r->cpu).total() / n);
    }
    fmt::print("  the floor, the same {} exchanges per unit over raw Unix sockets (no HTTP, JSON, YAML, reconciler or "
               "Pebble; one client thread, one server thread): one unit {:.3f} s, {} units {:.3f} s ({} done): "
               "{:.2f}x; CPU per unit {:.3f} ms client ({:.3f} kernel), {:.3f} ms server ({:.3f} kernel)\n",
               raw_units::unit_exchanges.size(), raw1.seconds, n, rawn.seconds, rawn.done, rawn.seconds / raw1.seconds,
               1e3 * rawn.client.total() / n, 1e3 * rawn.client.sys / n, 1e3 * rawn.server.total() / n,
               1e3 * rawn.server.sys / n);
    fmt::print("  idle, the {} test servers took {:.0f} % of one core\n", n, 100 * idle_servers);
    fmt::print("  memory per unit: {:.1f} KiB held after the run with every client alive (heap in use, all threads: "
               "client, reconcile and the test server's session; the {} test servers took {:.1f} KiB of RSS each before)\n",
               static_cast<double>(rn.heap_after_growth) / 1024 / n, n, static_cast<double>(server_rss) / n);
    fmt::print("  file descriptors: {} more while the clients lived ({:.1f} per unit: both ends of its connection), "
               "{:.1f} per test server, {} open in all at the peak\n",
               rn.fds_growth, static_cast<double>(rn.fds_growth) / n, static_cast<double>(server_fds) / n,
               fds_before + server_fds + rn.fds_growth);
    return r1.active == 1 && rn.active == n && rw.active == n && rs.active == seq_n && raw1.done == 1 && rawn.done == n;
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is known
    std::vector<int> ns;
    std::vector<int> windows;
    bool in_windows = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--window") == 0) {
            in_windows = true;
            continue;
        }
        if (std::strcmp(argv[i], "--pin") == 0) {
            pin.on = pin.all.size() > 1;
            if (!pin.on) fmt::print(stderr, "redispebble_bench_units: --pin needs two CPUs or more; not pinned\n");
            continue;
        }
        const int v = std::atoi(argv[i]);
        if (v < 1) {
            fmt::print(stderr, "redispebble_bench_units: {}: expected a positive number\n", argv[i]);
            return 2;
        }
        (in_windows ? windows : ns).push_back(v);
    }
    if (ns.empty()) ns = {100, 1000};
    if (windows.empty()) windows = {1000, 200};
    double load[3] = {0, 0, 0};
    std::ifstream("/proc/loadavg") >> load[0] >> load[1] >> load[2];
    fmt::print("redispebble_bench_units: {} hardware threads, load average {:.2f} {:.2f} {:.2f} (simulated services){}\n",
               std::thread::hardware_concurrency(), load[0], load[1], load[2],
               pin.on ? fmt::format("; reconciling thread on CPU {}, test servers on the other {}", pin.all.front(),
                                    pin.all.size() - 1)
                      : std::string());
    const int most = *std::max_element(ns.begin(), ns.end());
    if (!enough_fds(3L * (most + 11) + 64)) return 2;
    bool ok = true;
    for (int w : windows)
        for (int n : ns) ok = measure(n, std::chrono::milliseconds(w)) && ok;
    return ok ? 0 : 1;
}
