// The Sentinel container and the whole unit (issue 12): sentinel_machine driven through the client,
// composed with reconcile() / async_reconcile() for the Redis container.
#include <redispebble/unit_reconciler.hpp>
#include <redispebble/error.hpp>
#include <redispebble/sentinel.hpp>

#include "detail.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

namespace redispebble {

namespace asio = boost::asio;
using pebble::error_code;
using clock = std::chrono::steady_clock;

int unit_report::restarts() const noexcept { return redis.restarts() + (sentinel ? sentinel->restarts() : 0); }
int unit_report::writes() const noexcept { return redis.writes() + (sentinel ? sentinel->writes() : 0); }

namespace {

// Peer data as Redis should see it: the master chosen in the Sentinel container.
desired_state following(const desired_state& desired, const master_choice& m) {
    desired_state d = desired;
    if (!m.host.empty()) d.peer.current_master = m.host;
    return d;
}

// Inputs the Sentinel container refuses (sentinel_verdict() Blocked: an admin password Sentinel
// cannot keep in its file, a quorum above the planned units, a missing certificate or one Redis
// would not read...) leave the whole unit alone: applying the Redis half (a new admin password,
// say) while Sentinel's half is refused split the unit, Redis on the new password and Sentinel
// unable to log in to it (found from outside, issue 12). Incomplete peer data is not refused
// here: the Sentinel machine says Waiting for it, naming the keys.
std::optional<decision> sentinel_refuses(const desired_state& d) {
    auto v = sentinel_verdict(d);
    if (v && v->status_after == unit_status::blocked) return v;
    return std::nullopt;
}

// The unit's report when Sentinel refuses the inputs: both containers Blocked, nothing done; the
// refusal is said once (the Sentinel container's message), the missing resources in both.
unit_report refused_unit(const decision& why) {
    unit_report u;
    reconcile_report s;
    s.status = unit_status::blocked;
    s.message = why.message;
    s.retry_later = false;
    s.decided = why;
    u.sentinel = s;
    u.redis.status = unit_status::blocked;
    u.redis.message = "left unchanged while the Sentinel container refuses the inputs";
    u.redis.retry_later = false;
    u.redis.decided.status_after = u.redis.status;
    u.redis.decided.message = u.redis.message;
    u.redis.decided.missing_resources = why.missing_resources;
    return u;
}

void summarise(unit_report& u, const desired_state& desired) {
    if (u.master.host.empty()) u.master = {desired.peer.current_master, "peer data"};
    if (!u.master.host.empty() && u.master.host != desired.peer.current_master) u.peer_data_update = u.master.host;
    u.status = u.redis.status;
    u.retry_later = u.redis.retry_later;
    std::string message;
    if (u.sentinel) {
        u.status = worse(u.status, u.sentinel->status);
        u.retry_later = u.retry_later || u.sentinel->retry_later;
        if (u.sentinel->status != unit_status::active) message = "Sentinel: " + u.sentinel->message;
    }
    // The same words from both containers (both Waiting for peer data, both missing the same
    // certificate) are said once, for the unit.
    if (u.sentinel && u.sentinel->status != unit_status::active && u.redis.status != unit_status::active &&
        u.sentinel->message == u.redis.message)
        message = u.redis.message + " (both containers)";
    else if (u.redis.status != unit_status::active)
        message += (message.empty() ? "" : "; ") + u.redis.message;
    u.message = std::move(message);
}

// The unit's report when the Sentinel container refuses the inputs (sentinel_refuses): neither
// container is touched. nullopt without Sentinel or when the inputs are accepted. Both forms of
// reconcile_unit start with it.
std::optional<unit_report> refused_report(const desired_state& desired, const pebble::client* sentinel) {
    if (!desired.config.sentinel || !sentinel) return std::nullopt;
    auto why = sentinel_refuses(desired);
    if (!why) return std::nullopt;
    unit_report u = refused_unit(*why);
    summarise(u, desired);
    return u;
}

reconcile_options within(const reconcile_options& opts, clock::time_point deadline) {
    reconcile_options o = opts;
    o.deadline = detail::left(deadline);
    return o;
}

} // namespace

namespace {

// The Sentinel container's run (sentinel_machine through the client), for both forms; `chosen`
// gets the master it settled on. `share` bounds it hard: when it passes, the client's requests
// are cancelled (a Pebble that accepts and never answers would otherwise hold a request for the
// client's request_timeout) and the step reads as timed out in the Sentinel container, naming its
// socket; the Redis container keeps the rest of the deadline (found from outside, issue 12: the
// Redis container was reported "Waiting for Pebble" because Sentinel's socket hung).
asio::awaitable<reconcile_report> sentinel_coro(pebble::client& c, desired_state desired, reconcile_options opts,
                                                master_choice* chosen, std::chrono::milliseconds share) {
    const auto watch = c.watch_cancellation();
    const auto deadline = clock::now() + std::min(opts.deadline, share);
    auto over = std::make_shared<std::atomic<bool>>(false);
    asio::steady_timer share_timer(co_await asio::this_coro::executor, deadline);
    share_timer.async_wait([&c, over](error_code ec) {
        if (ec) return;
        *over = true;
        c.cancel();
    });
    sentinel_machine m(desired, opts.dry_run, opts.probe);
    co_await detail::drive_async(c, watch, m, deadline, opts, "reconcile sentinel", over.get());
    share_timer.cancel();
    reconcile_report report = m.report();
    if (*over)
        report.message += " (socket " + c.options().socket_path + ": no answer within " +
                          std::to_string(std::min(opts.deadline, share).count()) + " ms)";
    if (chosen) *chosen = m.master();
    detail::log_report(opts, "reconcile sentinel", report);
    co_return report;
}

// The Sentinel container's share of a unit's deadline: half. The Redis container gets what is
// left, at least the other half.
std::chrono::milliseconds sentinel_share(const reconcile_options& opts) { return opts.deadline / 2; }

} // namespace

reconcile_report reconcile_sentinel(pebble::client& c, const desired_state& desired, const reconcile_options& opts,
                                    master_choice* chosen) {
    return detail::run_private_report(
        c, [&](pebble::client& t) { return sentinel_coro(t, desired, opts, chosen, opts.deadline); });
}

unit_report reconcile_unit(pebble::client& redis, pebble::client* sentinel, const desired_state& desired,
                           const reconcile_options& opts) {
    if (auto refused = refused_report(desired, sentinel)) return std::move(*refused);
    const auto deadline = clock::now() + opts.deadline;
    unit_report u;
    if (desired.config.sentinel && sentinel) {
        u.sentinel = detail::run_private_report(*sentinel, [&](pebble::client& t) {
            return sentinel_coro(t, desired, opts, &u.master, sentinel_share(opts));
        });
    }
    u.redis = reconcile(redis, following(desired, u.master), within(opts, deadline));
    summarise(u, desired);
    return u;
}

namespace {

asio::awaitable<std::pair<error_code, unit_report>> unit_coro(pebble::client& redis, pebble::client* sentinel,
                                                              desired_state desired, reconcile_options opts) {
    if (auto refused = refused_report(desired, sentinel)) co_return std::make_pair(error_code{}, std::move(*refused));
    const auto deadline = clock::now() + opts.deadline;
    unit_report u;
    if (desired.config.sentinel && sentinel) {
        u.sentinel = co_await sentinel_coro(*sentinel, desired, within(opts, deadline), &u.master, sentinel_share(opts));
    }
    auto [ec, report] = co_await async_reconcile(redis, following(desired, u.master), within(opts, deadline),
                                                 asio::as_tuple(asio::use_awaitable));
    u.redis = std::move(report);
    summarise(u, desired);
    co_return std::make_pair(ec, std::move(u));
}

} // namespace

namespace detail {
void async_reconcile_unit_impl(pebble::client& redis, pebble::client* sentinel, desired_state desired,
                               reconcile_options opts, asio::any_completion_handler<void(error_code, unit_report)> h) {
    detail::spawn<unit_report>(redis, unit_coro(redis, sentinel, std::move(desired), std::move(opts)), std::move(h),
                               [](unit_report& u) {
                                   u.status = unit_status::waiting;
                                   u.message = "Reconcile interrupted by an internal error";
                               });
}
} // namespace detail

} // namespace redispebble
