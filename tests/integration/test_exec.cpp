// Exec over websockets, logs following and the notices long-poll, against the test server and (when
// PEBBLE_BIN names one) a real Pebble.
#include <redispebble/pebble/exec.hpp>

#include <redispebble/testing/server.hpp>

#include "support/pebble_daemon.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"
#include "support/unix_http.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/use_future.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REDISPEBBLE_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REDISPEBBLE_SANITIZER_ALLOCATOR 1
#endif
#endif
#ifndef REDISPEBBLE_SANITIZER_ALLOCATOR
#define REDISPEBBLE_SANITIZER_ALLOCATOR 0
#endif
#if REDISPEBBLE_SANITIZER_ALLOCATOR
#include <sanitizer/allocator_interface.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace pebble = redispebble::pebble;

namespace {

struct backend {
    virtual ~backend() = default;
    virtual std::string socket_path() = 0;
};

struct real_pebble : backend {
    redispebble::test::pebble_daemon daemon;
    explicit real_pebble(const std::string& bin) : daemon(bin) {}
    std::string socket_path() override { return daemon.socket_path(); }
};

struct test_server : backend {
    redispebble::testing::pebble_server server;
    test_server() : server(options()) {}
    static redispebble::testing::server_options options() {
        redispebble::testing::server_options o;
        o.start_window = 300ms;
        return o;
    }
    std::string socket_path() override { return server.socket_path(); }
};

/// Runs `body` against the test server, and against real Pebble when PEBBLE_BIN is set.
void on_each_backend(const std::function<void(backend&)>& body) {
    {
        INFO("backend: test server");
        test_server b;
        body(b);
    }
    if (auto bin = redispebble::test::pebble_bin()) {
        INFO("backend: real pebble");
        real_pebble b(*bin);
        body(b);
    } else {
        WARN("PEBBLE_BIN is not set: the real-Pebble run is skipped");
    }
}

// Adds a layer (label `name`) with service `name` running `command`, starts it and waits for the
// start to be Done: the options that name it, for c.stop() at the end.
pebble::service_options start_service(pebble::client& c, const std::string& name, const std::string& command) {
    pebble::add_layer_options layer;
    layer.label = name;
    layer.layer_yaml = "services:\n  " + name + ":\n    override: replace\n    command: " + command + "\n";
    c.add_layer(layer);
    pebble::service_options so;
    so.names = {name};
    pebble::wait_change_options wo;
    wo.timeout = 10s;
    c.wait_change(c.start(so), wo);
    return so;
}

pebble::client_options client_opts(backend& b) {
    pebble::client_options o;
    o.socket_path = b.socket_path();
    o.request_timeout = 10s;
    return o;
}

// The memory a streaming exec holds. A plain build measures the process's peak RSS. Under
// AddressSanitizer or ThreadSanitizer the RSS says nothing about our buffering: ASan keeps freed
// blocks in its quarantine (256 MiB by default) and adds redzones, TSan maps shadow memory for
// every page touched. There the sanitizer's allocator reports the bytes live in the heap
// (__sanitizer_get_current_allocated_bytes, quarantine and shadow excluded), sampled by the
// caller while the data streams: the same bound applies to that peak.
class memory_growth {
public:
    memory_growth() : before_(now()), peak_(before_) {}
    void sample() { peak_ = std::max(peak_, now()); }
    long kib() {
        sample();
        return (peak_ - before_) / 1024;
    }

private:
#if REDISPEBBLE_SANITIZER_ALLOCATOR
    static long now() { return static_cast<long>(__sanitizer_get_current_allocated_bytes()); }
#else
    static long now() {  // the peak RSS, in bytes
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss * 1024;
    }
#endif
    long before_, peak_;
};

pebble::exec_options cmd(std::vector<std::string> argv) {
    pebble::exec_options o;
    o.command = std::move(argv);
    o.timeout = 20s;
    return o;
}

// What the non-throwing pebble::exec gives: the result, the error code and the diagnostics.
struct exec_outcome {
    pebble::exec_result r;
    pebble::error_code ec;
    pebble::diagnostics d;
};
exec_outcome try_exec(pebble::client& c, const pebble::exec_options& o) {
    exec_outcome out;
    out.r = pebble::exec(c, o, out.ec, &out.d);
    return out;
}

} // namespace

