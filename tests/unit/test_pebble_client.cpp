// The Pebble client's transport, errors, input checks and completion tokens, against scripted
// servers.
// Just over 600 lines: one test file per header, as the style guide asks; the client is being split
// by API area on another branch (issue 9), and these tests follow that split when it lands.
#include <redispebble/pebble/client.hpp>

#include <redispebble/pebble/detail/json_util.hpp>
#include <redispebble/pebble/detail/multipart.hpp>

#include "support/replay_server.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <future>
#include <optional>
#include <thread>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <limits>

namespace asio = boost::asio;
namespace pb = redispebble::pebble;
namespace rt = redispebble::test;
using namespace std::chrono_literals;

namespace {

pb::client_options opts(const std::string& path, std::chrono::milliseconds request_timeout = 2s) {
    pb::client_options o;
    o.socket_path = path;
    o.request_timeout = request_timeout;
    o.connect_timeout = 1s;
    return o;
}

std::string response_of(const char* name) { return rt::load_single(name).response; }

std::string http_ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

} // namespace

TEST_CASE("a missing socket is socket_not_found", "[pebble][errors]") {
    rt::temp_dir dir;
    pb::client c(opts(dir.path + "/nothing.socket"));
    pb::error_code ec;
    pb::diagnostics d;
    c.system_info(ec, &d);
    CHECK(ec == pb::error::socket_not_found);
    CHECK(ec == pb::condition::transport);
    CHECK(d.message.find("nothing.socket") != std::string::npos);
}

TEST_CASE("a socket file without a listener is connection_refused", "[pebble][errors]") {
    rt::temp_dir dir;
    auto path = dir.path + "/dead.socket";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
    pb::client c(opts(path));
    pb::error_code ec;
    c.plan(ec);
    CHECK(ec == pb::error::connection_refused);
}

TEST_CASE("a server that never answers times out within the request timeout", "[pebble][errors]") {
    rt::replay_server s({{"", rt::replay_step::action::silent}});
    pb::client c(opts(s.socket_path(), 300ms));
    auto start = std::chrono::steady_clock::now();
    pb::error_code ec;
    c.system_info(ec);
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(ec == pb::error::timeout);
    CHECK(ec == pb::condition::timeout);
    CHECK(took >= 250ms);  // it did wait (a lower bound: no speed asserted); the server never answers, so
                           // only the client's own timeout can have ended the call
}

TEST_CASE("a connection closed mid-response is connection_closed", "[pebble][errors]") {
    rt::replay_server s({{response_of("01-system-info.http"), rt::replay_step::action::half_then_close}});
    pb::client c(opts(s.socket_path()));
    pb::error_code ec;
    c.system_info(ec);
    CHECK(ec == pb::error::connection_closed);
    CHECK(ec != pb::error::socket_not_found);
}

TEST_CASE("garbage instead of HTTP is bad_http_response", "[pebble][errors]") {
    rt::replay_server s({{"garbage garbage\r\n\r\n"}});
    pb::client c(opts(s.socket_path()));
    pb::error_code ec;
    c.system_info(ec);
    CHECK(ec == pb::error::bad_http_response);
    CHECK(ec == pb::condition::protocol);
}

TEST_CASE("JSON without an envelope is bad_envelope", "[pebble][errors]") {
    rt::replay_server s({{http_ok(R"({"foo":1})")}, {http_ok("not json")}});
    pb::client c(opts(s.socket_path()));
    pb::error_code ec;
    pb::diagnostics d;
    c.system_info(ec, &d);
    CHECK(ec == pb::error::bad_envelope);
    CHECK(d.status_code == 200);
    c.plan(ec);
    CHECK(ec == pb::error::bad_envelope);
}

TEST_CASE("a sync result of the wrong shape is bad_envelope", "[pebble][errors]") {
    rt::replay_server s({{http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":42})")}});
    pb::client c(opts(s.socket_path()));
    pb::error_code ec;
    c.list_services({}, ec);
    CHECK(ec == pb::error::bad_envelope);
}

TEST_CASE("the client reconnects after the server closed the kept-alive connection", "[pebble][transport]") {
    rt::replay_server s({{response_of("01-system-info.http"), rt::replay_step::action::respond_and_close},
                         {response_of("03-plan-empty.http")}});
    pb::client c(opts(s.socket_path()));
    CHECK(c.system_info().version == "v1.26.0");
    std::this_thread::sleep_for(50ms);  // let the close arrive
    CHECK(c.plan() == "{}\n");
    CHECK(s.connections() == 2);
}

