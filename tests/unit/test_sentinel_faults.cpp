// The faults a fresh helper found in the Sentinel container from outside (issue 12, F2 to F10),
// each with its input, and the same kind in the Redis container's path.
#include <redispebble/sentinel.hpp>

#include <redispebble/decide.hpp>
#include <redispebble/error.hpp>

#include "support/redis_tools.hpp"
#include "support/sentinel_inputs.hpp"
#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace redispebble;
using k = pebble_request::kind;

namespace {

desired_state sentinel_unit() { return test::sentinel_inputs("10.0.0.1", "10.0.0.2", "admin-pw", "sentinel-pw"); }

const std::vector<std::string> sentinel_certificates{"/etc/redis-server/redis.crt", "/etc/redis-server/redis.key",
                                                     "/etc/redis-server/ca.crt"};

// A machine fed a container whose plan holds our layer, whose service is `current`, whose
// sentinel.conf is what we would write for `d`, and which holds `files` (path -> digest);
// what it asks next.
std::optional<pebble_request> in_order(sentinel_machine& m, const desired_state& d, const std::string& current,
                                       const std::map<std::string, std::optional<std::string>>& files = {}) {
    (void)m.start();
    pebble_reply plan;
    plan.plan = make_sentinel_layer(d.config);
    auto req = m.resume(plan);
    REQUIRE(req->what == k::get_service);
    pebble_reply svc;
    svc.service_current = current;
    req = m.resume(svc);
    REQUIRE(req->what == k::read_files);
    pebble_reply read;
    read.file_sha256 = files;
    read.file_sha256[d.config.sentinel_config_path] = "x";
    read.file_content[d.config.sentinel_config_path] =
        sentinel_conf_text(sentinel_directives(d.config, d.peer, d.peer.current_master));
    return m.resume(read);
}

probe_options no_probe() {
    probe_options p;
    p.enabled = false;
    return p;
}

input_error peer_error(const std::string& yaml) {
    try {
        (void)load_peer_data(yaml, "peer.yaml");
    } catch (const input_error& e) {
        return e;
    }
    FAIL("no input_error for: " << yaml);
    throw std::logic_error("unreachable");
}

} // namespace

// F6: the Redis container removes the certificates with TLS off (issue 8); the Sentinel container
// kept them, its private key included.
TEST_CASE("With TLS off the Sentinel machine removes the certificate files it finds and restarts nothing", "[sentinel][machine][tls]") {
    desired_state d = sentinel_unit();
    sentinel_machine m(d, false, no_probe());
    std::map<std::string, std::optional<std::string>> held;
    for (const auto& p : sentinel_certificates) held[p] = "digest";
    held["/etc/redis-server/ca.crt"] = std::nullopt;  // already gone: not asked again
    auto req = in_order(m, d, "active", held);
    REQUIRE(req);
    REQUIRE(req->what == k::remove_files);
    CHECK(req->paths == std::vector<std::string>{"/etc/redis-server/redis.crt", "/etc/redis-server/redis.key"});
    CHECK_FALSE(m.resume(pebble_reply{}));
    CHECK(m.report().status == unit_status::active);
    CHECK(m.report().actions_done ==
          std::vector<std::string>{"removed /etc/redis-server/redis.crt", "removed /etc/redis-server/redis.key"});
    CHECK(m.report().restarts() == 0);
    CHECK(m.report().writes() == 2);

    // A dry run (diff, status) says so and does nothing.
    sentinel_machine dry(d, true, no_probe());
    CHECK_FALSE(in_order(dry, d, "active", held));
    CHECK(dry.report().decided.remove.size() == 2);
    CHECK(dry.report().writes() == 0);

    // Nothing held: nothing to remove.
    sentinel_machine clean(d, false, no_probe());
    CHECK_FALSE(in_order(clean, d, "active"));
    CHECK(clean.report().writes() == 0);
}

TEST_CASE("files_to_remove keeps wanted and unobserved paths", "[reconcile][tls]") {
    file_spec wanted;
    wanted.path = "/a";
    const std::map<std::string, std::optional<std::string>> seen{{"/a", "x"}, {"/b", "y"}, {"/c", std::nullopt}};
    CHECK(files_to_remove({"/a", "/b", "/c", "/d"}, {wanted}, seen) == std::vector<std::string>{"/b"});
}