TEST_CASE("exec runs echo and collects its output with exit code 0", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        auto o = cmd({"/bin/echo", "hi"});
        o.environment["GREETING"] = "hello";
        o.working_dir = "/tmp";
        const auto [r, ec, d] = try_exec(c, o);
        REQUIRE_FALSE(ec);
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_data == "hi\n");
        CHECK_FALSE(r.truncated);
        CHECK_FALSE(r.change_id.empty());
        // The daemon's environment never reaches the diagnostics.
        CHECK(d.message.find("PATH") == std::string::npos);

        auto env = cmd({"/bin/sh", "-c", "echo $GREETING; pwd"});
        env.environment["GREETING"] = "hello";
        env.working_dir = "/tmp";
        auto r2 = pebble::exec(c, env);
        CHECK(r2.stdout_data == "hello\n/tmp\n");
    });
}

TEST_CASE("exec of a command that exits 7 fails with command_failed and keeps the exit code", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const auto [r, ec, d] = try_exec(c, cmd({"/bin/sh", "-c", "echo partial; echo broken >&2; exit 7"}));
        CHECK(ec == pebble::error::command_failed);
        CHECK(ec == pebble::condition::api);
        CHECK(r.exit_code == 7);
        CHECK(r.stdout_data == "partial\nbroken\n");
        CHECK(d.message.find("exited with code 7") != std::string::npos);
        CHECK(d.value.find("broken") != std::string::npos);
        // The throwing form throws api_exception with the same code.
        try {
            pebble::exec(c, cmd({"/bin/sh", "-c", "exit 7"}));
            FAIL("no exception");
        } catch (const pebble::api_exception& e) {
            CHECK(e.code() == pebble::error::command_failed);
        }
    });
}

TEST_CASE("exec of a command that outlives its timeout fails with a timeout", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        auto o = cmd({"/bin/sleep", "10"});
        o.timeout = 500ms;
        // Pebble's own words say the 500 ms timeout ended it, not the command's 10 s.
        const auto [r, ec, d] = try_exec(c, o);
        CHECK(ec == pebble::condition::timeout);
        CHECK(r.exit_code == -1);
        CHECK(d.message == "cannot perform the following tasks:\n"
                           "- Execute command \"/bin/sleep\" (timed out after 500ms: context deadline exceeded)");
    });
}

TEST_CASE("a signal sent to a running exec ends it with 128 plus the signal", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        auto started = pebble::async_start_exec(c, cmd({"/bin/sleep", "30"}), boost::asio::use_future);
        REQUIRE(started.wait_for(10s) == std::future_status::ready);
        auto p = started.get();
        REQUIRE(p.valid());
        std::this_thread::sleep_for(200ms);  // let the command start
        auto sig = p.async_send_signal("SIGTERM", boost::asio::use_future);
        REQUIRE(sig.wait_for(10s) == std::future_status::ready);
        sig.get();
        pebble::error_code ec;
        pebble::exec_result r;
        std::promise<void> done;
        p.async_wait([&](pebble::error_code e, pebble::exec_result res) {
            ec = e;
            r = std::move(res);
            done.set_value();
        });
        REQUIRE(done.get_future().wait_for(10s) == std::future_status::ready);
        CHECK(ec == pebble::error::command_failed);
        CHECK(r.exit_code == 128 + 15);
    });
}

