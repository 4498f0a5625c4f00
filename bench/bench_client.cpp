// Benchmarks of the Pebble client, against a minimal in-process server on a Unix socket:
//  1. latency of GET /v1/plan on a kept-alive connection, client vs. hand-written request bytes
//     over a raw socket (same server, same run); prints the ratio (target <= 1.15x);
//  2. push and pull of a 256 MiB file, printing peak RSS growth (target < 16 MiB, independent of
//     the file size).
// With PEBBLE_BIN naming a real pebble binary, the same is measured against it too.
#include <redispebble/pebble/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace pb = redispebble::pebble;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t big_size = 256ull * 1024 * 1024;

long vm_hwm_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

char fill_byte(std::uint64_t i) { return static_cast<char>('a' + i % 26); }

/// A minimal keep-alive HTTP server: answers /v1/plan with the recorded response, swallows pushes
/// (streamed, any size) and streams a big file for pulls.
class bench_server {
public:
    bench_server(std::string dir, std::string plan_response) : plan_(std::move(plan_response)) {
        path_ = dir + "/bench.socket";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) std::abort();
        thread_ = std::thread([this] { run(); });
    }
    ~bench_server() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        for (int c : conns_) ::shutdown(c, SHUT_RDWR);
        for (auto& t : workers_) t.join();
        for (int c : conns_) ::close(c);
        ::close(fd_);
    }
    const std::string& path() const { return path_; }

private:
    void run() {
        for (;;) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            conns_.push_back(c);
            workers_.emplace_back([this, c] {
                serve(c);
                ::shutdown(c, SHUT_RDWR);
            });
        }
    }
    void serve(int c) {
        std::string buf;
        std::vector<char> tmp(64 * 1024);
        auto fill = [&] {
            auto n = ::recv(c, tmp.data(), tmp.size(), 0);
            if (n <= 0) return false;
            buf.append(tmp.data(), static_cast<std::size_t>(n));
            return true;
        };
        for (;;) {
            std::size_t end;
            while ((end = buf.find("\r\n\r\n")) == std::string::npos)
                if (!fill()) return;
            std::string head = buf.substr(0, end);
            buf.erase(0, end + 4);
            std::string lower = head;
            for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            // Swallow the body without keeping it.
            if (auto p = lower.find("content-length:"); p != std::string::npos) {
                std::uint64_t left = std::strtoull(lower.c_str() + p + 15, nullptr, 10);
                while (left > 0) {
                    if (buf.empty() && !fill()) return;
                    auto take = std::min<std::uint64_t>(left, buf.size());
                    buf.erase(0, take);
                    left -= take;
                }
            } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
                for (;;) {
                    std::size_t eol;
                    while ((eol = buf.find("\r\n")) == std::string::npos)
                        if (!fill()) return;
                    auto size = std::strtoull(buf.c_str(), nullptr, 16);
                    buf.erase(0, eol + 2);
                    std::uint64_t left = size + 2;
                    while (left > 0) {
                        if (buf.empty() && !fill()) return;
                        auto take = std::min<std::uint64_t>(left, buf.size());
                        buf.erase(0, take);
                        left -= take;
                    }
                    if (size == 0) break;
                }
            }
            if (head.rfind("GET /v1/plan", 0) == 0) {
                if (!write_all(c, plan_)) return;
            } else if (head.rfind("POST /v1/files", 0) == 0) {
                std::string body = R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/big"}]})";
                if (!write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body))
                    return;
            } else if (head.rfind("GET /v1/files", 0) == 0) {
                const std::string b = "benchboundary0123456789abcdef0123456789";
                std::string first = "--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/big\"\r\n"
                                                "Content-Type: application/octet-stream\r\n\r\n";
                std::string last = "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"response\"\r\n"
                                   "Content-Type: application/json\r\n\r\n"
                                   R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/big"}]})"
                                   "\r\n--" + b + "--\r\n";
                auto total = first.size() + big_size + last.size();
                if (!write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: multipart/form-data; boundary=" + b +
                                      "\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n" + first))
                    return;
                std::vector<char> chunk(256 * 1024);
                for (std::uint64_t sent = 0; sent < big_size;) {
                    auto n = std::min<std::uint64_t>(chunk.size(), big_size - sent);
                    for (std::uint64_t i = 0; i < n; ++i) chunk[i] = fill_byte(sent + i);
                    if (!write_all(c, std::string_view(chunk.data(), n))) return;
                    sent += n;
                }
                if (!write_all(c, last)) return;
            } else {
                return;
            }
        }
    }

    std::string plan_;
    std::string path_;
    int fd_ = -1;
    std::vector<int> conns_;  // closed by the destructor, after the workers ended
    std::vector<std::thread> workers_;
    std::thread thread_;
};

/// Hand-written GET /v1/plan over a blocking socket: the floor the client is measured against.
double raw_plan_us(const std::string& socket_path, int n) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", socket_path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    const std::string req = "GET /v1/plan?format=yaml HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
    std::string buf;
    char tmp[65536];
    auto one = [&] {
        write_all(fd, req);
        buf.clear();
        std::size_t need = std::string::npos;
        for (;;) {
            auto r = ::recv(fd, tmp, sizeof tmp, 0);
            if (r <= 0) return false;
            buf.append(tmp, static_cast<std::size_t>(r));
            if (need == std::string::npos) {
                auto e = buf.find("\r\n\r\n");
                if (e == std::string::npos) continue;
                auto p = buf.find("Content-Length: ");
                need = e + 4 + std::strtoull(buf.c_str() + p + 16, nullptr, 10);
            }
            if (buf.size() >= need) return true;
        }
    };
    for (int i = 0; i < n / 10; ++i) one();  // warm up
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i)
        if (!one()) return -1;
    auto t1 = clock_type::now();
    ::close(fd);
    return std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
}