// F7: a certificate that is not PEM was pushed to both containers, and both restarted into failure.
TEST_CASE("Certificates Redis cannot read are refused naming the resource and why", "[tls][redis]") {
    test::temp_dir dir;
    const auto good = test::make_test_certificates(dir.path).resources;
    CHECK_NOTHROW(check_certificates(good));
    auto refused = [&](const std::string& name, const std::string& content) {
        auto res = good;
        res[name] = secret(content);
        try {
            check_certificates(res);
        } catch (const input_error& e) {
            CHECK(e.key() == name);
            CHECK(e.source() == "resources");
            return std::string(e.what());
        }
        FAIL("accepted " << name);
        return std::string();
    };
    CHECK_THAT(refused("cert-file", "not a certificate\n"), Catch::Contains("is not a PEM certificate"));
    CHECK_THAT(refused("ca-cert-file", "\x30\x82\x01\x0a binary DER"), Catch::Contains("is not a PEM certificate"));
    const std::string secret_looking = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ";
    const std::string key_msg = refused("key-file", secret_looking);
    CHECK_THAT(key_msg, Catch::Contains("is not an unencrypted PEM private key"));
    CHECK_THAT(key_msg, !Catch::Contains(secret_looking));  // never the content
    // A key that is not the certificate's (the CA's key).
    CHECK_THAT(refused("key-file", test::read_file(dir.path + "/ca-key.pem")),
               Catch::Contains("does not match the certificate in cert-file"));
    // A damaged block after a good certificate.
    CHECK_THAT(refused("ca-cert-file", good.at("ca-cert-file").reveal() + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                                                         "-----END CERTIFICATE-----\n"),
               Catch::Contains("damaged PEM block after 1 certificate"));

    // Both containers' paths refuse it before anything is pushed (Blocked, not retried).
    desired_state d = sentinel_unit();
    d.config.enable_tls = true;
    d.resources = good;
    d.resources["cert-file"] = secret("not a certificate\n");
    observed_state seen;
    seen.pebble_reachable = true;
    seen.plan = layer{};
    const decision redis = decide(seen, d);
    CHECK(redis.status_after == unit_status::blocked);
    CHECK_THAT(redis.message, Catch::StartsWith("resources: \"cert-file\": is not a PEM certificate"));
    CHECK(redis.push.empty());
    CHECK_FALSE(redis.add_layer);
    const auto sv = sentinel_verdict(d);
    REQUIRE(sv);
    CHECK(sv->status_after == unit_status::blocked);
    CHECK(sv->message == redis.message);
    CHECK_FALSE(sv->retry_later);
    sentinel_machine m(d);
    (void)m.start();
    pebble_reply plan;
    plan.plan = layer{};
    CHECK_FALSE(m.resume(plan));  // no request after the plan: nothing read, nothing pushed
    CHECK(m.report().message == redis.message);
    d.resources = good;
    CHECK_FALSE(sentinel_verdict(d));
}

// F8: a quorum above the planned units was accepted; Sentinel could never fail over.
TEST_CASE("A Sentinel quorum above the planned units is refused naming both", "[sentinel]") {
    desired_state d = sentinel_unit();
    d.config.sentinel_quorum = 3;
    CHECK_NOTHROW(sentinel_directives(d.config, d.peer, "10.0.0.1"));  // 3 of 3
    d.peer.planned_units = 2;
    try {
        (void)sentinel_directives(d.config, d.peer, "10.0.0.1");
        FAIL("accepted");
    } catch (const input_error& e) {
        CHECK(e.key() == "sentinel-quorum");
        CHECK(e.message() ==
              "is 3, above the 2 planned unit(s) (peer data planned-units): that many Sentinels can never agree the "
              "master is down, so Sentinel would never fail over; set it to at most 2 or 0 (a majority of the planned "
              "units)");
    }
    const auto v = sentinel_verdict(d);
    REQUIRE(v);
    CHECK(v->status_after == unit_status::blocked);
    CHECK_THAT(v->message, Catch::Contains("sentinel-quorum") && Catch::Contains("2 planned unit"));
    // The default (0: a majority) always fits.
    d.config.sentinel_quorum = 0;
    for (int units : {1, 2, 3, 4, 5}) {
        d.peer.planned_units = units;
        CHECK_FALSE(sentinel_verdict(d));
    }
}