TEST_CASE("exec streams 8 MiB of stdin to wc with bounded memory", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        constexpr std::size_t total = 8 * 1024 * 1024;
        std::size_t sent = 0, max_chunk = 0;
        auto o = cmd({"/usr/bin/wc", "-c"});
        o.stdin_source = [&](std::span<char> buf) -> std::size_t {
            std::size_t n = std::min(buf.size(), total - sent);
            std::fill_n(buf.begin(), n, 'x');
            sent += n;
            max_chunk = std::max(max_chunk, buf.size());
            return n;
        };
        o.max_output = 64;
        auto r = pebble::exec(c, o);
        CHECK(sent == total);
        CHECK(max_chunk <= 64 * 1024);  // the source fills one bounded buffer at a time
        CHECK(r.stdout_data.find("8388608") != std::string::npos);

        // Output larger than max_output is truncated, not kept whole.
        auto big = cmd({"/bin/sh", "-c", "head -c 300000 /dev/zero"});
        big.max_output = 1000;
        auto r2 = pebble::exec(c, big);
        CHECK(r2.stdout_data.size() == 1000);
        CHECK(r2.truncated);
        // A sink sees all of it.
        std::size_t seen = 0;
        auto sunk = cmd({"/bin/sh", "-c", "head -c 300000 /dev/zero"});
        sunk.stdout_sink = [&](std::string_view s) { seen += s.size(); };
        auto r3 = pebble::exec(c, sunk);
        CHECK(seen == 300000);
        CHECK(r3.stdout_data.empty());

        // 32 MiB through a sink (and, with the test server, through this process twice) leaves
        // the peak memory of the process nearly where it was.
        memory_growth growth;
        std::size_t streamed = 0;
        auto huge = cmd({"/bin/sh", "-c", "head -c 33554432 /dev/zero"});
        huge.stdout_sink = [&](std::string_view s) {
            streamed += s.size();
            growth.sample();
        };
        pebble::exec(c, huge);
        CHECK(streamed == 33554432);
        CHECK(growth.kib() < 16 * 1024);
    });
}

TEST_CASE("exec with split stderr keeps the two streams apart and takes stdin from a string", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        auto o = cmd({"/bin/sh", "-c", "cat; echo err >&2"});
        o.split_stderr = true;
        o.stdin_data = "from stdin\n";
        auto r = pebble::exec(c, o);
        CHECK(r.stdout_data == "from stdin\n");
        CHECK(r.stderr_data == "err\n");
    });
}

TEST_CASE("exec of a missing binary is Pebble's 400 cannot find executable", "[exec]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const auto [r, ec, d] = try_exec(c, cmd({"nosuchbinary"}));
        CHECK(ec == pebble::error::api_error);
        CHECK(d.status_code == 400);
        CHECK(d.message == "cannot find executable \"nosuchbinary\"");
        // An empty command never reaches Pebble.
        CHECK(try_exec(c, cmd({})).ec == pebble::error::invalid_option);
    });
}

TEST_CASE("following logs receives lines written after the follow started", "[exec][logs]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const auto so = start_service(c, "ticker", "/bin/sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'");
        std::vector<pebble::log_entry> got;
        pebble::logs_options lo;
        lo.services = {"ticker"};
        lo.n = 0;
        auto f = pebble::async_follow_logs(
            c, lo,
            [&](const pebble::log_entry& e) {
                got.push_back(e);
                return got.size() < 3;
            },
            pebble::follow_stopper{}, boost::asio::use_future);
        REQUIRE(f.wait_for(15s) == std::future_status::ready);
        f.get();
        REQUIRE(got.size() == 3);
        CHECK(got[0].service == "ticker");
        CHECK(got[0].message.rfind("tick", 0) == 0);
        CHECK(got[1].message != got[0].message);

        // stop() from another thread ends a follow that gets nothing.
        pebble::follow_stopper stop;
        pebble::logs_options none;
        none.services = {"nosuchservice"};
        auto f2 = pebble::async_follow_logs(c, none, [](const pebble::log_entry&) { return true; }, stop,
                                            boost::asio::use_future);
        std::this_thread::sleep_for(300ms);
        stop.stop();
        REQUIRE(f2.wait_for(5s) == std::future_status::ready);
        f2.get();
        c.stop(so);
    });
}