TEST_CASE("an idempotent request is retried once when the stale connection drops it", "[pebble][transport]") {
    rt::replay_server s({{response_of("01-system-info.http")},
                         {"", rt::replay_step::action::close},
                         {response_of("03-plan-empty.http")}});
    pb::client c(opts(s.socket_path()));
    c.system_info();
    CHECK(c.plan() == "{}\n");
    CHECK(s.connections() == 2);
    CHECK(s.requests().size() == 3);
}

TEST_CASE("bad input is rejected before any I/O naming the field", "[pebble][errors]") {
    rt::replay_server s({{response_of("01-system-info.http")}});
    pb::client c(opts(s.socket_path()));
    auto expect_invalid = [&](auto call, const std::string& field) {
        pb::error_code ec;
        pb::diagnostics d;
        call(ec, d);
        CHECK(ec == pb::error::invalid_option);
        CHECK(d.message.find(field) != std::string::npos);
    };
    expect_invalid([&](auto& ec, auto& d) { c.add_layer({"", "services: {}\n", false, false}, ec, &d); }, "label");
    expect_invalid([&](auto& ec, auto& d) { c.start({}, ec, &d); }, "names");
    expect_invalid([&](auto& ec, auto& d) { c.list_files({"relative/path", "", false}, ec, &d); }, "path");
    expect_invalid([&](auto& ec, auto& d) {
        auto f = pb::push_file::from_string("/tmp/x", "secret-content");
        f.permissions = "999";
        c.push({{f}}, ec, &d);
        CHECK(d.message.find("secret-content") == std::string::npos);
    }, "permissions");
    expect_invalid([&](auto& ec, auto& d) { c.push({{pb::push_file::from_string("rel", "x")}}, ec, &d); }, "path");
    expect_invalid([&](auto& ec, auto& d) { c.send_signal({"SIGHUP", {}}, ec, &d); }, "services");
    expect_invalid([&](auto& ec, auto& d) { pb::make_dir_options m;
        m.path = "tmp/x";
        c.make_dir(m, ec, &d); }, "path");
    expect_invalid([&](auto& ec, auto& d) { c.wait_change("", {}, ec, &d); }, "id");
    CHECK(s.connections() == 0);
    CHECK(s.requests().empty());
}

TEST_CASE("the synchronous call throws api_exception with diagnostics", "[pebble][errors]") {
    rt::replay_server s(rt::replay_server::steps_of("37-change-unknown-404.http"));
    pb::client c(opts(s.socket_path()));
    try {
        c.change("999");
        FAIL("no exception");
    } catch (const pb::api_exception& e) {
        CHECK(e.code() == pb::error::not_found);
        CHECK(e.get_diagnostics().status_code == 404);
        CHECK(std::string(e.what()).find("cannot find change") != std::string::npos);
    }
}

TEST_CASE("callbacks futures deferred and coroutines all complete on an io_context", "[pebble][async]") {
    rt::replay_server s({{response_of("01-system-info.http")},
                         {response_of("03-plan-empty.http")},
                         {response_of("18-services-start.http")},
                         {response_of("15-services-list.http")}});
    asio::io_context ctx;
    pb::client c(ctx, opts(s.socket_path()));
    std::string version, plan, change, first_service;
    c.async_system_info([&](pb::error_code ec, pb::system_info info) {
        CHECK_FALSE(ec);
        version = info.version;
    });
    c.async_plan(asio::deferred)([&](pb::error_code ec, std::string p) {
        CHECK_FALSE(ec);
        plan = p;
    });
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        pb::service_options idle;
        idle.names.push_back("idle");
        change = co_await c.async_start(idle, asio::use_awaitable);
    }, asio::detached);
    ctx.run();
    CHECK(version == "v1.26.0");
    CHECK(plan == "{}\n");
    CHECK(change == "2");
    CHECK(s.connections() == 1);

    ctx.restart();
    std::thread t([&] {
        auto guard = asio::make_work_guard(ctx);
        ctx.run_for(3s);
    });
    auto fut = c.async_list_services({}, asio::use_future);
    CHECK(fut.get().size() == 3);
    ctx.stop();
    t.join();
}

