// Issue 12: Redis Sentinel as redis-k8s runs it, proven by a real failover. Three units on
// 127.0.0.1, .2 and .3, each with its `redis` and `sentinel` containers under their own Pebble (the
// test server running real processes; and real Pebble v1.26 with PEBBLE_BIN), real redis-server
// and redis-server --sentinel. Over 600 lines: the scenarios share the three-unit fixture and its
// helpers (free ports on three addresses, both Pebbles, the password sweep), which live here alone.
#include <redispebble/unit_reconciler.hpp>
#include <redispebble/testing/process.hpp>
#include <redispebble/testing/server.hpp>

#include "support/command_json.hpp"
#include "support/pebble_daemon.hpp"
#include "support/processes.hpp"
#include "support/reconcile_run.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/sentinel_inputs.hpp"
#include "support/unix_http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::any_path;
using redispebble::test::check_members;
using redispebble::test::eventually;
using redispebble::test::has;
using redispebble::test::json_of;
using redispebble::test::string_at;
using redispebble::test::temp_dir;
using redispebble::test::unix_http;

namespace {

const std::string admin_pw = "admin-Pw-9b1e";
// Its marker, looked for in everything a reader could see, is not hexadecimal: "7c2f" was, and
// turned up by chance in Redis's and Sentinel's 40-hex-digit run ids in the logs (a failed CHECK
// on a correct run, once under load).
const std::string sentinel_pw_marker = "Qz7wK";
const std::string sentinel_pw = "sentinel Pw \"" + sentinel_pw_marker + "\"";

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

// Redis and Sentinel run as user redis: they must reach their directories under the test's own.
void open_to_services(const std::string& path) {
    using p = std::filesystem::perms;
    std::filesystem::permissions(path, p::owner_all | p::group_read | p::group_exec | p::others_read | p::others_exec);
}

using pebble_instance = test::pebble_under_test;
using test::start_pebble;

struct unit_under_test {
    std::string ip;
    desired_state desired;
    pebble_instance redis, sentinel;
};

desired_state unit_inputs(const std::string& root, const std::string& ip, int port, int sport) {
    desired_state d = test::sentinel_inputs("127.0.0.1", ip, admin_pw, sentinel_pw);
    d.config.storage_path = root + "/" + ip + "/storage";
    d.config.port = static_cast<std::uint16_t>(port);
    d.config.bind_address = ip;
    d.config.health_checks = false;  // we stop the master ourselves: no on-check-failure restart
    d.config.sentinel_port = static_cast<std::uint16_t>(sport);
    d.config.sentinel_config_path = root + "/" + ip + "/sentinel/sentinel.conf";
    // redis-k8s's down-after (5 s): shorter, a master restarting under Pebble (Redis 7 waits for
    // lagging replicas on SIGTERM) was taken for down and failed over a second time.
    d.config.sentinel_down_after_milliseconds = 5000;
    d.config.sentinel_failover_timeout = 10000;
    return d;
}

// One unit on 127.0.0.1 with planned-units 1: a scratch root Redis and Sentinel can reach, two
// free ports and its inputs; its Pebbles are the scenario's to start.
struct lone_unit {
    temp_dir root;
    int port = 0, sport = 0;
    unit_under_test u;
    lone_unit() {
        open_to_services(root.path);
        port = free_port();
        sport = free_port(port);
        u.ip = "127.0.0.1";
        u.desired = unit_inputs(root.path, u.ip, port, sport);
        u.desired.peer.planned_units = 1;
    }
};

// The three units on 127.0.0.1, .2 and .3, each with its two Pebbles; `adjust` changes the inputs.
std::vector<unit_under_test> three_units(const std::string& root, int port, int sport, bool real,
                                         const std::function<void(desired_state&)>& adjust = {}) {
    std::vector<unit_under_test> units;
    for (const std::string ip : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
        unit_under_test u;
        u.ip = ip;
        u.desired = unit_inputs(root, ip, port, sport);
        if (adjust) adjust(u.desired);
        u.redis = start_pebble(real);
        u.sentinel = start_pebble(real);
        units.push_back(std::move(u));
    }
    return units;
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
    test::each_process([&](int, const std::string& argv) {
        if (has(argv, "redis-server") || has(argv, "redis-cli")) seen += argv + "\n";
    });
    for (const auto& r : reports) seen += describe(r) + (r.peer_data_update.value_or(""));
    CHECK_FALSE(has(seen, admin_pw));
    CHECK_FALSE(has(seen, sentinel_pw_marker));
    CHECK(has(seen, "--sentinel"));  // the processes were looked at
}

void scenario(bool real) {
    temp_dir root;
    open_to_services(root.path);
    const int port = free_port(), sport = free_port(port);
    std::vector<unit_under_test> units = three_units(root.path, port, sport, real);

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

// Issue 12: Sentinel with TLS, by real processes. Three units whose Redis and Sentinel serve TLS
// only (port 0); certificates made by openssl in the test. Sentinel answers over TLS, monitors the
// TLS master (its links to Redis and to the other Sentinels use TLS: tls-replication yes) and sees
// it up; the reconciler's own question to Sentinel (redis-cli --tls through Pebble's exec) is
// answered.
void tls_scenario(bool real) {
    temp_dir root;
    open_to_services(root.path);
    std::filesystem::create_directories(root.path + "/certs");
    const auto certs = test::make_test_certificates(root.path + "/certs");
    const int port = free_port(), sport = free_port(port);
    std::vector<unit_under_test> units = three_units(root.path, port, sport, real, [&](desired_state& d) {
        d.config.enable_tls = true;
        d.resources = certs.resources;
    });
    auto tls_sentinel = [&](const unit_under_test& u, const std::vector<std::string>& args) {
        return test::redis_cli(u.ip, sport, sentinel_pw, args, certs.dir);
    };
    auto reports = reconcile_all(units);
    for (const auto& r : reports) {
        INFO(describe(r));
        CHECK(r.status == unit_status::active);
    }
    CHECK(eventually([&] {
        return has(test::redis_cli("127.0.0.1", port, admin_pw, {"INFO", "replication"}, certs.dir).out,
                   "connected_slaves:2");
    }, 30s));
    const std::string master_addr = "127.0.0.1\n" + std::to_string(port) + "\n";
    for (const auto& u : units) {
        INFO("sentinel of " << u.ip);
        // Sentinel answers over TLS with the master it monitors.
        CHECK(tls_sentinel(u, {"SENTINEL", "get-master-addr-by-name", "redis-k8s"}).out == master_addr);
        // It reached the TLS master (flags master alone: no s_down, no disconnected), its replicas
        // and the other Sentinels, all over TLS.
        std::string out;
        CHECK(eventually([&] {
            out = tls_sentinel(u, {"SENTINEL", "MASTER", "redis-k8s"}).out;
            return has(out, "flags\nmaster\n") && has(out, "num-other-sentinels\n2\n") && has(out, "num-slaves\n2\n");
        }, 40s));
        INFO(out);
        CHECK(has(out, "flags\nmaster\n"));
        // No plain-text listener: the same question without TLS gets no answer.
        CHECK_FALSE(has(test::redis_cli(u.ip, sport, sentinel_pw, {"SENTINEL", "get-master-addr-by-name", "redis-k8s"}).out,
                        master_addr));
    }
    // The reconciler asked Sentinel over TLS through Pebble's exec; nothing more to do.
    reports = reconcile_all(units);
    for (const auto& r : reports) {
        INFO(describe(r));
        CHECK(r.status == unit_status::active);
        CHECK(r.master.source == "sentinel");
        CHECK(r.sentinel->redis_state == "sentinel master 127.0.0.1:" + std::to_string(port));
        CHECK(r.writes() == 0);
        CHECK(r.restarts() == 0);
    }
    check_no_password_anywhere(units, reports);
}

// The pid of the redis-server serving `port` (Redis sets its title to "redis-server HOST:PORT",
// with " [sentinel]" for Sentinel) that is running (not a zombie); 0 when none.
int server_pid(int port, bool sentinel) {
    int found = 0;
    test::each_process([&](int pid, const std::string& argv) {
        if (!found && argv.rfind("redis-server", 0) == 0 && has(argv, ":" + std::to_string(port)) &&
            has(argv, "[sentinel]") == sentinel)
            found = pid;
    });
    return found;
}
int sentinel_pid(int port) { return server_pid(port, true); }
int redis_pid(int port) { return server_pid(port, false); }

// Issue 12: a sentinel.conf line Sentinel would refuse is no longer pushed (F5), and a Sentinel
// that cannot start reports its own words, never a password: a port already taken makes it exit
// at once; with nothing to change Pebble restarts it in vain, and that second failure is what
// makes it Blocked "keeps failing" (F4).
void refused_file_scenario(bool real) {
    lone_unit lone;
    const temp_dir& root = lone.root;
    const int port = lone.port, sport = lone.sport;
    unit_under_test& u = lone.u;
    u.sentinel = start_pebble(real);
    std::filesystem::create_directories(root.path + "/127.0.0.1/sentinel");
    {
        std::ofstream f(u.desired.config.sentinel_config_path);
        f << "sentinel myid 0123456789abcdef0123456789abcdef01234567\nloglevel verbose\nfrobnicate-directive yes\n";
    }
    pebble::client_options o;
    o.socket_path = u.sentinel.socket;
    pebble::client c(o);
    // The hand-added lines: the one Sentinel refuses is dropped (pushing it restarted Sentinel into
    // FATAL CONFIG FILE ERROR before), the other kept; both are warned about.
    const reconcile_report r = reconcile_sentinel(c, u.desired, options());
    INFO(r.message);
    CHECK(r.status == unit_status::active);
    CHECK(r.redis_state == "sentinel master 127.0.0.1:" + std::to_string(port));
    REQUIRE(r.decided.warnings.size() == 2);
    CHECK(has(r.decided.warnings[0], "line 2: loglevel is neither ours nor Sentinel's run-time state: kept"));
    CHECK(has(r.decided.warnings[1], "line 3: frobnicate-directive is a directive Sentinel refuses"));
    const std::string file = read_file(u.desired.config.sentinel_config_path);
    CHECK_FALSE(has(file, "frobnicate"));
    CHECK(has(file, "loglevel verbose"));

    // Moved to a port something else holds: the restart fails with Sentinel's own words.
    const int taken = free_port(sport);
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor squatter(io, {boost::asio::ip::make_address("127.0.0.1"),
                                                     static_cast<unsigned short>(taken)});
        u.desired.config.sentinel_port = static_cast<std::uint16_t>(taken);
        const reconcile_report refused = reconcile_sentinel(c, u.desired, options());
        INFO(refused.message);
        CHECK(refused.status == unit_status::blocked);
        CHECK(has(refused.message, "Service \"sentinel\" failed to start"));
        CHECK(has(refused.message, "Address already in use"));
        CHECK_FALSE(has(refused.message, admin_pw));
        CHECK_FALSE(has(refused.message, sentinel_pw_marker));
        // Again, nothing to change: Pebble restarts Sentinel in vain; seen failing again (or in a
        // backoff longer than its first), Blocked with its words.
        const reconcile_report again = reconcile_sentinel(c, u.desired, options());
        INFO(again.message);
        CHECK(again.status == unit_status::blocked);
        CHECK(has(again.message, "keeps failing (Pebble backoff"));
        CHECK(has(again.message, "Address already in use"));
        CHECK(again.writes() == 0);
        CHECK(again.restarts() == 0);
    }
    // The port free again: Pebble's next restart succeeds and Sentinel answers.
    reconcile_report fixed;
    CHECK(eventually([&] {
        fixed = reconcile_sentinel(c, u.desired, options());
        return fixed.status == unit_status::active;
    }, 90s));
    INFO(fixed.message);
    CHECK(fixed.redis_state == "sentinel master 127.0.0.1:" + std::to_string(port));
    // A Sentinel that hangs (stopped by SIGSTOP: the kernel still accepts connections) with nothing
    // to do: Waiting with the probe's words and its log lines, where Active was reported before.
    const int pid = sentinel_pid(taken);
    REQUIRE(pid > 0);
    ::kill(pid, SIGSTOP);
    reconcile_options quick = options();
    quick.probe.timeout = 1s;
    const reconcile_report hung = reconcile_sentinel(c, u.desired, quick);
    ::kill(pid, SIGCONT);
    INFO(hung.message);
    CHECK(hung.status == unit_status::waiting);
    CHECK(has(hung.message, "Sentinel did not answer within 1000 ms; its last log lines: "));
    CHECK(hung.writes() == 0);
    CHECK(hung.restarts() == 0);
}

// Issue 12, F4: one `kill -9` of Sentinel (and of Redis) followed at once by a reconcile was
// Blocked "keeps failing", with ordinary start-up lines; Waiting or Blocked depended on the
// instant. One crash that Pebble restarts is not a service that keeps failing: the reconcile
// watches Pebble's restart and reports what the restarted service answers.
void one_crash_scenario(bool real) {
    lone_unit lone;
    const int port = lone.port, sport = lone.sport;
    unit_under_test& u = lone.u;
    u.redis = start_pebble(real);
    u.sentinel = start_pebble(real);
    pebble::client_options ro, so;
    ro.socket_path = u.redis.socket;
    so.socket_path = u.sentinel.socket;
    pebble::client rc(ro), sc(so);
    const unit_report first = reconcile_unit(rc, &sc, u.desired, options());
    INFO(describe(first));
    REQUIRE(first.status == unit_status::active);
    const int spid = sentinel_pid(sport), rpid = redis_pid(port);
    REQUIRE(spid > 0);
    REQUIRE(rpid > 0);
    ::kill(spid, SIGKILL);
    ::kill(rpid, SIGKILL);
    const unit_report after = reconcile_unit(rc, &sc, u.desired, options());  // at once
    INFO(describe(after));
    CHECK(after.status == unit_status::active);
    CHECK(after.sentinel->status == unit_status::active);
    CHECK(after.redis.status == unit_status::active);
    CHECK(after.restarts() == 0);  // Pebble restarted them, not we
    CHECK(after.writes() == 0);
    CHECK(sentinel_pid(sport) > 0);
    CHECK(sentinel_pid(sport) != spid);
}

// Runs `scenario` on the test server, then on real Pebble when PEBBLE_BIN names it; skipped
// (a warning) without redis-server.
void on_both_pebbles(const std::string& what, const std::function<void(bool)>& scenario) {
    if (!redis_installed()) {
        WARN("redis-server is not installed: " << what << " is skipped");
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
        WARN("PEBBLE_BIN not set: " << what << " ran on the test server only");
    }
}

} // namespace