TEST_CASE("an exec change records a change-update notice when made and again when it starts", "[exec][notices]") {
    // Pebble v1.26: POST /v1/exec makes the change (one occurrence) and it is Doing at once (a
    // second), before any websocket connects.
    on_each_backend([](backend& b) {
        auto a = redispebble::test::unix_http(b.socket_path(), "POST", "/v1/exec",
                                              R"({"command":["/bin/true"],"timeout":"5s"})");
        INFO(a.body);
        REQUIRE(a.status == 202);
        const std::string id(a.json().as_object().at("change").as_string());
        auto n = redispebble::test::unix_http(b.socket_path(), "GET", "/v1/notices?types=change-update&keys=" + id);
        INFO(n.body);
        REQUIRE(n.status == 200);
        const boost::json::value listed = n.result();
        const auto& list = listed.as_array();
        REQUIRE(list.size() == 1);
        CHECK(list[0].as_object().at("occurrences").as_int64() == 2);
        CHECK(boost::json::serialize(list[0].as_object().at("last-data")) == R"({"kind":"exec"})");
        auto ch = redispebble::test::unix_http(b.socket_path(), "GET", "/v1/changes/" + id);
        const boost::json::value change = ch.result();
        CHECK(change.as_object().at("status").as_string() == "Doing");
    });
}

TEST_CASE("a log follow goes on at the right line while the log buffer drops old lines", "[exec][logs]") {
    // Found on the test server: a follower's place was an index into the lines kept, so after the
    // oldest were dropped it pointed past lines it had not read yet and skipped them. The service
    // writes 12000 lines (about 480 KB as Pebble stores them, so the 100 KiB a service keeps is
    // overrun four times) in six batches of 2000 (80 KB, less than the bound), each batch only once
    // the follower has the last line of the one before: it must get 1 to 12000, each once, in order.
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        redispebble::test::temp_dir dir;
        const std::string flag = dir.path + "/go";
        const auto so = start_service(c, "counter",
                                      "/bin/sh -c 'for k in 1 2 3 4 5 6; do seq $(($k*2000-1999)) $(($k*2000)); while [ ! -e " +
                                          flag + "$k ]; do sleep 0.05; done; done; exec sleep 100'");
        // Pebble's follower may read a line while the writer is in the middle of it and give it as
        // two entries ("12", then "34"): the pieces are joined until the line due is complete.
        int next = 1;
        std::string pending, wrong;
        pebble::logs_options lo;
        lo.services = {"counter"};
        lo.n = -1;  // every line kept so far, then the new ones
        auto f = pebble::async_follow_logs(
            c, lo,
            [&](const pebble::log_entry& e) {
                pending += e.message;
                const std::string due = std::to_string(next);
                if (pending.size() < due.size()) return true;
                if (pending != due) {
                    wrong = "got " + pending + " where " + due + " was due";
                    return false;
                }
                pending.clear();
                if (next % 2000 == 0) std::ofstream(flag + std::to_string(next / 2000)) << "go\n";
                return next++ != 12000;
            },
            pebble::follow_stopper{}, boost::asio::use_future);
        REQUIRE(f.wait_for(60s) == std::future_status::ready);
        f.get();
        CHECK(wrong == "");
        CHECK(next == 12001);  // 12000 was the last
        c.stop(so);
    });
}

namespace {

// The entries of an ndjson body of GET /v1/logs.
std::vector<boost::json::object> log_entries(const std::string& body) {
    std::vector<boost::json::object> out;
    std::size_t at = 0;
    for (std::size_t nl; (nl = body.find('\n', at)) != std::string::npos; at = nl + 1)
        out.push_back(boost::json::parse(body.substr(at, nl - at)).as_object());
    return out;
}

std::string message_of(const boost::json::object& e) { return std::string(e.at("message").as_string()); }

} // namespace