TEST_CASE("concurrent calls on one client are serialized on one connection", "[pebble][async]") {
    std::vector<rt::replay_step> steps(8, {response_of("01-system-info.http")});
    rt::replay_server s(steps);
    asio::io_context ctx;
    pb::client c(ctx, opts(s.socket_path()));
    int done = 0;
    for (int i = 0; i < 8; ++i)
        c.async_system_info([&](pb::error_code ec, pb::system_info) {
            CHECK_FALSE(ec);
            ++done;
        });
    ctx.run();
    CHECK(done == 8);
    CHECK(s.connections() == 1);
    CHECK(s.requests().size() == 8);
}

TEST_CASE("diagnostics reach an async caller that asks for them", "[pebble][async]") {
    rt::replay_server s(rt::replay_server::steps_of("23-services-start-unknown-400.http"));
    asio::io_context ctx;
    pb::client c(ctx, opts(s.socket_path()));
    pb::diagnostics d;
    pb::error_code got;
    c.async_start({{"nope"}}, d, [&](pb::error_code ec, std::string) { got = ec; });
    ctx.run();
    CHECK(got == pb::error::api_error);
    CHECK(d.status_code == 400);
    CHECK(d.message == "cannot start services: service \"nope\" does not exist");
}

TEST_CASE("a push streams a local file and a pull writes one", "[pebble][files]") {
    rt::temp_dir dir;
    std::string content(300 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
    {
        std::ofstream out(dir.path + "/src.bin", std::ios::binary);
        out << content;
    }
    // The pull answer: one files part with the content, then the response part.
    const std::string b = "0123456789abcdef0123456789abcdef0123";
    std::string body = "--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"/r/f.bin\"\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" + b +
                       "\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n"
                       R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/r/f.bin"}]})" "\r\n--" + b + "--\r\n";
    std::string pull_response = "HTTP/1.1 200 OK\r\nContent-Type: multipart/form-data; boundary=" + b +
                                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    rt::replay_server s({{http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/r/f.bin"}]})")},
                         {pull_response}});
    pb::client c(opts(s.socket_path()));
    auto pushed = c.push({{pb::push_file::from_path("/r/f.bin", dir.path + "/src.bin")}});
    REQUIRE(pushed.size() == 1);
    CHECK(pushed[0].ok());
    auto req = rt::parse_http(s.requests().at(0));
    CHECK(req.body.find(content) != std::string::npos);
    CHECK(req.header("content-length") == std::to_string(req.body.size()));

    auto pulled = c.pull({{{"/r/f.bin", dir.path + "/copy.bin", {}}}});
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].ok());
    CHECK(rt::read_file(dir.path + "/copy.bin") == content);
    CHECK(s.connections() == 1);
}

namespace {

/// Pebble's answer to a read of `files` ({path, content}): a files part for each, then the
/// response part; chunked (as Pebble streams it) or with a Content-Length.
std::string pull_answer(const std::vector<std::pair<std::string, std::string>>& files, bool chunked) {
    const std::string b = "0123456789abcdef0123456789abcdef0123";
    std::string body, results;
    for (auto& [path, content] : files) {
        body += "--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + path +
                "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
        if (!results.empty()) results += ',';
        results += R"({"path":")";
        results += path;
        results += "\"}";
    }
    body += "--" + b + "\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n"
            R"({"type":"sync","status-code":200,"status":"OK","result":[)" + results + "]}\r\n--" + b + "--\r\n";
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/form-data; boundary=" + b + "\r\n";
    if (!chunked) return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    std::string out = head + "Transfer-Encoding: chunked\r\n\r\n";
    for (std::size_t off = 0; off < body.size(); off += 4000) {
        const auto piece = body.substr(off, 4000);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        out += size + piece + "\r\n";
    }
    return out + "0\r\n\r\n";
}

std::string sample_content(std::size_t n) {
    std::string content(n, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
    return content;
}

} // namespace

