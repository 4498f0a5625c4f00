// What the client's files share (private, not installed): the namespace aliases, the coroutine
// completion token that stores the error, and the step size of streamed bodies.
#ifndef REDISPEBBLE_SRC_PEBBLE_COMMON_HPP
#define REDISPEBBLE_SRC_PEBBLE_COMMON_HPP

#include <redispebble/pebble/error.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/json.hpp>

#include <cstddef>

namespace redispebble::pebble {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;

namespace detail {
/// Bytes read or written per step of a streamed body (file pulls and pushes, exec output).
inline constexpr std::size_t io_chunk = 64 * 1024;
/// `co_await op(..., redirect(ec))`: the error lands in `ec` instead of being thrown.
inline auto redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
} // namespace detail

} // namespace redispebble::pebble

#endif