TEST_CASE("GET /v1/logs gives the newest lines that fit in a service's 100 KiB as Pebble does", "[exec][logs]") {
    // Pebble v1.26 keeps each service's output in its own ring buffer of 100 KiB (servstate's
    // maxLogBytes) holding "<24-byte time> [<service>] <message>\n" per line, and discards the
    // oldest bytes to make room: a reader gets the newest lines that are still whole. The test
    // server kept 10000 lines of all services together and dropped 5000 at a time, so the 30000
    // lines below, read in one go, left 25000 (five times Pebble's), and the quiet service's two
    // lines, written first, were dropped with the noisy one's.
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const auto quiet = start_service(c, "quiet", "/bin/sh -c 'echo quiet1; echo quiet2; exec sleep 100'");
        const auto gen = start_service(c, "gen", "/bin/sh -c 'seq 1 30000; exec sleep 100'");
        const auto get = [&](const std::string& query) {
            auto a = redispebble::test::unix_http(b.socket_path(), "GET", "/v1/logs" + query);
            REQUIRE(a.status == 200);
            return log_entries(a.body);
        };
        // The last line is there (a bound for a loaded machine, not a speed assertion).
        for (int i = 0; i < 200; ++i) {
            const auto last = get("?services=gen&n=1");
            if (!last.empty() && message_of(last.back()) == "30000") break;
            std::this_thread::sleep_for(50ms);
        }
        // The newest lines whose stored bytes add up to at most 102400.
        int first = 30001;
        std::size_t bytes = 0;
        for (;;) {
            const std::size_t line = 24 + 2 + 3 + 2 + std::to_string(first - 1).size() + 1;  // "<time> [gen] <n>\n"
            if (first == 1 || bytes + line > 100 * 1024) break;
            bytes += line;
            --first;
        }
        REQUIRE(first > 1);  // the bound was reached

        const auto all_gen = get("?services=gen&n=-1");
        REQUIRE(all_gen.size() == static_cast<std::size_t>(30001 - first));
        for (std::size_t i = 0; i < all_gen.size(); ++i)
            if (message_of(all_gen[i]) != std::to_string(first + static_cast<int>(i)))
                FAIL("entry " << i << " is " << message_of(all_gen[i]) << ", not " << first + static_cast<int>(i));

        // Each service has a buffer of its own: the quiet one keeps its lines.
        const auto all = get("?n=-1");
        REQUIRE(all.size() == all_gen.size() + 2);
        CHECK(message_of(all[0]) == "quiet1");
        CHECK(message_of(all[1]) == "quiet2");
        CHECK(message_of(all[2]) == std::to_string(first));
        CHECK(message_of(all.back()) == "30000");

        // Without n: the last 30.
        const auto last30 = get("");
        REQUIRE(last30.size() == 30);
        CHECK(message_of(last30.front()) == "29971");
        c.stop(gen);
        c.stop(quiet);
    });
}

TEST_CASE("GET /v1/logs gives a line longer than 4096 bytes in pieces as Pebble does", "[exec][logs]") {
    // Pebble v1.26 reads a service's buffer through a 4096-byte reader (api_logs.go's
    // logReaderSize): a 10000-character line is three entries, 4096 bytes of "<time> [long] <line>"
    // (4064 characters after the 32-byte prefix), 4096, then the 1840 left, and n counts them.
    // The test server gave the line as one entry.
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const auto so = start_service(c, "long", "/bin/sh -c 'head -c 10000 /dev/zero | tr \"\\0\" a; echo; echo short; exec sleep 100'");
        const auto get = [&](const std::string& query) {
            auto a = redispebble::test::unix_http(b.socket_path(), "GET", "/v1/logs" + query);
            REQUIRE(a.status == 200);
            std::vector<std::string> out;
            for (const auto& e : log_entries(a.body)) out.push_back(message_of(e));
            return out;
        };
        std::vector<std::string> all;
        for (int i = 0; i < 200 && ((all = get("?services=long&n=-1")).empty() || all.back() != "short"); ++i)
            std::this_thread::sleep_for(50ms);
        REQUIRE(all.size() == 4);
        CHECK(all[0] == std::string(4064, 'a'));
        CHECK(all[1] == std::string(4096, 'a'));
        CHECK(all[2] == std::string(1840, 'a'));
        CHECK(all[3] == "short");
        CHECK(get("?services=long&n=2") == std::vector<std::string>{std::string(1840, 'a'), "short"});
        c.stop(so);
    });
}

