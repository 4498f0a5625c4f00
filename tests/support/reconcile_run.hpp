// Test support for the end-to-end reconcile tests (test_reconcile_e2e, test_companions): each Pebble
// a scenario runs on, a unit's inputs for a real redis-server, one reconcile through the client,
// and the two checks every scenario makes (the first apply leaves the unit Active; applying again
// changes nothing).
#ifndef REDISPEBBLE_TESTS_SUPPORT_RECONCILE_RUN_HPP
#define REDISPEBBLE_TESTS_SUPPORT_RECONCILE_RUN_HPP

#include "support/pebble_daemon.hpp"
#include "support/run_command.hpp"  // temp_dir

#include <redispebble/reconciler.hpp>
#include <redispebble/testing/server.hpp>
#include <redispebble/unit_reconciler.hpp>

#include <functional>
#include <memory>
#include <string>

namespace redispebble::test {

/// One Pebble a scenario runs on: the test server (`server` set) or real Pebble (`daemon` set).
struct pebble_under_test {
    std::unique_ptr<testing::pebble_server> server;
    std::unique_ptr<pebble_daemon> daemon;
    std::string socket;
};

/// The test server with a start window of 300 ms.
pebble_under_test start_test_server();

/// Real Pebble from PEBBLE_BIN when `real` (which must then be set), else start_test_server().
pebble_under_test start_pebble(bool real);

/// Runs `scenario` on the test server (start window 300 ms), then on real Pebble when PEBBLE_BIN
/// names one (a warning otherwise); INFO says which.
void on_each_pebble(const std::function<void(pebble_under_test&)>& scenario);

/// A unit's inputs for a Redis on `ip`:`port` with storage under `root`/storage, `master` as the
/// current master and `password` as the admin password.
desired_state unit_inputs(const std::string& root, const std::string& ip, int port, const std::string& master,
                          const std::string& password);

/// One unit on 127.0.0.1: a scratch root redis-server (user redis) can traverse (0755), a free TCP
/// port, and inputs with that root, port and `password` (its own master).
struct redis_unit {
    temp_dir root;
    int port;
    desired_state inputs;
    explicit redis_unit(const std::string& password);
};

/// A client's options for the test server `s`: its socket, requests timing out after `request_timeout`.
pebble::client_options client_options_for(const testing::pebble_server& s, std::chrono::milliseconds request_timeout);

/// reconcile() through a client on `socket`: each request times out after 10 s, the whole after 30 s.
reconcile_report reconcile_at(const std::string& socket, const desired_state& d, probe_options probe = {});

/// The report in one line: status, message and the actions done.
std::string describe(const reconcile_report& r);

/// reconcile_at, which must leave the unit Active (REQUIRE; the report is described on failure).
reconcile_report reconcile_active(const std::string& socket, const desired_state& d);

/// Reconciles `d` again and CHECKs it converged: Active, nothing decided, written or restarted.
void check_converged(const std::string& socket, const desired_state& d);

/// reconcile_unit on a unit of two containers, in its synchronous form and then its asynchronous
/// one (async_reconcile_unit on a private io_context; no error expected), each report handed to
/// `check`.
void reconcile_unit_both_forms(const pebble::client_options& redis, const pebble::client_options& sentinel,
                               const desired_state& d, const reconcile_options& opts,
                               const std::function<void(const unit_report&)>& check);

} // namespace redispebble::test

#endif