TEST_CASE("Three units fail over with Sentinel and reconcile to the new master", "[sentinel][failover][redis]") {
    on_both_pebbles("the failover test", scenario);
}

TEST_CASE("The CLI plan shows both layers and apply reconciles both containers", "[sentinel][cli]") {
    temp_dir dir;
    const auto config = dir.write("config.yaml", "sentinel: true\n");
    const auto peer = dir.write("peer.yaml", "admin-password: " + admin_pw + "\nsentinel-password: '" + sentinel_pw +
                                                 "'\ncurrent-master: 127.0.0.1\nhostname: 127.0.0.2\nplanned-units: 3\n");
    const std::string cli = REDISPEBBLE_CLI;
    test::check_output(test::run_command({cli, "plan", "--config", config, "--peer", peer}), 0,
                       {"Layer \"redis\"", "Layer \"sentinel\" in container sentinel",
                        "redis-server /etc/redis-server/sentinel.conf --sentinel",
                        "sentinel monitor redis-k8s 127.0.0.1 6379 2", "sentinel auth-pass redis-k8s <redacted>"},
                       {admin_pw, sentinel_pw_marker});
    test::check_output(test::run_command({cli, "plan", "--config", config, "--peer", peer, "--format", "json"}), 0,
                       {"\"sentinel-layer\":{"}, {admin_pw});

    // apply --dry-run against two Pebbles (simulated services: nothing is written anyway).
    testing::server_options o;
    o.run_processes = false;
    auto redis = testing::pebble_server::start(o);
    auto sentinel = testing::pebble_server::start(o);
    test::check_output(test::run_command({cli, "apply", "--dry-run", "--socket", redis->socket_path(),
                                          "--sentinel-socket", sentinel->socket_path(), "--config", config, "--peer", peer}),
                       0,
                       {"Master: 127.0.0.1 (from peer data)", "## Container sentinel (Sentinel)",
                        "## Container redis (Redis)", "sentinel.conf: sentinel monitor redis-k8s"},
                       {admin_pw, sentinel_pw_marker});
    CHECK(sentinel->record().restarts.empty());
    auto missing = test::run_command({cli, "apply", "--sentinel-socket", "", "--config", config, "--peer", peer});
    CHECK(missing.exit_code == 2);
}

