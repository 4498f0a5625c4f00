#include <redispebble/digest.hpp>

#include "support/run_command.hpp"

#include <catch2/catch.hpp>

#include <string>

using redispebble::test::run_command;
using redispebble::test::temp_dir;

namespace {
const std::string cli = REDISPEBBLE_CLI;
bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }
} // namespace

TEST_CASE("redispebble plan with no arguments runs on the examples without printing a password", "[cli]") {
    auto r = run_command({cli, "plan"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "using the example inputs"));
    CHECK(has(r.out, "Layer \"redis\""));
    CHECK(has(r.out, "override: replace"));
    CHECK(has(r.out, "--requirepass <redacted>"));
    CHECK(has(r.out, "services.redis.command"));
    CHECK(has(r.out, "add layer \"redis\" with combine"));
    CHECK(has(r.out, "restart service \"redis\""));
    CHECK(has(r.out, "/var/lib/redis/redispebble-secrets.conf"));
    // Neither the example's password nor the old plan's password is printed.
    CHECK_FALSE(has(r.out + r.err, "correct horse"));
    CHECK_FALSE(has(r.out + r.err, "hunter2"));
}

TEST_CASE("redispebble plan against the plan it would produce reports nothing to do", "[cli]") {
    temp_dir dir;
    auto config = dir.write("config.yaml", "port: 6380\n");
    auto peer = dir.write("peer.yaml", "admin-password: pw\ncurrent-master: m\nhostname: m\n");
    // First run on an empty plan: the layer differs.
    auto first = run_command({cli, "plan", "--config", config, "--peer", peer});
    INFO(first.out << first.err);
    CHECK(first.exit_code == 0);
    CHECK(has(first.out, "add layer"));
    CHECK(has(first.out, "--port 6380"));
}

TEST_CASE("redispebble plan reports bad input with the file line and key and exit code 2", "[cli]") {
    temp_dir dir;
    auto config = dir.write("config.yaml", "port: 6380\nenable-tls: maybe\n");
    auto r = run_command({cli, "plan", "--config", config});
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, config + ":2"));
    CHECK(has(r.err, "enable-tls"));
    auto missing = run_command({cli, "plan", "--config", dir.path + "/nope.yaml"});
    CHECK(missing.exit_code == 2);
    CHECK(has(missing.err, "nope.yaml"));
    auto unknown = run_command({cli, "plan", "--bogus"});
    CHECK(unknown.exit_code == 2);
    CHECK(has(unknown.err, "--bogus"));
    auto bad_resource = run_command({cli, "plan", "--resource", "tls=x"});
    CHECK(bad_resource.exit_code == 2);
    CHECK(has(bad_resource.err, "unknown resource"));
}

TEST_CASE("redispebble plan with TLS and a missing certificate is Blocked with exit code 4", "[cli]") {
    temp_dir dir;
    auto config = dir.write("config.yaml", "enable-tls: true\n");
    auto peer = dir.write("peer.yaml", "admin-password: pw\ncurrent-master: m\nhostname: m\n");
    auto cert = dir.write("cert.pem", "CERT");
    auto r = run_command({cli, "plan", "--config", config, "--peer", peer, "--resource", "cert-file=" + cert});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK(has(r.out, "Not enough certificates found"));
    CHECK(has(r.out, "key-file, ca-cert-file"));
}

TEST_CASE("redispebble plan without peer data is Waiting with exit code 3", "[cli]") {
    temp_dir dir;
    auto peer = dir.write("peer.yaml", "current-master: m\n");
    auto r = run_command({cli, "plan", "--peer", peer, "--hostname", "m"});
    CHECK(r.exit_code == 3);
    CHECK(has(r.out, "Waiting for peer data to be updated"));
}

TEST_CASE("redispebble help documents the commands and exit codes", "[cli]") {
    auto r = run_command({cli, "--help"});
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "Exit codes"));
    CHECK(has(r.out, "plan"));
    auto none = run_command({cli});
    CHECK(none.exit_code == 2);
}