TEST_CASE("a pull of several files in one answer writes each file chunked or not", "[pebble][files]") {
    rt::temp_dir dir;
    const auto a = sample_content(700 * 1024 + 3), b = sample_content(5);
    rt::replay_server s({{pull_answer({{"/r/a", a}, {"/r/b", b}}, true)}, {pull_answer({{"/r/a", b}, {"/r/b", a}}, false)}});
    pb::client c(opts(s.socket_path()));
    for (int round = 0; round < 2; ++round) {
        auto pulled = c.pull({{{"/r/a", dir.path + "/a", {}}, {"/r/b", dir.path + "/b", {}}}});
        REQUIRE(pulled.size() == 2);
        CHECK(pulled[0].ok());
        CHECK(pulled[1].ok());
        CHECK(rt::read_file(dir.path + "/a") == (round == 0 ? a : b));
        CHECK(rt::read_file(dir.path + "/b") == (round == 0 ? b : a));
    }
    CHECK(s.connections() == 1);
}

TEST_CASE("a pull slower in all than the request timeout succeeds while every piece comes within it", "[pebble][files][timeout]") {
    rt::temp_dir dir;
    const auto content = sample_content(64 * 1024);
    rt::replay_server s({{pull_answer({{"/r/f", content}}, true), rt::replay_step::action::trickle, 150ms}});
    pb::client c(opts(s.socket_path(), 600ms));  // 8 pieces, 7 pauses of 150 ms: about 1 s in all
    auto pulled = c.pull({{{"/r/f", dir.path + "/f", {}}}});
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].ok());
    CHECK(rt::read_file(dir.path + "/f") == content);
}

TEST_CASE("a pull whose body stops halfway fails with timeout", "[pebble][files][timeout]") {
    rt::temp_dir dir;
    rt::replay_server s({{pull_answer({{"/r/f", sample_content(64 * 1024)}}, false), rt::replay_step::action::half_then_silent}});
    pb::client c(opts(s.socket_path(), 300ms));
    pb::error_code ec;
    pb::diagnostics d;
    c.pull({{{"/r/f", dir.path + "/f", {}}}}, ec, &d);
    CHECK(ec == pb::error::timeout);
    CHECK(d.message.find("request_timeout") != std::string::npos);
}

TEST_CASE("an ordinary request answered piece by piece is limited as a whole by the request timeout", "[pebble][errors][timeout]") {
    // Each piece comes within the timeout, the whole answer does not: one limit for the exchange.
    rt::replay_server s({{response_of("01-system-info.http"), rt::replay_step::action::trickle, 150ms}});
    pb::client c(opts(s.socket_path(), 600ms));
    pb::error_code ec;
    c.system_info(ec);
    CHECK(ec == pb::error::timeout);
}

TEST_CASE("a push from a source without a size is sent chunked", "[pebble][files]") {
    rt::replay_server s({{http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/r/x"}]})")}});
    pb::client c(opts(s.socket_path()));
    int calls = 0;
    pb::push_file f;
    f.path = "/r/x";
    f.source = [&](std::span<char> out) -> std::size_t {
        if (calls++ == 3) return 0;
        out[0] = 'a';
        return 1;
    };
    auto r = c.push({{f}});
    CHECK(r.at(0).ok());
    auto req = rt::parse_http(s.requests().at(0));
    CHECK(req.header("transfer-encoding") == "chunked");
    CHECK(req.body.find("\r\n\r\naaa\r\n--") != std::string::npos);
}

TEST_CASE("a push of several files larger than the client's buffer keeps every byte in its part", "[pebble][files]") {
    // The body goes out through one buffer of at most 64 KiB: parts and pieces cross its edges.
    rt::replay_server s({{http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/r/a"},{"path":"/r/b"},{"path":"/r/c"}]})")},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/r/a"},{"path":"/r/b"},{"path":"/r/c"}]})")}});
    pb::client c(opts(s.socket_path()));
    const auto a = sample_content(150 * 1024 + 7), b = sample_content(3), big = sample_content(70 * 1024);
    for (bool sized : {true, false}) {
        pb::push_options o;
        for (const auto* content : {&a, &b, &big}) {
            const std::string path = content == &a ? "/r/a" : content == &b ? "/r/b" : "/r/c";
            if (sized) {
                o.files.push_back(pb::push_file::from_string(path, *content));
                continue;
            }
            pb::push_file f;  // no size: sent chunked, in pieces of at most 1000 bytes
            f.path = path;
            f.source = [content, pos = std::size_t(0)](std::span<char> out) mutable {
                const auto n = std::min({out.size(), content->size() - pos, std::size_t(1000)});
                std::copy_n(content->data() + pos, n, out.data());
                pos += n;
                return n;
            };
            o.files.push_back(std::move(f));
        }
        auto r = c.push(o);
        REQUIRE(r.size() == 3);
        auto req = rt::parse_http(s.requests().at(sized ? 0 : 1));
        CHECK(req.header("transfer-encoding") == (sized ? "" : "chunked"));
        if (sized) CHECK(req.header("content-length") == std::to_string(req.body.size()));
        for (const auto* content : {&a, &b, &big})
            CHECK(req.body.find("application/octet-stream\r\n\r\n" + *content + "\r\n--") != std::string::npos);
        CHECK(req.body.size() > a.size() + b.size() + big.size());
        CHECK(req.body.substr(req.body.size() - 4) == "--\r\n");
    }
}

