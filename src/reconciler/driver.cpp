// The reconciler's driver (include/redispebble/reconciler.hpp): the Redis container's loops. One
// coroutine per form (observe, apply, reconcile with its retries), spawned by the asynchronous forms
// and run on a private io_context by the synchronous ones, so one implementation serves both. Each
// step is performed by detail::async_perform (steps.cpp) inside detail::drive_async (detail.hpp),
// which the Sentinel container's driver shares.
#include <redispebble/reconciler.hpp>

#include "detail.hpp"

#include <redispebble/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <memory>


namespace redispebble {

namespace asio = boost::asio;
using pebble::error_code;
using outcome = pebble_reply::outcome;
using clock = std::chrono::steady_clock;
using detail::run_result;

namespace {

// Only what time can fix is retried: Pebble absent or lost, a step or change past its time.
bool should_retry(const reconcile_report& r, std::chrono::milliseconds backoff, clock::time_point deadline) {
    if (backoff.count() <= 0 || r.status != unit_status::waiting || !r.retry_later) return false;
    if (r.message != msg_waiting_for_pebble && !r.failed_step) return false;
    return clock::now() + backoff < deadline;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds b) {
    return std::min<std::chrono::milliseconds>(b * 2, std::chrono::seconds(10));
}

void log_report(const reconcile_options& o, const reconcile_report& rep) { detail::log_report(o, "reconcile", rep); }

// Pebble absent at the first step: not a failure of observe(), decide() says Waiting.
bool pebble_absent(const reconcile_machine& m, const run_result& r) {
    return !r.cancelled && !m.observed().pebble_reachable && m.report().status == unit_status::waiting &&
           m.report().message == msg_waiting_for_pebble;
}

error_code failure_code(const run_result& r) {
    if (r.cancelled) return asio::error::operation_aborted;
    if (r.bad_socket_path) return pebble::error::invalid_option;
    switch (r.last) {
    case outcome::unreachable: return pebble::error::connection_closed;
    case outcome::timed_out: return pebble::error::timeout;
    default: return pebble::error::api_error;
    }
}

// observe()'s answer from its machine's run.
observed_state observed_result(const reconcile_machine& m, const run_result& r, error_code& ec,
                               reconcile_report* failure) {
    ec = {};
    if (!m.observed_all() && !pebble_absent(m, r)) {
        ec = failure_code(r);
        if (failure) *failure = m.report();
    }
    return m.observed();
}

// What a dry run reports: the decision, nothing done.
reconcile_report decision_report(const decision& d) {
    reconcile_report r;
    r.status = d.status_after;
    r.message = d.message;
    r.retry_later = d.retry_later;
    r.decided = d;
    return r;
}

} // namespace

observe_error::observe_error(error_code ec, reconcile_report report)
    : boost::system::system_error(ec, "observe: " + report.failed_step.value_or("observe the unit") + ": " + report.message),
      report_(std::move(report)) {}

namespace {

asio::awaitable<std::pair<error_code, observed_state>> observe_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                    desired_state desired, reconcile_options opts,
                                                                    reconcile_report* failure) {
    auto m = reconcile_machine::observe_only(desired, opts.probe);
    const run_result r = co_await detail::drive_async(c, watch, m, clock::now() + opts.deadline, opts, "reconcile");
    error_code ec;
    observed_state seen = observed_result(m, r, ec, failure);
    co_return std::make_pair(ec, std::move(seen));
}

asio::awaitable<std::pair<error_code, reconcile_report>> apply_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                     desired_state desired, decision d,
                                                                     reconcile_options opts) {
    if (opts.dry_run) co_return std::make_pair(error_code{}, decision_report(d));
    auto m = reconcile_machine::apply_decision(desired, std::move(d), opts.probe);
    const run_result r = co_await detail::drive_async(c, watch, m, clock::now() + opts.deadline, opts, "reconcile");
    log_report(opts, m.report());
    co_return std::make_pair(r.cancelled ? error_code(asio::error::operation_aborted) : error_code{}, m.report());
}

