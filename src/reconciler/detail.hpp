// redispebble — what the reconciler's translation units share (not installed, not public API).
#ifndef REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP
#define REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP

#include <redispebble/reconciler.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>

namespace redispebble::detail {
/// perform() as an awaitable on c's executor (src/reconciler/driver.cpp): what drive_async does
/// for one request.
boost::asio::awaitable<pebble_reply> async_perform(pebble::client& c, const pebble_request& r,
                                                    std::chrono::milliseconds wait_timeout);
/// Runs `make_op(tmp)` to completion on a private io_context with a private client `tmp` on
/// c's options, c's cancel() reaching it (src/reconciler/driver.cpp): how the synchronous forms
/// run the coroutine of their asynchronous twin.
reconcile_report run_private_report(
    pebble::client& c, const std::function<boost::asio::awaitable<reconcile_report>(pebble::client&)>& make_op);
} // namespace redispebble::detail

#endif
