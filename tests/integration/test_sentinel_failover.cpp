// Issue 12: Redis Sentinel as redis-k8s runs it, proven by a real failover. Three units on
// 127.0.0.1, .2 and .3, each with its `redis` and `sentinel` containers under their own Pebble (the
// test server running real processes; and real Pebble v1.26 with PEBBLE_BIN), real redis-server
// and redis-server --sentinel.
#include <redispebble/unit_reconciler.hpp>
#include <redispebble/testing/server.hpp>

#include "support/pebble_daemon.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/unix_http.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::eventually;
using redispebble::test::has;
using redispebble::test::temp_dir;
using redispebble::test::unix_http;

namespace {

const std::string admin_pw = "admin-Pw-9b1e";
const std::string sentinel_pw = "sentinel Pw \"7c2f\"";

bool redis_installed() {
    for (const char* d : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
        if (std::filesystem::exists(d)) return true;
    return false;
}

bool port_free(const std::string& ip, int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// A port free on the three addresses (other helpers' tests run on this machine too).
int free_port(int avoid = 0) {
    std::mt19937 rng(std::random_device{}());
    for (int i = 0; i < 500; ++i) {
        const int p = 20000 + static_cast<int>(rng() % 30000);
        if (p != avoid && port_free("127.0.0.1", p) && port_free("127.0.0.2", p) && port_free("127.0.0.3", p)) return p;
    }
    throw std::runtime_error("no free port on 127.0.0.1-3");
}

struct pebble_instance {
    std::unique_ptr<testing::pebble_server> server;
    std::unique_ptr<test::pebble_daemon> daemon;
    std::string socket;
};

pebble_instance make_pebble(bool real) {
    pebble_instance p;
    if (real) {
        p.daemon = std::make_unique<test::pebble_daemon>(*test::pebble_bin());
        p.socket = p.daemon->socket_path();
    } else {
        testing::server_options o;
        o.start_window = 300ms;
        p.server = testing::pebble_server::start(o);
        p.socket = p.server->socket_path();
    }
    return p;
}

struct unit_under_test {
    std::string ip;
    desired_state desired;
    pebble_instance redis, sentinel;
};

desired_state unit_inputs(const std::string& root, const std::string& ip, int port, int sport) {
    desired_state d;
    d.config.storage_path = root + "/" + ip + "/storage";
    d.config.port = static_cast<std::uint16_t>(port);
    d.config.bind_address = ip;
    d.config.health_checks = false;  // we stop the master ourselves: no on-check-failure restart
    d.config.sentinel = true;
    d.config.sentinel_port = static_cast<std::uint16_t>(sport);
    d.config.sentinel_config_path = root + "/" + ip + "/sentinel/sentinel.conf";
    // redis-k8s's down-after (5 s): shorter, a master restarting under Pebble (Redis 7 waits for
    // lagging replicas on SIGTERM) was taken for down and failed over a second time.
    d.config.sentinel_down_after_milliseconds = 5000;
    d.config.sentinel_failover_timeout = 10000;
    d.peer.admin_password = secret(admin_pw);
    d.peer.sentinel_password = secret(sentinel_pw);
    d.peer.current_master = "127.0.0.1";
    d.peer.hostname = ip;
    d.peer.planned_units = 3;
    return d;
}

reconcile_options options() {
    reconcile_options o;
    o.deadline = 60s;
    o.probe.settle = 20s;
    return o;
}

// Every unit at once on one io_context, as a controller does.
std::vector<unit_report> reconcile_all(std::vector<unit_under_test>& units) {
    boost::asio::io_context io;
    std::vector<std::unique_ptr<pebble::client>> clients;
    std::vector<unit_report> reports(units.size());
    for (std::size_t i = 0; i < units.size(); ++i) {
        pebble::client_options ro, so;
        ro.socket_path = units[i].redis.socket;
        so.socket_path = units[i].sentinel.socket;
        clients.push_back(std::make_unique<pebble::client>(io, ro));
        clients.push_back(std::make_unique<pebble::client>(io, so));
        async_reconcile_unit(*clients[2 * i], clients[2 * i + 1].get(), units[i].desired, options(),
                             [&reports, i](pebble::error_code, unit_report r) { reports[i] = std::move(r); });
    }
    io.run();
    clients.clear();
    return reports;
}

std::string describe(const unit_report& u) {
    std::string s = std::string(to_string(u.status)) + ": " + u.message + " | master " + u.master.host + " (" +
                    u.master.source + ") | redis:";
    for (const auto& a : u.redis.actions_done) s += " [" + a + "]";
    s += " " + u.redis.redis_state + " | sentinel:";
    if (u.sentinel) {
        for (const auto& a : u.sentinel->actions_done) s += " [" + a + "]";
        s += " " + u.sentinel->redis_state;
        for (const auto& d : u.sentinel->decided.differences) s += " {" + d.path + "}";
    }
    return s;
}

test::command_result sentinel_cli(const unit_under_test& u, const std::vector<std::string>& args) {
    return test::redis_cli(u.ip, u.desired.config.sentinel_port, sentinel_pw, args);
}

test::command_result redis_cli(const unit_under_test& u, const std::vector<std::string>& args) {
    return test::redis_cli(u.ip, u.desired.config.port, admin_pw, args);
}

std::string sentinel_master(const unit_under_test& u) {
    auto r = sentinel_cli(u, {"SENTINEL", "get-master-addr-by-name", u.desired.config.sentinel_master_name});
    return r.out.substr(0, r.out.find('\n'));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string service_command(const unit_under_test& u) {
    return unix_http(u.redis.socket, "GET", "/v1/plan?format=yaml").body;
}

// Everything a reader of Pebble's API, of /proc or of our reports could see.
void check_no_password_anywhere(const std::vector<unit_under_test>& units, const std::vector<unit_report>& reports) {
    std::string seen;
    for (const auto& u : units)
        for (const auto* sock : {&u.redis.socket, &u.sentinel.socket}) {
            seen += unix_http(*sock, "GET", "/v1/plan?format=yaml").body;
            seen += unix_http(*sock, "GET", "/v1/logs?n=-1").body;
            seen += unix_http(*sock, "GET", "/v1/changes?select=all").body;
        }
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmd = read_file((e.path() / "cmdline").string());
        if (has(cmd, "redis-server") || has(cmd, "redis-cli")) seen += cmd + "\n";
    }
    for (const auto& r : reports) seen += describe(r) + (r.peer_data_update.value_or(""));
    CHECK_FALSE(has(seen, admin_pw));
    CHECK_FALSE(has(seen, "7c2f"));
    CHECK(has(seen, "--sentinel"));  // the processes were looked at
}

void scenario(bool real) {
    temp_dir root;
    std::filesystem::permissions(root.path, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                                std::filesystem::perms::others_exec);
    const int port = free_port(), sport = free_port(port);
    std::vector<unit_under_test> units;
    for (const std::string ip : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
        unit_under_test u;
        u.ip = ip;
        u.desired = unit_inputs(root.path, ip, port, sport);
        u.redis = make_pebble(real);
        u.sentinel = make_pebble(real);
        units.push_back(std::move(u));
    }

    // 1. Deploy: replication up, three sentinels agreeing.
    auto reports = reconcile_all(units);
    for (const auto& r : reports) {
        INFO(describe(r));
        CHECK(r.status == unit_status::active);
        CHECK(r.master.host == "127.0.0.1");
    }
    CHECK(eventually([&] { return has(redis_cli(units[0], {"INFO", "replication"}).out, "connected_slaves:2"); }, 30s));
    for (const auto& u : units) {
        INFO("sentinel of " << u.ip);
        CHECK(eventually([&] {
            const auto out = sentinel_cli(u, {"SENTINEL", "MASTER", "redis-k8s"}).out;
            return has(out, "num-other-sentinels\n2\n") && has(out, "num-slaves\n2\n");
        }, 40s));
    }
    // 2. Sentinel rewrote its file (its id, the sentinels it met); unchanged inputs: zero writes
    //    and zero restarts in both containers.
    for (const auto& u : units) CHECK(has(read_file(u.desired.config.sentinel_config_path), "sentinel known-sentinel"));
    reports = reconcile_all(units);
    for (const auto& r : reports) {
        INFO(describe(r));
        CHECK(r.status == unit_status::active);
        CHECK(r.writes() == 0);
        CHECK(r.restarts() == 0);
    }

    // 3. The master's Redis stops (through Pebble); Sentinel promotes a replica.
    CHECK(redis_cli(units[0], {"SET", "before", "failover"}).out == "OK\n");
    {
        pebble::client_options o;
        o.socket_path = units[0].redis.socket;
        pebble::client c(o);
        const auto id = c.stop({{"redis"}});
        (void)c.wait_change(id, {30s, false});
    }
    std::string promoted;
    REQUIRE(eventually([&] {
        promoted = sentinel_master(units[1]);
        return promoted == "127.0.0.2" || promoted == "127.0.0.3";
    }, 60s));
    CHECK(eventually([&] { return sentinel_master(units[2]) == promoted && sentinel_master(units[0]) == promoted; }, 20s));

    // 4. Reconcile every unit with the stale peer data: Sentinel's answer wins; at most one
    //    restart per unit; the report says what the leader should write.
    reports = reconcile_all(units);
    for (std::size_t i = 0; i < units.size(); ++i) {
        INFO(describe(reports[i]));
        CHECK(reports[i].status == unit_status::active);
        CHECK(reports[i].master.host == promoted);
        CHECK(reports[i].master.source == "sentinel");
        CHECK(reports[i].peer_data_update == promoted);
        CHECK(reports[i].restarts() <= 1);
        CHECK(reports[i].sentinel->writes() == 0);  // Sentinel's own file already says it
    }
    for (const auto& u : units) {
        const std::string plan = service_command(u);
        INFO(u.ip << ": " << plan);
        if (u.ip == promoted) CHECK_FALSE(has(plan, "--replicaof"));
        else CHECK(has(plan, "--replicaof " + promoted + " " + std::to_string(port)));
    }
    // The old master is back, as a replica of the new one.
    CHECK(eventually([&] {
        const auto out = redis_cli(units[0], {"INFO", "replication"}).out;
        return has(out, "role:slave") && has(out, "master_host:" + promoted) && has(out, "master_link_status:up");
    }, 30s));
    // A key written to the new master is read on every replica.
    const auto& master = units[promoted == "127.0.0.2" ? 1 : 2];
    CHECK(redis_cli(master, {"SET", "after", "failover"}).out == "OK\n");
    for (const auto& u : units) {
        if (u.ip == promoted) continue;
        INFO("replica " << u.ip);
        CHECK(eventually([&] { return redis_cli(u, {"GET", "after"}).out == "failover\n"; }, 20s));
        CHECK(redis_cli(u, {"GET", "before"}).out == "failover\n");
    }
    // 5. Converged: nothing more to do anywhere.
    const auto last = reconcile_all(units);
    for (const auto& r : last) {
        INFO(describe(r));
        CHECK(r.status == unit_status::active);
        CHECK(r.writes() == 0);
        CHECK(r.restarts() == 0);
    }
    reports.insert(reports.end(), last.begin(), last.end());
    check_no_password_anywhere(units, reports);
}

} // namespace

TEST_CASE("Three units fail over with Sentinel and reconcile to the new master", "[sentinel][failover][redis]") {
    if (!redis_installed()) {
        WARN("redis-server is not installed: the failover test is skipped");
        return;
    }
    {
        INFO("on the test server");
        scenario(false);
    }
    if (test::pebble_bin()) {
        INFO("on real Pebble");
        scenario(true);
    } else {
        WARN("PEBBLE_BIN not set: the failover ran on the test server only");
    }
}

TEST_CASE("The CLI plan shows both layers and apply reconciles both containers", "[sentinel][cli]") {
    temp_dir dir;
    const auto config = dir.write("config.yaml", "sentinel: true\n");
    const auto peer = dir.write("peer.yaml", "admin-password: " + admin_pw + "\nsentinel-password: '" + sentinel_pw +
                                                 "'\ncurrent-master: 127.0.0.1\nhostname: 127.0.0.2\nplanned-units: 3\n");
    const std::string cli = REDISPEBBLE_CLI;
    auto plan = test::run_command({cli, "plan", "--config", config, "--peer", peer});
    INFO(plan.out << plan.err);
    CHECK(plan.exit_code == 0);
    CHECK(has(plan.out, "Layer \"redis\""));
    CHECK(has(plan.out, "Layer \"sentinel\" in container sentinel"));
    CHECK(has(plan.out, "redis-server /etc/redis-server/sentinel.conf --sentinel"));
    CHECK(has(plan.out, "sentinel monitor redis-k8s 127.0.0.1 6379 2"));
    CHECK(has(plan.out, "sentinel auth-pass redis-k8s <redacted>"));
    CHECK_FALSE(has(plan.out, admin_pw));
    CHECK_FALSE(has(plan.out, "7c2f"));
    auto json = test::run_command({cli, "plan", "--config", config, "--peer", peer, "--format", "json"});
    CHECK(has(json.out, "\"sentinel-layer\":{"));
    CHECK_FALSE(has(json.out, admin_pw));

    // apply --dry-run against two Pebbles (simulated services: nothing is written anyway).
    testing::server_options o;
    o.run_processes = false;
    auto redis = testing::pebble_server::start(o);
    auto sentinel = testing::pebble_server::start(o);
    auto apply = test::run_command({cli, "apply", "--dry-run", "--socket", redis->socket_path(), "--sentinel-socket",
                                    sentinel->socket_path(), "--config", config, "--peer", peer});
    INFO(apply.out << apply.err);
    CHECK(apply.exit_code == 0);
    CHECK(has(apply.out, "Master: 127.0.0.1 (from peer data)"));
    CHECK(has(apply.out, "## Container sentinel (Sentinel)"));
    CHECK(has(apply.out, "## Container redis (Redis)"));
    CHECK(has(apply.out, "sentinel.conf: sentinel monitor redis-k8s"));
    CHECK_FALSE(has(apply.out, admin_pw));
    CHECK_FALSE(has(apply.out, "7c2f"));
    CHECK(sentinel->record().restarts.empty());
    auto missing = test::run_command({cli, "apply", "--sentinel-socket", "", "--config", config, "--peer", peer});
    CHECK(missing.exit_code == 2);
}