TEST_CASE("waiting for notices returns a notice added during the wait and nothing at the timeout", "[exec][notices]") {
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        const std::string key = "example.com/exec-test-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
        pebble::notices_options no;
        no.keys = {key};
        auto w = pebble::async_wait_notices(c, no, 5s, boost::asio::use_future);
        std::this_thread::sleep_for(300ms);
        pebble::add_notice_options an;
        an.key = key;
        c.add_notice(an);
        REQUIRE(w.wait_for(10s) == std::future_status::ready);
        auto got = w.get();
        REQUIRE(got.size() == 1);
        CHECK(got[0].key == key);

        pebble::notices_options other;
        other.keys = {"example.com/never-added"};
        const auto t0 = std::chrono::steady_clock::now();
        auto empty = pebble::wait_notices(c, other, 300ms);
        CHECK(empty.empty());
        CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);  // it did wait (a lower bound: no speed asserted)
    });
}

TEST_CASE("the CLI exec passes the output and the exit code on", "[exec][cli]") {
    on_each_backend([](backend& b) {
        auto r = redispebble::test::run_command({REDISPEBBLE_CLI, "exec", "--socket", b.socket_path(), "--env", "X=42", "--",
                                                 "/bin/sh", "-c", "echo out $X; read line; echo got $line; echo err >&2; exit 3"},
                                                "typed\n", {}, 30s);
        CHECK(r.exit_code == 3);
        CHECK(r.out == "out 42\ngot typed\n");
        CHECK(r.err == "err\n");
        auto missing = redispebble::test::run_command({REDISPEBBLE_CLI, "exec", "--socket", b.socket_path(), "--", "nosuchbinary"},
                                                      "", {}, 30s);
        CHECK(missing.exit_code == 1);
        CHECK(missing.err.find("cannot find executable") != std::string::npos);
    });
}

