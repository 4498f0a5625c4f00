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
    : path_(std::move(socket_path)), stream_(ex), timer_(ex) {}

bool connection::is_open() const noexcept { return stream_.socket().is_open(); }

void connection::close() noexcept {
    error_code ec;
    if (stream_.socket().is_open()) {
        stream_.socket().shutdown(protocol::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }
    buffer_.clear();
    reused_ = false;
    last_used_ = {};
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
    // A connection whose last exchange ended less than recent_use ago is kept without asking the
    // kernel (a system call per request); should Pebble have closed it anyway, the write fails
    // (EPIPE: nothing reached Pebble) and the exchange is retried on a new connection.
    if (is_open() && buffer_.size() == 0 && std::chrono::steady_clock::now() - last_used_ < recent_use) {
        reused_ = true;
        co_return error_code{};
    }
    if (is_open() && !peer_closed()) {
        reused_ = true;
        co_return error_code{};
    }
    close();
    stream_.expires_after(timeout);
    error_code ec;
    co_await stream_.async_connect(protocol::endpoint(path_), asio::redirect_error(asio::use_awaitable, ec));
    // Reads and writes are limited by the exchange's deadline (arm()), not by a per-step timer.
    stream_.expires_never();
    if (ec) {
        close();
        co_return map_transport_error(ec, true);
    }
    // Beast reads as much as the buffer's free capacity (at least 512 bytes): one read per answer.
    buffer_.reserve(initial_buffer);
    co_return error_code{};
}

void connection::arm(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
    deadline_ = std::chrono::steady_clock::now() + timeout;
    active_ = true;
    timed_out_ = false;
    if (!armed_) wait_deadline();
}

void connection::wait_deadline() {
    armed_ = true;
    const auto generation = ++timer_generation_;
    timer_.expires_at(deadline_);
    timer_.async_wait([this, generation, alive = std::weak_ptr<int>(alive_)](error_code ec) {
        if (alive.expired() || generation != timer_generation_) return;
        armed_ = false;
        if (ec || !active_) return;
        if (std::chrono::steady_clock::now() < deadline_) {
            wait_deadline();  // the deadline moved (touch(), or a later exchange): wait again
            return;
        }
        timed_out_ = true;
        close();  // pending reads and writes complete with an error; failure() says timeout
    });
}

void connection::disarm() noexcept {
    active_ = false;
    last_used_ = std::chrono::steady_clock::now();
    if (armed_) {
        armed_ = false;
        ++timer_generation_;
        timer_.cancel();  // no system call: the reactor's timerfd is re-armed lazily
    }
}

error_code connection::failure(error_code ec, bool connecting) const {
    if (timed_out_) return error::timeout;
    return map_transport_error(ec, connecting);
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
