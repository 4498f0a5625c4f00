// redispebble — deprecated name of <redispebble/decide.hpp> (decide(), observed_state,
// desired_state, decision): kept so that existing includes compile. The name was too close to
// <redispebble/reconciler.hpp> (the I/O) and <redispebble/reconcile_machine.hpp> (the sans-io loop).
#ifndef REDISPEBBLE_RECONCILE_HPP
#define REDISPEBBLE_RECONCILE_HPP
#include <redispebble/decide.hpp>
#endif
