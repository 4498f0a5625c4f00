// The floor under bench_units: the same exchanges as a unit's reconcile, over raw Unix sockets, with
// nothing but the kernel's work (no HTTP, no JSON, no YAML, no reconciler, no Pebble). One thread
// plays N clients, another one server for them all, each on its own epoll loop, as the reconciler
// and the test servers' fleet do. Whatever the library and Pebble do on top, the units cannot take
// less than this on the same machine: bench_units prints the ratio this floor reaches next to the
// library's.
//
// A unit connects, then makes the exchanges of `unit_exchanges` in turn: it sends a request of
// the request size and reads an answer of the answer size. The last exchange (the wait for the
// restart's change) is answered `window` after the one before it (the restart), as Pebble answers
// once its start window has passed.
#ifndef REDISPEBBLE_BENCH_RAW_UNITS_HPP
#define REDISPEBBLE_BENCH_RAW_UNITS_HPP

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace raw_units {

struct exchange {
    std::size_t request, answer;  // bytes
};

// A first deployment's exchanges on the wire (strace of one unit against the test server,
// 2026-12-02): get plan, stat storage, read files, add layer, get plan, restart, wait for the
// change. Their sizes, headers included.
inline const std::vector<exchange> unit_exchanges{{94, 171},  {135, 358}, {460, 1790}, {849, 169},
                                                  {94, 817}, {210, 195}, {104, 862}};

struct thread_cpu {
    double user = 0, sys = 0;
    double total() const { return user + sys; }
};

inline thread_cpu this_thread_cpu() {
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    const auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return {sec(u.ru_utime), sec(u.ru_stime)};
}

struct result {
    double seconds = 0;
    thread_cpu client, server;  // CPU of each thread over the run
    int done = 0;               // units that made every exchange
};

namespace detail {

// Runs f when the scope ends, however it ends.
template <class F>
struct at_exit {
    F f;
    ~at_exit() { f(); }
};
template <class F>
at_exit(F) -> at_exit<F>;

inline void fail(const char* what) { throw std::runtime_error(std::string("raw units: ") + what + ": " + std::strerror(errno)); }

inline void add(int ep, int fd, std::uint32_t events, std::uint64_t data) {
    epoll_event e{};
    e.events = events;
    e.data.u64 = data;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) fail("epoll_ctl");
}

// Reads what has arrived into `got`, up to `want` bytes in all; false when the peer closed.
inline bool read_some(int fd, std::vector<char>& buf, std::size_t& got, std::size_t want) {
    while (got < want) {
        const ssize_t r = ::read(fd, buf.data(), std::min(buf.size(), want - got));
        if (r > 0) {
            got += static_cast<std::size_t>(r);
            continue;
        }
        if (r == 0) return false;
        if (errno == EAGAIN || errno == EINTR) return true;
        fail("read");
    }
    return true;
}

inline void write_all(int fd, const std::vector<char>& bytes, std::size_t n) {
    std::size_t off = 0;
    while (off < n) {
        const ssize_t w = ::send(fd, bytes.data() + off, n - off, MSG_NOSIGNAL);
        if (w > 0) off += static_cast<std::size_t>(w);
        else if (errno != EAGAIN && errno != EINTR) fail("send");
    }
}

} // namespace detail