TEST_CASE("the logger sees requests but never file contents", "[pebble][transport]") {
    rt::replay_server s(rt::replay_server::steps_of("43-files-push-make-dirs-owner.http"));
    auto o = opts(s.socket_path());
    std::vector<std::string> lines;
    o.logger = [&](pb::log_level, std::string_view m) { lines.emplace_back(m); };
    {
        pb::client c(o);
        auto f = pb::push_file::from_string("/tmp/pbt-files/owned/sub/secret.txt", "s3cret\n");
        c.push({{f}});
    }
    for (auto& l : lines) CHECK(l.find("s3cret") == std::string::npos);
}

TEST_CASE("calls without a transcript send Go's request shapes", "[pebble][transport]") {
    const std::string change = rt::parse_http(response_of("30-change-restart-done.http")).body;
    rt::replay_server s({{http_ok(change)},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":{"info":{"name":"c1","level":"alive","startup":"enabled","status":"up","successes":1,"threshold":3},"error":""}})")},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":{"alice":{"access":"admin","local":{"user-id":1000}},"bob":{"access":"read","basic":{"password":"*****"}}}})")},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":{"id":"3","user-id":0,"type":"custom","key":"k","occurrences":1}})")},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[{"path":"/a","error":{"message":"permission denied","kind":"permission-denied"}}]})")}});
    pb::client c(opts(s.socket_path()));
    CHECK(c.abort_change("4").id == "4");
    auto r = c.refresh_check("c1");
    CHECK(r.info.name == "c1");
    CHECK(r.error.empty());
    auto ids = c.identities();
    REQUIRE(ids.size() == 2);
    CHECK(ids[0].name == "alice");
    CHECK(ids[0].local_user_id == 1000u);
    CHECK(ids[1].has_basic);
    CHECK(c.notice("3").key == "k");
    pb::error_code ec;
    pb::diagnostics d;
    c.remove_path({"/a", false}, ec, &d);
    CHECK(ec == pb::error::permission_denied);
    CHECK(d.kind == "permission-denied");

    auto reqs = s.requests();
    REQUIRE(reqs.size() == 5);
    auto body = [&](std::size_t i) { return boost::json::parse(rt::parse_http(reqs[i]).body); };
    CHECK(rt::parse_http(reqs[0]).start_line == "POST /v1/changes/4 HTTP/1.1");
    CHECK(body(0) == boost::json::parse(R"({"action":"abort"})"));
    CHECK(rt::parse_http(reqs[1]).start_line == "POST /v1/checks/refresh HTTP/1.1");
    CHECK(body(1) == boost::json::parse(R"({"name":"c1"})"));
    CHECK(rt::parse_http(reqs[2]).start_line == "GET /v1/identities HTTP/1.1");
    CHECK(rt::parse_http(reqs[3]).start_line == "GET /v1/notices/3 HTTP/1.1");
    CHECK(body(4) == boost::json::parse(R"({"action":"remove","paths":[{"path":"/a"}]})"));
}

TEST_CASE("destroying a client with a call in flight completes it with an error", "[pebble][transport]") {
    rt::replay_server s({{"", rt::replay_step::action::silent}});
    asio::io_context ctx;
    pb::error_code got;
    bool called = false;
    {
        pb::client c(ctx, opts(s.socket_path(), 5s));
        c.async_plan([&](pb::error_code ec, std::string) {
            called = true;
            got = ec;
        });
        ctx.run_for(100ms);
    }
    ctx.restart();
    ctx.run_for(1s);
    CHECK(called);
    CHECK(got);
}

