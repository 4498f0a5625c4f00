// The companions of issue 11 in the pure core: options, flags, checks, exporter, no-password mode.
#include <redispebble/redis.hpp>

#include <redispebble/config.hpp>
#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/reconcile.hpp>  // the deprecated name of decide.hpp: it must keep compiling
#include <redispebble/shlex.hpp>

#include "support/input_errors.hpp"

#include <catch2/catch.hpp>

using namespace redispebble;

namespace {
peer_data peer(std::string password) { return {secret(std::move(password)), "redis-0", "redis-0"}; }
bool has(const std::string& s, const std::string& n) { return s.find(n) != std::string::npos; }
} // namespace

TEST_CASE("The companion options load with their defaults and round-trip", "[companions][config]") {
    const redis_config d = load_config("{}\n");
    CHECK(d.appendonly);
    CHECK(d.logfile.empty());
    CHECK(d.health_checks);
    CHECK(d.check_period == "10s");
    CHECK(d.check_timeout == "3s");
    CHECK(d.check_threshold == 3);
    CHECK(d.on_check_failure == "restart");
    CHECK_FALSE(d.metrics);
    CHECK(d.metrics_port == 9121);
    const redis_config c = load_config("appendonly: false\nlogfile: /var/log/redis.log\nhealth-checks: false\n"
                                       "check-period: 1m\ncheck-timeout: 5s\ncheck-threshold: 7\n"
                                       "on-check-failure: off\nmetrics: true\nmetrics-port: 9200\n");
    CHECK(load_config(to_yaml(c)) == c);
    CHECK(load_config(to_yaml(d)) == d);
}

TEST_CASE("Bad companion options are errors naming the key", "[companions][config]") {
    // Each input with the key its error names ("check-timeout: 10s": not below the 10s period).
    const std::pair<std::string, std::string> bad[] = {
        {"logfile: relative.log\n", "logfile"}, {"check-period: soon\n", "check-period"},
        {"check-timeout: 10s\n", "check-timeout"}, {"check-threshold: 0\n", "check-threshold"},
        {"check-threshold: 101\n", "check-threshold"}, {"on-check-failure: reboot\n", "on-check-failure"},
        {"metrics: yes\n", "metrics"}, {"metrics: true\nmetrics-port: 6379\n", "metrics-port"},
        {"appendonly: 1\n", "appendonly"}};
    for (const auto& input : bad)
        CHECK(test::input_error_of([&] { return load_config(input.first); }, input.first).key() == input.second);
    CHECK(load_peer_data("enable-password: false\ncurrent-master: m\nhostname: m\n").complete());
    CHECK_THROWS_AS(load_peer_data("enable-password: no\n"), input_error);
}

TEST_CASE("The layer has alive and ready checks and on-check-failure and no password anywhere", "[companions][layer]") {
    redis_config cfg;
    const layer l = make_layer(cfg, peer("pa$$ 'word"));
    const std::string yaml = to_yaml(l);
    CHECK_FALSE(has(yaml, "pa$$"));
    const check& alive = l.checks.at("redis-alive");
    CHECK(alive.level == "alive");
    CHECK(alive.tcp->port == 6379);
    CHECK(alive.tcp->host == "127.0.0.1");
    const check& ready = l.checks.at("redis-ready");
    CHECK(ready.level == "ready");
    CHECK(ready.exec->service_context == "redis");
    CHECK(*ready.exec->command ==
          "/bin/sh -c 'exec redis-cli -e -h 127.0.0.1 -p 6379 -x AUTH < /var/lib/redis/redispebble-client-auth'");
    CHECK(l.services.at("redis").on_check_failure ==
          std::map<std::string, std::string>{{"redis-alive", "restart"}, {"redis-ready", "restart"}});
    validate_layer(l, "redis");
    validate_plan(combine({l}));
    const auto files = companion_files(cfg, peer("pa$$ 'word"));
    REQUIRE(files.size() == 1);
    CHECK(files[0].path == "/var/lib/redis/redispebble-client-auth");
    CHECK(files[0].content.reveal() == "pa$$ 'word");
    CHECK(files[0].permissions == "600");

    cfg.on_check_failure = "off";
    CHECK(make_layer(cfg, peer("p")).services.at("redis").on_check_failure.empty());
    cfg.health_checks = false;
    CHECK(make_layer(cfg, peer("p")).checks.empty());
    CHECK(companion_files(cfg, peer("p")).empty());
}

