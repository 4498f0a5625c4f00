// redispebble — the pure core in one include. Standard library only.
#ifndef REDISPEBBLE_CORE_HPP
#define REDISPEBBLE_CORE_HPP
#include <redispebble/config.hpp>
#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/probe.hpp>
#include <redispebble/decide.hpp>
#include <redispebble/reconcile_machine.hpp>
#include <redispebble/redis.hpp>
#include <redispebble/secret.hpp>
#include <redispebble/sentinel.hpp>
#include <redispebble/shlex.hpp>
#endif