TEST_CASE("cancel aborts the running call and the queued ones", "[pebble][transport]") {
    rt::replay_server s({{"", rt::replay_step::action::silent}});
    asio::io_context ctx;
    pb::client c(ctx, opts(s.socket_path(), 5s));
    std::vector<pb::error_code> got;
    for (int i = 0; i < 3; ++i) c.async_plan([&](pb::error_code ec, std::string) { got.push_back(ec); });
    ctx.run_for(100ms);
    CHECK(got.empty());
    c.cancel();
    ctx.run_for(1s);
    CHECK(ctx.stopped());  // it ran out of work: nothing was left to wait for
    REQUIRE(got.size() == 3);
    for (auto& ec : got) CHECK(ec == asio::error::operation_aborted);
}

TEST_CASE("a synchronous call from the client's own thread throws instead of deadlocking", "[pebble][async]") {
    rt::replay_server s({{response_of("01-system-info.http")}});
    pb::client c(opts(s.socket_path()));
    std::promise<bool> threw;
    c.async_system_info([&](pb::error_code, pb::system_info) {
        try {
            c.plan();
            threw.set_value(false);
        } catch (const std::logic_error&) {
            threw.set_value(true);
        }
    });
    auto f = threw.get_future();
    REQUIRE(f.wait_for(2s) == std::future_status::ready);
    CHECK(f.get());
}

TEST_CASE("a client runs on a strand of any executor and a synchronous call from inside it throws", "[pebble][async]") {
    // Over an io_context's own executor the client's strand is a strand<io_context::executor_type>;
    // over any other executor (a thread pool's) a strand<any_io_executor>: both serialize the
    // client's work, and both know when a call comes from inside them.
    rt::replay_server s({{response_of("01-system-info.http")}});
    auto check = [&](const pb::client::executor_type& ex) {
        pb::client c(ex, opts(s.socket_path()));
        std::promise<std::pair<pb::error_code, bool>> done;
        c.async_system_info([&](pb::error_code ec, pb::system_info) {
            bool threw = false;
            try {
                c.plan();
            } catch (const std::logic_error&) {
                threw = true;
            }
            done.set_value({ec, threw});
        });
        auto f = done.get_future();
        REQUIRE(f.wait_for(5s) == std::future_status::ready);
        const auto [ec, threw] = f.get();
        CHECK_FALSE(ec);
        CHECK(threw);
    };
    SECTION("an io_context's executor, run by another thread") {
        asio::io_context ctx;
        auto work = asio::make_work_guard(ctx);
        std::thread runner([&] { ctx.run(); });
        check(ctx.get_executor());
        work.reset();
        runner.join();
    }
    SECTION("a thread pool's executor") {
        asio::thread_pool pool(1);
        check(pool.get_executor());
        pool.join();
    }
    CHECK(s.requests().size() == 1);  // the system-info; the refused plan never left
}

TEST_CASE("JSON numbers become integers only when the field's type holds them exactly", "[pebble][fuzz]") {
    namespace json = boost::json;
    using pb::detail::to_int;
    CHECK(to_int<int>(json::value(1e300)) == std::nullopt);
    CHECK(to_int<int>(json::value(-1e300)) == std::nullopt);
    CHECK(to_int<int>(json::value(2.5)) == std::nullopt);
    CHECK(to_int<int>(json::value(3.0)) == 3);
    CHECK(to_int<int>(json::value(std::int64_t{2147483648})) == std::nullopt);
    CHECK(to_int<int>(json::value(std::int64_t{-2147483648})) == std::numeric_limits<int>::min());
    CHECK(to_int<std::uint32_t>(json::value(std::int64_t{-1})) == std::nullopt);
    CHECK(to_int<std::uint32_t>(json::value(std::uint64_t{4294967295u})) == 4294967295u);
    CHECK(to_int<std::int64_t>(json::value(std::uint64_t{18446744073709551615u})) == std::nullopt);
    CHECK(to_int<std::int64_t>(json::value(9.2233720368547758e18)) == std::nullopt);
    CHECK(to_int<std::int64_t>(json::value(-9.2233720368547758e18)) == std::numeric_limits<std::int64_t>::min());
    CHECK(to_int<int>(json::value("7")) == std::nullopt);
}

