// redispebble — the reconciler: runs reconcile_machine against Pebble through the client.
// CMake target redispebble::reconciler. observe() and apply() are the two halves of reconcile(),
// with the pure decide() (<redispebble/decide.hpp>, redispebble::core) between them:
//     reconcile(c, desired) == apply(c, desired, decide(observe(c, desired), desired))
// (plus the failure, deadline and retry handling reconcile() does around them).
#ifndef REDISPEBBLE_RECONCILER_HPP
#define REDISPEBBLE_RECONCILER_HPP

#include <redispebble/pebble/client.hpp>
#include <redispebble/reconcile_machine.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <functional>
#include <string_view>
#include <type_traits>

namespace redispebble {

/// Options of reconcile(), and of observe() and apply() (which use `deadline`, `log` and, for
/// apply(), `change_timeout`, `probe` and `dry_run`; `retry_backoff` is reconcile()'s alone).
struct reconcile_options {
    /// The whole reconcile (observe(), apply(): the whole call): no step starts after it, and the
    /// wait for the restart ends at it.
    std::chrono::milliseconds deadline{std::chrono::seconds(60)};
    /// Longest wait for the restart/start change (Pebble needs ~1 s to see Redis stay up).
    std::chrono::milliseconds change_timeout{std::chrono::seconds(30)};
    /// Observe and decide only: nothing is written, added or restarted (apply(): the report of
    /// the decision, with no request made). reconcile() with a decision that has nothing to do
    /// still asks Redis as apply would (the probe, or the logs of a service in Pebble's backoff:
    /// reads only), so a dry run reports the status apply reports (`redispebble status`, `diff`).
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
void async_observe_impl(pebble::client& c, desired_state desired, reconcile_options opts, reconcile_report* failure,
                        boost::asio::any_completion_handler<void(pebble::error_code, observed_state)> h);
void async_apply_impl(pebble::client& c, desired_state desired, decision d, reconcile_options opts,
                      boost::asio::any_completion_handler<void(pebble::error_code, reconcile_report)> h);
}

/// observe() could not see the whole unit. code(): asio::error::operation_aborted when cancelled
/// (c.cancel(), c destroyed), pebble::error::invalid_option when the client's socket_path cannot
/// be used (empty, longer than a Unix socket address holds), else a pebble::error whose condition
/// says what kind of failure it was
/// (pebble::condition::transport: Pebble lost after the plan was read; condition::timeout: a
/// step or the deadline ran out; condition::api: Pebble refused a request or gave an answer that
/// cannot be used). report(): what reconcile() reports for it: status Waiting or Blocked, the
/// message naming the step ("Cannot read the Pebble plan: ...", "Pebble did not answer in time
/// (stat storage-path)"), failed_step. what(): "observe: <failed_step>: <message>: <ec's words>";
/// no secret is in it.
class observe_error : public boost::system::system_error {
public:
    observe_error(pebble::error_code ec, reconcile_report report);
    [[nodiscard]] const reconcile_report& report() const noexcept { return report_; }

private:
    reconcile_report report_;
};

/// Observe one unit through `c`, as reconcile() does before deciding: `GET /v1/plan`, the
/// service (`GET /v1/services`), the storage directory (`GET /v1/files?action=list&itself=true`),
/// and the container's copy of every file `desired` makes (a pull hashed with SHA-256 as it streams
/// in; the secrets file's key read back), so that `decide(observe(c, desired), desired)` is the
/// decision reconcile() acts on: an in-sync unit gives a decision with no_op(). When the inputs
/// alone decide (invalid configuration, incomplete peer data, missing certificates) only the
/// plan is read. Pebble absent at the first step (socket missing, refused, no answer in time) is
/// not an error: `pebble_reachable` is false, and decide() says Waiting for Pebble. Nothing is
/// written. Uses opts.deadline (the whole call) and opts.log.
/// Throws observe_error for any other step that did not succeed.
observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts = {});
/// The same, with the failure in `ec` (observe_error's codes) and, when given, `*failure` (its
/// report); the observed_state returned then holds what was seen before the failure.
observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts,
                       pebble::error_code& ec, reconcile_report* failure = nullptr);

/// A completion token given where the options would go: `async_observe(c, want, asio::use_awaitable)`
/// means default options (without this, the token would be taken for the options and fail to
/// convert, or a handler for reconcile_report would be taken as `failure`).
template <class Token>
concept token_in_options_slot = !std::is_convertible_v<Token, reconcile_options> &&
                                !std::is_same_v<std::remove_cvref_t<Token>, reconcile_report>;

/// observe() as an Asio operation on a strand of c's executor. Handler:
/// `void(error_code, observed_state)` with observe_error's codes; the overload with `failure`
/// also fills it (it must outlive the operation) with the report of a failed step. Cancellation
/// and the client's lifetime as async_reconcile().
template <class Token = pebble::client::default_token>
    requires(!std::is_same_v<std::remove_cvref_t<Token>, reconcile_report>)