TEST_CASE("Names Pebble refuses exit 2 from plan and apply before any request to Pebble", "[cli][pebble-names]") {
    temp_dir dir;
    auto peer = dir.write("peer.yaml", "admin-password: pw\ncurrent-master: m\nhostname: m\n");
    for (const std::string& line : {std::string("service-name: pebble\n"), std::string("service-name: -redis\n"),
                                    std::string("layer-label: pebble-redis\n")}) {
        INFO(line);
        auto config = dir.write("config.yaml", line);
        auto plan = run_command({cli, "plan", "--config", config, "--peer", peer});
        CHECK(plan.exit_code == 2);
        CHECK(has(plan.err, config + ":1"));
        CHECK(has(plan.err, "Pebble refuses it"));
        CHECK_FALSE(has(plan.out, "Decision"));
        // apply against a socket nobody listens on: refused as input, not Waiting for Pebble.
        auto apply = run_command({cli, "apply", "--socket", dir.path + "/no.socket", "--config", config, "--peer", peer});
        CHECK(apply.exit_code == 2);
        CHECK(has(apply.err, "Pebble refuses it"));
    }
}

TEST_CASE("redispebble apply --help and redispebble help apply show the options of apply only", "[cli]") {
    auto flag = run_command({cli, "apply", "--help"});
    auto word = run_command({cli, "help", "apply"});
    CHECK(flag.exit_code == 0);
    CHECK(word.exit_code == 0);
    CHECK(flag.out == word.out);
    CHECK(has(flag.out, "Usage: redispebble apply"));
    CHECK(has(flag.out, "--dry-run"));
    CHECK(has(flag.out, "Example:"));
    CHECK_FALSE(has(flag.out, "--plan FILE"));  // plan's option, not apply's
    CHECK_FALSE(has(flag.out, "redispebble exec"));
    for (const char* command : {"plan", "status", "diff", "exec"}) {
        auto r = run_command({cli, "help", command});
        CHECK(r.exit_code == 0);
        CHECK(has(r.out, std::string("Usage: redispebble ") + command));
    }
    auto unknown = run_command({cli, "help", "frobnicate"});
    CHECK(unknown.exit_code == 2);
    CHECK(has(unknown.err, "frobnicate"));
}

TEST_CASE("an unknown option names the command and the option", "[cli]") {
    auto r = run_command({cli, "apply", "--bogus"});
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "apply: unknown option --bogus"));
    CHECK(has(r.err, "redispebble apply --help"));
    auto p = run_command({cli, "plan", "--socket", "x"});
    CHECK(p.exit_code == 2);
    CHECK(has(p.err, "plan: unknown option --socket"));
}

TEST_CASE("redispebble plan prints no digest of the secrets file or of the password", "[cli][secrets]") {
    temp_dir dir;
    const std::string pw = "plan-Output-pass";
    auto config = dir.write("config.yaml", "port: 6380\n");
    auto peer = dir.write("peer.yaml", "admin-password: " + pw + "\ncurrent-master: m\nhostname: m\n");
    auto r = run_command({cli, "plan", "--config", config, "--peer", peer});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "push /var/lib/redis/redispebble-secrets.conf"));
    const std::string lines = "requirepass \"" + pw + "\"\nmasterauth \"" + pw + "\"\n";
    for (const auto& h : {redispebble::sha256_hex(pw), redispebble::sha256_hex(lines),
                          redispebble::pbkdf2_sha256_hex(lines, "redispebble:/var/lib/redis:redis", 10000),
                          redispebble::hmac_sha256_hex("", lines)})
        CHECK_FALSE(has(r.out + r.err, h.substr(0, 8)));
    CHECK_FALSE(has(r.out, "sha256 "));
    CHECK_FALSE(has(r.out + r.err, pw));
}