// F10: `admin-password: "abc` followed by `hostname: h` became the password `abc hostname: h`.
TEST_CASE("An unterminated quote in a document is refused with its line and column", "[config]") {
    auto e = peer_error("current-master: m\nadmin-password: \"abc\nhostname: h\n");
    CHECK(e.key() == "admin-password");
    CHECK(e.line() == 2);
    CHECK(e.column() == 17);
    CHECK_THAT(std::string(e.what()), Catch::Contains("no closing \" on its line"));
    CHECK_THAT(std::string(e.what()), !Catch::Contains("abc"));
    e = peer_error("hostname: 'h\ncurrent-master: m\n");
    CHECK(e.key() == "hostname");
    CHECK(e.line() == 1);
    CHECK_THAT(std::string(e.what()), Catch::Contains("no closing '"));
    // A backslash at the end of the line continues a YAML string: refused as well.
    CHECK(peer_error("admin-password: \"abc\\\n  def\"\n").key() == "admin-password");
    try {
        (void)load_config("storage-path: \"/data\nport: 6380\n", "config.yaml");
        FAIL("accepted");
    } catch (const input_error& e2) {
        CHECK(e2.key() == "storage-path");
    }
    // Quotes that close, escapes and doubled single quotes are read as before.
    const peer_data p = load_peer_data("admin-password: \"a\\\"b\\\\\"\nsentinel-password: 'it''s'\nhostname: \"h\"  # c\n"
                                       "current-master: m\n");
    CHECK(p.admin_password.reveal() == "a\"b\\");
    CHECK(p.sentinel_password.reveal() == "it's");
    CHECK(p.hostname == "h");
}

TEST_CASE("Incomplete peer data is Waiting naming the keys each container needs", "[sentinel][reconcile]") {
    desired_state d = sentinel_unit();
    d.peer.sentinel_password = secret();
    d.peer.hostname.clear();
    CHECK(sentinel_peer_data_missing(d.peer) == std::vector<std::string>{"sentinel-password", "hostname"});
    const auto v = sentinel_verdict(d);
    REQUIRE(v);
    CHECK(v->status_after == unit_status::waiting);
    CHECK(v->message == "Waiting for peer data to be updated (not set yet: sentinel-password, hostname)");
    CHECK(d.peer.missing() == std::vector<std::string>{"hostname"});
    d.peer.enable_password = false;
    d.peer.admin_password = secret();
    CHECK(sentinel_peer_data_missing(d.peer) == std::vector<std::string>{"hostname"});
}

// F4: one kill -9 of Sentinel, then apply at once, was Blocked "keeps failing"; Waiting or Blocked
// depended on the instant.
TEST_CASE("backoff_watch tells one crash from a service that keeps failing", "[reconcile-machine][backoff]") {
    using namespace std::chrono_literals;
    using v = backoff_watch::verdict;
    auto run = [](std::vector<std::string> states) {
        backoff_watch w(500ms, 10s, 250ms);
        std::vector<v> out;
        for (const auto& s : states) out.push_back(w.see(s));
        return out;
    };
    // Restarted after 0.5 s and running for Pebble's okay delay: started.
    CHECK(run({"backoff", "active", "active", "active", "active", "active"}).back() == v::started);
    CHECK(run({"backoff", "active", "active", "active", "active"}).back() == v::again);
    // Restarted and failed again: keeps failing.
    CHECK(run({"backoff", "active", "active", "backoff"}).back() == v::failed_again);
    CHECK(run({"backoff", "error"}).back() == v::failed_again);
    // In backoff for longer than the first backoff can last (2 x 500 ms + 1 s): more than one failure.
    auto longer = run(std::vector<std::string>(9, "backoff"));
    CHECK(longer[7] == v::again);
    CHECK(longer[8] == v::long_backoff);
    // The settle spent first: out of time (Waiting).
    backoff_watch short_watch(500ms, 600ms, 250ms);
    CHECK(short_watch.see("backoff") == v::again);
    CHECK(short_watch.see("backoff") == v::out_of_time);
    // The plan's backoff-delay is Pebble's first delay.
    layer plan;
    plan.services["s"].backoff_delay = "3s";
    CHECK(backoff_watch::first_delay_of(plan, "s") == 3s);
    CHECK(backoff_watch::first_delay_of(plan, "other") == 500ms);
}