// As reconcile(): observe, decide, apply within one deadline.
asio::awaitable<std::pair<error_code, reconcile_report>> reconcile_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                         desired_state desired, reconcile_options opts) {
    const auto deadline = clock::now() + opts.deadline;
    auto backoff = opts.retry_backoff;
    auto ex = co_await asio::this_coro::executor;
    for (int attempt = 1;; ++attempt) {
        run_result run;
        reconcile_report report;
        std::optional<decision> decided;
        {
            // The observer (its prepared inputs, the plan it read) is gone before the apply: with
            // many units in one process, each holds only what its apply needs while it waits.
            // Both machines live on the heap, one at a time: in this coroutine's frame they took
            // 5.4 KiB each for the whole reconcile (a 15 KiB frame per unit).
            auto observer = std::make_unique<reconcile_machine>(reconcile_machine::observe_only(desired, opts.probe));
            run = co_await detail::drive_async(c, watch, *observer, deadline, opts, "reconcile");
            if (!observer->observed_all()) {
                report = observer->report();
                // An unusable socket_path is the caller's to fix: coming back later changes nothing.
                if (run.bad_socket_path) report.retry_later = false;
            } else {
                decided = observer->decide_observed();
            }
        }
        if (decided) {
            // A dry run with nothing to do still asks Redis (probe, or the logs of a service in
            // backoff: reads only), so status and diff report what apply reports.
            if (opts.dry_run && !decided->no_op()) {
                report = decision_report(*decided);
            } else {
                auto applier = std::make_unique<reconcile_machine>(
                    reconcile_machine::apply_decision(desired, std::move(*decided), opts.probe));
                decided.reset();
                run = co_await detail::drive_async(c, watch, *applier, deadline, opts, "reconcile");
                report = applier->report();
                applier.reset();
            }
        }
        log_report(opts, report);
        report.attempts = attempt;
        if (run.cancelled) co_return std::make_pair(error_code(asio::error::operation_aborted), std::move(report));
        if (!should_retry(report, backoff, deadline)) co_return std::make_pair(error_code{}, std::move(report));
        if (opts.log) opts.log("reconcile: retrying in " + std::to_string(backoff.count()) + " ms");
        // The timer lives on this coroutine's strand; cancel() reaches it through a post there.
        auto timer = std::make_shared<asio::steady_timer>(ex, backoff);
        const auto id = watch.on_cancel([timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
        if (id != 0) {
            error_code ignored;
            co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        watch.forget(id);
        backoff = next_backoff(backoff);
    }
}

void interrupted(reconcile_report& r) {
    r.status = unit_status::waiting;
    r.message = "Reconcile interrupted by an internal error";
    r.retry_later = true;
}

} // namespace

// The synchronous forms: the coroutines above, run on a private io_context through a private client
// with c's options (as pebble::exec's synchronous form does), so one implementation serves both and
// the caller's thread runs it whatever runs c's executor. c.cancel(), or destroying c, reaches the
// private client through c's cancellation_watch.
namespace {

template <class T, class MakeOp>
T run_private(pebble::client& c, MakeOp make_op) {
    struct link {  // the private client, for c's cancel callback (which may run on another thread)
        std::mutex m;
        pebble::client* tmp = nullptr;
    };
    const auto watch = c.watch_cancellation();
    asio::io_context ioc;
    std::optional<T> out;
    std::exception_ptr failed;
    {
        pebble::client tmp(ioc, c.options());
        auto op = make_op(tmp);  // takes tmp's cancellation_watch before anything can cancel it
        auto l = std::make_shared<link>();
        l->tmp = &tmp;
        const auto id = watch.on_cancel([l] {
            std::lock_guard<std::mutex> lock(l->m);
            if (l->tmp) l->tmp->cancel();
        });
        if (id == 0) tmp.cancel();  // c was cancelled (or destroyed) since the call began
        asio::co_spawn(ioc, std::move(op), [&out, &failed](std::exception_ptr e, T r) {
            if (e) failed = e;
            else out = std::move(r);
        });
        ioc.run();
        watch.forget(id);
        std::lock_guard<std::mutex> lock(l->m);
        l->tmp = nullptr;
    }
    if (failed) std::rethrow_exception(failed);  // as the client's synchronous calls let it through
    return std::move(*out);
}

} // namespace

reconcile_report detail::run_private_report(
    pebble::client& c, const std::function<asio::awaitable<reconcile_report>(pebble::client&)>& make_op) {
    return run_private<reconcile_report>(c, make_op);
}

pebble_reply perform(pebble::client& c, const pebble_request& r, std::chrono::milliseconds wait_timeout) {
    return run_private<pebble_reply>(c, [&](pebble::client& t) { return detail::async_perform(t, r, wait_timeout); });
}

observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts,
                       error_code& ec, reconcile_report* failure) {
    auto out = run_private<std::pair<error_code, observed_state>>(c, [&](pebble::client& t) {
        return observe_coro(t, t.watch_cancellation(), desired, opts, failure);
    });
    ec = out.first;
    return std::move(out.second);
}

observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts) {
    error_code ec;
    reconcile_report failure;
    observed_state seen = observe(c, desired, opts, ec, &failure);
    if (ec) throw observe_error(ec, std::move(failure));
    return seen;
}

reconcile_report apply(pebble::client& c, const desired_state& desired, const decision& d,
                       const reconcile_options& opts) {
    if (opts.dry_run) return decision_report(d);
    return run_private<std::pair<error_code, reconcile_report>>(c, [&](pebble::client& t) {
               return apply_coro(t, t.watch_cancellation(), desired, d, opts);
           }).second;
}

// observe(), decide(), apply() within one deadline; a failed observation is the report as it is.
reconcile_report reconcile(pebble::client& c, const desired_state& desired, const reconcile_options& opts) {
    return run_private<std::pair<error_code, reconcile_report>>(c, [&](pebble::client& t) {
               return reconcile_coro(t, t.watch_cancellation(), desired, opts);
           }).second;
}

namespace detail {
// Each takes its cancellation_watch at initiation: a cancel() right after the call returns takes effect.
void async_reconcile_impl(pebble::client& c, desired_state desired, reconcile_options opts,
                          asio::any_completion_handler<void(error_code, reconcile_report)> h) {
    auto watch = c.watch_cancellation();
    detail::spawn<reconcile_report>(c, reconcile_coro(c, std::move(watch), std::move(desired), std::move(opts)), std::move(h),
                            interrupted);
}

void async_observe_impl(pebble::client& c, desired_state desired, reconcile_options opts, reconcile_report* failure,
                        asio::any_completion_handler<void(error_code, observed_state)> h) {
    auto watch = c.watch_cancellation();
    detail::spawn<observed_state>(c, observe_coro(c, std::move(watch), std::move(desired), std::move(opts), failure),
                          std::move(h), [failure](observed_state&) {
                              if (failure) interrupted(*failure);
                          });
}

void async_apply_impl(pebble::client& c, desired_state desired, decision d, reconcile_options opts,
                      asio::any_completion_handler<void(error_code, reconcile_report)> h) {
    auto watch = c.watch_cancellation();
    detail::spawn<reconcile_report>(c, apply_coro(c, std::move(watch), std::move(desired), std::move(d), std::move(opts)),
                            std::move(h), interrupted);
}
} // namespace detail

} // namespace redispebble