TEST_CASE("Sentinel with TLS answers over TLS and monitors the TLS master on real processes", "[sentinel][tls][redis]") {
    on_both_pebbles("the Sentinel TLS test", tls_scenario);
}

TEST_CASE("A Sentinel that refuses its file is Blocked with its own words", "[sentinel][probe][redis]") {
    on_both_pebbles("the refused-file test", refused_file_scenario);
}

TEST_CASE("One kill -9 of Sentinel and Redis followed at once by a reconcile is Active not Blocked", "[sentinel][probe][redis][backoff]") {
    on_both_pebbles("the one-crash test", one_crash_scenario);
}

TEST_CASE("status and diff take --sentinel-socket and report both containers in text and JSON", "[sentinel][cli][redis]") {
    if (!redis_installed()) {
        WARN("redis-server is not installed: skipped");
        return;
    }
    temp_dir dir;
    open_to_services(dir.path);
    const int port = free_port(), sport = free_port(port);
    const std::string root = dir.path;
    auto config_text = [&](int down_after) {
        return "sentinel: true\nstorage-path: " + root + "/storage\nbind-address: 127.0.0.1\nport: " +
               std::to_string(port) + "\nsentinel-port: " + std::to_string(sport) + "\nsentinel-config-path: " + root +
               "/sentinel/sentinel.conf\nsentinel-down-after-milliseconds: " + std::to_string(down_after) +
               "\nhealth-checks: false\n";
    };
    const auto config = dir.write("config.yaml", config_text(5000));
    const auto peer = dir.write("peer.yaml", "admin-password: " + admin_pw + "\nsentinel-password: '" + sentinel_pw +
                                                 "'\ncurrent-master: 127.0.0.1\nhostname: 127.0.0.1\nplanned-units: 1\n");
    testing::server_options so;
    so.start_window = 300ms;
    auto redis = testing::pebble_server::start(so);
    auto sentinel = testing::pebble_server::start(so);
    const std::string cli = REDISPEBBLE_CLI;
    auto cmd = [&](const char* command, std::vector<std::string> more = {}) {
        std::vector<std::string> argv{cli, command, "--socket", redis->socket_path(), "--sentinel-socket",
                                      sentinel->socket_path(), "--config", config, "--peer", peer, "--timeout", "60"};
        argv.insert(argv.end(), more.begin(), more.end());
        auto r = test::run_command(argv, {}, {}, std::chrono::seconds(90));
        INFO(command << ": " << r.out << r.err);
        CHECK_FALSE(has(r.out + r.err, admin_pw));
        CHECK_FALSE(has(r.out + r.err, sentinel_pw_marker));
        return r;
    };

    // Before anything: both containers differ.
    auto before = cmd("diff", {"--format", "json"});
    CHECK(before.exit_code == 5);
    auto d = json_of(before);
    check_members(d, {{"command", "diff"}, {"compared", true}, {"in-sync", false}, {"redis-in-sync", false},
                      {"sentinel-socket", sentinel->socket_path()}, {"master", "127.0.0.1"}, {"master-source", "peer data"}});
    const auto& ds = d.at("sentinel").as_object();
    check_members(ds, {{"compared", true}, {"in-sync", false}});
    CHECK(any_path(ds.at("differences"), "sentinel.conf: sentinel monitor redis-k8s"));
    CHECK(any_path(ds.at("differences"), "services.sentinel"));
    CHECK(any_path(ds.at("push"), root + "/sentinel/sentinel.conf"));
    CHECK(sentinel->record().layers_added == 0);

    auto applied = cmd("apply", {"--format", "json"});
    CHECK(applied.exit_code == 0);
    CHECK(string_at(json_of(applied), "status") == "active");

    // Both in sync; Sentinel answers and names the master; both Pebbles and their services.
    auto status = cmd("status", {"--format", "json"});
    CHECK(status.exit_code == 0);
    auto s = json_of(status);
    check_members(s, {{"command", "status"}, {"status", "active"}, {"in-sync", true}, {"redis-in-sync", true},
                      {"master", "127.0.0.1"}, {"master-source", "sentinel"}, {"peer-data-update", nullptr},
                      {"redis-state", "role master"}});
    const auto& ss = s.at("sentinel").as_object();
    check_members(ss, {{"status", "active"}, {"in-sync", true},
                       {"redis-state", "sentinel master 127.0.0.1:" + std::to_string(port)}});
    CHECK_FALSE(string_at(ss, "pebble-version").empty());
    REQUIRE(ss.at("services").as_array().size() == 1);
    check_members(ss.at("services").as_array()[0].as_object(), {{"name", "sentinel"}, {"current", "active"}});
    CHECK(s.at("services").as_array().size() == 1);
    auto text = cmd("status");
    CHECK(text.exit_code == 0);
    CHECK(has(text.out, "Master: 127.0.0.1 (from sentinel)"));
    CHECK(has(text.out, "## Container sentinel (Sentinel)"));
    CHECK(has(text.out, "Sentinel: sentinel master 127.0.0.1:" + std::to_string(port)));
    CHECK(has(text.out, "Service sentinel: active"));
    CHECK(has(text.out, "## Container redis (Redis)"));
    CHECK(has(text.out, "Unit status: active"));
    auto synced = cmd("diff", {"--format", "json"});
    CHECK(synced.exit_code == 0);
    CHECK(json_of(synced).at("in-sync").as_bool());

    // A Sentinel input changes: diff names Sentinel's directive, Redis stays in sync.
    dir.write("config.yaml", config_text(6000));
    auto changed = cmd("diff", {"--format", "json"});
    CHECK(changed.exit_code == 5);
    auto c = json_of(changed);
    CHECK(c.at("redis-in-sync").as_bool());
    CHECK_FALSE(c.at("sentinel").as_object().at("in-sync").as_bool());
    CHECK(any_path(c.at("sentinel").as_object().at("differences"), "sentinel.conf: sentinel down-after-milliseconds redis-k8s"));
    auto changed_text = cmd("diff");
    CHECK(changed_text.exit_code == 5);
    CHECK(has(changed_text.out, "sentinel.conf: sentinel down-after-milliseconds redis-k8s"));
    CHECK(sentinel->record().restarts.at("sentinel") == 1);  // apply's alone: diff and status changed nothing
}