TEST_CASE("The exporter has its own check without a level and on-check-failure restarts it", "[companions][layer][metrics]") {
    redis_config cfg;
    cfg.metrics = true;
    cfg.metrics_port = 9200;
    cfg.check_period = "7s";
    const layer l = make_layer(cfg, peer("p"));
    const check& c = l.checks.at("redis-exporter-alive");
    CHECK_FALSE(c.level);  // never part of the container's alive or ready health
    CHECK(c.http->url == "http://127.0.0.1:9200/health");
    CHECK(c.period == "7s");
    CHECK(l.services.at("redis-exporter").on_check_failure ==
          std::map<std::string, std::string>{{"redis-exporter-alive", "restart"}});
    // Redis's own on-check-failure does not name the exporter's check.
    CHECK(l.services.at("redis").on_check_failure.count("redis-exporter-alive") == 0);
    validate_plan(combine({l}));
    cfg.bind_address = "::";
    CHECK(make_layer(cfg, peer("p")).checks.at("redis-exporter-alive").http->url == "http://[::1]:9200/health");
    cfg.on_check_failure = "ignore";
    CHECK(make_layer(cfg, peer("p")).services.at("redis-exporter").on_check_failure.at("redis-exporter-alive") == "ignore");
    cfg.on_check_failure = "off";
    CHECK(make_layer(cfg, peer("p")).services.at("redis-exporter").on_check_failure.empty());
    cfg.health_checks = false;
    CHECK(make_layer(cfg, peer("p")).checks.empty());
    cfg.health_checks = true;
    cfg.metrics = false;
    CHECK(make_layer(cfg, peer("p")).checks.count("redis-exporter-alive") == 0);
}

TEST_CASE("TLS puts the client certificate into the ready check and the exporter only when Redis asks for one", "[companions][layer]") {
    redis_config cfg;
    cfg.enable_tls = true;
    cfg.metrics = true;
    cfg.storage_path = "/data";
    {
        // optional (the default) and no: the CA only; under optional Redis would verify a presented
        // certificate and refuse one made for server use only.
        for (auto a : {tls_client_auth::optional, tls_client_auth::no}) {
            cfg.tls_auth_clients = a;
            const layer o = make_layer(cfg, peer("p"));
            CHECK(has(*o.checks.at("redis-ready").exec->command, "--tls --cacert /data/ca.crt -x AUTH"));
            CHECK_FALSE(has(*o.services.at("redis-exporter").command, "redis.crt"));
            CHECK(has(*o.services.at("redis-exporter").command, "-tls-ca-cert-file /data/ca.crt"));
        }
    }
    cfg.tls_auth_clients = tls_client_auth::yes;
    const layer l = make_layer(cfg, peer("p"));
    CHECK(has(*l.checks.at("redis-ready").exec->command, "--tls --cacert /data/ca.crt --cert /data/redis.crt --key /data/redis.key"));
    const service& x = l.services.at("redis-exporter");
    const auto argv = parse_service_command(*x.command).base;
    CHECK(argv == std::vector<std::string>{"prometheus-redis-exporter", "-redis.addr", "rediss://127.0.0.1:6379",
                                           "-web.listen-address", "0.0.0.0:9121", "-redis.password-file",
                                           "/data/redispebble-exporter-passwords.json", "-tls-ca-cert-file",
                                           "/data/ca.crt", "-tls-client-cert-file", "/data/redis.crt",
                                           "-tls-client-key-file", "/data/redis.key"});
    CHECK(x.after == std::vector<std::string>{"redis"});
    CHECK(x.environment.at("REDISPEBBLE_SECRETS_DIGEST") == l.services.at("redis").environment.at("REDISPEBBLE_SECRETS_DIGEST"));
    const auto files = companion_files(cfg, peer("q\"uo\\te"));
    REQUIRE(files.size() == 2);
    CHECK(files[1].content.reveal() == "{\"rediss://127.0.0.1:6379\": \"q\\\"uo\\\\te\"}\n");
}

TEST_CASE("A password change restarts the exporter with Redis in one decision", "[companions][reconcile]") {
    desired_state des;
    des.config.metrics = true;
    des.peer = peer("first");
    observed_state seen;
    seen.pebble_reachable = true;
    seen.plan = combine({make_layer(des.config, des.peer)});
    seen.service_current = "active";
    des.peer.admin_password = secret("second");
    const decision d = decide(seen, des);
    CHECK(d.restart == std::vector<std::string>{"redis", "redis-exporter"});
}

TEST_CASE("Without a password Redis has no requirepass and protected-mode no and no secrets file", "[companions][no-password]") {
    redis_config cfg;
    peer_data p{secret(""), "redis-0", "redis-0"};
    p.enable_password = false;
    const std::string flags = describe(redis_flags(cfg, p));
    CHECK(flags == "--bind 0.0.0.0 --replica-announce-ip redis-0 --port 6379 --appendonly yes --dir /var/lib/redis "
                   "--protected-mode no");
    CHECK_FALSE(secrets_file(cfg, p));
    CHECK(companion_files(cfg, p).empty());
    const layer l = make_layer(cfg, p);
    CHECK(parse_service_command(*l.services.at("redis").command).base.at(1) == "--bind");
    // No secrets digest: only the fingerprint of the layer itself (make_layer).
    CHECK(l.services.at("redis").environment.size() == 1);
    CHECK(l.services.at("redis").environment.count(std::string(layer_fingerprint_key)) == 1);
    CHECK(*l.checks.at("redis-ready").exec->command == "redis-cli -e -h 127.0.0.1 -p 6379 PING");
    cfg.logfile = "/var/log/redis/redis.log";
    CHECK(has(describe(redis_flags(cfg, p)), "--logfile /var/log/redis/redis.log"));
}
