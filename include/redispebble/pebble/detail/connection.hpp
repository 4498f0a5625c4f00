// The kept-alive HTTP connection to Pebble's socket (not public API; reused by exec's websockets).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_CONNECTION_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_CONNECTION_HPP

#include <redispebble/pebble/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace redispebble::pebble::detail {

/// One Unix-socket stream to Pebble with Beast's per-step timeouts.
class connection {
public:
    using protocol = boost::asio::local::stream_protocol;
    using stream_type = boost::beast::basic_stream<protocol, boost::asio::any_io_executor>;

    connection(boost::asio::any_io_executor ex, std::string socket_path);

    /// Connects when not connected, or when the peer has closed the kept-alive connection (checked
    /// without blocking). Errors: invalid_option (check_socket_path, before any I/O),
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

private:
    bool peer_closed() noexcept;
    std::string path_;
    stream_type stream_;
    boost::beast::flat_buffer buffer_;
    bool reused_ = false;
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
