// Test support: the inputs of a unit that runs Sentinel beside Redis (docs/sentinel.md).
#ifndef REDISPEBBLE_TESTS_SUPPORT_SENTINEL_INPUTS_HPP
#define REDISPEBBLE_TESTS_SUPPORT_SENTINEL_INPUTS_HPP

#include <redispebble/decide.hpp>

#include <string>

namespace redispebble::test {

/// A unit of three planned units with `sentinel: true` and every other configuration key at its
/// default; its peer data names `master` as the current master and `hostname` as the unit's own,
/// with both passwords set (the leader has written them).
inline desired_state sentinel_inputs(const std::string& master, const std::string& hostname,
                                     const std::string& admin_password, const std::string& sentinel_password) {
    desired_state d;
    d.config.sentinel = true;
    d.peer.admin_password = secret(admin_password);
    d.peer.sentinel_password = secret(sentinel_password);
    d.peer.current_master = master;
    d.peer.hostname = hostname;
    d.peer.planned_units = 3;
    return d;
}

} // namespace redispebble::test

#endif