auto async_observe(pebble::client& c, desired_state desired, reconcile_options opts = {},
                   Token&& token = pebble::client::default_token()) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, observed_state)>(
        [&c](auto handler, desired_state d, reconcile_options o) {
            detail::async_observe_impl(c, std::move(d), std::move(o), nullptr, std::move(handler));
        },
        token, std::move(desired), std::move(opts));
}
template <class Token = pebble::client::default_token>
auto async_observe(pebble::client& c, desired_state desired, reconcile_options opts, reconcile_report& failure,
                   Token&& token = pebble::client::default_token()) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, observed_state)>(
        [&c, &failure](auto handler, desired_state d, reconcile_options o) {
            detail::async_observe_impl(c, std::move(d), std::move(o), &failure, std::move(handler));
        },
        token, std::move(desired), std::move(opts));
}
/// async_observe(c, desired, token): default options.
template <token_in_options_slot Token>
auto async_observe(pebble::client& c, desired_state desired, Token&& token) {
    return async_observe(c, std::move(desired), reconcile_options{}, std::forward<Token>(token));
}

/// Carry out a decision the caller computed (usually decide(observe(c, desired), desired),
/// possibly changed), as reconcile() carries out its own: make or re-own the storage directory
/// (decision::storage), push decision::push, add decision::add_layer with combine under
/// decision::layer_label and read the plan again (a layer above ours that replaces the service:
/// Blocked, no restart), restart decision::restart or start decision::start and wait for the change,
/// then, when opts.probe.enabled and the decision's status_after is Active, ask Redis (the probe);
/// a no-op decision for a service in Pebble's backoff reads its logs for the reason. Exactly the
/// decision's actions, nothing else: a decision whose `restart` was emptied restarts nothing.
/// `desired` gives the probe its address and password and redacts what Pebble and Redis say.
/// The report: status and message (the decision's status_after and message, or what a failed
/// step or the probe says), decided (the decision), actions_done, failed_step. Never throws for
/// Pebble or Redis failures; cancellation as reconcile(). Uses opts.deadline (the whole call),
/// change_timeout, probe, dry_run and log.
reconcile_report apply(pebble::client& c, const desired_state& desired, const decision& d,
                       const reconcile_options& opts = {});

/// apply() as an Asio operation. Handler: `void(error_code, reconcile_report)`, `ec` only for
/// cancellation (operation_aborted), as async_reconcile().
template <class Token = pebble::client::default_token>
auto async_apply(pebble::client& c, desired_state desired, decision d, reconcile_options opts = {},
                 Token&& token = pebble::client::default_token()) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, reconcile_report)>(
        [&c](auto handler, desired_state ds, decision dd, reconcile_options o) {
            detail::async_apply_impl(c, std::move(ds), std::move(dd), std::move(o), std::move(handler));
        },
        token, std::move(desired), std::move(d), std::move(opts));
}
/// async_apply(c, desired, d, token): default options.
template <token_in_options_slot Token>
auto async_apply(pebble::client& c, desired_state desired, decision d, Token&& token) {
    return async_apply(c, std::move(desired), std::move(d), reconcile_options{}, std::forward<Token>(token));
}

/// One reconcile of one unit through `c`: observe (plan, service, storage directory, files), decide,
/// act (make or re-own the storage directory, push the files that differ, add the layer with
/// combine, restart, wait for the change), ask Redis (opts.probe), report. It is observe(),
/// decide() and apply() in one deadline: a failed observation is reported as is (never decided on).
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
                     Token&& token = pebble::client::default_token()) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, reconcile_report)>(
        [&c](auto handler, desired_state d, reconcile_options o) {
            detail::async_reconcile_impl(c, std::move(d), std::move(o), std::move(handler));
        },
        token, std::move(desired), std::move(opts));
}
/// async_reconcile(c, desired, token): default options.
template <token_in_options_slot Token>
auto async_reconcile(pebble::client& c, desired_state desired, Token&& token) {
    return async_reconcile(c, std::move(desired), reconcile_options{}, std::forward<Token>(token));
}

/// Synchronous reconcile: async_reconcile's coroutine, run on the calling thread through a private
/// client with `c.options()` (its own connection), whatever runs c's executor. Never throws for
/// Pebble or Redis failures (they are in the report). `c.cancel()` from another thread stops it with
/// the same report as async_reconcile's on cancellation.
reconcile_report reconcile(pebble::client& c, const desired_state& desired, const reconcile_options& opts = {});

/// What one request of the machine does through the client, synchronously (exposed for tools
/// that drive reconcile_machine themselves): the step the coroutines run, on the calling thread
/// as reconcile() runs it.
pebble_reply perform(pebble::client& c, const pebble_request& r, std::chrono::milliseconds wait_timeout);

} // namespace redispebble

#endif
