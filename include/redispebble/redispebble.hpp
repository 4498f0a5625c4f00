// redispebble — everything: the pure core, the Pebble client (with exec) and the reconciler.
// (The test server is separate: <redispebble/testing/server.hpp>, target redispebble::testing.)
#ifndef REDISPEBBLE_REDISPEBBLE_HPP
#define REDISPEBBLE_REDISPEBBLE_HPP
#include <redispebble/core.hpp>
#include <redispebble/pebble/client.hpp>
#include <redispebble/pebble/exec.hpp>
#include <redispebble/reconciler.hpp>
#include <redispebble/unit_reconciler.hpp>
#endif
