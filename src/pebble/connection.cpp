// The kept-alive connection to Pebble; see include/redispebble/pebble/detail/connection.hpp.
#include <redispebble/pebble/detail/connection.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace redispebble::pebble::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

connection::connection(asio::any_io_executor ex, std::string socket_path)
    : path_(std::move(socket_path)), stream_(std::move(ex)) {}

bool connection::is_open() const noexcept { return stream_.socket().is_open(); }

void connection::close() noexcept {
    error_code ec;
    if (stream_.socket().is_open()) {
        stream_.socket().shutdown(protocol::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }
    buffer_.clear();
    reused_ = false;
}

bool connection::peer_closed() noexcept {
    if (buffer_.size() > 0) return true;  // unsolicited bytes: do not trust this connection
    char c = 0;
    auto n = ::recv(stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    return true;  // 0: orderly close; >0: unexpected data; <0: broken
}

error_code check_socket_path(const std::string& path) noexcept {
    if (path.empty() || path.size() > max_socket_path) return error::invalid_option;
    return {};
}

std::string connect_failure_message(const std::string& path, error_code ec) {
    if (ec == error::invalid_option) {
        if (path.empty())
            return "client_options.socket_path: must not be empty (the path of Pebble's socket, usually "
                   "$PEBBLE/.pebble.socket)";
        return "client_options.socket_path: " + std::to_string(path.size()) + " bytes long, longer than the " +
               std::to_string(max_socket_path) + " bytes a Unix socket path can hold";
    }
    return "cannot connect to " + path;
}

asio::awaitable<error_code> connection::ensure_open(std::chrono::milliseconds timeout) {
    if (auto ec = check_socket_path(path_)) co_return ec;
    if (is_open() && !peer_closed()) {
        reused_ = true;
        co_return error_code{};
    }
    close();
    stream_.expires_after(timeout);
    error_code ec;
    co_await stream_.async_connect(protocol::endpoint(path_), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        close();
        co_return map_transport_error(ec, true);
    }
    co_return error_code{};
}

connection::protocol::socket connection::release_socket() {
    stream_.expires_never();
    reused_ = false;
    return stream_.release_socket();
}

error_code map_transport_error(error_code ec, bool connecting) {
    namespace http = beast::http;
    if (!ec) return ec;
    if (ec == beast::error::timeout) return error::timeout;
    if (connecting) {
        if (ec == boost::system::errc::no_such_file_or_directory || ec == boost::system::errc::not_a_directory)
            return error::socket_not_found;
        if (ec == asio::error::connection_refused) return error::connection_refused;
        return ec;
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        return error::connection_closed;
    if (ec.category() == http::make_error_code(http::error::bad_version).category()) return error::bad_http_response;
    return ec;
}

} // namespace redispebble::pebble::detail
