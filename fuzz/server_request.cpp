// The test server's request handling, through one redispebble::testing::pebble_server in this
// process (its routing is private; a Unix socket is the way in). The input is written as-is to a new
// connection (several pipelined requests allowed) and the write side closed. Properties: the first
// complete request gets an HTTP answer (a 4xx for a bad one, never a dropped connection), and the
// server still answers GET /v1/system-info with 200 afterwards.
// Safety: the server runs no service processes (run_processes = false), but it would write files
// (POST /v1/files), run commands (POST /v1/exec, exec checks), signal processes and connect to TCP
// hosts (tcp checks). Inputs that could do any of that are skipped: a request other than GET is
// forwarded only to /v1/layers (with a layer that parses and has no exec or tcp check),
// /v1/services, /v1/notices, /v1/checks and /v1/changes/<id>.
#include "fuzz_target.hpp"
#include "util.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/testing/server.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <array>
#include <functional>
#include <string>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

struct server_fixture {
    redispebble::fuzz::temp_dir dir;  // first, so it is removed after the server stopped
    std::unique_ptr<redispebble::testing::pebble_server> server;
    server_fixture() {
        redispebble::testing::server_options o;
        o.socket_path = dir.path + "/pebble.socket";
        o.run_processes = false;
        server = redispebble::testing::pebble_server::start(o);
    }
};

bool safe_layer_body(const std::string& body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return true;  // refused by the server before any layer is read
    auto* l = v.as_object().if_contains("layer");
    if (!l || !l->is_string()) return true;
    try {
        auto parsed = redispebble::parse_layer(std::string(l->as_string()));
        for (const auto& [name, c] : parsed.checks)
            if (c.exec || c.tcp) return false;
    } catch (const redispebble::input_error&) {
    }
    return true;
}

/// The number of complete requests at the start of `wire` (stopping at the first that does not
/// parse) and the bytes they take, or -1 when one of them is not safe to send. Only those bytes
/// are sent, so the server never sees a request this function did not check.
int count_safe_requests(std::string_view wire, std::size_t& length) {
    int n = 0;
    length = 0;
    while (!wire.empty()) {
        http::request_parser<http::string_body> p;
        p.body_limit(1 << 20);
        p.eager(true);
        boost::system::error_code ec;
        std::size_t used = 0;
        while (!ec && !p.is_done() && used < wire.size()) {
            const auto k = p.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
            if (k == 0) break;
            used += k;
        }
        if (ec || !p.is_done()) return n;  // incomplete or bad: not sent
        const auto& req = p.get();
        const std::string target(req.target());
        const std::string path = target.substr(0, target.find('?'));
        if (req.method() != http::verb::get) {
            const bool allowed = path == "/v1/layers" || path == "/v1/services" || path == "/v1/notices" ||
                                 path == "/v1/checks" ||
                                 (path.rfind("/v1/changes/", 0) == 0 && path.find('%') == std::string::npos);
            if (!allowed) return -1;
            if (path == "/v1/layers" && !safe_layer_body(req.body())) return -1;
        }
        if (target.find("wait") != std::string::npos || target.find("follow") != std::string::npos ||
            target.find("websocket") != std::string::npos)
            return -1;  // long polls and streams: legal waits, not what this harness is about
        ++n;
        length += used;
        wire.remove_prefix(used);
    }
    return n;
}

/// Writes `wire`, closes the write side, reads until EOF or 2 s; returns what came back.
std::string send_and_read(const std::string& socket_path, std::string_view wire) {
    asio::io_context io;
    local::socket s(io);
    s.connect(local::endpoint(socket_path));
    std::string in;
    asio::steady_timer deadline(io, std::chrono::seconds(2));
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) s.close();
    });
    asio::async_write(s, asio::buffer(wire.data(), wire.size()), [&](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        s.shutdown(local::socket::shutdown_send, ec);
    });
    std::array<char, 4096> buf;
    std::function<void(boost::system::error_code, std::size_t)> on_read = [&](boost::system::error_code ec, std::size_t n) {
        in.append(buf.data(), n);
        if (ec) {
            deadline.cancel();
            return;
        }
        s.async_read_some(asio::buffer(buf), on_read);
    };
    s.async_read_some(asio::buffer(buf), on_read);
    io.run();
    return in;
}

} // namespace

REDISPEBBLE_FUZZ_TARGET(server_request) {
    static server_fixture fx;
    std::size_t length = 0;
    const int requests = count_safe_requests(redispebble::fuzz::as_text(data, size), length);
    if (requests <= 0) return 0;
    const std::string answer = send_and_read(fx.server->socket_path(), redispebble::fuzz::as_text(data, length));
    FUZZ_CHECK(answer.rfind("HTTP/1.1 ", 0) == 0);
    const std::string probe = send_and_read(fx.server->socket_path(), "GET /v1/system-info HTTP/1.1\r\nHost: x\r\n\r\n");
    FUZZ_CHECK(probe.rfind("HTTP/1.1 200 ", 0) == 0);
    return 0;
}
