// The kept-alive HTTP connection to Pebble's socket (not public API; reused by exec's websockets).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_CONNECTION_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_CONNECTION_HPP

#include <redispebble/pebble/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace redispebble::pebble::detail {

/// One Unix-socket stream to Pebble. Connects have Beast's timeout; an exchange has one deadline
/// (arm() ... disarm()): a single timer armed once per exchange, not once per read or write, which
/// closes the socket when the deadline passes (pending operations then fail and failure() says
/// error::timeout). Everything here runs on the connection's executor (the client's strand).
class connection {
public:
    using protocol = boost::asio::local::stream_protocol;
    using stream_type = boost::beast::basic_stream<protocol, boost::asio::any_io_executor>;

    connection(boost::asio::any_io_executor ex, std::string socket_path);

    /// Connects when not connected, or when the peer has closed the kept-alive connection (checked
    /// without blocking when its last exchange ended more than recent_use ago). Errors:
    /// invalid_option (check_socket_path, before any I/O),
    /// socket_not_found, connection_refused, timeout, or the system's.
    boost::asio::awaitable<error_code> ensure_open(std::chrono::milliseconds timeout);
    /// True when the last ensure_open() kept an existing connection.
    bool reused() const noexcept { return reused_; }
    bool is_open() const noexcept;
    void close() noexcept;

    stream_type& stream() noexcept { return stream_; }
    /// Bytes read past the last response (kept for the next read on this connection).
    boost::beast::flat_buffer& buffer() noexcept { return buffer_; }
    const std::string& socket_path() const noexcept { return path_; }
    /// Hands the raw socket over (for a websocket upgrade); this connection is closed afterwards.
    protocol::socket release_socket();

    /// Starts an exchange's deadline `timeout` from now: one timer wait for the whole exchange.
    /// touch() only moves the deadline; a wait that fires early re-arms itself for the new one.
    void arm(std::chrono::milliseconds timeout);
    /// Moves the deadline to `timeout` from now (a streamed body: the limit is then per piece).
    /// Only reads the clock.
    void touch() noexcept { deadline_ = std::chrono::steady_clock::now() + timeout_; }
    /// Ends the exchange's deadline; cancels the pending wait so an io_context can run out of work.
    void disarm() noexcept;
    /// True when the last armed deadline passed (the socket was closed then).
    bool timed_out() const noexcept { return timed_out_; }
    /// map_transport_error(), except error::timeout once the deadline passed.
    error_code failure(error_code ec, bool connecting = false) const;

    /// arm() for a scope.
    struct deadline {
        deadline(connection& c, std::chrono::milliseconds timeout) : c_(c) { c_.arm(timeout); }
        ~deadline() { c_.disarm(); }
        deadline(const deadline&) = delete;
        deadline& operator=(const deadline&) = delete;

    private:
        connection& c_;
    };

private:
    bool peer_closed() noexcept;
    void wait_deadline();
    std::string path_;
    stream_type stream_;
    boost::beast::flat_buffer buffer_;
    bool reused_ = false;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point deadline_{};
    std::chrono::milliseconds timeout_{0};
    std::uint64_t timer_generation_ = 0;  // a wait whose generation is stale does nothing
    bool armed_ = false;                  // a wait is pending
    bool active_ = false;                 // between arm() and disarm()
    bool timed_out_ = false;
    std::chrono::steady_clock::time_point last_used_{};  // when the last exchange ended
    /// Kept-alive connections used more recently are re-used without the peer_closed() check.
    static constexpr std::chrono::milliseconds recent_use{1000};
    /// The read buffer's capacity after a connect (Beast reads up to the free capacity at once, and
    /// doubles the buffer when an answer needs more): one page holds Pebble's usual answers (a
    /// plan, a change, a service list) in one read, and 1000 kept-alive connections hold 4 MiB.
    static constexpr std::size_t initial_buffer = 4 * 1024;
    // Expires with the connection: a wait completing after that touches nothing.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

/// The longest Unix socket path (sockaddr_un::sun_path less its terminating NUL).
inline constexpr std::size_t max_socket_path = 107;

/// Checks client_options::socket_path before any I/O: empty, or longer than max_socket_path, is
/// invalid_option; otherwise success.
error_code check_socket_path(const std::string& path) noexcept;

/// diagnostics::message for a failed ensure_open(): which rule client_options::socket_path broke
/// (invalid_option), else "cannot connect to <path>".
std::string connect_failure_message(const std::string& path, error_code ec);

/// Maps a transport failure (connect, read or write) to the client's error codes.
error_code map_transport_error(error_code ec, bool connecting);

} // namespace redispebble::pebble::detail

#endif