/// Runs `n` units concurrently over a socket at `path` (removed before and after). Throws
/// std::runtime_error naming the system call that failed.
inline result run(int n, std::chrono::milliseconds window, const std::string& path,
                  const std::vector<exchange>& exchanges = unit_exchanges) {
    using clock = std::chrono::steady_clock;
    std::size_t largest = 0;
    for (const auto& x : exchanges) largest = std::max({largest, x.request, x.answer});
    const std::vector<char> bytes(largest, 'x');
    ::unlink(path.c_str());
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) detail::fail("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, SOMAXCONN) != 0) {
        const int e = errno;
        ::close(listener);
        errno = e;
        detail::fail("bind or listen");
    }
    const std::size_t last = exchanges.size() - 1;
    std::atomic<bool> stop{false};
    result out;

    // The server: reads each request whole, answers it at once, and the last one `window` after
    // the one before it.
    auto serve = [&] {
        const thread_cpu c0 = this_thread_cpu();
        struct conn {
            int fd = -1;
            std::size_t step = 0, got = 0;
        };
        std::vector<conn> conns;
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) detail::fail("epoll_create1");
        detail::at_exit close_all{[&] {
            for (auto& c : conns)
                if (c.fd >= 0) ::close(c.fd);
            ::close(ep);
        }};
        detail::add(ep, listener, EPOLLIN, ~std::uint64_t{0});
        using due_t = std::pair<clock::time_point, std::size_t>;
        std::priority_queue<due_t, std::vector<due_t>, std::greater<>> due;
        std::vector<char> buf(64 * 1024);
        std::vector<epoll_event> events(256);
        while (!stop.load(std::memory_order_relaxed)) {
            int timeout = 50;
            if (!due.empty())
                timeout = static_cast<int>(std::max<long>(
                    0, std::chrono::duration_cast<std::chrono::milliseconds>(due.top().first - clock::now()).count() + 1));
            const int k = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), std::min(timeout, 50));
            for (int i = 0; i < k; ++i) {
                const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
                if (id == ~std::uint64_t{0}) {
                    for (;;) {
                        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                        if (fd < 0) break;
                        conns.push_back({fd, 0, 0});
                        detail::add(ep, fd, EPOLLIN, conns.size() - 1);
                    }
                    continue;
                }
                conn& c = conns[id];
                if (c.fd < 0) continue;
                if (!detail::read_some(c.fd, buf, c.got, exchanges[c.step].request)) {
                    ::close(c.fd);
                    c.fd = -1;
                    continue;
                }
                if (c.got < exchanges[c.step].request) continue;
                c.got = 0;
                if (c.step == last) continue;  // answered when due
                detail::write_all(c.fd, bytes, exchanges[c.step].answer);
                if (++c.step == last) due.push({clock::now() + window, id});
            }
            while (!due.empty() && due.top().first <= clock::now()) {
                conn& c = conns[due.top().second];
                due.pop();
                if (c.fd >= 0) detail::write_all(c.fd, bytes, exchanges[last].answer);
            }
        }
        const thread_cpu c1 = this_thread_cpu();
        out.server = {c1.user - c0.user, c1.sys - c0.sys};
    };
    std::exception_ptr server_failure;
    std::thread server([&] {
        try {
            serve();
        } catch (...) {
            server_failure = std::current_exception();
        }
    });
    // However the clients' part ends (a failed system call throws), the server stops and is
    // joined, the listener is closed and the socket removed.
    detail::at_exit done_with_server{[&] {
        stop = true;
        if (server.joinable()) server.join();
        ::close(listener);
        ::unlink(path.c_str());
    }};

    // The clients, on this thread: connect, then one exchange after another.
    const thread_cpu c0 = this_thread_cpu();
    const auto t0 = clock::now();
    // How long the clients wait for any answer before giving up on the rest: past the window.
    const int quiet_ms = static_cast<int>(window.count()) + 10000;
    {
        struct unit {
            int fd = -1;
            std::size_t step = 0, got = 0;
        };
        std::vector<unit> units(static_cast<std::size_t>(n));
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) detail::fail("epoll_create1");
        // The units' sockets still open and the epoll set are closed however this block ends.
        struct fds {
            int ep;
            std::vector<unit>& units;
            ~fds() {
                for (auto& u : units)
                    if (u.fd >= 0) ::close(u.fd);
                ::close(ep);
            }
        } guard{ep, units};
        std::vector<char> buf(64 * 1024);
        for (std::size_t u = 0; u < units.size(); ++u) {
            // Connected blocking (a full accept backlog waits instead of failing with EAGAIN),
            // then non-blocking for the exchanges.
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) detail::fail("socket");
            units[u].fd = fd;
            const timeval bound{10, 0};  // a connect waiting on a full backlog gives up after 10 s
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) detail::fail("connect");
            if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) detail::fail("fcntl");
            detail::add(ep, fd, EPOLLIN, u);
            detail::write_all(fd, bytes, exchanges[0].request);
        }
        std::vector<epoll_event> events(256);
        int open = n;
        while (open > 0) {
            const int k = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), quiet_ms);
            if (k == 0) break;  // a server that stopped answering: the run counts what was done
            for (int i = 0; i < k; ++i) {
                unit& u = units[events[static_cast<std::size_t>(i)].data.u64];
                if (u.fd < 0) continue;
                const bool alive = detail::read_some(u.fd, buf, u.got, exchanges[u.step].answer);
                if (u.got < exchanges[u.step].answer) {
                    if (!alive) ::close(u.fd), u.fd = -1, --open;
                    continue;
                }
                u.got = 0;
                if (++u.step == exchanges.size()) {
                    ++out.done;
                    ::close(u.fd);
                    u.fd = -1;
                    --open;
                    continue;
                }
                detail::write_all(u.fd, bytes, exchanges[u.step].request);
            }
        }
    }
    out.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    const thread_cpu c1 = this_thread_cpu();
    out.client = {c1.user - c0.user, c1.sys - c0.sys};
    stop = true;
    server.join();  // done_with_server then closes the listener and removes the socket
    if (server_failure) std::rethrow_exception(server_failure);
    return out;
}

} // namespace raw_units

#endif
