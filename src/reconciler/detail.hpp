// redispebble — what the reconciler's translation units share (not installed, not public API): the
// step translation (steps.cpp), the loop that drives a step machine through a client, and how an
// operation is spawned for the asynchronous forms and run for the synchronous ones (driver.cpp). The
// Redis container's driver (driver.cpp) and the Sentinel container's (sentinel_driver.cpp) both
// drive their machines with these.
#ifndef REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP
#define REDISPEBBLE_SRC_RECONCILER_DETAIL_HPP

#include <redispebble/reconciler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <string_view>
#include <utility>

namespace redispebble::detail {

/// perform() as an awaitable on c's executor (steps.cpp): one request of a step machine, as a
/// client call, its answer (or failure) as the machine's reply. `wait_timeout` bounds a
/// wait_change step.
boost::asio::awaitable<pebble_reply> async_perform(pebble::client& c, const pebble_request& r,
                                                    std::chrono::milliseconds wait_timeout);

/// What is left until `deadline`, at least 1 ms (a step's own bound is never zero).
std::chrono::milliseconds left(std::chrono::steady_clock::time_point deadline);
/// The reply to a step not performed: the deadline passed before it (timed_out, naming the step).
pebble_reply deadline_passed(const pebble_request& r);
/// The reply to a step not performed: the client was cancelled or destroyed.
pebble_reply cancelled_reply();
/// The progress line before a step ("<who>: push files (1)"), when opts.log is set. No secret:
/// names, counts and change ids only.
void log_step(const reconcile_options& opts, std::string_view who, const pebble_request& r);
/// The line at a run's end ("<who>: active"), when opts.log is set.
void log_report(const reconcile_options& opts, std::string_view who, const reconcile_report& rep);
/// The client's socket_path is unusable (empty, too long): every request fails with invalid_option.
bool bad_socket_path(const pebble::client& c);

/// How a machine's run ended: cancelled (its last reply), the outcome of its last reply.
struct run_result {
    bool cancelled = false;
    pebble_reply::outcome last = pebble_reply::outcome::ok;
    /// The client's socket_path is unusable: the machine saw refusals, the caller's to fix.
    bool bad_socket_path = false;
};

/// Drives a step machine (reconcile_machine or sentinel_machine: `start()` and `resume(reply)`,
/// each the next request or nullopt at the end) through `c` until it ends. Between steps it looks
/// at `watch` only: once the client is cancelled or destroyed, `c` is never touched again. A step
/// due after `deadline`, or once `*over` is set (a harder bound whose timer cancels the client),
/// is answered timed_out without being performed; a step cancelled because `*over` was set also
/// reads as timed_out. `who` starts the progress lines.
template <class Machine>
boost::asio::awaitable<run_result> drive_async(pebble::client& c, const pebble::cancellation_watch& watch, Machine& m,
                                               std::chrono::steady_clock::time_point deadline,
                                               const reconcile_options& opts, std::string_view who,
                                               const std::atomic<bool>* over = nullptr) {
    using outcome = pebble_reply::outcome;
    run_result res;
    res.bad_socket_path = bad_socket_path(c);
    for (auto req = m.start(); req;) {
        log_step(opts, who, *req);
        const bool overrun = over && *over;
        pebble_reply rep;
        if (overrun) rep = deadline_passed(*req);
        else if (watch.cancelled()) rep = cancelled_reply();
        else if (std::chrono::steady_clock::now() >= deadline) rep = deadline_passed(*req);
        else rep = co_await async_perform(c, *req, std::min(opts.change_timeout, left(deadline)));
        if (over && *over && rep.result == outcome::cancelled) rep = deadline_passed(*req);
        res.cancelled = rep.result == outcome::cancelled;
        res.last = rep.result;
        req = m.resume(rep);
    }
    co_return res;
}

/// Runs `op` on a strand of c's executor and completes `h` with (error_code, Result) on h's
/// associated executor. An exception (only an allocation failure can get here) completes with
/// operation_aborted, after `on_error(result)` says so in the result.
template <class Result, class Handler, class OnError>
void spawn(pebble::client& c, boost::asio::awaitable<std::pair<pebble::error_code, Result>> op, Handler h,
           OnError on_error) {
    namespace asio = boost::asio;
    auto strand = asio::make_strand(c.get_executor());
    auto handler_ex = asio::get_associated_executor(h, c.get_executor());
    asio::co_spawn(strand, std::move(op),
                   [h = std::move(h), handler_ex, on_error](std::exception_ptr e,
                                                            std::pair<pebble::error_code, Result> r) mutable {
                       if (e) {
                           r.first = asio::error::operation_aborted;
                           on_error(r.second);
                       }
                       asio::dispatch(handler_ex, [h = std::move(h), r = std::move(r)]() mutable {
                           std::move(h)(r.first, std::move(r.second));
                       });
                   });
}

/// Runs `make_op(tmp)` to completion on a private io_context with a private client `tmp` on
/// c's options, c's cancel() reaching it (driver.cpp): how the synchronous forms run the coroutine
/// of their asynchronous twin.
reconcile_report run_private_report(
    pebble::client& c, const std::function<boost::asio::awaitable<reconcile_report>(pebble::client&)>& make_op);

} // namespace redispebble::detail

#endif
