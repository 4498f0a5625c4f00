// decide() (include/redispebble/decide.hpp): the actions and the status it decides from what Pebble
// holds and the inputs.
// Over 600 lines: one test file per header, as the style guide asks; each test is one case of the
// decision and reads best beside the others.
#include <redispebble/decide.hpp>

#include <redispebble/shlex.hpp>

#include "support/redis_tools.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace redispebble;

namespace {

desired_state ready_master() {
    desired_state d;
    d.config.storage_path = "/var/lib/redis";
    d.config.health_checks = false;  // the checks' client-auth file: tests/unit/test_companions.cpp
    d.peer.admin_password = secret("s3cret pass");
    d.peer.current_master = "redis-0";
    d.peer.hostname = "redis-0";
    return d;
}

observed_state reachable(layer plan = {}) {
    observed_state o;
    o.pebble_reachable = true;
    o.plan = std::move(plan);
    return o;
}

// The container state right after a decision's actions were carried out.
observed_state after(const decision& d, observed_state o) {
    if (d.add_layer) merge_into(*o.plan, *d.add_layer);
    for (const auto& f : d.push) {
        o.file_sha256[f.path] = f.sha256;
        if (f.origin == "secrets") o.secrets_key = parse_secrets_key(f.content.reveal());
    }
    if (d.storage) o.storage = path_state{true, "directory", d.storage->user, d.storage->group, 1, 1};
    o.service_current = "active";
    return o;
}

bool mentions(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("Pebble unreachable is Waiting for Pebble and asks for a retry", "[reconcile]") {
    observed_state o;  // not reachable
    auto d = decide(o, ready_master());
    CHECK(d.status_after == unit_status::waiting);
    CHECK(d.message == "Waiting for Pebble in workload container");
    CHECK(d.retry_later);
    CHECK(d.no_op());
}

TEST_CASE("Incomplete peer data is Waiting for peer data", "[reconcile]") {
    for (int missing = 0; missing < 3; ++missing) {
        auto des = ready_master();
        if (missing == 0) des.peer.admin_password = secret();
        if (missing == 1) des.peer.current_master.clear();
        if (missing == 2) des.peer.hostname.clear();
        auto d = decide(reachable(), des);
        CHECK(d.status_after == unit_status::waiting);
        // The charm's words, then the key the leader has not written (issue 12, F10).
        const char* key = missing == 0 ? "admin-password" : missing == 1 ? "current-master" : "hostname";
        CHECK(d.message == std::string("Waiting for peer data to be updated (not set yet: ") + key + ")");
        CHECK(d.retry_later);
        CHECK(d.no_op());
    }
}

TEST_CASE("A fresh unit gets the secrets file and the layer and a restart then is Active", "[reconcile]") {
    auto des = ready_master();
    auto d = decide(reachable(), des);
    CHECK(d.status_after == unit_status::active);
    CHECK(d.message.empty());
    CHECK_FALSE(d.retry_later);
    REQUIRE(d.add_layer);
    CHECK(d.layer_label == "redis");
    // Made with the new key the secrets file carries (nothing was observed yet).
    REQUIRE(d.push.size() == 1);
    const auto key = parse_secrets_key(d.push[0].content.reveal());
    REQUIRE(key);
    CHECK(*d.add_layer == make_layer(des.config, des.peer, {}, *key));
    REQUIRE(d.restart == std::vector<std::string>{"redis"});
    REQUIRE(d.push.size() == 1);
    CHECK(d.push[0].path == secrets_file_path(des.config));
    CHECK(d.push[0].permissions == "600");
    CHECK_FALSE(d.differences.empty());
}

TEST_CASE("Reconciling again with unchanged inputs does nothing", "[reconcile]") {
    auto des = ready_master();
    auto first = decide(reachable(), des);
    auto second = decide(after(first, reachable()), des);
    CHECK(second.status_after == unit_status::active);
    CHECK(second.no_op());
    CHECK(second.differences.empty());
}

TEST_CASE("A password change changes the layer and restarts Redis without showing the password", "[reconcile]") {
    auto des = ready_master();
    auto state = after(decide(reachable(), des), reachable());
    des.peer.admin_password = secret("a brand new password");
    auto d = decide(state, des);
    REQUIRE(d.add_layer);
    CHECK(d.restart == std::vector<std::string>{"redis"});
    REQUIRE(d.push.size() == 1);
    for (const auto& diff : d.differences) {
        CHECK_FALSE(mentions(diff.current, "a brand new password"));
        CHECK_FALSE(mentions(diff.desired, "a brand new password"));
        CHECK_FALSE(mentions(diff.current, "s3cret pass"));
    }
}

TEST_CASE("A secrets file changed behind our back is pushed again and Redis restarted", "[reconcile]") {
    auto des = ready_master();
    auto state = after(decide(reachable(), des), reachable());
    state.file_sha256[secrets_file_path(des.config)] = std::string(64, '0');
    auto d = decide(state, des);
    CHECK_FALSE(d.add_layer);
    CHECK(d.push.size() == 1);
    CHECK(d.restart == std::vector<std::string>{"redis"});
}

TEST_CASE("A stopped service with an unchanged layer is started", "[reconcile]") {
    auto des = ready_master();
    auto state = after(decide(reachable(), des), reachable());
    state.service_current = "inactive";
    auto d = decide(state, des);
    CHECK(d.status_after == unit_status::active);
    CHECK(d.start == std::vector<std::string>{"redis"});
    CHECK(d.restart.empty());
    state.service_current = "backoff";
    d = decide(state, des);
    CHECK(d.status_after == unit_status::waiting);
    CHECK(d.retry_later);
    CHECK(d.no_op());
}

TEST_CASE("TLS with a certificate missing is Blocked and names it and applies nothing", "[reconcile]") {
    auto des = ready_master();
    des.config.enable_tls = true;
    des.resources["cert-file"] = secret("CERT");
    des.resources["ca-cert-file"] = secret("CA");
    auto d = decide(reachable(), des);
    CHECK(d.status_after == unit_status::blocked);
    CHECK(d.message == "Not enough certificates found");
    CHECK(d.missing_resources == std::vector<std::string>{"key-file"});
    CHECK(d.no_op());
    CHECK_FALSE(d.retry_later);
}

TEST_CASE("TLS with all certificates pushes them under the names the flags use", "[reconcile]") {
    auto des = ready_master();
    des.config.enable_tls = true;
    test::temp_dir dir;
    des.resources = test::make_test_certificates(dir.path).resources;  // Redis reads them: real PEM
    auto d = decide(reachable(), des);
    CHECK(d.status_after == unit_status::active);
    std::vector<std::string> paths;
    for (const auto& f : d.push) paths.push_back(f.path);
    CHECK(paths == std::vector<std::string>{"/var/lib/redis/redispebble-secrets.conf", "/var/lib/redis/redis.crt",
                                            "/var/lib/redis/redis.key", "/var/lib/redis/ca.crt"});
    REQUIRE(d.add_layer);
    const auto words = parse_service_command(*d.add_layer->services.at("redis").command).base;
    for (auto flag_file : {"/var/lib/redis/redis.crt", "/var/lib/redis/redis.key", "/var/lib/redis/ca.crt"})
        CHECK(std::find(words.begin(), words.end(), flag_file) != words.end());
    // A new certificate alone restarts Redis: the layer carries the files' digest.
    auto state = after(d, reachable());
    // (the same certificate followed by its CA: a chain, as a renewed resource may come)
    des.resources["cert-file"] = secret(des.resources["cert-file"].reveal() + des.resources["ca-cert-file"].reveal());
    auto d2 = decide(state, des);
    CHECK(d2.add_layer);
    CHECK(d2.restart == std::vector<std::string>{"redis"});
    REQUIRE(d2.push.size() == 1);
    CHECK(d2.push[0].path == "/var/lib/redis/redis.crt");
}

TEST_CASE("The original design's plan with a password in argv is replaced and the password is redacted", "[reconcile]") {
    auto des = ready_master();
    layer old;
    old.services["redis"].override = override_kind::replace;
    old.services["redis"].command = "redis-server --requirepass hunter2 --bind 0.0.0.0 --masterauth hunter2";
    auto d = decide(reachable(old), des);
    REQUIRE(d.add_layer);
    bool saw_command = false;
    for (const auto& diff : d.differences) {
        CHECK_FALSE(mentions(diff.current, "hunter2"));
        CHECK_FALSE(mentions(diff.desired, "s3cret"));
        if (diff.path == "services.redis.command") {
            saw_command = true;
            CHECK(mentions(diff.current, "<redacted>"));
        }
    }
    CHECK(saw_command);
}

TEST_CASE("Command-line secret mode keeps the password out of printed differences", "[reconcile]") {
    auto des = ready_master();
    des.config.secrets = secret_mode::command_line;
    auto d = decide(reachable(), des);
    REQUIRE(d.add_layer);
    CHECK(d.push.empty());
    CHECK(mentions(*d.add_layer->services.at("redis").command, "s3cret pass"));
    for (const auto& diff : d.differences) CHECK_FALSE(mentions(diff.desired, "s3cret"));
    CHECK_FALSE(mentions(*redact(*d.add_layer).services.at("redis").command, "s3cret"));
}

TEST_CASE("A password Pebble cannot carry on the command line is Blocked with a reason", "[reconcile]") {
    auto des = ready_master();
    des.config.secrets = secret_mode::command_line;
    des.peer.admin_password = secret("[");
    auto d = decide(reachable(), des);
    CHECK(d.status_after == unit_status::blocked);
    CHECK(mentions(d.message, "admin-password"));
    CHECK(d.no_op());
}

TEST_CASE("An invalid configuration is Blocked naming the field", "[reconcile]") {
    auto des = ready_master();
    des.config.storage_path = "relative/path";
    auto d = decide(reachable(), des);
    CHECK(d.status_after == unit_status::blocked);
    CHECK(mentions(d.message, "storage-path"));
    CHECK(d.no_op());
}

TEST_CASE("redact_command hides the word after each password option", "[reconcile]") {
    CHECK(redact_command("redis-server --requirepass 'a b' --port 1") == "redis-server --requirepass '<redacted>' --port 1");
    CHECK(redact_command("redis-cli -a pw ping") == "redis-cli -a '<redacted>' ping");
    CHECK(redact_command("redis-server --port 1") == "redis-server --port 1");
    CHECK(redact_command("redis-server --requirepass 'unterminated") == "<unparsable command withheld>");
}

TEST_CASE("The storage directory is made when missing and re-owned when another user owns it", "[reconcile]") {
    auto des = ready_master();
    auto o = after(decide(reachable(), des), reachable());
    CHECK(decide(o, des).no_op());

    o.storage = path_state{};  // not found
    auto d = decide(o, des);
    REQUIRE(d.storage);
    CHECK(d.storage->make);
    CHECK_FALSE(d.storage->chown);
    CHECK(d.storage->path == "/var/lib/redis");
    CHECK(d.restart.empty());

    o.storage = path_state{true, "directory", "root", "root", 0, 0};
    d = decide(o, des);
    REQUIRE(d.storage);
    CHECK_FALSE(d.storage->make);
    CHECK(d.storage->chown);
    CHECK(d.storage->command == std::vector<std::string>{"chown", "-R", "-H", "--", "redis:redis", "/var/lib/redis"});
    CHECK(d.restart.empty());  // re-owning alone restarts nothing
    CHECK(d.status_after == unit_status::active);

    o.storage = path_state{true, "directory", "redis", "root", 0, 0};
    CHECK(decide(o, des).storage);

    o.storage.reset();  // not observed: made (a no-op if it exists) and re-owned
    d = decide(o, des);
    REQUIRE(d.storage);
    CHECK(d.storage->make);
    CHECK(d.storage->chown);
}

TEST_CASE("A storage path that is not a directory is Blocked naming it", "[reconcile]") {
    auto des = ready_master();
    auto o = reachable();
    o.storage = path_state{true, "file", "root", "root", 0, 0};
    auto d = decide(o, des);
    CHECK(d.status_after == unit_status::blocked);
    CHECK(d.message == "storage-path /var/lib/redis exists and is not a directory (file)");
    CHECK(d.no_op());
}

TEST_CASE("A service in backoff is restarted once its storage directory is fixed", "[reconcile]") {
    auto des = ready_master();
    auto o = after(decide(reachable(), des), reachable());
    o.service_current = "backoff";
    o.storage = path_state{};
    auto d = decide(o, des);
    CHECK(d.status_after == unit_status::active);
    CHECK(d.restart == std::vector<std::string>{"redis"});
}

// Issue 8, point 1: other layers in the same plan. `stack` is Pebble's layer stack, lowest first;
// our layer is combined into label "redis" at its place, as Pebble's CombineLayer does.
namespace {

struct stack {
    std::vector<std::pair<std::string, layer>> layers;
    layer plan() const {
        std::vector<layer> ls;
        for (const auto& [label, l] : layers) ls.push_back(l);
        return combine(ls);
    }
    void add(const std::string& label, const layer& l) {
        for (auto& [lab, existing] : layers)
            if (lab == label) {
                merge_into(existing, l);
                return;
            }
        layers.emplace_back(label, l);
    }
};

layer extra_env_layer() {
    return parse_layer("services:\n  redis:\n    override: merge\n    environment: {EXTRA_OPTION: \"1\"}\n"
                       "    after: [logger]\n    requires: [logger]\n");
}

layer logger_layer() {
    return parse_layer("services:\n  logger:\n    override: replace\n    command: /bin/logger-daemon\n");
}

// Applies a decision to the stack and the files, as reconcile_machine's actions do.
observed_state applied(const decision& d, stack& s, observed_state o) {
    if (d.add_layer) s.add(d.layer_label, *d.add_layer);
    for (const auto& f : d.push) {
        o.file_sha256[f.path] = f.sha256;
        if (f.origin == "secrets") o.secrets_key = parse_secrets_key(f.content.reveal());
    }
    if (d.storage) o.storage = path_state{true, "directory", d.storage->user, d.storage->group, 1, 1};
    o.plan = s.plan();
    o.service_current = "active";
    return o;
}

} // namespace

TEST_CASE("Our layer carries a fingerprint of itself that changes with any input and shows no password", "[reconcile][layers]") {
    auto des = ready_master();
    // The container's secrets key, as prepare() passes it: without one, each call draws a new key.
    const secret key = new_secrets_key();
    auto fingerprint = [&key](const desired_state& d) {
        return make_layer(d.config, d.peer, {}, key).services.at("redis").environment.at(std::string(layer_fingerprint_key));
    };
    const layer l = make_layer(des.config, des.peer, {}, key);
    const auto& env = l.services.at("redis").environment;
    REQUIRE(env.count(std::string(layer_fingerprint_key)) == 1);
    const std::string fp = env.at(std::string(layer_fingerprint_key));
    CHECK(fp.rfind("sha256:", 0) == 0);
    CHECK_FALSE(mentions(fp, "s3cret"));
    CHECK(fingerprint(des) == fp);
    auto other = des;
    other.config.port = 6380;
    CHECK(fingerprint(other) != fp);
    other = des;
    other.peer.admin_password = secret("another");
    CHECK(fingerprint(other) != fp);
    // A new key (a new container's secrets file) is a new layer too: Redis reads the new file.
    CHECK(make_layer(des.config, des.peer, {}, new_secrets_key()).services.at("redis").environment.at(
              std::string(layer_fingerprint_key)) != fp);
}

TEST_CASE("A later layer merging environment and dependencies into our service causes no write and no restart", "[reconcile][layers]") {
    auto des = ready_master();
    stack s;
    s.add("logger", logger_layer());
    auto o = applied(decide(reachable(), des), s, reachable());
    s.add("extra", extra_env_layer());
    o.plan = s.plan();
    REQUIRE(o.plan->services.at("redis").environment.at("EXTRA_OPTION") == "1");
    for (int run = 0; run < 4; ++run) {
        auto d = decide(o, des);
        INFO("run " << run);
        CHECK(d.status_after == unit_status::active);
        CHECK(d.no_op());
        CHECK(d.differences.empty());
        CHECK(d.overridden.empty());
        o = applied(d, s, o);
    }
}

TEST_CASE("A layer below ours with our label and a layer above it merging are applied once", "[reconcile][layers]") {
    // As from $PEBBLE/layers: 001-redis.yaml (a rock's own layer) and 002-tuning.yaml above it.
    auto des = ready_master();
    stack s;
    s.add("redis", parse_layer("services:\n  redis:\n    override: replace\n    command: redis-server\n"
                               "    environment: {ROCK: \"1\"}\n"));
    s.add("tuning", parse_layer("services:\n  redis:\n    override: merge\n    environment: {TUNING: \"on\"}\n"));
    auto o = reachable(s.plan());
    auto first = decide(o, des);
    REQUIRE(first.add_layer);
    CHECK(first.restart == std::vector<std::string>{"redis"});
    o = applied(first, s, o);
    CHECK(o.plan->services.at("redis").environment.at("TUNING") == "on");  // still above ours
    CHECK(o.plan->services.at("redis").environment.count("ROCK") == 0);     // replaced by ours
    for (int run = 0; run < 3; ++run) {
        auto d = decide(o, des);
        CHECK(d.status_after == unit_status::active);
        CHECK(d.no_op());
        o = applied(d, s, o);
    }
    // A changed input with the layers still there: applied once.
    des.config.port = 6390;
    auto changed = decide(o, des);
    REQUIRE(changed.add_layer);
    CHECK(changed.restart == std::vector<std::string>{"redis"});
    o = applied(changed, s, o);
    CHECK(o.plan->services.at("redis").environment.at("TUNING") == "on");
    auto again = decide(o, des);
    CHECK(again.status_after == unit_status::active);
    CHECK(again.no_op());
}

TEST_CASE("A layer above ours overriding the command is reported as overridden without a write or a restart", "[reconcile][layers]") {
    auto des = ready_master();
    stack s;
    auto o = applied(decide(reachable(), des), s, reachable());
    s.add("debug", parse_layer("services:\n  redis:\n    override: merge\n    command: redis-server --port 7777 --requirepass "
                               "s3cret\n    environment: {REDISPEBBLE_SECRETS_DIGEST: x}\n"));
    o.plan = s.plan();
    for (int run = 0; run < 3; ++run) {
        auto d = decide(o, des);
        CHECK(d.status_after == unit_status::blocked);
        CHECK(d.retry_later);
        CHECK_FALSE(d.add_layer);
        CHECK(d.restart.empty());
        CHECK(d.no_op());
        CHECK(mentions(d.message, "services.redis.command"));
        CHECK(mentions(d.message, "overrides"));
        REQUIRE(d.overridden.size() == 2);
        CHECK(d.overridden[0].path == "services.redis.command");
        CHECK(mentions(d.overridden[0].current, "7777"));
        CHECK(d.overridden[1].path == "services.redis.environment.REDISPEBBLE_SECRETS_DIGEST");
        for (const auto& diff : d.overridden) {
            CHECK_FALSE(mentions(diff.current, "s3cret"));
            CHECK_FALSE(mentions(diff.desired, "s3cret"));
        }
        o = applied(d, s, o);
    }
}

TEST_CASE("A layer above ours overriding our checks or our exporter is reported as overridden", "[reconcile][layers][companions]") {
    auto des = ready_master();
    des.config.metrics = true;
    des.config.health_checks = true;
    stack s;
    auto o = applied(decide(reachable(), des), s, reachable());
    REQUIRE(decide(o, des).no_op());
    s.add("debug", parse_layer("checks:\n  redis-ready:\n    override: merge\n    exec: {command: /bin/true}\n"
                               "  redis-alive:\n    override: replace\n    tcp: {port: 1}\n"
                               "services:\n  redis-exporter:\n    override: merge\n    command: /bin/sleep 100\n"));
    o.plan = s.plan();
    auto d = decide(o, des);
    CHECK(d.status_after == unit_status::blocked);
    CHECK_FALSE(d.add_layer);
    CHECK(d.restart.empty());
    std::vector<std::string> paths;
    for (const auto& x : d.overridden) paths.push_back(x.path);
    INFO(d.message);
    auto named = [&](const std::string& prefix) {
        return std::any_of(paths.begin(), paths.end(), [&](const std::string& p) { return p.rfind(prefix, 0) == 0; });
    };
    CHECK(named("checks.redis-ready"));
    CHECK(named("checks.redis-alive"));
    CHECK(named("services.redis-exporter.command"));
    CHECK_FALSE(named("services.redis."));
    CHECK(mentions(d.message, "checks.redis-ready"));
    // A layer above that only adds its own check and service is not ours to judge.
    stack t;
    auto q = applied(decide(reachable(), des), t, reachable());
    t.add("mine", parse_layer("checks:\n  other:\n    override: replace\n    tcp: {port: 2}\n"
                              "services:\n  other:\n    override: replace\n    command: /bin/sleep 1\n"));
    q.plan = t.plan();
    CHECK(decide(q, des).no_op());
}

TEST_CASE("compare_layer sees a service replaced above ours as not applied", "[reconcile][layers]") {
    auto des = ready_master();
    stack s;
    auto o = applied(decide(reachable(), des), s, reachable());
    REQUIRE(o.secrets_key);
    const layer wanted = make_layer(des.config, des.peer, {}, *o.secrets_key);
    CHECK(compare_layer(*o.plan, wanted, "redis", des.peer.admin_password).applied);
    s.add("replacer", parse_layer("services:\n  redis:\n    override: replace\n    command: /bin/other\n"));
    auto st = compare_layer(s.plan(), wanted, "redis", des.peer.admin_password);
    CHECK_FALSE(st.applied);
    bool command = false;
    for (const auto& d : st.differences) command = command || d.path == "services.redis.command";
    CHECK(command);
}

TEST_CASE("A changed check or exporter is named in the differences not only the fingerprint", "[reconcile][layers]") {
    // A new user's `redispebble diff` after changing check-period (or turning metrics on) printed
    // only services.redis.environment.REDISPEBBLE_LAYER_FINGERPRINT: the entry that changed was
    // compared only once our layer was applied.
    auto des = ready_master();
    des.config.health_checks = true;
    auto state = after(decide(reachable(), des), reachable());
    REQUIRE(decide(state, des).no_op());
    auto paths = [](const decision& d) {
        std::vector<std::string> p;
        for (const auto& diff : d.differences) p.push_back(diff.path);
        return p;
    };
    auto has = [](const std::vector<std::string>& p, const std::string& path) {
        return std::find(p.begin(), p.end(), path) != p.end();
    };
    auto slower = des;
    slower.config.check_period = "20s";
    auto d = decide(state, slower);
    REQUIRE(d.add_layer);
    auto p = paths(d);
    CHECK(has(p, "checks.redis-alive.period"));
    CHECK(has(p, "checks.redis-ready.period"));
    CHECK(has(p, "services.redis.environment.REDISPEBBLE_LAYER_FINGERPRINT"));
    CHECK(d.restart.empty());

    auto metrics = des;
    metrics.config.metrics = true;
    d = decide(state, metrics);
    p = paths(d);
    CHECK(has(p, "services.redis-exporter"));
    CHECK(d.restart == std::vector<std::string>{"redis-exporter"});
}

TEST_CASE("decision status is a deprecated alias of status_after", "[reconcile]") {
    decision d;
    CHECK(d.status_after == unit_status::waiting);
    d.status_after = unit_status::blocked;
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    CHECK(d.status == unit_status::blocked);
    d.status = unit_status::active;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    CHECK(d.status_after == unit_status::active);
    const decision copy = d;
    CHECK(copy.status_after == unit_status::active);
}

namespace {

// The container after `d`, with the stops and removals done too.
observed_state after_all(const decision& d, observed_state o) {
    o = after(d, std::move(o));
    for (const auto& s : d.stop) o.retired_services_current[s] = "inactive";
    for (const auto& c : d.stop_checks) o.retired_checks_status[c] = "inactive";
    for (const auto& f : d.remove) o.file_sha256[f] = std::nullopt;
    return o;
}

bool lists(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

} // namespace

TEST_CASE("Metrics and health checks turned off are retired in our layer and stopped then nothing more", "[reconcile][retire]") {
    auto des = ready_master();
    des.config.metrics = true;
    des.config.health_checks = true;
    auto o = after_all(decide(reachable(), des), reachable());
    o.retired_services_current.clear();
    REQUIRE(decide(o, des).no_op());
    REQUIRE(o.plan->services.count("redis-exporter"));

    des.config.metrics = false;
    des.config.health_checks = false;
    auto d = decide(o, des);
    CHECK(d.status_after == unit_status::active);
    REQUIRE(d.add_layer);
    const auto& x = d.add_layer->services.at("redis-exporter");
    CHECK(x.override == override_kind::replace);
    CHECK(x.startup == "disabled");
    for (const char* c : {"redis-alive", "redis-ready", "redis-exporter-alive"}) {
        INFO(c);
        CHECK(d.add_layer->checks.at(c).startup == "disabled");
        CHECK(lists(d.stop_checks, c));
        CHECK(lists(d.retired, std::string("checks.") + c));
    }
    CHECK(d.stop == std::vector<std::string>{"redis-exporter"});
    CHECK(lists(d.remove, "/var/lib/redis/redispebble-exporter-passwords.json"));
    CHECK(lists(d.remove, "/var/lib/redis/redispebble-client-auth"));
    CHECK_FALSE(lists(d.remove, "/var/lib/redis/redispebble-secrets.conf"));
    // The Redis service no longer maps the checks.
    CHECK(d.add_layer->services.at("redis").on_check_failure.empty());

    auto again = decide(after_all(d, o), des);
    CHECK(again.no_op());
    CHECK(again.status_after == unit_status::active);
    CHECK(again.retired.size() == 4);

    // On again: the full entries come back over the retired ones.
    des.config.metrics = true;
    des.config.health_checks = true;
    auto on = decide(after_all(again, after_all(d, o)), des);
    REQUIRE(on.add_layer);
    CHECK(on.add_layer->services.at("redis-exporter").startup == "enabled");
    CHECK(on.retired.empty());
    CHECK(on.stop.empty());
    CHECK(lists(on.restart, "redis-exporter"));
}

TEST_CASE("Turning metrics on or off restarts the exporter or stops it and never Redis", "[reconcile][retire][metrics]") {
    auto des = ready_master();
    auto o = after_all(decide(reachable(), des), reachable());
    REQUIRE(decide(o, des).no_op());

    des.config.metrics = true;
    auto on = decide(o, des);
    REQUIRE(on.add_layer);
    CHECK(on.restart == std::vector<std::string>{"redis-exporter"});
    CHECK(on.start.empty());
    o = after_all(on, o);
    REQUIRE(decide(o, des).no_op());

    des.config.metrics = false;
    auto off = decide(o, des);
    REQUIRE(off.add_layer);
    CHECK(off.restart.empty());
    CHECK(off.start.empty());
    CHECK(off.stop == std::vector<std::string>{"redis-exporter"});

    // A change Redis runs with still restarts it, alone.
    des.config.metrics = true;
    des.peer.admin_password = secret("a-new-password");
    auto both = decide(o, des);
    CHECK(lists(both.restart, "redis"));
}

TEST_CASE("A renamed service retires the old one found by its fingerprint and storage path and stops it first", "[reconcile][retire]") {
    auto des = ready_master();
    des.config.health_checks = true;
    auto o = after_all(decide(reachable(), des), reachable());
    des.config.service_name = "cache";
    auto d = decide(o, des);
    REQUIRE(d.add_layer);
    CHECK(d.add_layer->services.at("redis").startup == "disabled");
    CHECK(d.add_layer->services.at("redis").environment.at(std::string(retired_marker_key)) == "redis");
    CHECK(d.stop == std::vector<std::string>{"redis"});
    CHECK(lists(d.stop_checks, "redis-ready"));
    CHECK(lists(d.restart, "cache"));
    auto again = decide(after_all(d, o), des);
    CHECK(again.no_op());

    // Another Redis with its own storage path (another unit's layer) is never retired.
    layer other;
    other.services["other"].override = override_kind::replace;
    other.services["other"].command = "redis-server";
    other.services["other"].working_dir = "/srv/other";
    other.services["other"].environment[std::string(layer_fingerprint_key)] = "sha256:x";
    auto with_other = o;
    merge_into(*with_other.plan, other);
    CHECK(entries_to_retire(*with_other.plan, prepare(des).wanted, des.config).services ==
          std::vector<std::string>{"redis"});
}

TEST_CASE("enable-password false removes the password files the container holds and only those", "[reconcile][retire]") {
    auto des = ready_master();
    des.config.health_checks = true;
    auto o = after_all(decide(reachable(), des), reachable());
    REQUIRE(o.file_sha256.count("/var/lib/redis/redispebble-client-auth"));
    des.peer.enable_password = false;
    auto d = decide(o, des);
    CHECK(lists(d.remove, "/var/lib/redis/redispebble-secrets.conf"));
    CHECK(lists(d.remove, "/var/lib/redis/redispebble-client-auth"));
    CHECK_FALSE(lists(d.remove, "/var/lib/redis/redispebble-exporter-passwords.json"));  // never pushed
    auto again = decide(after_all(d, o), des);
    CHECK(again.remove.empty());
    CHECK(again.no_op());
}

TEST_CASE("rekey makes from inputs prepared with one key what prepare makes with another", "[reconcile]") {
    std::vector<desired_state> variants(7, ready_master());
    variants[1].config.health_checks = true;
    variants[2].config.metrics = true;
    variants[3].config.metrics = true;
    variants[3].config.health_checks = true;
    variants[4].config.secrets = secret_mode::command_line;
    variants[5].peer.enable_password = false;
    variants[6].peer.current_master.clear();  // incomplete peer data: a verdict
    variants[6].peer.hostname.clear();
    const secret k1 = new_secrets_key(), k2 = new_secrets_key();
    for (std::size_t i = 0; i < variants.size(); ++i) {
        INFO("variant " << i);
        const auto& d = variants[i];
        const prepared_desired want = prepare(d, k2);
        for (const secret& from : {k1, k2}) {
            const prepared_desired got = rekey(prepare(d, from), d, k2);
            CHECK(got.verdict.has_value() == want.verdict.has_value());
            CHECK(got.wanted == want.wanted);
            CHECK(got.files == want.files);
            CHECK(got.flags == want.flags);
            CHECK(got.secrets_key == want.secrets_key);
            CHECK(got.retire_files == want.retire_files);
        }
        if (i == 0) CHECK_FALSE(prepare(d, k1).wanted == want.wanted);  // the key is in the layer
        // No key: a new one, and what prepare makes with it.
        const prepared_desired fresh = rekey(prepare(d, k1), d, secret());
        CHECK(fresh.wanted == prepare(d, fresh.secrets_key).wanted);
        CHECK(fresh.files == prepare(d, fresh.secrets_key).files);
    }
    CHECK_THROWS_AS(rekey(prepare(variants[0], k1), variants[0], secret("not a key")), std::invalid_argument);
}
