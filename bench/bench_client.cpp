// Benchmarks of the Pebble client, against a minimal in-process server on a Unix socket and, with
// PEBBLE_BIN naming a real pebble binary, against a real Pebble. Every ratio compares two sides
// measured in the same run, interleaved round by round; the figures are medians of the rounds.
//  1. GET /v1/plan on a kept-alive connection: the client's coroutine form and its synchronous form
//     (client(options): on the calling thread, over its lane) vs hand-written request bytes over a blocking socket;
//  2. push and pull of one 256 MiB file, and a pull of 4 files of 64 MiB in one request, vs a raw
//     socket sending the same request bytes, or reading the same response into a file (and curl,
//     when it is on PATH); pulled files are written to a directory on /dev/shm when it exists;
//     peak RSS growth (target < 16 MiB, independent of the size).
//
//   BENCH_N=requests per round (5000)  BENCH_ROUNDS=rounds (5)  BENCH_MIB=file size (256)
//   BENCH_LATENCY_ONLY=1  PEBBLE_BIN=/path/to/pebble
// Over 600 lines: one program, one file. Its in-process server (bench_server) and the raw-socket
// and curl baselines exist only to be measured against the client in the same run, interleaved.
#include <redispebble/pebble/client.hpp>

#include "support/raw_socket.hpp"

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
#include <fcntl.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace pb = redispebble::pebble;
using redispebble::test::write_all;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::uint64_t env_u64(const char* name, std::uint64_t dflt) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

const std::uint64_t big_size = env_u64("BENCH_MIB", 256) << 20;
const int rounds = static_cast<int>(std::max<std::uint64_t>(1, env_u64("BENCH_ROUNDS", 5)));
constexpr int multi_files = 4;

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

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? -1 : v[v.size() / 2];
}

double secs(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

/// The content of every benchmark file: 'a'..'z' repeated. fill() copies from a precomputed
/// pattern (cheap next to the transfer, the same cost for the client and the raw side).
struct pattern {
    std::vector<char> p;
    pattern() : p(256 * 1024 + 26) {
        for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>('a' + i % 26);
    }
    void fill(char* out, std::size_t n, std::uint64_t offset) const {
        while (n > 0) {
            auto take = std::min<std::size_t>(n, p.size() - 26);
            std::memcpy(out, p.data() + offset % 26, take);
            out += take;
            offset += take;
            n -= take;
        }
    }
};
const pattern content;

/// "" when the file at `path` holds `size` bytes of the pattern, else what differs.
std::string file_differs(const std::string& path, std::uint64_t size) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return path + ": cannot open";
    std::vector<char> got(1 << 20), want(1 << 20);
    std::uint64_t off = 0;
    std::string why;
    for (;;) {
        auto n = ::read(fd, got.data(), got.size());
        if (n <= 0) break;
        content.fill(want.data(), static_cast<std::size_t>(n), off);
        if (why.empty())
            for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
                if (got[i] != want[i]) {
                    why = path + ": differs at byte " + std::to_string(off + i);
                    break;
                }
        off += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (why.empty() && off != size) why = path + ": " + std::to_string(off) + " bytes, not " + std::to_string(size);
    return why;
}

int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// A minimal keep-alive HTTP server: answers /v1/plan with the recorded response, swallows pushes
/// (streamed, any size) and streams the pattern for pulls: big_size bytes split evenly between the
/// paths asked for, in one multipart body. Closes after a request with `Connection: close`.
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
        std::vector<char> tmp(256 * 1024);
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
                if (!send_files(c, head.substr(0, head.find(' ', 4)))) return;
            } else {
                return;
            }
            if (lower.find("connection: close") != std::string::npos) return;
        }
    }
    // The multipart answer to GET /v1/files?action=read&path=...&path=... (paths without escapes).
    static bool send_files(int c, const std::string& target) {
        std::vector<std::string> paths;
        for (std::size_t p = 0; (p = target.find("path=", p)) != std::string::npos; p += 5) {
            const auto raw = target.substr(p + 5, target.find('&', p) - (p + 5));
            std::string path;  // %XX decoded
            for (std::size_t i = 0; i < raw.size(); ++i)
                if (raw[i] == '%' && i + 2 < raw.size()) {
                    path += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
                    i += 2;
                } else {
                    path += raw[i];
                }
            paths.push_back(path);
        }
        if (paths.empty()) return false;
        const std::uint64_t each = big_size / paths.size();
        const std::string b = "benchboundary0123456789abcdef0123456789";
        std::vector<std::string> heads;
        std::string results;
        for (auto& path : paths) {
            heads.push_back("--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + path +
                            "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            if (!results.empty()) results += ',';
            results += R"({"path":")";
            results += path;
            results += "\"}";
        }
        std::string last = "--" + b + "\r\nContent-Disposition: form-data; name=\"response\"\r\n"
                           "Content-Type: application/json\r\n\r\n"
                           R"({"type":"sync","status-code":200,"status":"OK","result":[)" + results + "]}"
                           "\r\n--" + b + "--\r\n";
        std::uint64_t total = last.size();
        for (auto& h : heads) total += h.size() + each + 2;
        if (!write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: multipart/form-data; boundary=" + b +
                              "\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n"))
            return false;
        std::vector<char> chunk(256 * 1024);
        for (auto& h : heads) {
            if (!write_all(c, h)) return false;
            for (std::uint64_t sent = 0; sent < each;) {
                auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), each - sent));
                content.fill(chunk.data(), n, sent);
                if (!write_all(c, std::string_view(chunk.data(), n))) return false;
                sent += n;
            }
            if (!write_all(c, "\r\n")) return false;
        }
        return write_all(c, last);
    }

    std::string plan_;
    std::string path_;
    int fd_ = -1;
    std::vector<int> conns_;  // closed by the destructor, after the workers ended
    std::vector<std::thread> workers_;
    std::thread thread_;
};

