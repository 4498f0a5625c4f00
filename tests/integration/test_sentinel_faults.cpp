// Faults a fresh helper found in the Sentinel container from outside (issue 12: F2, F7, F9, F10),
// each with its input, through the unit reconciler and the CLI against the test server (no
// processes: these are refusals and reports, decided before Redis or Sentinel would run).
#include <redispebble/unit_reconciler.hpp>
#include <redispebble/testing/server.hpp>

#include "support/reconcile_run.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"
#include "support/sentinel_inputs.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace redispebble;
using namespace std::chrono_literals;
using redispebble::test::has;
using redispebble::test::run_command;
using redispebble::test::temp_dir;

namespace {

const std::string cli = REDISPEBBLE_CLI;

testing::server_options no_processes() {
    testing::server_options o;
    o.run_processes = false;
    return o;
}

desired_state unit(const std::string& root) {
    desired_state d = test::sentinel_inputs("127.0.0.1", "127.0.0.1", "admin-Pw-3f1a", "sentinel-Pw-88c0");
    d.config.storage_path = root + "/storage";
    d.config.sentinel_config_path = root + "/sentinel/sentinel.conf";
    d.config.health_checks = false;
    return d;
}

int occurrences(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// A Unix socket that accepts connections (the kernel's backlog) and never answers: a Pebble that hangs.
struct silent_socket {
    std::string path;
    int fd = -1;
    explicit silent_socket(const std::string& p) : path(p) {
        fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, sizeof a.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 16) == 0);
    }
    ~silent_socket() { ::close(fd); }
};

} // namespace

// F9: a Sentinel socket that never answered used up the deadline, and the Redis container was then
// reported "Waiting for Pebble".
TEST_CASE("A Sentinel Pebble that never answers takes only its share and the Redis container is reconciled", "[sentinel][unit][deadline]") {
    temp_dir root;
    testing::pebble_server redis(no_processes());
    silent_socket hung(root.path + "/hung.socket");
    const desired_state d = unit(root.path);
    reconcile_options opts;
    opts.deadline = 10s;  // Sentinel's share: 5 s; the Redis container (no processes) needs well under 5 s
    opts.probe.enabled = false;
    pebble::client_options ro, so;
    ro.socket_path = redis.socket_path();
    so.socket_path = hung.path;  // the client's own request_timeout (30 s) is longer than the deadline
    auto check = [&](const unit_report& u) {
        INFO(u.message);
        REQUIRE(u.sentinel);
        CHECK(u.sentinel->status == unit_status::waiting);
        CHECK(has(u.sentinel->message, "Waiting for Pebble in sentinel container"));
        CHECK(has(u.sentinel->message, hung.path));  // the socket that did not answer is named
        // Redis's container got the rest of the deadline: reconciled (the first run adds its layer).
        CHECK_FALSE(has(u.redis.message, "Waiting for Pebble"));
        CHECK(u.redis.status == unit_status::active);
        CHECK(redis.record().layers_added == 1);
    };
    test::reconcile_unit_both_forms(ro, so, d, opts, check);
}

// F7: certificates that are not PEM were pushed to both containers, which restarted into failure.
// F10: the unit's message said "Not enough certificates found" twice.
TEST_CASE("Certificates Redis cannot read are refused before either container is touched", "[sentinel][unit][tls]") {
    temp_dir root;
    testing::pebble_server redis(no_processes()), sentinel(no_processes());
    desired_state d = unit(root.path);
    d.config.enable_tls = true;
    d.resources = test::make_test_certificates(root.path).resources;
    reconcile_options opts;
    opts.probe.enabled = false;
    pebble::client_options ro, so;
    ro.socket_path = redis.socket_path();
    so.socket_path = sentinel.socket_path();
    pebble::client rc(ro), sc(so);
    d.resources["key-file"] = secret("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");
    const unit_report bad = reconcile_unit(rc, &sc, d, opts);
    INFO(bad.message);
    CHECK(bad.status == unit_status::blocked);
    CHECK_FALSE(bad.retry_later);
    CHECK(has(bad.message, "\"key-file\": is not an unencrypted PEM private key"));
    CHECK(redis.record().files_written == 0);
    CHECK(sentinel.record().files_written == 0);
    CHECK(redis.record().layers_added == 0);
    CHECK(sentinel.record().layers_added == 0);

    d.resources.erase("key-file");
    const unit_report missing = reconcile_unit(rc, &sc, d, opts);
    INFO(missing.message);
    CHECK(missing.status == unit_status::blocked);
    CHECK(occurrences(missing.message, "Not enough certificates found") == 1);
    CHECK(missing.redis.decided.missing_resources == std::vector<std::string>{"key-file"});
    CHECK(redis.record().files_written == 0);
    CHECK(sentinel.record().files_written == 0);
}

