// redispebble — what the reconciler's translation units share (not installed, not public API).
#ifndef REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP
#define REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP

#include <redispebble/reconciler.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>

namespace redispebble::detail {
/// perform() as an awaitable on c's executor (src/reconciler/driver.cpp): what drive_async does
/// for one request.
boost::asio::awaitable<pebble_reply> async_perform(pebble::client& c, const pebble_request& r,
                                                    std::chrono::milliseconds wait_timeout);
} // namespace redispebble::detail

#endif