// ---- 1. per-request latency ------------------------------------------------------------------------

/// Hand-written GET /v1/plan over a blocking socket: the floor the client is measured against.
double raw_plan_us(const std::string& socket_path, int n) {
    int fd = connect_unix(socket_path);
    if (fd < 0) return -1;
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

/// The synchronous form: plan() on a client(options), which runs it on the calling thread (the lane).
double sync_plan_us(const std::string& socket_path, int n) {
    pb::client_options o;
    o.socket_path = socket_path;
    pb::client c(o);
    for (int i = 0; i < n / 10; ++i) c.plan();
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i) c.plan();
    return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / n;
}

void latency(const std::string& socket_path, const char* against, double target) {
    const int n = static_cast<int>(std::max<std::uint64_t>(10, env_u64("BENCH_N", 5000)));
    std::vector<double> raw, cli, syn;
    for (int round = 0; round < rounds; ++round) {  // interleaved: the three share the machine's noise
        raw.push_back(raw_plan_us(socket_path, n));
        cli.push_back(client_plan_us(socket_path, n));
        syn.push_back(sync_plan_us(socket_path, n));
    }
    const double r = median(raw), c = median(cli), y = median(syn);
    std::printf("[%s] GET /v1/plan kept-alive, median of %d rounds of %d: raw socket %.1f us\n", against, rounds, n, r);
    std::printf("[%s]   coroutine form   %.1f us, ratio %.2fx (target <= %.2fx)\n", against, c, c / r, target);
    std::printf("[%s]   synchronous form %.1f us, ratio %.2fx (target <= %.2fx)\n", against, y, y / r, target);
}

// ---- 2. push and pull ----------------------------------------------------------------------------------

std::string files_target(const std::vector<std::string>& paths) {
    std::string t = "/v1/files?action=read";
    for (auto& p : paths) t += "&path=" + p;
    return t;
}

/// Raw pull: the same request bytes over a blocking socket (with Connection: close), everything
/// after the response's header written to `out` as it arrives. Returns bytes written, 0 on failure.
std::uint64_t raw_pull(const std::string& socket_path, const std::string& target, const std::string& out) {
    int fd = connect_unix(socket_path);
    if (fd < 0) return 0;
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: multipart/form-data\r\n"
                            "Connection: close\r\n\r\n";
    write_all(fd, req);
    int file = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char> buf(256 * 1024);
    std::string head;
    bool in_body = false;
    std::uint64_t written = 0;
    for (;;) {
        auto n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        std::string_view got(buf.data(), static_cast<std::size_t>(n));
        if (!in_body) {
            head.append(got);
            auto e = head.find("\r\n\r\n");
            if (e == std::string::npos) continue;
            in_body = true;
            got = std::string_view(head).substr(e + 4);
        }
        while (!got.empty()) {
            auto w = ::write(file, got.data(), got.size());
            if (w <= 0) break;
            got.remove_prefix(static_cast<std::size_t>(w));
            written += static_cast<std::uint64_t>(w);
        }
        head.clear();
    }
    ::close(file);
    ::close(fd);
    return written;
}

