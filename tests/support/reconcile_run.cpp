#include "support/reconcile_run.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <optional>

namespace redispebble::test {

using namespace std::chrono_literals;

pebble_under_test start_test_server() {
    pebble_under_test p;
    testing::server_options o;
    o.start_window = 300ms;
    p.server = testing::pebble_server::start(o);
    p.socket = p.server->socket_path();
    return p;
}

pebble_under_test start_pebble(bool real) {
    if (!real) return start_test_server();
    pebble_under_test p;
    p.daemon = std::make_unique<pebble_daemon>(*pebble_bin());
    p.socket = p.daemon->socket_path();
    return p;
}

void on_each_pebble(const std::function<void(pebble_under_test&)>& scenario) {
    {
        pebble_under_test p = start_test_server();
        INFO("on the test server");
        scenario(p);
    }
    if (pebble_bin()) {
        pebble_under_test p = start_pebble(true);
        INFO("on real Pebble");
        scenario(p);
    } else {
        WARN("PEBBLE_BIN not set: the scenario ran on the test server only");
    }
}

desired_state unit_inputs(const std::string& root, const std::string& ip, int port, const std::string& master,
                          const std::string& password) {
    desired_state d;
    d.config.storage_path = root + "/storage";
    d.config.port = static_cast<std::uint16_t>(port);
    d.config.bind_address = ip;
    d.peer = {secret(password), master, ip};
    return d;
}

redis_unit::redis_unit(const std::string& password) : port(testing::free_tcp_port()) {
    std::filesystem::permissions(root.path, std::filesystem::perms(0755));
    inputs = unit_inputs(root.path, "127.0.0.1", port, "127.0.0.1", password);
}

pebble::client_options client_options_for(const testing::pebble_server& s, std::chrono::milliseconds request_timeout) {
    pebble::client_options o;
    o.socket_path = s.socket_path();
    o.request_timeout = request_timeout;
    return o;
}

reconcile_report reconcile_at(const std::string& socket, const desired_state& d, probe_options probe) {
    pebble::client_options o;
    o.socket_path = socket;
    o.request_timeout = 10s;
    pebble::client c(o);
    reconcile_options ro;
    ro.deadline = 30s;
    ro.probe = probe;
    return reconcile(c, d, ro);
}

std::string describe(const reconcile_report& r) {
    std::string s = std::string(to_string(r.status)) + ": " + r.message + " | actions:";
    for (const auto& a : r.actions_done) s += " [" + a + "]";
    return s;
}

reconcile_report reconcile_active(const std::string& socket, const desired_state& d) {
    auto r = reconcile_at(socket, d);
    INFO(describe(r));
    REQUIRE(r.status == unit_status::active);
    return r;
}

void check_converged(const std::string& socket, const desired_state& d) {
    const auto again = reconcile_at(socket, d);
    INFO("reconciled again: " << describe(again));
    CHECK(again.status == unit_status::active);
    CHECK(again.decided.no_op());
    CHECK(again.writes() == 0);
    CHECK(again.restarts() == 0);
}

void reconcile_unit_both_forms(const pebble::client_options& redis, const pebble::client_options& sentinel,
                               const desired_state& d, const reconcile_options& opts,
                               const std::function<void(const unit_report&)>& check) {
    {
        INFO("synchronous form");
        pebble::client rc(redis), sc(sentinel);
        check(reconcile_unit(rc, &sc, d, opts));
    }
    INFO("asynchronous form");
    boost::asio::io_context io;
    pebble::client rc(io, redis), sc(io, sentinel);
    std::optional<unit_report> got;
    async_reconcile_unit(rc, &sc, d, opts, [&](pebble::error_code ec, unit_report u) {
        CHECK_FALSE(ec);
        got = std::move(u);
    });
    io.run();
    REQUIRE(got);
    check(*got);
}

} // namespace redispebble::test