/// The client's async_plan in a coroutine loop on one io_context, on the calling thread.
double client_plan_us(const std::string& socket_path, int n) {
    asio::io_context ctx(1);
    pb::client_options o;
    o.socket_path = socket_path;
    pb::client c(ctx, o);
    double us = -1;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < n / 10; ++i) co_await c.async_plan(asio::use_awaitable);
        auto t0 = clock_type::now();
        for (int i = 0; i < n; ++i) co_await c.async_plan(asio::use_awaitable);
        us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / n;
    }, asio::detached);
    ctx.run();
    return us;
}

void latency(const std::string& socket_path, const char* against) {
    const char* env_n = std::getenv("BENCH_N");
    const int n = env_n ? std::max(10, std::atoi(env_n)) : 20000;
    // Interleave to share machine noise between the two.
    double raw = 1e9, cli = 1e9;
    for (int round = 0; round < 3; ++round) {
        raw = std::min(raw, raw_plan_us(socket_path, n));
        cli = std::min(cli, client_plan_us(socket_path, n));
    }
    std::printf("[%s] GET /v1/plan kept-alive: raw socket %.1f us, client %.1f us, ratio %.2fx (target <= 1.15x)\n",
                against, raw, cli, cli / raw);
}

void transfer(const std::string& socket_path, const char* against, const std::string& remote_path) {
    pb::client_options o;
    o.socket_path = socket_path;
    o.request_timeout = 120s;
    pb::client c(o);
    c.plan();  // the connection and the thread exist before the baseline is taken
    long before = vm_hwm_kib();
    auto t0 = clock_type::now();
    pb::push_file f;
    f.path = remote_path;
    f.size = big_size;
    std::uint64_t produced = 0;
    f.source = [&](std::span<char> out) -> std::size_t {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), big_size - produced));
        for (std::size_t i = 0; i < n; ++i) out[i] = fill_byte(produced + i);
        produced += n;
        return n;
    };
    auto pushed = c.push({{f}});
    auto t1 = clock_type::now();
    long after_push = vm_hwm_kib();
    std::uint64_t received = 0;
    bool same = true;
    auto pulled = c.pull({{{remote_path, "", [&](std::span<const char> s) {
        for (std::size_t i = 0; i < s.size() && same; ++i) same = s[i] == fill_byte(received + i);
        received += s.size();
    }}}});
    auto t2 = clock_type::now();
    long after_pull = vm_hwm_kib();
    auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::printf("[%s] push 256 MiB: %s in %.2f s, peak RSS growth %.1f MiB (target < 16)\n", against,
                pushed.at(0).ok() ? "ok" : pushed.at(0).diag.message.c_str(), secs(t1 - t0), (after_push - before) / 1024.0);
    std::printf("[%s] pull 256 MiB: %s, %llu bytes%s in %.2f s, peak RSS growth %.1f MiB (target < 16)\n", against,
                pulled.at(0).ok() ? "ok" : pulled.at(0).diag.message.c_str(), static_cast<unsigned long long>(received),
                same ? "" : " (CONTENT MISMATCH)", secs(t2 - t1), (after_pull - before) / 1024.0);
}

/// Starts `pebble run` with PEBBLE=dir; returns its pid (or -1).
pid_t start_pebble(const char* bin, const std::string& dir) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setenv("PEBBLE", dir.c_str(), 1);
        ::execl(bin, bin, "run", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
        if (std::filesystem::exists(dir + "/.pebble.socket")) return pid;
        std::this_thread::sleep_for(25ms);
    }
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    return -1;
}

} // namespace

int main() {
    char tmpl[] = "/tmp/rp-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    auto fixture = read_all(REDISPEBBLE_BENCH_PLAN_FIXTURE);
    auto response = fixture.substr(fixture.find("\n### response\n") + 14);
    int rc = 0;
    try {
        {
            bench_server server(dir, response);
            latency(server.path(), "in-process server");
            if (!std::getenv("BENCH_LATENCY_ONLY")) transfer(server.path(), "in-process server", "/big");
        }
        if (const char* bin = std::getenv("PEBBLE_BIN"); bin && *bin) {
            auto pdir = dir + "/pebble";
            std::filesystem::create_directories(pdir);
            pid_t pid = start_pebble(bin, pdir);
            if (pid < 0) {
                std::printf("[pebble] could not start %s; skipped\n", bin);
            } else {
                latency(pdir + "/.pebble.socket", "real pebble");
                transfer(pdir + "/.pebble.socket", "real pebble", dir + "/big.bin");
                ::kill(pid, SIGTERM);
                ::waitpid(pid, nullptr, 0);
            }
        } else {
            std::printf("[pebble] PEBBLE_BIN not set; real-pebble measurements skipped\n");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench failed: %s\n", e.what());
        rc = 1;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return rc;
}