TEST_CASE("a check with failures 1e300 reads as a client value without undefined behaviour", "[pebble][fuzz]") {
    rt::replay_server s({{http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[)"
                                  R"({"name":"c","level":"alive","startup":"enabled","status":"down",)"
                                  R"("failures":1e300,"threshold":-1e300,"successes":1e19,"change-id":"1"}]})")},
                         {http_ok(R"({"type":"sync","status-code":200,"status":"OK","result":[)"
                                  R"({"path":"/f","name":"f","type":"file","size":1e300,"permissions":"644",)"
                                  R"("user-id":-1,"group-id":4294967296}]})")}});
    pb::client c(opts(s.socket_path()));
    pb::error_code ec;
    auto checks = c.checks({}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(checks.size() == 1);
    CHECK(checks[0].failures == 0);
    CHECK(checks[0].threshold == 0);
    CHECK_FALSE(checks[0].successes);
    pb::list_files_options lo;
    lo.path = "/f";
    auto files = c.list_files(lo, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(files.size() == 1);
    CHECK_FALSE(files[0].size);
    CHECK_FALSE(files[0].user_id);
    CHECK_FALSE(files[0].group_id);
}

TEST_CASE("a client destroyed after its io_context stops the process loudly instead of a use after free",
          "[pebble][lifetime]") {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The mistake examples/controller.cpp made: the client outlives the io_context.
        std::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the parent checks the signal
        auto io = std::make_unique<boost::asio::io_context>();
        auto client = std::make_unique<pb::client>(*io, pb::client_options{});
        io.reset();
        client.reset();  // must abort here
        ::_exit(0);
    }
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) break;
        ::usleep(10000);
        if (i == 1999) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
    }
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
    // The right order is fine.
    {
        boost::asio::io_context io;
        pb::client c(io, pb::client_options{});
    }
}

TEST_CASE("an empty or too long socket_path is invalid_option before any I/O naming the option", "[pebble][errors]") {
    for (std::string path : {std::string(), "/tmp/" + std::string(200, 'x')}) {
        pb::client_options o;
        o.socket_path = path;
        pb::client c(o);
        pb::error_code ec;
        pb::diagnostics d;
        c.plan(ec, &d);
        CHECK(ec == pb::error::invalid_option);
        CHECK(d.message.find("client_options.socket_path") != std::string::npos);
        try {
            c.system_info();
            FAIL("no exception");
        } catch (const pb::api_exception& e) {
            CHECK(e.code() == pb::error::invalid_option);
            const std::string what = e.what();
            CHECK(what.find("client_options.socket_path") != std::string::npos);
            CHECK(what.find(".hpp") == std::string::npos);  // no Asio source path
        }
    }
}

TEST_CASE("cancel right after a call starts aborts it before it reaches Pebble", "[pebble][transport]") {
    rt::replay_server s({{response_of("01-system-info.http")}});
    asio::io_context ctx;
    pb::client c(ctx, opts(s.socket_path()));
    std::optional<pb::error_code> got;
    c.async_system_info([&](pb::error_code ec, pb::system_info) { got = ec; });
    c.cancel();
    ctx.run();
    REQUIRE(got);
    CHECK(*got == asio::error::operation_aborted);
    CHECK(s.requests().empty());
    // Calls started after the cancel run normally.
    std::optional<pb::error_code> later;
    c.async_system_info([&](pb::error_code ec, pb::system_info) { later = ec; });
    ctx.restart();
    ctx.run();
    REQUIRE(later);
    CHECK_FALSE(*later);
}

TEST_CASE("a synchronous call on an executor nobody runs fails with timeout instead of hanging", "[pebble][async]") {
    rt::replay_server s({{response_of("01-system-info.http")}});
    auto o = opts(s.socket_path());
    o.connect_timeout = 200ms;
    // system_info through a client on `ctx`, which nobody runs: a timeout whose message holds `why`.
    auto times_out = [&](asio::io_context& ctx, const std::string& why) {
        pb::client c(ctx.get_executor(), o);
        pb::error_code ec;
        pb::diagnostics d;
        c.system_info(ec, &d);
        CHECK(ec == pb::error::timeout);
        CHECK(d.message.find(why) != std::string::npos);
        CHECK_THROWS_AS(c.plan(), pb::api_exception);
    };
    SECTION("an io_context never run") {
        asio::io_context ctx;
        times_out(ctx, "needs another thread running the executor");
    }
    SECTION("an io_context that has stopped") {
        asio::io_context ctx;
        ctx.run();  // no work: returns at once, stopped
        times_out(ctx, "io_context is stopped");
    }
    CHECK(s.requests().empty());
}
