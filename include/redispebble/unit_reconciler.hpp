// redispebble — a unit is both containers: `redis` and, with `sentinel: true`, `sentinel`, each
// behind its own Pebble socket (redis-k8s's layout). reconcile_unit() reconciles both in one call:
// Sentinel first (it knows the current master after a failover), then Redis following that master.
// CMake target redispebble::reconciler. See docs/sentinel.md.
#ifndef REDISPEBBLE_UNIT_RECONCILER_HPP
#define REDISPEBBLE_UNIT_RECONCILER_HPP

#include <redispebble/reconciler.hpp>
#include <redispebble/sentinel.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <optional>
#include <string>

namespace redispebble {

/// What reconcile_unit() did in both containers.
struct unit_report {
    reconcile_report redis;                    ///< the `redis` container (reconcile())
    std::optional<reconcile_report> sentinel;  ///< the `sentinel` container; nullopt without Sentinel
    /// The master Redis was reconciled to follow, and where it came from ("sentinel",
    /// "sentinel.conf" or "peer data"; see sentinel_machine).
    master_choice master;
    /// Set when `master` differs from peer data's current-master: the value the operator's leader
    /// should write to peer data's `current-master` (the charm's _update_current_master does so).
    std::optional<std::string> peer_data_update;
    unit_status status = unit_status::waiting;  ///< the worse of the two (blocked > waiting > active)
    std::string message;                        ///< "" when active; each container's message, "Sentinel: " first
    bool retry_later = true;
    [[nodiscard]] int restarts() const noexcept;  ///< both containers
    [[nodiscard]] int writes() const noexcept;    ///< both containers
};

/// Reconciles the Sentinel container through `c` (sentinel_machine driven with the client's
/// synchronous calls): `desired.config.sentinel` need not be set. Uses opts.deadline,
/// change_timeout, probe (asking Sentinel: its timeout, and after a (re)start its settle and
/// settle_step and log_lines; probe.enabled false: Sentinel is not asked, see sentinel_machine),
/// dry_run and log. Never throws for Pebble failures. `chosen`, when given, receives the
/// master the machine chose. opts.deadline is a hard bound here: when it passes, the client's
/// requests under way are cancelled (`c.cancel()` on the private client) and the report is
/// Waiting, naming the socket that did not answer.
reconcile_report reconcile_sentinel(pebble::client& c, const desired_state& desired, const reconcile_options& opts = {},
                                    master_choice* chosen = nullptr);

/// One unit: with `desired.config.sentinel` and a `sentinel` client, reconcile_sentinel() first,
/// then reconcile() of `redis` with peer data's current-master replaced by the master chosen
/// (Sentinel's answer over stale peer data), both within opts.deadline: the Sentinel container
/// gets at most half of it, bounded hard as in reconcile_sentinel() (async_reconcile_unit
/// cancels the `sentinel` client itself), so a Sentinel Pebble that never answers leaves the Redis
/// container the other half (found from outside, issue 12). Without Sentinel it is
/// reconcile() alone. With opts.dry_run nothing is written in either container and the report's
/// decisions carry both layers. Never throws for Pebble or Redis failures.
unit_report reconcile_unit(pebble::client& redis, pebble::client* sentinel, const desired_state& desired,
                           const reconcile_options& opts = {});

namespace detail {
void async_reconcile_unit_impl(pebble::client& redis, pebble::client* sentinel, desired_state desired,
                               reconcile_options opts,
                               boost::asio::any_completion_handler<void(pebble::error_code, unit_report)> h);
}

/// reconcile_unit() as an Asio operation on a strand of redis's executor: many units reconcile
/// concurrently on one io_context (one pair of clients per unit), as async_reconcile(). Handler:
/// `void(error_code, unit_report)`, `ec` only for cancellation (operation_aborted). Both clients
/// must outlive the operation.
template <class Token = pebble::client::default_token>
auto async_reconcile_unit(pebble::client& redis, pebble::client* sentinel, desired_state desired,
                          reconcile_options opts = {}, Token&& token = pebble::client::default_token()) {
    return boost::asio::async_initiate<Token, void(pebble::error_code, unit_report)>(
        [&redis, sentinel](auto handler, desired_state d, reconcile_options o) {
            detail::async_reconcile_unit_impl(redis, sentinel, std::move(d), std::move(o), std::move(handler));
        },
        token, std::move(desired), std::move(opts));
}

} // namespace redispebble

#endif
