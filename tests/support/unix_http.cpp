#include "support/unix_http.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>

namespace redispebble::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

json::value http_answer::json() const {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    return ec ? json::value() : v;
}

json::value http_answer::result() const {
    auto v = json();
    if (!v.is_object()) return {};
    auto it = v.as_object().find("result");
    return it == v.as_object().end() ? json::value() : it->value();
}

http_answer unix_http(const std::string& socket, const std::string& method, const std::string& target,
                      const std::string& body, std::chrono::milliseconds timeout) {
    asio::io_context io;
    beast::basic_stream<asio::local::stream_protocol> stream(io);
    beast::flat_buffer buf;
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http_answer out;
    stream.expires_after(timeout);
    stream.async_connect(asio::local::stream_protocol::endpoint(socket), [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code ec2, std::size_t) {
            if (ec2) return;
            http::async_read(stream, buf, parser, [&](beast::error_code ec3, std::size_t) {
                if (ec3) return;
                out.status = parser.get().result_int();
                out.body = parser.get().body();
            });
        });
    });
    io.run();
    return out;
}

struct tiny_http_server::impl {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::thread thread;
    tiny_http_server* owner = nullptr;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, asio::ip::tcp::socket sock) {
            if (ec) return;
            auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
            auto buf = std::make_shared<beast::flat_buffer>();
            auto req = std::make_shared<http::request<http::string_body>>();
            stream->expires_after(std::chrono::seconds(10));
            http::async_read(*stream, *buf, *req, [this, stream, buf, req](beast::error_code e, std::size_t) {
                if (e) return;
                ++owner->requests;
                auto res = std::make_shared<http::response<http::string_body>>(
                    static_cast<http::status>(owner->status.load()), 11);
                const unsigned code = res->result_int();
                if (code != 204 && code != 304 && code >= 200) res->body() = "status " + std::to_string(code) + "\n";
                res->keep_alive(false);
                res->prepare_payload();
                http::async_write(*stream, *res, [stream, res](beast::error_code, std::size_t) {
                    beast::error_code ignored;
                    stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                });
            });
            accept();
        });
    }
};

tiny_http_server::tiny_http_server() : impl_(std::make_unique<impl>()) {
    impl_->owner = this;
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

tiny_http_server::~tiny_http_server() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

int tiny_http_server::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }

} // namespace redispebble::test