/// Raw push: a multipart POST with Content-Length over a blocking socket, the same bytes the client
/// sends (pattern content), then the answer read. Returns false on failure.
bool raw_push(const std::string& socket_path, const std::string& remote_path) {
    int fd = connect_unix(socket_path);
    if (fd < 0) return false;
    const std::string b = "rawbenchboundary0123456789abcdef0123456789abcdef0123456789";
    const std::string meta = R"({"action":"write","files":[{"path":")" + remote_path + R"("}]})";
    const std::string first = "--" + b + "\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: application/json\r\n\r\n" +
                              meta + "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + remote_path +
                              "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    const std::string last = "\r\n--" + b + "--\r\n";
    const std::uint64_t total = first.size() + big_size + last.size();
    write_all(fd, "POST /v1/files HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary=" +
                      b + "\r\nContent-Length: " + std::to_string(total) + "\r\nConnection: close\r\n\r\n" + first);
    std::vector<char> chunk(64 * 1024);
    for (std::uint64_t sent = 0; sent < big_size;) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), big_size - sent));
        content.fill(chunk.data(), n, sent);
        if (!write_all(fd, std::string_view(chunk.data(), n))) return ::close(fd), false;
        sent += n;
    }
    write_all(fd, last);
    std::string answer;
    char tmp[4096];
    for (ssize_t n; (n = ::recv(fd, tmp, sizeof tmp, 0)) > 0;) answer.append(tmp, static_cast<std::size_t>(n));
    ::close(fd);
    return answer.find("\"status-code\":200") != std::string::npos;
}

double curl_pull(const std::string& socket_path, const std::string& target, const std::string& out) {
    const std::string cmd = "curl -s -f --unix-socket '" + socket_path + "' -H 'Accept: multipart/form-data' -o '" + out +
                            "' 'http://localhost" + target + "'";
    auto t0 = clock_type::now();
    if (std::system(cmd.c_str()) != 0) return -1;
    return secs(clock_type::now() - t0);
}

bool have_curl() { return std::system("curl --version > /dev/null 2>&1") == 0; }

pb::push_file pattern_source(const std::string& remote_path, std::uint64_t size, std::shared_ptr<std::uint64_t> produced) {
    pb::push_file f;
    f.path = remote_path;
    f.size = size;
    f.source = [size, produced](std::span<char> out) -> std::size_t {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size - *produced));
        content.fill(out.data(), n, *produced);
        *produced += n;
        return n;
    };
    return f;
}

void transfer(const std::string& socket_path, const char* against, const std::string& remote_dir, const std::string& out_dir) {
    pb::client_options o;
    o.socket_path = socket_path;
    o.request_timeout = 120s;
    pb::client c(o);
    c.plan();  // the connection and the thread exist before the baseline is taken
    const bool curl = have_curl();
    const auto mib = static_cast<double>(big_size >> 20);
    const std::string one = remote_dir + "/big";
    std::vector<std::string> several;
    for (int i = 0; i < multi_files; ++i) several.push_back(remote_dir + "/part" + std::to_string(i));

    long before = vm_hwm_kib();
    std::vector<double> t_push, t_raw_push, t_pull, t_raw_pull, t_curl, t_multi, t_raw_multi;
    bool ok = true;
    std::string failure;
    auto check = [&](bool good, const std::string& what) {
        if (!good && ok) failure = what;
        ok = ok && good;
    };
    for (int round = 0; round < rounds; ++round) {
        // Push: one file, then (not timed) the parts a multi-file pull reads back.
        auto t0 = clock_type::now();
        auto pushed = c.push({{pattern_source(one, big_size, std::make_shared<std::uint64_t>(0))}});
        t_push.push_back(secs(clock_type::now() - t0));
        check(pushed.size() == 1 && pushed[0].ok(), "push: " + (pushed.empty() ? std::string("no result") : pushed[0].diag.message));
        t0 = clock_type::now();
        check(raw_push(socket_path, remote_dir + "/raw"), "raw push");
        t_raw_push.push_back(secs(clock_type::now() - t0));
        if (round == 0) {
            pb::push_options parts;
            for (auto& p : several) parts.files.push_back(pattern_source(p, big_size / multi_files, std::make_shared<std::uint64_t>(0)));
            for (auto& r : c.push(parts)) check(r.ok(), "push of the parts: " + r.diag.message);
        }
        // Pull: the client into a local file, the raw socket and curl into a file.
        t0 = clock_type::now();
        auto pulled = c.pull({{{one, out_dir + "/client.bin", {}}}});
        t_pull.push_back(secs(clock_type::now() - t0));
        check(pulled.size() == 1 && pulled[0].ok(), "pull: " + (pulled.empty() ? std::string("no result") : pulled[0].diag.message));
        auto differs = file_differs(out_dir + "/client.bin", big_size);
        check(differs.empty(), differs);
        t0 = clock_type::now();
        check(raw_pull(socket_path, files_target({one}), out_dir + "/raw.bin") > big_size, "raw pull");
        t_raw_pull.push_back(secs(clock_type::now() - t0));
        if (curl) t_curl.push_back(curl_pull(socket_path, files_target({one}), out_dir + "/curl.bin"));
        // Several files in one request.
        pb::pull_options po;
        for (int i = 0; i < multi_files; ++i) po.files.push_back({several[i], out_dir + "/part" + std::to_string(i), {}});
        t0 = clock_type::now();
        auto multi = c.pull(po);
        t_multi.push_back(secs(clock_type::now() - t0));
        for (auto& r : multi) check(r.ok(), "multi-file pull: " + r.diag.message);
        for (int i = 0; i < multi_files; ++i) {
            differs = file_differs(out_dir + "/part" + std::to_string(i), big_size / multi_files);
            check(differs.empty(), differs);
        }
        t0 = clock_type::now();
        check(raw_pull(socket_path, files_target(several), out_dir + "/raw.bin") > big_size, "raw multi-file pull");
        t_raw_multi.push_back(secs(clock_type::now() - t0));
    }
    long after = vm_hwm_kib();
    auto rate = [&](double s) { return mib / s; };
    const double push = median(t_push), raw_p = median(t_raw_push), pull = median(t_pull), raw = median(t_raw_pull),
                 multi = median(t_multi), raw_m = median(t_raw_multi);
    std::printf("[%s] transfers of %.0f MiB, median of %d rounds%s\n", against, mib, rounds, ok ? "" : (" -- FAILED: " + failure).c_str());
    std::printf("[%s]   push:  client %.2f s (%.0f MiB/s), raw socket %.2f s: throughput %.2fx raw\n", against, push, rate(push), raw_p,
                raw_p / push);
    std::printf("[%s]   pull:  client %.2f s (%.0f MiB/s), raw socket %.2f s: throughput %.2fx raw", against, pull, rate(pull), raw,
                raw / pull);
    if (curl) std::printf(", curl %.2f s: %.2fx curl", median(t_curl), median(t_curl) / pull);
    std::printf(" (target >= 0.95x)\n");
    std::printf("[%s]   pull of %d files of %.0f MiB in one request: client %.2f s, raw socket %.2f s: throughput %.2fx raw\n", against,
                multi_files, mib / multi_files, multi, raw_m, raw_m / multi);
    std::printf("[%s]   peak RSS growth over all of it: %.1f MiB (target < 16)\n", against, (after - before) / 1024.0);
}