// Found from outside (issue 12): with sentinel: true, an admin password Sentinel refuses (a blank
// in it) left the Sentinel container Blocked but still pushed Redis's secrets file with the new
// password and restarted Redis, so Redis took the new password and Sentinel could no longer log
// in to it. Now the unit is Blocked and neither Pebble gets a single write, in both forms.
TEST_CASE("Inputs the Sentinel container refuses leave both containers untouched", "[sentinel][unit]") {
    testing::server_options o;
    o.run_processes = false;
    testing::pebble_server redis_server(o), sentinel_server(o);
    temp_dir root;
    desired_state d = unit_inputs(root.path, "127.0.0.1", testing::free_tcp_port(), testing::free_tcp_port());
    d.peer.admin_password = secret("adm secret");
    pebble::client_options ro, so;
    ro.socket_path = redis_server.socket_path();
    so.socket_path = sentinel_server.socket_path();
    auto untouched = [&](const unit_report& u) {
        CHECK(u.status == unit_status::blocked);
        CHECK_FALSE(u.retry_later);
        CHECK(has(u.message, "admin-password"));
        CHECK_FALSE(has(u.message, "adm secret"));
        CHECK(u.writes() == 0);
        CHECK(u.restarts() == 0);
        CHECK(redis_server.record().layers_added == 0);
        CHECK(redis_server.record().files_written == 0);
        CHECK(sentinel_server.record().layers_added == 0);
        CHECK(sentinel_server.record().files_written == 0);
    };
    reconcile_options opts;
    opts.probe.enabled = false;
    test::reconcile_unit_both_forms(ro, so, d, opts, untouched);
    // The same inputs with an admin password Sentinel can keep are applied to both containers.
    d.peer.admin_password = secret("adm-secret");
    pebble::client rc2(ro), sc2(so);
    const unit_report applied = reconcile_unit(rc2, &sc2, d, opts);
    CHECK(applied.writes() > 0);
    CHECK(redis_server.record().layers_added == 1);
    CHECK(sentinel_server.record().layers_added == 1);
}