TEST_CASE("Sentinel in backoff with nothing to change is watched: one crash is Active once it answers", "[sentinel][machine][backoff]") {
    const desired_state d = sentinel_unit();
    probe_options po;
    po.settle = std::chrono::seconds(10);
    po.settle_step = std::chrono::milliseconds(250);
    auto watch = [&](sentinel_machine& m, const std::vector<std::string>& states) {
        auto req = in_order(m, d, "backoff");
        for (const auto& s : states) {
            REQUIRE(req);
            REQUIRE(req->what == k::pause);
            CHECK(req->timeout == po.settle_step);
            req = m.resume(pebble_reply{});
            REQUIRE(req->what == k::get_service);
            pebble_reply svc;
            svc.service_current = s;
            req = m.resume(svc);
        }
        return req;
    };
    // Pebble restarts it and it runs: asked, and Active with no write and no restart of ours.
    sentinel_machine one(d, false, po);
    auto req = watch(one, {"backoff", "active", "active", "active", "active", "active"});
    REQUIRE(req->what == k::exec);
    pebble_reply answer;
    answer.output = "OK\n10.0.0.1\n6379\n";
    CHECK_FALSE(one.resume(answer));
    CHECK(one.report().status == unit_status::active);
    CHECK(one.report().restarts() == 0);
    CHECK(one.report().writes() == 0);
    CHECK_FALSE(one.report().failed_step);

    // Killed a moment before: Pebble still said active, Sentinel refuses connections; read again,
    // the service is in backoff, and its restart is watched as above.
    sentinel_machine killed(d, false, po);
    req = in_order(killed, d, "active");
    REQUIRE(req->what == k::exec);
    pebble_reply refused;
    refused.output = "Could not connect to Redis at 127.0.0.1:26379: Connection refused\n";
    req = killed.resume(refused);
    REQUIRE(req->what == k::get_service);
    pebble_reply now;
    now.service_current = "backoff";
    req = killed.resume(now);
    for (const char* s : {"active", "active", "active", "active", "active"}) {
        REQUIRE(req->what == k::pause);
        req = killed.resume(pebble_reply{});
        REQUIRE(req->what == k::get_service);
        now.service_current = s;
        req = killed.resume(now);
    }
    REQUIRE(req->what == k::exec);
    CHECK_FALSE(killed.resume(answer));
    CHECK(killed.report().status == unit_status::active);
    CHECK_FALSE(killed.report().failed_step);

    // It fails again when Pebble restarts it: Blocked with its last log lines.
    sentinel_machine again(d, false, po);
    req = watch(again, {"active", "active", "backoff"});
    REQUIRE(req->what == k::get_logs);
    pebble_reply logs;
    logs.log_lines = {"*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***", ">>> 'frobnicate yes'"};
    CHECK_FALSE(again.resume(logs));
    CHECK(again.report().status == unit_status::blocked);
    CHECK_THAT(again.report().message,
               Catch::StartsWith("Service \"sentinel\" keeps failing (Pebble backoff: it failed again") &&
                   Catch::Contains("its last log lines: *** FATAL CONFIG FILE ERROR"));

    // Still in backoff when the settle is spent: Waiting, with its log lines.
    probe_options quick = po;
    quick.settle = std::chrono::milliseconds(500);
    sentinel_machine slow(d, false, quick);
    req = in_order(slow, d, "backoff");
    while (req && req->what != k::get_logs) {
        pebble_reply svc;
        svc.service_current = "backoff";
        req = slow.resume(svc);
    }
    REQUIRE(req);
    logs.log_lines = {"1:X Sentinel started"};
    CHECK_FALSE(slow.resume(logs));
    CHECK(slow.report().status == unit_status::waiting);
    CHECK(slow.report().message ==
          "Service \"sentinel\" is restarting after a failure (Pebble backoff); its last log lines: 1:X Sentinel started");
}

