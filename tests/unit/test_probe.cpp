#include <redispebble/probe.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace redispebble;
using namespace std::chrono_literals;

namespace {

// Real redis-cli outputs (tests/fixtures/redis-cli/README.md says how each was made).
std::string captured(const std::string& name) {
    std::ifstream in(std::string(REDISPEBBLE_SOURCE_DIR) + "/tests/fixtures/redis-cli/" + name, std::ios::binary);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

redis_config config() {
    redis_config c;
    c.port = 6379;
    return c;
}

peer_data master_peer() { return {secret("pw"), "redis-0", "redis-0"}; }
peer_data replica_peer() { return {secret("pw"), "10.0.0.1", "redis-1"}; }

bool has(const std::string& s, const std::string& n) { return s.find(n) != std::string::npos; }

} // namespace

TEST_CASE("The probe command carries no password and reaches the wildcard bind on loopback", "[probe]") {
    auto c = config();
    c.bind_address = "0.0.0.0";
    CHECK(probe_command(c) == std::vector<std::string>{"redis-cli", "-h", "127.0.0.1", "-p", "6379"});
    c.bind_address = "::";
    CHECK(probe_command(c)[2] == "::1");
    c.bind_address = "10.1.2.3";
    c.enable_tls = true;
    c.storage_path = "/data";
    // tls-auth-clients optional (the default): no client certificate, which Redis would verify.
    CHECK(probe_command(c) == std::vector<std::string>{"redis-cli", "-h", "10.1.2.3", "-p", "6379", "--tls", "--cacert",
                                                       "/data/ca.crt"});
    c.tls_auth_clients = tls_client_auth::no;
    CHECK(probe_command(c).size() == 8);
    c.tls_auth_clients = tls_client_auth::yes;  // Redis asks for one: the unit's certificate
    CHECK(probe_command(c) == std::vector<std::string>{"redis-cli", "-h", "10.1.2.3", "-p", "6379", "--tls", "--cacert",
                                                       "/data/ca.crt", "--cert", "/data/redis.crt", "--key",
                                                       "/data/redis.key"});
}

TEST_CASE("The probe input quotes every byte of the password that is not a letter or digit", "[probe]") {
    CHECK(probe_input(secret("pw")).reveal() == "AUTH \"pw\"\nPING\nINFO replication\nINFO server\n");
    CHECK(probe_input(secret("a b\"c\\d\n")).reveal().rfind("AUTH \"a\\x20b\\x22c\\x5cd\\x0a\"\n", 0) == 0);
}

TEST_CASE("Without a password the probe sends no AUTH and a Redis that wants one is refused", "[probe][no-password]") {
    CHECK(probe_input(secret()).reveal() == "PING\nINFO replication\nINFO server\n");
    peer_data open = master_peer();
    open.enable_password = false;
    auto p = parse_probe(captured("master-nopassword.txt"), /*auth_sent=*/false);
    CHECK(p.connected);
    CHECK(p.authenticated);
    CHECK(p.pong);
    CHECK(p.role == "master");
    CHECK(assess_probe(p, config(), open, 60s).what == probe_verdict::kind::healthy);
    // The same output read as if AUTH had been sent: PONG is not AUTH's OK.
    CHECK_FALSE(parse_probe(captured("master-nopassword.txt")).authenticated);
    auto wants = parse_probe(captured("nopassword-noauth.txt"), false);
    CHECK(wants.connected);
    CHECK_FALSE(wants.authenticated);
    CHECK_FALSE(wants.pong);
    auto v = assess_probe(wants, config(), open, 60s);
    CHECK(v.what == probe_verdict::kind::refused);
    CHECK(v.message == "Redis wants a password but peer data has enable-password false: NOAUTH Authentication required.");
}

TEST_CASE("A healthy master answers OK PONG and role master", "[probe]") {
    auto p = parse_probe(captured("master.txt"));
    CHECK(p.connected);
    CHECK(p.authenticated);
    CHECK(p.pong);
    CHECK(p.role == "master");
    CHECK(p.error.empty());
    CHECK(p.uptime_seconds);
    CHECK(assess_probe(p, config(), master_peer(), 60s).what == probe_verdict::kind::healthy);
}

TEST_CASE("A replica in sync is healthy", "[probe]") {
    auto p = parse_probe(captured("replica-up.txt"));
    CHECK(p.role == "slave");
    CHECK(p.master_link_status == "up");
    CHECK(p.master_host == "127.0.0.1");
    CHECK(p.master_port == "16490");
    CHECK(assess_probe(p, config(), replica_peer(), 60s).what == probe_verdict::kind::healthy);
}

TEST_CASE("A replica whose link never came up is down for its uptime and Waiting then Blocked past the bound", "[probe]") {
    auto p = parse_probe(captured("replica-wrongauth.txt"));
    CHECK(p.master_link_status == "down");
    REQUIRE(p.link_down_since_seconds);
    CHECK(*p.link_down_since_seconds == -1);
    REQUIRE(p.uptime_seconds);
    CHECK(link_down_seconds(p) == p.uptime_seconds);
    auto v = assess_probe(p, config(), replica_peer(), 60s);
    CHECK(v.what == probe_verdict::kind::starting);
    CHECK(v.message == "Replica of 127.0.0.1:16490: link to the master is down (3 s)");
    v = assess_probe(p, config(), replica_peer(), 3s);
    CHECK(v.what == probe_verdict::kind::link_failed);
    CHECK(has(v.message, "Replica of 127.0.0.1:16490 cannot sync with its master"));
}

TEST_CASE("A replica whose master went away counts from Redis's own link-down time", "[probe]") {
    auto p = parse_probe(captured("replica-masterdown.txt"));
    REQUIRE(p.link_down_since_seconds);
    CHECK(*p.link_down_since_seconds == 3);
    CHECK(link_down_seconds(p) == 3);
    CHECK(p.uptime_seconds != p.link_down_since_seconds);
}

TEST_CASE("A wrong admin password is refused with Redis's words", "[probe]") {
    auto p = parse_probe(captured("wrongpass.txt"));
    CHECK(p.connected);
    CHECK_FALSE(p.authenticated);
    CHECK_FALSE(p.pong);
    CHECK(p.role.empty());
    auto v = assess_probe(p, config(), master_peer(), 60s);
    CHECK(v.what == probe_verdict::kind::refused);
    CHECK(v.message == "Redis refused the admin password: WRONGPASS invalid username-password pair or user is disabled.");
}

TEST_CASE("Nothing listening is not answering with redis-cli's words", "[probe]") {
    auto p = parse_probe(captured("refused.txt"));
    CHECK_FALSE(p.connected);
    auto v = assess_probe(p, config(), master_peer(), 60s);
    CHECK(v.what == probe_verdict::kind::starting);
    CHECK(v.message ==
          "Redis is not answering on 127.0.0.1:6379: Could not connect to Redis at 127.0.0.1:16499: Connection refused");
}

TEST_CASE("Loading and a role other than the peer data's are Waiting", "[probe]") {
    auto p = parse_probe("OK\nLOADING Redis is loading the dataset in memory\n\n");
    auto v = assess_probe(p, config(), master_peer(), 60s);
    CHECK(v.what == probe_verdict::kind::starting);
    CHECK(v.message == "Redis is not ready: LOADING Redis is loading the dataset in memory");
    auto m = parse_probe(captured("master.txt"));
    v = assess_probe(m, config(), replica_peer(), 60s);
    CHECK(v.what == probe_verdict::kind::starting);
    CHECK(v.message == "Redis reports role master, expected slave");
}

TEST_CASE("Empty or garbled output is never healthy", "[probe]") {
    for (const std::string out : {"", "\n\n", "garbage\n", "OK\n", "# Replication\r\nrole:master\r\n"}) {
        INFO(out);
        CHECK(assess_probe(parse_probe(out), config(), master_peer(), 60s).what != probe_verdict::kind::healthy);
    }
}

TEST_CASE("The replication lines of Redis's log are picked for the reason", "[probe]") {
    std::vector<std::string> log{"* Ready to accept connections",
                                 "* Connecting to MASTER 127.0.0.1:16490",
                                 "* MASTER <-> REPLICA sync started",
                                 "* Master replied to PING, replication can continue...",
                                 "# Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair or user is disabled.",
                                 "* something else"};
    CHECK(replication_log_lines(log, 2) == std::vector<std::string>{log[4]});
    log.pop_back();
    log.erase(log.begin() + 4);
    CHECK(replication_log_lines(log, 2) == std::vector<std::string>{log[2], log[3]});
    CHECK(replication_log_lines({"a", "b", "c", "d"}, 2) == std::vector<std::string>{"c", "d"});
}