/// Starts `pebble run` with PEBBLE=dir; returns its pid (or -1).
pid_t start_pebble(const char* bin, const std::string& dir) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setenv("PEBBLE", dir.c_str(), 1);
        // Pebble logs every request: keep its log out of the report.
        if (int null = ::open("/dev/null", O_WRONLY); null >= 0) {
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
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

std::string make_dir(const char* parent) {
    std::string tmpl = std::string(parent) + "/rp-bench-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return {};
    return tmpl;
}

} // namespace

int main() {
    const std::string dir = make_dir("/tmp");
    std::string out_dir = std::filesystem::is_directory("/dev/shm") ? make_dir("/dev/shm") : "";
    if (out_dir.empty()) out_dir = dir;
    if (dir.empty()) return 1;
    {
        double load[3] = {0, 0, 0};
        std::ifstream("/proc/loadavg") >> load[0] >> load[1] >> load[2];
        std::printf("redispebble_bench: %u hardware threads, load average %.2f %.2f %.2f; pulled files in %s\n",
                    std::thread::hardware_concurrency(), load[0], load[1], load[2], out_dir.c_str());
    }
    auto fixture = read_all(REDISPEBBLE_BENCH_PLAN_FIXTURE);
    auto response = fixture.substr(fixture.find("\n### response\n") + 14);
    int rc = 0;
    try {
        {
            bench_server server(dir, response);
            latency(server.path(), "in-process server", 2.0);
            if (!std::getenv("BENCH_LATENCY_ONLY")) transfer(server.path(), "in-process server", "", out_dir);
        }
        if (const char* bin = std::getenv("PEBBLE_BIN"); bin && *bin) {
            auto pdir = dir + "/pebble";
            std::filesystem::create_directories(pdir);
            pid_t pid = start_pebble(bin, pdir);
            if (pid < 0) {
                std::printf("[pebble] could not start %s; skipped\n", bin);
            } else {
                latency(pdir + "/.pebble.socket", "real pebble", 1.15);
                if (!std::getenv("BENCH_LATENCY_ONLY")) transfer(pdir + "/.pebble.socket", "real pebble", dir, out_dir);
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
    if (out_dir != dir) std::filesystem::remove_all(out_dir, ec);
    return rc;
}
