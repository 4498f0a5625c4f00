// redispebble — everything: the pure core, the Pebble client and the reconciler.
#ifndef REDISPEBBLE_REDISPEBBLE_HPP
#define REDISPEBBLE_REDISPEBBLE_HPP
#include <redispebble/core.hpp>
#if __has_include(<redispebble/pebble/client.hpp>)
#include <redispebble/pebble/client.hpp>
#endif
#if __has_include(<redispebble/pebble/exec.hpp>)
#include <redispebble/pebble/exec.hpp>
#endif
#if __has_include(<redispebble/reconciler.hpp>)
#include <redispebble/reconciler.hpp>
#endif
#endif
