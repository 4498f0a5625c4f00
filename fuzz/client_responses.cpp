// Every response the client reads, through the real client: a canned server on a Unix socket in
// this process answers every request with the input (first byte: the HTTP status; then the
// Content-Type value up to a newline; then the body), and the harness makes each read call of the
// client (system-info, health, plan, plan as a layer, services, changes, change, checks, files
// list, pull, push, notices, notice, logs, identities, start, start-checks). This reaches the
// readers of src/pebble/json_util.cpp as the endpoint files of src/pebble/ (one per API area) use them,
// which envelope.cpp cannot reach.
// Properties: every call returns (an error code or a value), no exception escapes, no sanitizer
// report; an error carries a message.
#include "fuzz_target.hpp"
#include "util.hpp"

#include <redispebble/pebble/client.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

struct canned_server {
    redispebble::fuzz::temp_dir dir;  // first, so it is removed last
    std::mutex m;
    std::string response;  // the whole HTTP response to every request
    asio::io_context io;
    std::string path = dir.path + "/pebble.socket";
    std::optional<local::acceptor> acceptor;
    std::thread thread;

    canned_server() {
        acceptor.emplace(io, local::endpoint(path));
        asio::co_spawn(io, accept_loop(), asio::detached);
        thread = std::thread([this] { io.run(); });
    }
    ~canned_server() {
        io.stop();
        thread.join();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            boost::system::error_code ec;
            auto sock = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            asio::co_spawn(io, serve(std::move(sock)), asio::detached);
        }
    }
    asio::awaitable<void> serve(local::socket sock) {
        boost::beast::flat_buffer buf;
        for (;;) {
            boost::system::error_code ec;
            http::request<http::string_body> req;
            co_await http::async_read(sock, buf, req, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            std::string wire;
            {
                std::lock_guard<std::mutex> lock(m);
                wire = response;
            }
            co_await asio::async_write(sock, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
        }
    }
};

} // namespace

REDISPEBBLE_FUZZ_TARGET(client_responses) {
    using namespace redispebble::pebble;
    static canned_server server;
    static constexpr unsigned statuses[] = {200, 202, 400, 404, 500, 502};
    if (size == 0) return 0;
    const unsigned status = statuses[data[0] % std::size(statuses)];
    const auto rest = redispebble::fuzz::as_text(data + 1, size - 1);
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return 0;
    const auto content_type = rest.substr(0, nl);
    if (content_type.find_first_of("\r\n") != std::string_view::npos) return 0;
    const auto body = rest.substr(nl + 1);
    {
        std::lock_guard<std::mutex> lock(server.m);
        server.response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    }

    client_options o;
    o.socket_path = server.path;
    o.request_timeout = std::chrono::seconds(5);
    o.connect_timeout = std::chrono::seconds(5);
    client c(o);
    auto call = [](auto&& f) {
        error_code ec;
        diagnostics d;
        f(ec, d);
        if (ec) FUZZ_CHECK(!d.message.empty() || !d.kind.empty() || d.status_code != 0);
    };
    call([&](error_code& ec, diagnostics& d) { (void)c.system_info(ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.health({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.plan(ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.plan_layer(ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.list_services({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.changes({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.change("1", ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.checks({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.list_files({"/x", "", false}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) {
        std::string got;
        pull_options p;
        p.files.push_back({"/x", "", [&](std::span<const char> s) { got.append(s.data(), s.size()); }});
        (void)c.pull(std::move(p), ec, &d);
    });
    call([&](error_code& ec, diagnostics& d) {
        push_options p;
        p.files.push_back(push_file::from_string("/x", "content"));
        (void)c.push(std::move(p), ec, &d);
    });
    call([&](error_code& ec, diagnostics& d) { (void)c.notices({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.notice("1", ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.logs({}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.identities(ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.start({{"s"}}, ec, &d); });
    call([&](error_code& ec, diagnostics& d) { (void)c.start_checks({"c"}, ec, &d); });
    return 0;
}
