// redispebble — the reconciler: runs reconcile_machine against Pebble through the client.
#ifndef REDISPEBBLE_RECONCILER_HPP
#define REDISPEBBLE_RECONCILER_HPP

#include <redispebble/pebble/client.hpp>
#include <redispebble/reconcile_machine.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <functional>
#include <string_view>

namespace redispebble {

struct reconcile_options {
    /// The whole reconcile: no step starts after it, and the wait for the restart ends at it.
    std::chrono::milliseconds deadline{std::chrono::seconds(60)};
    /// Longest wait for the restart/start change (Pebble needs ~1 s to see Redis stay up).
    std::chrono::milliseconds change_timeout{std::chrono::seconds(30)};
    /// Observe and decide only: nothing is written, added or restarted.
    bool dry_run = false;
    /// When positive, a run that ends Waiting because Pebble was absent or lost, or a step ran out
    /// of time, is tried again after this delay, doubling (capped at 10 s) until the deadline.
    /// Zero (the default): one run; the report's retry_later tells the caller to come back.
    std::chrono::milliseconds retry_backoff{0};
    /// Asking Redis itself after the actions (redis-cli through Pebble exec): its timeout, the
    /// bound on a replica's link being down, the settle time after a restart (probe_options).
    probe_options probe;
    /// Progress lines (no secrets in them), e.g. "reconcile: push files (1)".
    std::function<void(std::string_view)> log;
};

namespace detail {
void async_reconcile_impl(pebble::client& c, desired_state desired, reconcile_options opts,
                          boost::asio::any_completion_handler<void(pebble::error_code, reconcile_report)> h);
}

/// One reconcile of one unit through `c`: observe (plan, service, storage directory, files), decide,
/// act (make or re-own the storage directory, push the files that differ, add the layer with
/// combine, restart, wait for the change), ask Redis (opts.probe), report.
/// Handler: `void(error_code, reconcile_report)`. Failures of Pebble, of Redis or of the inputs are
/// in the report (status Waiting or Blocked, failed_step, actions_done), never in `ec`.
/// Cancellation: `c.cancel()` (any thread, even right after this call) or destroying `c` ends the
/// operation with `ec` = asio::error::operation_aborted and a Waiting report "Reconcile cancelled
/// before it could <step>" (failed_step: that step; actions_done: what was done before); after that
/// `c` is never touched again. Otherwise `c` must outlive the operation; destroy it from the thread
/// that runs the operation, or once it completed. Runs on a strand of c's executor, so many units
/// reconcile concurrently on one io_context, one client per unit.
template <class Token = pebble::client::default_token>
auto async_reconcile(pebble::client& c, desired_state desired, reconcile_options opts = {},
                     Token&& token = pebble::client::default_token{}) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, reconcile_report)>(
        [&c](auto handler, desired_state d, reconcile_options o) {
            detail::async_reconcile_impl(c, std::move(d), std::move(o), std::move(handler));
        },
        token, std::move(desired), std::move(opts));
}

/// Synchronous reconcile with the client's synchronous calls. Never throws for Pebble or Redis
/// failures (they are in the report). `c.cancel()` from another thread stops it with the same
/// report as async_reconcile's on cancellation.
reconcile_report reconcile(pebble::client& c, const desired_state& desired, const reconcile_options& opts = {});

/// What one request of the machine does through the client, synchronously (exposed for tools
/// that drive reconcile_machine themselves).
pebble_reply perform(pebble::client& c, const pebble_request& r, std::chrono::milliseconds wait_timeout);

} // namespace redispebble

#endif