namespace {

/// A blocking Unix-socket client with a receive timeout, for byte-exact checks.
struct raw_socket {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::socket s{io};
    explicit raw_socket(const std::string& path) {
        s.connect(boost::asio::local::stream_protocol::endpoint(path));
        timeval tv{5, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send(const std::string& bytes) { boost::asio::write(s, boost::asio::buffer(bytes)); }
    /// Reads until `done(received)` or the peer closes / the timeout hits.
    std::string read_until(const std::function<bool(const std::string&)>& done) {
        std::string got;
        char buf[4096];
        while (!done(got)) {
            auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
};

std::string head_of(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n") + 4); }

} // namespace

TEST_CASE("a log follow without n starts at the end as Pebble's does", "[exec][logs]") {
    // Pebble v1.26's api_logs.go: n defaults to 30 for a plain GET but to 0 with follow=true. The
    // test server sent the last 30 lines first.
    on_each_backend([](backend& b) {
        pebble::client c(client_opts(b));
        redispebble::test::temp_dir dir;
        const std::string flag = dir.path + "/go";
        const auto so = start_service(c, "marker",
                                      "/bin/sh -c 'echo before; while [ ! -e " + flag +
                                          " ]; do sleep 0.05; done; while true; do echo after; sleep 0.1; done'");
        raw_socket follow(b.socket_path());
        follow.send("GET /v1/logs?follow=true&services=marker HTTP/1.1\r\nHost: localhost\r\n\r\n");
        std::ofstream(flag) << "go\n";
        // Lines keep coming after the flag: whenever the follow began, it sees one.
        const auto got = follow.read_until([](const std::string& g) { return g.find(R"("message":"after")") != std::string::npos; });
        INFO(got);
        REQUIRE(got.find(R"("message":"after")") != std::string::npos);
        CHECK(got.find(R"("message":"before")") == std::string::npos);
        c.stop(so);
    });
}

TEST_CASE("the exec websockets carry the frames of transcripts 56 and 57 byte for byte", "[exec]") {
    using redispebble::test::load_single;
    on_each_backend([](backend& b) {
        // POST /v1/exec exactly as recorded (55), then the recorded handshakes with our task id.
        raw_socket post(b.socket_path());
        post.send(load_single("55-exec-echo.http").request);
        auto answer = post.read_until([](const std::string& g) {
            auto h = g.find("\r\n\r\n");
            if (h == std::string::npos) return false;
            auto cl = g.find("Content-Length: ");
            return cl != std::string::npos && g.size() >= h + 4 + std::stoul(g.substr(cl + 16));
        });
        INFO("answer: " << answer);  // once real Pebble's answer did not parse ("extra data"): show it
        REQUIRE(answer.rfind("HTTP/1.1 202 Accepted\r\n", 0) == 0);
        // Exactly Content-Length bytes of body: anything read past them is not this answer's.
        const auto body_at = answer.find("\r\n\r\n") + 4;
        const auto length = std::stoul(answer.substr(answer.find("Content-Length: ") + 16));
        auto v = boost::json::parse(answer.substr(body_at, length));
        const std::string task = boost::json::value_to<std::string>(v.at("result").at("task-id"));
        auto with_task = [&](std::string req) {
            const std::string from = "/v1/tasks/1/";
            req.replace(req.find(from), from.size(), "/v1/tasks/" + task + "/");
            return req;
        };
        const auto t56 = load_single("56-exec-ws-control-handshake.http");
        const auto t57 = load_single("57-exec-ws-stdio.http");
        raw_socket control(b.socket_path());
        control.send(with_task(t56.request));
        auto chead = control.read_until([](const std::string& g) { return g.find("\r\n\r\n") != std::string::npos; });
        CHECK(chead.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
        CHECK(chead.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);

        raw_socket stdio(b.socket_path());
        stdio.send(with_task(t57.request));
        const std::string expected_frames = t57.response.substr(head_of(t57.response).size());
        REQUIRE(expected_frames == std::string("\x82\x03hi\n\x81\x11{\"command\":\"end\"}"));
        auto got = stdio.read_until([&](const std::string& g) {
            auto h = g.find("\r\n\r\n");
            return h != std::string::npos && g.size() >= h + 4 + expected_frames.size();
        });
        REQUIRE(got.find("\r\n\r\n") != std::string::npos);
        CHECK(got.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
        CHECK(got.substr(head_of(got).size()) == expected_frames);
        // Control is then dropped without a close frame: the peer closes, having sent nothing.
        auto after = control.read_until([](const std::string&) { return false; });
        CHECK(after.empty());
    });
}

TEST_CASE("a terminal exec gets its size and a resize from the control websocket", "[exec]") {
    // The test server runs commands on pipes only (no pseudo-terminal): real Pebble only.
    auto bin = redispebble::test::pebble_bin();
    if (!bin) {
        WARN("PEBBLE_BIN is not set: the terminal exec test is skipped");
        return;
    }
    real_pebble b(*bin);
    pebble::client c(client_opts(b));
    auto o = cmd({"/bin/sh", "-c", "stty size; sleep 1; stty size"});
    o.terminal = true;
    o.interactive = true;  // stdin is the terminal too (stty reads the size from it)
    o.width = 100;
    o.height = 40;
    auto started = pebble::async_start_exec(c, o, boost::asio::use_future);
    REQUIRE(started.wait_for(10s) == std::future_status::ready);
    auto p = started.get();
    std::this_thread::sleep_for(300ms);
    auto rs = p.async_resize(120, 50, boost::asio::use_future);
    REQUIRE(rs.wait_for(10s) == std::future_status::ready);
    rs.get();
    std::promise<std::pair<pebble::error_code, pebble::exec_result>> pr;
    p.async_wait([&](pebble::error_code e, pebble::exec_result res) { pr.set_value({e, std::move(res)}); });
    auto w = pr.get_future();
    REQUIRE(w.wait_for(10s) == std::future_status::ready);
    auto [ec, r] = w.get();
    INFO(r.stdout_data);
    CHECK_FALSE(ec);
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_data == "40 100\r\n50 120\r\n");
}

TEST_CASE("exec with an empty socket_path is invalid_option naming the option", "[exec]") {
    redispebble::pebble::client c(redispebble::pebble::client_options{});
    redispebble::pebble::exec_options x;
    x.command = {"true"};
    redispebble::pebble::error_code ec;
    redispebble::pebble::diagnostics d;
    redispebble::pebble::exec(c, x, ec, &d);
    CHECK(ec == redispebble::pebble::error::invalid_option);
    CHECK(d.message.find("client_options.socket_path") != std::string::npos);
}