// F2: `plan` said Active, exit 0, where apply could not make sentinel.conf. F8: a quorum above the
// planned units was accepted. F10: a missing sentinel-password was not named.
TEST_CASE("plan with Sentinel says what apply says of the unit", "[sentinel][cli]") {
    temp_dir dir;
    testing::pebble_server redis(no_processes()), sentinel(no_processes());
    const std::string config_yaml = "sentinel: true\nstorage-path: " + dir.path + "/storage\n" +
                                    "sentinel-config-path: " + dir.path + "/sentinel/sentinel.conf\nhealth-checks: false\n";
    const auto config = dir.write("config.yaml", config_yaml);
    auto run = [&](const std::string& command, const std::string& peer_yaml, const std::string& extra_config = "") {
        const auto peer = dir.write("peer.yaml", peer_yaml);
        const auto cfg = dir.write("config2.yaml", config_yaml + extra_config);
        std::vector<std::string> args{cli, command, "--config", cfg, "--peer", peer};
        if (command != "plan")
            args.insert(args.end(), {"--socket", redis.socket_path(), "--sentinel-socket", sentinel.socket_path()});
        return run_command(args);
    };
    // No sentinel-password: Waiting, naming it, in plan and in apply.
    const std::string no_sentinel_pw = "admin-password: adm-Pw\ncurrent-master: 127.0.0.1\nhostname: 127.0.0.1\n";
    auto plan = run("plan", no_sentinel_pw);
    INFO(plan.out << plan.err);
    CHECK(plan.exit_code == 3);
    CHECK(has(plan.out, "Sentinel container: waiting: Waiting for peer data to be updated (not set yet: sentinel-password)"));
    CHECK(has(plan.out, "Unit status: waiting"));
    // apply says the same of the Sentinel container (the Redis container's status depends on
    // Redis, which plan does not ask).
    auto apply = run("apply", no_sentinel_pw);
    INFO(apply.out << apply.err);
    CHECK(has(apply.out, "Sentinel: Waiting for peer data to be updated (not set yet: sentinel-password)"));
    auto json = run_command({cli, "plan", "--config", config, "--peer", dir.path + "/peer.yaml", "--format", "json"});
    INFO(json.out << json.err);
    const auto doc = boost::json::parse(json.out).as_object();
    CHECK(doc.at("status").as_string() == "waiting");
    CHECK(doc.at("exit-code").as_int64() == 3);
    CHECK(doc.at("sentinel").as_object().at("status").as_string() == "waiting");

    // A quorum above the planned units: Blocked, naming both, and apply writes nothing (the apply
    // above reconciled the Redis container while Sentinel waited for its password).
    const int layers = redis.record().layers_added, files = redis.record().files_written + sentinel.record().files_written;
    const std::string three = "admin-password: adm-Pw\nsentinel-password: snt-Pw\ncurrent-master: 127.0.0.1\n"
                              "hostname: 127.0.0.1\nplanned-units: 3\n";
    plan = run("plan", three, "sentinel-quorum: 4\n");
    INFO(plan.out << plan.err);
    CHECK(plan.exit_code == 4);
    CHECK(has(plan.out, "\"sentinel-quorum\": is 4, above the 3 planned unit(s)"));
    CHECK(has(plan.out, "Unit status: blocked"));
    apply = run("apply", three, "sentinel-quorum: 4\n");
    INFO(apply.out << apply.err);
    CHECK(apply.exit_code == 4);
    CHECK(has(apply.out, "\"sentinel-quorum\": is 4, above the 3 planned unit(s)"));
    CHECK(redis.record().layers_added == layers);
    CHECK(redis.record().files_written + sentinel.record().files_written == files);
    // Within the units: plan is Active.
    plan = run("plan", three, "sentinel-quorum: 3\n");
    CHECK(plan.exit_code == 0);
    CHECK(has(plan.out, "Unit status: active"));
}