// F5: a hand-added unknown directive was kept, and the next push restarted Sentinel into `FATAL
// CONFIG FILE ERROR`; diff did not warn.
TEST_CASE("Lines that are neither ours nor Sentinel's are warned about and the ones Sentinel refuses are dropped", "[sentinel][merge]") {
    const desired_state d = sentinel_unit();
    const auto wanted = sentinel_directives(d.config, d.peer, "10.0.0.1");
    const std::string ours = sentinel_conf_text(wanted).reveal();
    const std::string state = "dir \"/etc/redis-server\"\nprotected-mode no\nsentinel myid e3c5a59fc0edd91ba993af112bbfb08b73a20da4\n"
                              "sentinel current-epoch 0\nsentinel known-sentinel redis-k8s 10.0.0.3 26379 0c5d\n";
    // Sentinel's own state: no warning, nothing to push.
    auto clean = merge_sentinel_conf(ours + state, wanted, "redis-k8s");
    CHECK(clean.changed.empty());
    CHECK(clean.warnings.empty());
    // Two lines by hand: one Sentinel accepts (kept, warned), one it refuses (dropped, warned, pushed).
    const std::string by_hand = ours + state + "loglevel verbose\nfrobnicate-directive s3cret-value\nsentinel frob x\n";
    auto m = merge_sentinel_conf(by_hand, wanted, "redis-k8s");
    const auto n = static_cast<int>(std::count(ours.begin(), ours.end(), '\n') + 5);
    CHECK(m.changed == std::vector<std::string>{"line " + std::to_string(n + 2) + ": frobnicate-directive, which Sentinel refuses",
                                                "line " + std::to_string(n + 3) + ": sentinel frob, which Sentinel refuses"});
    REQUIRE(m.warnings.size() == 3);
    CHECK(m.warnings[0] == "sentinel.conf line " + std::to_string(n + 1) +
                               ": loglevel is neither ours nor Sentinel's run-time state: kept (Sentinel accepts it)");
    CHECK_THAT(m.warnings[1], Catch::Contains("frobnicate-directive is a directive Sentinel refuses") &&
                                  Catch::Contains("dropped"));
    for (const auto& w : m.warnings) CHECK_THAT(w, !Catch::Contains("s3cret"));
    const std::string pushed = m.content.reveal();
    CHECK_THAT(pushed, Catch::Contains("loglevel verbose") && Catch::Contains("sentinel myid e3c5"));
    CHECK_THAT(pushed, !Catch::Contains("frobnicate") && !Catch::Contains("sentinel frob"));
    // What was pushed merges clean: the next reconcile does nothing.
    CHECK(merge_sentinel_conf(pushed, wanted, "redis-k8s").changed.empty());

    // The machine's decision carries the warnings, and the dropped line as a difference.
    sentinel_machine machine(d, true, no_probe());
    (void)machine.start();
    pebble_reply plan;
    plan.plan = make_sentinel_layer(d.config);
    (void)machine.resume(plan);
    pebble_reply svc;
    svc.service_current = "active";
    (void)machine.resume(svc);
    pebble_reply files;
    files.file_sha256[d.config.sentinel_config_path] = "x";
    files.file_content[d.config.sentinel_config_path] = secret(by_hand);
    CHECK_FALSE(machine.resume(files));
    CHECK(machine.report().decided.warnings == m.warnings);
    CHECK(machine.report().decided.restart == std::vector<std::string>{"sentinel"});
    CHECK(machine.report().decided.differences.size() == 2);

    CHECK(sentinel_line_kind_of({"sentinel", "known-replica", "m", "h", "1"}) == sentinel_line_kind::runtime);
    CHECK(sentinel_line_kind_of({"sentinel", "notification-script", "m", "/x"}) == sentinel_line_kind::accepted);
    CHECK(sentinel_line_kind_of({"SLAVEOF", "h", "1"}) == sentinel_line_kind::accepted);
    CHECK(sentinel_line_kind_of({"sentinel"}) == sentinel_line_kind::refused);
}
