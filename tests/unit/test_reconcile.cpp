#include <redispebble/reconcile.hpp>

#include <redispebble/shlex.hpp>

#include <catch2/catch.hpp>

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
    for (const auto& f : d.push) o.file_sha256[f.path] = f.sha256;
    o.service_current = "active";
    return o;
}

bool mentions(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("Pebble unreachable is Waiting for Pebble and asks for a retry", "[reconcile]") {
    observed_state o;  // not reachable
    auto d = decide(o, ready_master());
    CHECK(d.status == unit_status::waiting);
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
        CHECK(d.status == unit_status::waiting);
        CHECK(d.message == "Waiting for peer data to be updated");
        CHECK(d.retry_later);
        CHECK(d.no_op());
    }
}

TEST_CASE("A fresh unit gets the secrets file and the layer and a restart then is Active", "[reconcile]") {
    auto des = ready_master();
    auto d = decide(reachable(), des);
    CHECK(d.status == unit_status::active);
    CHECK(d.message.empty());
    CHECK_FALSE(d.retry_later);
    REQUIRE(d.add_layer);
    CHECK(d.layer_label == "redis");
    CHECK(*d.add_layer == make_layer(des.config, des.peer));
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
    CHECK(second.status == unit_status::active);
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
    CHECK(d.status == unit_status::active);
    CHECK(d.start == std::vector<std::string>{"redis"});
    CHECK(d.restart.empty());
    state.service_current = "backoff";
    d = decide(state, des);
    CHECK(d.status == unit_status::waiting);
    CHECK(d.retry_later);
    CHECK(d.no_op());
}

TEST_CASE("TLS with a certificate missing is Blocked and names it and applies nothing", "[reconcile]") {
    auto des = ready_master();
    des.config.enable_tls = true;
    des.resources["cert-file"] = secret("CERT");
    des.resources["ca-cert-file"] = secret("CA");
    auto d = decide(reachable(), des);
    CHECK(d.status == unit_status::blocked);
    CHECK(d.message == "Not enough certificates found");
    CHECK(d.missing_resources == std::vector<std::string>{"key-file"});
    CHECK(d.no_op());
    CHECK_FALSE(d.retry_later);
}

TEST_CASE("TLS with all certificates pushes them under the names the flags use", "[reconcile]") {
    auto des = ready_master();
    des.config.enable_tls = true;
    des.resources["cert-file"] = secret("CERT");
    des.resources["key-file"] = secret("KEY");
    des.resources["ca-cert-file"] = secret("CA");
    auto d = decide(reachable(), des);
    CHECK(d.status == unit_status::active);
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
    des.resources["cert-file"] = secret("CERT v2");
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
    CHECK(d.status == unit_status::blocked);
    CHECK(mentions(d.message, "admin-password"));
    CHECK(d.no_op());
}

TEST_CASE("An invalid configuration is Blocked naming the field", "[reconcile]") {
    auto des = ready_master();
    des.config.storage_path = "relative/path";
    auto d = decide(reachable(), des);
    CHECK(d.status == unit_status::blocked);
    CHECK(mentions(d.message, "storage-path"));
    CHECK(d.no_op());
}

TEST_CASE("redact_command hides the word after each password option", "[reconcile]") {
    CHECK(redact_command("redis-server --requirepass 'a b' --port 1") == "redis-server --requirepass '<redacted>' --port 1");
    CHECK(redact_command("redis-cli -a pw ping") == "redis-cli -a '<redacted>' ping");
    CHECK(redact_command("redis-server --port 1") == "redis-server --port 1");
    CHECK(redact_command("redis-server --requirepass 'unterminated") == "<unparsable command withheld>");
}
