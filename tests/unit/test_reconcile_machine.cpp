// The sans-io reconcile machine (include/redispebble/reconcile_machine.hpp) driven against an
// in-memory container: every step, fault and report, without sockets or processes.
// Over 600 lines: one test file per header, as the style guide asks and the machine is the one
// state machine of the reconcile; its in-memory container is the fixture all these tests share.
#include <redispebble/reconcile_machine.hpp>

#include <redispebble/digest.hpp>
#include <fmt/format.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

using namespace redispebble;
using kind = pebble_request::kind;
using outcome = pebble_reply::outcome;

namespace {

// An in-memory container: what Pebble and the filesystem hold. The driver below applies the
// machine's requests to it, the way the real driver applies them through the client.
struct container {
    bool up = true;
    layer plan;              ///< the stack up to and including our layer
    std::vector<layer> above; ///< layers added after ours: they win over it
    std::map<std::string, std::string> files;
    std::string service_state = "inactive";
    int restarts = 0, writes = 0, next_change = 1;
    bool start_fails = false;
    // The storage directory, in order by default (tests of storage change it).
    path_state storage{true, "directory", "redis", "redis", 102, 105};
    // What redis-cli answers: a healthy master unless a test says otherwise.
    std::string probe_output = "OK\nPONG\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\n"
                               "# Server\r\nuptime_in_seconds:7\r\n";
    std::vector<std::string> log_lines;
    std::vector<std::vector<std::string>> execs;  // argv of every exec
    std::vector<std::string> exec_stdin;
    int pauses = 0;
    std::function<std::optional<pebble_reply>(const pebble_request&)> fault;  // injected answer

    layer combined() const {
        std::vector<layer> ls{plan};
        ls.insert(ls.end(), above.begin(), above.end());
        return combine(ls);
    }

    pebble_reply handle(const pebble_request& r) {
        if (fault)
            if (auto injected = fault(r)) return *injected;
        pebble_reply rep;
        if (!up) {
            rep.result = outcome::unreachable;
            rep.error = "socket not found";
            return rep;
        }
        switch (r.what) {
        case kind::get_plan: rep.plan = combined(); break;
        case kind::get_service:
            if (combined().services.count(r.service)) rep.service_current = service_state;
            break;
        case kind::read_files:
            for (const auto& p : r.paths)
                rep.file_sha256[p] = files.count(p) ? std::optional<std::string>(sha256_hex(files[p])) : std::nullopt;
            if (!r.key_path.empty() && files.count(r.key_path)) rep.secrets_key = parse_secrets_key(files[r.key_path]);
            break;
        case kind::push_files:
            for (const auto& f : r.files) files[f.path] = f.content.reveal(), ++writes;
            break;
        case kind::add_layer: merge_into(plan, *r.layer_to_add), ++writes; break;
        case kind::restart:
        case kind::start:
            rep.change_id = std::to_string(next_change++);
            ++restarts;
            service_state = start_fails ? "backoff" : "active";
            break;
        case kind::stat_path:
            rep.path_info = storage;
            break;
        case kind::make_dirs:
            for (const auto& d : r.dirs) storage = {true, "directory", d.user, d.group, 1, 1}, ++writes;
            break;
        case kind::exec:
            execs.push_back(r.command);
            exec_stdin.push_back(r.stdin_data.reveal());
            if (r.command.at(0) == "chown") {
                storage.user = "redis", storage.group = "redis", ++writes;
                rep.exit_code = 0;
            } else {
                rep.exit_code = 0;
                rep.output = probe_output;
            }
            break;
        case kind::get_logs: rep.log_lines = log_lines; break;
        case kind::pause: ++pauses; break;
        case kind::get_checks: break;
        case kind::stop_checks: ++writes; break;
        case kind::stop: rep.change_id = std::to_string(next_change++), ++writes; break;
        case kind::remove_files:
            for (const auto& p : r.paths) files.erase(p), ++writes;
            break;
        case kind::wait_change:
            rep.change_failed = start_fails;
            if (start_fails)
                rep.change_error = "cannot perform the following tasks:\n- Start service \"redis\" (exited quickly)\n"
                                   "Most recent service output:\n    # Bad directive or wrong number of arguments\n"
                                   "    requirepass s3cret pass";
            break;
        }
        return rep;
    }
};

// Runs `m` against `c` to its end, in fewer than `max_steps` requests, none of a kind in `never`:
// how many requests it made.
int drive(container& c, reconcile_machine& m, int max_steps, std::initializer_list<kind> never = {}) {
    std::optional<pebble_request> req = m.start();
    int n = 0;
    while (req) {
        REQUIRE(++n < max_steps);
        for (kind k : never) {
            INFO("a request to " << to_string(k));
            REQUIRE(req->what != k);
        }
        req = m.resume(c.handle(*req));
    }
    REQUIRE(m.done());
    return n;
}

reconcile_report run(container& c, const desired_state& d, int* steps = nullptr, bool dry_run = false,
                     probe_options probe = {}) {
    reconcile_machine m(d, dry_run, probe);
    const int n = drive(c, m, 60);
    if (steps) *steps = n;
    return m.report();
}

desired_state unit() {
    desired_state d;
    d.config.health_checks = false;  // the checks' client-auth file: tests/unit/test_companions.cpp
    d.peer.admin_password = secret("s3cret pass");
    d.peer.current_master = "redis-0";
    d.peer.hostname = "redis-0";
    return d;
}

using fault_fn = std::function<std::optional<pebble_reply>(const pebble_request&)>;

// Pebble's answer `result`, with its error message.
pebble_reply reply(outcome result, std::string error = "") {
    pebble_reply rep;
    rep.result = result;
    rep.error = std::move(error);
    return rep;
}

// An exec that ran and exited with `exit_code`, printing `output`.
pebble_reply exec_reply(int exit_code, std::string output) {
    pebble_reply rep;
    rep.exit_code = exit_code;
    rep.output = std::move(output);
    return rep;
}

// A fault: every request of kind `k` gets `rep`; the others are served as usual.
fault_fn on(kind k, pebble_reply rep) {
    return [k, rep](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != k) return std::nullopt;
        return rep;
    };
}

// One reconcile of unit() in a fresh container that answers with `fault`.
reconcile_report run_with(fault_fn fault) {
    container c;
    c.fault = std::move(fault);
    return run(c, unit());
}

} // namespace

TEST_CASE("A fresh unit is pushed and layered and restarted and then Active", "[reconcile-machine]") {
    container c;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK_FALSE(r.retry_later);
    CHECK(r.restarts() == 1);
    CHECK(r.writes() == 2);
    CHECK(c.restarts == 1);
    CHECK(c.files.count("/var/lib/redis/redispebble-secrets.conf") == 1);
    CHECK(c.plan.services.count("redis") == 1);
    CHECK(c.service_state == "active");
    CHECK_FALSE(r.failed_step);
}

namespace {
// The kinds of the requests a whole reconcile makes, in order.
std::vector<kind> requests_of(container& c, const desired_state& d) {
    reconcile_machine m(d);
    std::vector<kind> out;
    for (auto req = m.start(); req; req = m.resume(c.handle(*req))) out.push_back(req->what);
    REQUIRE(m.done());
    return out;
}
} // namespace

TEST_CASE("The service's state is asked only when the plan has the service", "[reconcile-machine]") {
    // Pebble lists only the plan's services (ServiceManager.Services): for a fresh unit the answer
    // is known to be empty, and the request is not made.
    container c;
    const auto first = requests_of(c, unit());
    CHECK(std::count(first.begin(), first.end(), kind::get_service) == 0);
    REQUIRE(first.size() >= 2);
    CHECK(first[0] == kind::get_plan);
    CHECK(first[1] == kind::stat_path);
    CHECK(c.service_state == "active");
    // Now the plan has it: the next run asks, right after the plan.
    const auto second = requests_of(c, unit());
    REQUIRE(second.size() >= 2);
    CHECK(second[0] == kind::get_plan);
    CHECK(second[1] == kind::get_service);
    // A plan that has the service from another layer only: asked as well, then replaced by ours and
    // (re)started once.
    container other;
    other.plan.services["redis"].command = "sleep 1000";
    other.plan.services["redis"].override = override_kind::replace;
    const auto third = requests_of(other, unit());
    REQUIRE(third.size() >= 2);
    CHECK(third[1] == kind::get_service);
    CHECK(other.restarts == 1);
    CHECK(other.service_state == "active");
    CHECK(other.plan.services.at("redis").command != std::optional<std::string>("sleep 1000"));
}

TEST_CASE("A second reconcile with unchanged inputs makes zero restarts and zero writes", "[reconcile-machine]") {
    container c;
    run(c, unit());
    const int restarts = c.restarts, writes = c.writes;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK(r.restarts() == 0);
    CHECK(r.writes() == 0);
    CHECK(c.restarts == restarts);
    CHECK(c.writes == writes);
    CHECK(r.actions_done.empty());
}

TEST_CASE("Pebble absent is Waiting with a retry and nothing attempted", "[reconcile-machine]") {
    container c;
    c.up = false;
    int steps = 0;
    auto r = run(c, unit(), &steps);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == "Waiting for Pebble in workload container");
    CHECK(r.retry_later);
    CHECK(steps == 1);
}

TEST_CASE("Pebble restarting mid-reconcile loses layers and the next reconcile converges", "[reconcile-machine]") {
    container c;
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::add_layer) return std::nullopt;
        c.plan = {};  // a restarted Pebble forgets its layers
        return reply(outcome::unreachable, "connection closed");
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "add layer \"redis\"");
    CHECK(r.actions_done == std::vector<std::string>{"pushed /var/lib/redis/redispebble-secrets.conf"});
    c.fault = nullptr;
    auto again = run(c, unit());
    CHECK(again.status == unit_status::active);
    CHECK(again.writes() == 1);  // only the layer: the file is already right
    CHECK(again.restarts() == 1);
}

TEST_CASE("Redis failing to start is Blocked with its output and without the password", "[reconcile-machine]") {
    container c;
    c.start_fails = true;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.retry_later);
    CHECK(r.message.find("failed to start") != std::string::npos);
    CHECK(r.message.find("Bad directive") != std::string::npos);
    CHECK(r.message.find("s3cret") == std::string::npos);
    REQUIRE(r.failed_step);
    CHECK(r.writes() == 2);  // the report says what was done before the failure
}

TEST_CASE("A per-file push error is Blocked naming the file", "[reconcile-machine]") {
    container c;
    c.fault = [](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::push_files) return std::nullopt;
        pebble_reply rep;
        rep.file_errors[r.files.front().path] = "permission denied";
        return rep;
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot write /var/lib/redis/redispebble-secrets.conf: permission denied");
    CHECK(r.restarts() == 0);
    CHECK(r.writes() == 0);
}

TEST_CASE("A push where one file fails records the files written and redacts Pebble's words", "[reconcile-machine]") {
    // Pebble writes each file of a push on its own: the others were written. The Sentinel machine
    // shares this step (test_sentinel.cpp).
    desired_state d = unit();
    d.config.health_checks = true;  // two files: the secrets file and the ready check's client-auth file
    container c;
    std::vector<std::string> asked;
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::push_files) return std::nullopt;
        for (const auto& f : r.files) asked.push_back(f.path);
        pebble_reply rep;
        rep.file_errors[r.files.back().path] = "open: no space left (s3cret pass)";
        return rep;
    };
    auto r = run(c, d);
    REQUIRE(asked.size() == 2);
    CHECK(r.status == unit_status::blocked);
    CHECK(r.failed_step == std::optional<std::string>("push files"));
    CHECK(r.message.rfind("Cannot write " + asked[1] + ": open: no space left (", 0) == 0);
    CHECK(r.message.find("s3cret") == std::string::npos);
    CHECK(std::count(r.actions_done.begin(), r.actions_done.end(), "pushed " + asked[0]) == 1);
    CHECK(std::count(r.actions_done.begin(), r.actions_done.end(), "pushed " + asked[1]) == 0);
    CHECK(r.restarts() == 0);
}

TEST_CASE("A change still running at the deadline is Waiting and retried", "[reconcile-machine]") {
    auto r = run_with(on(kind::wait_change, reply(outcome::timed_out)));
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    CHECK(r.message == "Service \"redis\" is still starting");
}

TEST_CASE("A Pebble error adding the layer is Blocked with Pebble's message", "[reconcile-machine]") {
    auto r = run_with(on(kind::add_layer, reply(outcome::failed, "cannot use reserved label prefix \"pebble-\"")));
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot add layer \"redis\": cannot use reserved label prefix \"pebble-\"");
}

TEST_CASE("Incomplete peer data stops after reading the plan", "[reconcile-machine]") {
    container c;
    auto d = unit();
    d.peer.current_master.clear();
    int steps = 0;
    auto r = run(c, d, &steps);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == "Waiting for peer data to be updated (not set yet: current-master)");
    CHECK(steps == 1);
    CHECK(c.writes == 0);
}

TEST_CASE("redact_output keeps the last lines and hides passwords", "[reconcile-machine]") {
    std::string text;
    for (int i = 0; i < 30; ++i) text += "line " + std::to_string(i) + "\n";
    text += "redis-server --requirepass hunter2 --port 1\nthe password pw0rd leaked";
    auto out = redact_output(text, secret("pw0rd"), 3);
    CHECK(out == "line 29\nredis-server --requirepass <redacted> --port 1\nthe password <redacted> leaked");
}

TEST_CASE("A dry run observes and decides but changes nothing", "[reconcile-machine]") {
    container c;
    auto r = run(c, unit(), nullptr, true);
    CHECK(r.status == unit_status::active);
    CHECK(r.actions_done.empty());
    CHECK(r.decided.add_layer);
    CHECK(r.decided.push.size() == 1);
    CHECK(c.writes == 0);
    CHECK(c.restarts == 0);
}

TEST_CASE("A missing storage directory is made with the service's owner before anything else", "[reconcile-machine][storage]") {
    container c;
    c.storage = path_state{};  // not found
    auto d = unit();
    d.config.secrets = secret_mode::command_line;  // nothing pushed: only make-dirs creates it
    auto r = run(c, d);
    CHECK(r.status == unit_status::active);
    REQUIRE_FALSE(r.actions_done.empty());
    CHECK(r.actions_done.front() == "made directory /var/lib/redis (redis:redis, 750)");
    CHECK(c.storage.exists);
    CHECK(c.storage.user == "redis");
    auto again = run(c, d);
    CHECK(again.writes() == 0);
    CHECK(again.restarts() == 0);
}

TEST_CASE("A storage directory owned by root is re-owned recursively once and then left alone", "[reconcile-machine][storage]") {
    for (auto mode : {secret_mode::config_file, secret_mode::command_line}) {
        container c;
        c.storage = path_state{true, "directory", "root", "root", 0, 0};
        auto d = unit();
        d.config.secrets = mode;
        auto r = run(c, d);
        CHECK(r.status == unit_status::active);
        REQUIRE_FALSE(c.execs.empty());
        CHECK(c.execs.front() == std::vector<std::string>{"chown", "-R", "-H", "--", "redis:redis", "/var/lib/redis"});
        CHECK(r.actions_done.front() == "changed owner of /var/lib/redis to redis:redis (recursive)");
        const auto execs = c.execs.size();
        auto again = run(c, d);
        CHECK(again.writes() == 0);
        CHECK(again.restarts() == 0);
        CHECK(again.status == unit_status::active);
        CHECK(c.execs.size() == execs + 1);  // the probe only
        CHECK(c.execs.back().at(0) == "redis-cli");
    }
}

TEST_CASE("Only the storage owner out of order re-owns it without restarting Redis", "[reconcile-machine][storage]") {
    container c;
    run(c, unit());
    c.storage.user = "root";
    const int restarts = c.restarts;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK(r.writes() == 1);
    CHECK(r.restarts() == 0);
    CHECK(c.restarts == restarts);
}

TEST_CASE("A storage path that is a file is Blocked and nothing is applied", "[reconcile-machine][storage]") {
    container c;
    c.storage = path_state{true, "file", "root", "root", 0, 0};
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "storage-path /var/lib/redis exists and is not a directory (file)");
    CHECK(c.writes == 0);
    CHECK(c.restarts == 0);
}

TEST_CASE("A chown that fails is Blocked with its words and Redis is not restarted", "[reconcile-machine][storage]") {
    container c;
    c.storage = path_state{true, "directory", "root", "root", 0, 0};
    c.fault = [](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::exec || r.command.at(0) != "chown") return std::nullopt;
        return exec_reply(1, "chown: invalid user: 'redis:redis'\n");
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot change the owner of storage-path /var/lib/redis to redis:redis: chown: invalid user: 'redis:redis'");
    CHECK(r.restarts() == 0);
    CHECK(c.writes == 0);
}

TEST_CASE("The probe sends the password on stdin and never in argv", "[reconcile-machine][probe]") {
    container c;
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK(r.redis_state == "role master");
    REQUIRE(c.execs.size() == 1);
    for (const auto& a : c.execs[0]) CHECK(a.find("s3cret") == std::string::npos);
    CHECK(c.exec_stdin[0].rfind("AUTH \"s3cret\\x20pass\"\n", 0) == 0);
}

TEST_CASE("A replica whose link is down is Waiting naming the master then Blocked with Redis's reason", "[reconcile-machine][probe]") {
    container c;
    auto d = unit();
    d.peer.current_master = "redis-0.example";
    d.peer.hostname = "redis-1";
    probe_options off;
    off.enabled = false;
    run(c, d, nullptr, false, off);
    c.probe_output = "OK\nPONG\n# Replication\r\nrole:slave\r\nmaster_host:redis-0.example\r\nmaster_port:6379\r\n"
                     "master_link_status:down\r\nmaster_link_down_since_seconds:-1\r\n\n# Server\r\nuptime_in_seconds:20\r\n";
    c.log_lines = {"* Connecting to MASTER redis-0.example:6379", "* MASTER <-> REPLICA sync started",
                   "# Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair (tried s3cret pass)",
                   "* unrelated"};
    probe_options p;
    p.link_bound = std::chrono::seconds(60);
    auto r = run(c, d, nullptr, false, p);
    CHECK(r.status == unit_status::waiting);
    CHECK(r.retry_later);
    CHECK(r.message == "Replica of redis-0.example:6379: link to the master is down (20 s)");
    CHECK(r.redis_state == "role slave, master redis-0.example:6379 link down (20 s)");
    p.link_bound = std::chrono::seconds(10);
    r = run(c, d, nullptr, false, p);
    CHECK(r.status == unit_status::blocked);
    CHECK(r.retry_later);
    CHECK(r.message.rfind("Replica of redis-0.example:6379 cannot sync with its master (link down 20 s): ", 0) == 0);
    CHECK(r.message.find("Unable to AUTH to MASTER: -WRONGPASS") != std::string::npos);
    CHECK(r.message.find("s3cret") == std::string::npos);
    CHECK(r.message.find("unrelated") == std::string::npos);
}

TEST_CASE("A service in backoff with nothing to change stays Blocked with Redis's words", "[reconcile-machine][probe]") {
    container c;
    c.start_fails = true;
    auto first = run(c, unit());
    CHECK(first.status == unit_status::blocked);
    REQUIRE(c.service_state == "backoff");
    c.log_lines = {"# Warning: Could not create server TCP listening socket *:6379: bind: Address already in use",
                   "# Failed listening on port 6379 (TCP), aborting.", "requirepass s3cret pass"};
    const int restarts = c.restarts, writes = c.writes;
    auto second = run(c, unit());
    CHECK(second.status == unit_status::blocked);
    CHECK(second.retry_later);
    // Pebble keeps it in backoff past its first delay: it has failed more than once (backoff_watch).
    CHECK(second.message.rfind("Service \"redis\" keeps failing (Pebble backoff: longer than its first backoff, so it "
                               "failed more than once): ", 0) == 0);
    CHECK(second.message.find("Address already in use") != std::string::npos);
    CHECK(second.message.find("s3cret") == std::string::npos);
    CHECK(c.restarts == restarts);
    CHECK(c.writes == writes);
}

// Found from outside (issue 12, F4): one kill -9 followed at once by a reconcile found the service
// in backoff with nothing to change and said Blocked "keeps failing". Pebble restarts it: watched,
// it runs, Redis answers, and the unit is Active with no restart of ours.
TEST_CASE("One crash that Pebble restarts is Active and a second failure while watching is Blocked", "[reconcile-machine][probe][backoff]") {
    container c;
    const desired_state d = unit();
    REQUIRE(run(c, d).status == unit_status::active);
    const int restarts = c.restarts, writes = c.writes;
    c.service_state = "backoff";
    int looks = 0;
    std::vector<std::string> states;  // what Pebble says at each look after the first
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what == kind::get_service && looks++ > 0 && looks - 2 < static_cast<int>(states.size()))
            c.service_state = states[static_cast<std::size_t>(looks - 2)];
        return std::nullopt;
    };
    states = {"backoff", "active"};  // restarted after 0.5 s, then it runs
    auto one = run(c, d);
    CHECK(one.status == unit_status::active);
    CHECK(c.restarts == restarts);
    CHECK(c.writes == writes);
    CHECK(c.pauses >= 6);  // watched for Pebble's okay delay (1 s at 250 ms) before asking Redis

    c.service_state = "backoff";
    looks = 0;
    states = {"active", "active", "backoff"};  // restarted, and failed again
    c.log_lines = {"# Fatal error, can't open config file"};
    auto again = run(c, d);
    CHECK(again.status == unit_status::blocked);
    CHECK(again.message.rfind("Service \"redis\" keeps failing (Pebble backoff: it failed again when Pebble restarted "
                              "it): # Fatal error", 0) == 0);
    CHECK(c.restarts == restarts);

    probe_options quick;
    quick.settle = std::chrono::milliseconds(500);
    c.service_state = "backoff";
    looks = 0;
    states = {};
    auto waiting = run(c, d, nullptr, false, quick);
    CHECK(waiting.status == unit_status::waiting);
    CHECK(waiting.message == "Service \"redis\" is restarting after a failure (Pebble backoff): # Fatal error, can't "
                             "open config file");
}

TEST_CASE("After a restart a Redis not yet answering is probed again until it answers", "[reconcile-machine][probe]") {
    container c;
    int probes = 0;
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::exec || r.command.at(0) != "redis-cli" || ++probes > 3) return std::nullopt;
        return exec_reply(0, "Could not connect to Redis at 127.0.0.1:6379: Connection refused\n");
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::active);
    CHECK(c.pauses == 3);
    // Without a restart there is no settling: one probe, Waiting.
    probes = 0;
    r = run(c, unit());
    CHECK(r.status == unit_status::waiting);
    CHECK(r.message == "Redis is not answering on 127.0.0.1:6379: Could not connect to Redis at 127.0.0.1:6379: Connection refused");
    CHECK(c.pauses == 3);
}

TEST_CASE("A probe that cannot run is Blocked and a disabled probe is not run", "[reconcile-machine][probe]") {
    container c;
    c.fault = on(kind::exec, reply(outcome::failed, "cannot find executable \"redis-cli\""));
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message == "Cannot ask Redis (redis-cli through Pebble exec): cannot find executable \"redis-cli\"");
    probe_options off;
    off.enabled = false;
    r = run(c, unit(), nullptr, false, off);
    CHECK(r.status == unit_status::active);
}

TEST_CASE("A layer above ours that merges environment into the service causes no write and no restart", "[reconcile-machine][layers]") {
    container c;
    run(c, unit());
    c.above.push_back(parse_layer("services:\n  redis:\n    override: merge\n    environment: {EXTRA_OPTION: \"1\"}\n"));
    const int restarts = c.restarts, writes = c.writes;
    for (int i = 0; i < 4; ++i) {
        auto r = run(c, unit());
        CHECK(r.status == unit_status::active);
        CHECK(r.actions_done.empty());
    }
    CHECK(c.restarts == restarts);
    CHECK(c.writes == writes);
}

TEST_CASE("A layer above ours that replaces the service is reported after adding ours and nothing restarts", "[reconcile-machine][layers]") {
    container c;
    c.above.push_back(parse_layer("services:\n  redis:\n    override: replace\n    command: /usr/bin/other-redis\n"));
    for (int i = 0; i < 3; ++i) {
        auto r = run(c, unit());
        INFO("run " << i << ": " << r.message);
        CHECK(r.status == unit_status::blocked);
        CHECK(r.retry_later);
        CHECK(r.restarts() == 0);
        CHECK(r.message.find("services.redis.command") != std::string::npos);
        CHECK(r.message.find("replaces service \"redis\"") != std::string::npos);
        CHECK_FALSE(r.decided.overridden.empty());
    }
    CHECK(c.restarts == 0);
}

TEST_CASE("The plan read again after adding the layer carries the plan expected, and Pebble's rendering of it reads back as itself", "[reconcile-machine][layers]") {
    std::vector<desired_state> variants(5, unit());
    variants[1].config.health_checks = true;
    variants[1].config.check_period = "1m30s";
    variants[2].config.metrics = true;
    variants[3].config.secrets = secret_mode::command_line;
    variants[4].config.logfile = "/var/log/redis/redis.log";
    variants[4].config.appendonly = false;
    for (std::size_t i = 0; i < variants.size(); ++i) {
        for (const bool above : {false, true}) {
            INFO("variant " << i << (above ? ", a layer above ours" : ""));
            container c;
            c.plan = parse_layer("services:\n  other:\n    override: replace\n    command: /bin/other --x \"a b\"\n"
                                 "    environment: {A: \"1\"}\n");
            if (above) c.above.push_back(parse_layer("services:\n  redis:\n    override: merge\n    user: root\n"));
            std::optional<layer> expected;
            int plans = 0;
            c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
                if (r.what == kind::get_plan && ++plans == 1) CHECK_FALSE(r.expected_plan);  // observing: nothing expected
                if (r.what == kind::get_plan && r.expected_plan) expected = r.expected_plan;
                return std::nullopt;
            };
            run(c, variants[i]);
            REQUIRE(expected);
            // Pebble's plan after the add is exactly the plan expected, unless a layer above ours changes it.
            CHECK((*expected == c.combined()) == !above);
            CHECK((to_plan_yaml(*expected) == to_plan_yaml(c.combined())) == !above);
            // The driver takes the expected plan when Pebble rendered exactly it: that is sound only
            // if parsing the rendering gives the plan back.
            CHECK(parse_plan(to_plan_yaml(*expected)) == *expected);
        }
    }
}

TEST_CASE("A changed input under a layer that overrides the command is applied once and then reported", "[reconcile-machine][layers]") {
    container c;
    run(c, unit());
    c.above.push_back(parse_layer("services:\n  redis:\n    override: merge\n    command: redis-server --port 7000\n"));
    auto r = run(c, unit());
    CHECK(r.status == unit_status::blocked);
    CHECK(r.restarts() == 0);
    CHECK(r.writes() == 0);
    auto d = unit();
    d.config.port = 6390;
    const int restarts = c.restarts;
    r = run(c, d);
    CHECK(r.writes() == 1);
    CHECK(r.restarts() == 1);
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message.find("services.redis.command") != std::string::npos);
    r = run(c, d);
    CHECK(r.writes() == 0);
    CHECK(r.restarts() == 0);
    CHECK(c.restarts == restarts + 1);
}

TEST_CASE("Pebble lost while the plan is read again after adding the layer is Waiting without a restart", "[reconcile-machine][layers]") {
    container c;
    int plans = 0;
    c.fault = [&](const pebble_request& r) -> std::optional<pebble_reply> {
        if (r.what != kind::get_plan || ++plans < 2) return std::nullopt;
        return reply(outcome::unreachable, "connection closed");
    };
    auto r = run(c, unit());
    CHECK(r.status == unit_status::waiting);
    REQUIRE(r.failed_step);
    CHECK(*r.failed_step == "read the Pebble plan");
    CHECK(r.restarts() == 0);
    CHECK(c.restarts == 0);
    c.fault = nullptr;
    auto again = run(c, unit());
    CHECK(again.status == unit_status::active);
    CHECK(again.writes() == 0);  // the file and the layer are there: the fingerprint says so
    CHECK(again.restarts() == 1);  // the service never ran: it is started
    CHECK(again.actions_done.back() == "started \"redis\"");
}

TEST_CASE("A password change changes the plan and restarts Redis once", "[reconcile-machine][secrets]") {
    container c;
    run(c, unit());
    const std::string before = c.plan.services.at("redis").environment.at("REDISPEBBLE_SECRETS_DIGEST");
    const int restarts = c.restarts;
    const auto key = parse_secrets_key(c.files.at("/var/lib/redis/redispebble-secrets.conf"));
    REQUIRE(key);
    auto changed = unit();
    changed.peer.admin_password = secret("a new password");
    auto r = run(c, changed);
    CHECK(r.status == unit_status::active);
    CHECK(r.restarts() == 1);
    CHECK(c.restarts == restarts + 1);
    CHECK(c.plan.services.at("redis").environment.at("REDISPEBBLE_SECRETS_DIGEST") != before);
    // The key stayed: only the password lines of the file changed.
    CHECK(parse_secrets_key(c.files.at("/var/lib/redis/redispebble-secrets.conf")) == key);
    auto again = run(c, changed);
    CHECK(again.restarts() == 0);
    CHECK(again.writes() == 0);
}

TEST_CASE("The same password on two units gives different plan values", "[reconcile-machine][secrets]") {
    container a, b;
    run(a, unit());
    run(b, unit());
    const auto& ea = a.plan.services.at("redis").environment;
    const auto& eb = b.plan.services.at("redis").environment;
    CHECK(ea.at("REDISPEBBLE_SECRETS_DIGEST") != eb.at("REDISPEBBLE_SECRETS_DIGEST"));
    CHECK(to_yaml(a.plan) != to_yaml(b.plan));
    CHECK(parse_secrets_key(a.files.at("/var/lib/redis/redispebble-secrets.conf")) !=
          parse_secrets_key(b.files.at("/var/lib/redis/redispebble-secrets.conf")));
}

TEST_CASE("A reconcile interrupted between the push and the restart restarts Redis on the next run",
          "[reconcile-machine][secrets]") {
    for (const bool first_run : {true, false}) {
        container c;
        if (!first_run) run(c, unit());
        const std::string old_digest =
            first_run ? "" : c.plan.services.at("redis").environment.at("REDISPEBBLE_SECRETS_DIGEST");
        const int restarts = c.restarts;
        auto d = unit();
        d.peer.admin_password = secret("pushed then crashed");
        // The controller dies right after the push: the layer is never added, Redis never restarted.
        c.fault = on(kind::add_layer, reply(outcome::unreachable, "connection reset"));
        auto crashed = run(c, d);
        CHECK(crashed.actions_done == std::vector<std::string>{"pushed /var/lib/redis/redispebble-secrets.conf"});
        CHECK(c.restarts == restarts);
        c.fault = nullptr;
        auto next = run(c, d);
        CHECK(next.status == unit_status::active);
        CHECK(next.restarts() == 1);  // the file already holds the new password: the layer still differs
        CHECK(c.restarts == restarts + 1);
        CHECK(c.plan.services.at("redis").environment.at("REDISPEBBLE_SECRETS_DIGEST") != old_digest);
        CHECK(run(c, d).restarts() == 0);
    }
}

TEST_CASE("A secrets file without a key is rewritten with one and Redis restarted", "[reconcile-machine][secrets]") {
    container c;
    run(c, unit());
    auto& file = c.files.at("/var/lib/redis/redispebble-secrets.conf");
    file = "requirepass \"s3cret pass\"\nmasterauth \"s3cret pass\"\n";  // written by an older version
    auto r = run(c, unit());
    CHECK(r.restarts() == 1);
    CHECK(parse_secrets_key(c.files.at("/var/lib/redis/redispebble-secrets.conf")));
    CHECK(run(c, unit()).restarts() == 0);
}

namespace {
// Pieces of the password that must not survive: each part between control characters.
std::vector<std::string> pieces(const std::string& pw) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : pw) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            if (cur.size() >= 3) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (cur.size() >= 3) out.push_back(cur);
    return out;
}
} // namespace

TEST_CASE("redact_output hides passwords holding any ASCII control character", "[reconcile-machine][redaction]") {
    for (int c = 0; c < 0x20; ++c) {
        for (const char ctl : {static_cast<char>(c), static_cast<char>(0x7f)}) {
            const std::string pw = std::string("Zq9pass") + ctl + "Xv7word\x01Kw3";
            const secret s(pw);
            const std::vector<std::string> texts{
                pw,
                "Bad directive: requirepass " + pw + "\nnext line",
                "line one\n" + pw + "\n" + pw + pw + "\nlast",
                "prefix" + pw + "suffix\r\n" + pw.substr(0, 4) + "\n",
                // as Redis echoes the secrets file line and as Go's %q renders it
                ">>> 'requirepass " + redis_conf_quote(pw) + "'\nBad directive or wrong number of arguments",
            };
            for (const auto& text : texts) {
                for (const std::size_t max_lines : {std::size_t{1}, std::size_t{2}, std::size_t{10}}) {
                    const std::string out = redact_output(text, s, max_lines);
                    INFO("control character " << c << " max_lines " << max_lines);
                    CHECK(out.find(pw) == std::string::npos);
                    for (const auto& piece : pieces(pw)) CHECK(out.find(piece) == std::string::npos);
                    const std::string conf = redis_conf_quote(pw);
                    CHECK(out.find(conf.substr(1, conf.size() - 2)) == std::string::npos);
                }
            }
        }
    }
}

TEST_CASE("redact_output hides multi-line and repeated and overlapping passwords", "[reconcile-machine][redaction]") {
    // Overlapping occurrences: "abab" twice in "ababab" covers it all.
    CHECK(redact_output("x ababab y", secret("abab")) == "x <redacted> y");
    CHECK(redact_output("aaaaa", secret("aa")) == "<redacted>");
    const std::string multi = "first\nsecond\nthird";
    const std::string out = redact_output("start " + multi + " middle " + multi + multi + " end\ntail", secret(multi), 10);
    CHECK(out == "start <redacted> middle <redacted> end\ntail");
    CHECK(redact_output("a\nb\nc\nd", secret("b\nc"), 2) == "<redacted>\nd");
    // The marker next to what is left cannot spell the password again.
    const std::string o2 = redact_output("d>xd>x", secret("d>x"));
    CHECK(o2.find("d>x") == std::string::npos);
    CHECK(redact_output("nothing here", secret("absent")) == "nothing here");
}

// The two halves of the loop: observe_only() then decide(), apply_decision() (issue 15).

namespace {

bool contains(const std::vector<std::string>& v, const std::string& prefix) {
    for (const auto& s : v)
        if (s.rfind(prefix, 0) == 0) return true;
    return false;
}

observed_state observe_in(container& c, const desired_state& d) {
    auto m = reconcile_machine::observe_only(d);
    drive(c, m, 20, {kind::push_files, kind::add_layer, kind::restart});
    REQUIRE(m.observed_all());
    return m.observed();
}

reconcile_report apply_in(container& c, const desired_state& d, const decision& dec, probe_options probe = {},
                          bool watches = false) {
    auto m = reconcile_machine::apply_decision(d, dec, probe);
    if (watches) drive(c, m, 60, {kind::read_files});  // the service state, watching a backoff
    else drive(c, m, 60, {kind::get_service, kind::read_files});
    return m.report();
}

} // namespace

TEST_CASE("observe_only of an in-sync unit then decide gives no action", "[reconcile-machine][observe]") {
    container c;
    const desired_state d = unit();
    REQUIRE(run(c, d).status == unit_status::active);
    const int writes = c.writes, restarts = c.restarts;
    const observed_state seen = observe_in(c, d);
    CHECK(c.writes == writes);
    CHECK(c.restarts == restarts);
    CHECK(seen.service_current == std::optional<std::string>("active"));
    CHECK(seen.secrets_key);
    const decision dec = decide(seen, d);
    CHECK(dec.no_op());
    CHECK(dec.status_after == unit_status::active);
}

TEST_CASE("observe_only fails at the step Pebble was lost and says so", "[reconcile-machine][observe]") {
    container c;
    c.fault = on(kind::stat_path, reply(outcome::unreachable, "connection closed"));
    auto m = reconcile_machine::observe_only(unit());
    std::optional<pebble_request> req = m.start();
    while (req) req = m.resume(c.handle(*req));
    CHECK_FALSE(m.observed_all());
    CHECK(m.observed().pebble_reachable);
    REQUIRE(m.report().failed_step);
    CHECK(*m.report().failed_step == "stat storage-path");
}

TEST_CASE("observe_only with incomplete peer data reads only the plan", "[reconcile-machine][observe]") {
    container c;
    desired_state d = unit();
    d.peer.current_master.clear();
    auto m = reconcile_machine::observe_only(d);
    std::optional<pebble_request> req = m.start();
    int n = 0;
    while (req) ++n, req = m.resume(c.handle(*req));
    CHECK(n == 1);
    CHECK(m.observed_all());
    CHECK(decide(m.observed(), d).message == waiting_for_peer_data({"current-master"}));
}

TEST_CASE("apply_decision does the decision it is given and nothing else", "[reconcile-machine][apply]") {
    container c;
    const desired_state d = unit();
    decision dec = decide(observe_in(c, d), d);
    REQUIRE(dec.restart == std::vector<std::string>{"redis"});
    REQUIRE(dec.add_layer);
    dec.restart.clear();
    const reconcile_report r = apply_in(c, d, dec);
    CHECK(c.restarts == 0);
    CHECK(r.restarts() == 0);
    CHECK(r.status == unit_status::active);  // Redis answers (the simulated probe)
    CHECK(contains(r.actions_done, "added layer \"redis\""));
    CHECK(contains(r.actions_done, "pushed "));
    // Only the start is left.
    const decision next = decide(observe_in(c, d), d);
    CHECK(next.start == std::vector<std::string>{"redis"});
    CHECK(next.push.empty());
    CHECK_FALSE(next.add_layer);
}

TEST_CASE("apply_decision of a decision with nothing to do and no probe makes no request", "[reconcile-machine][apply]") {
    decision dec;
    dec.status_after = unit_status::waiting;
    dec.message = "Waiting for something";
    dec.retry_later = true;
    probe_options off;
    off.enabled = false;
    auto m = reconcile_machine::apply_decision(unit(), dec, off);
    CHECK_FALSE(m.start());
    CHECK(m.done());
    CHECK(m.report().status == unit_status::waiting);
    CHECK(m.report().message == "Waiting for something");
    CHECK(m.report().retry_later);
}

TEST_CASE("apply_decision of a no-op decision for a service in backoff reads its logs", "[reconcile-machine][apply]") {
    container c;
    const desired_state d = unit();
    REQUIRE(run(c, d).status == unit_status::active);
    c.service_state = "backoff";
    c.log_lines = {"# Fatal error, can't open config file"};
    const decision dec = decide(observe_in(c, d), d);
    CHECK(dec.no_op());
    CHECK(dec.service_current == std::optional<std::string>("backoff"));
    const reconcile_report r = apply_in(c, d, dec, {}, true);
    CHECK(r.status == unit_status::blocked);
    CHECK(r.message.find("keeps failing (Pebble backoff") != std::string::npos);
    CHECK(r.message.find("can't open config file") != std::string::npos);
}

namespace {
// What a decision says, for comparing two: every field; with `keyed` false, the files' and the
// layer's contents are left out (they carry the secrets key, new at random when none was read).
std::string summary(const decision& d, bool keyed) {
    std::string s = fmt::format("status={} message={} retry={} storage={} layer={} label={} service={} flags={}\n",
                                static_cast<int>(d.status_after), d.message, d.retry_later, d.storage.has_value(),
                                d.add_layer.has_value(), d.layer_label, d.service_current.value_or("<none>"), d.flags);
    for (const auto& f : d.push) s += "push " + f.path + (keyed ? " " + sha256_hex(f.content.reveal()) : "") + "\n";
    if (keyed && d.add_layer) s += "layer " + to_yaml(*d.add_layer) + "\n";
    for (const auto* v : {&d.restart, &d.start, &d.stop_checks, &d.stop, &d.remove, &d.retired, &d.missing_resources,
                          &d.warnings})
        s += fmt::format("[{}]\n", fmt::join(*v, ","));
    for (const auto& x : d.differences) s += "diff " + x.path + (keyed ? " " + x.current + " -> " + x.desired : "") + "\n";
    for (const auto& x : d.overridden) s += "over " + x.path + " " + x.current + " -> " + x.desired + "\n";
    return s;
}
} // namespace

TEST_CASE("decide_observed() decides what decide(observed(), desired) decides", "[reconcile-machine]") {
    // reconcile() decides with the observer's prepared inputs (decide_observed) where it called
    // decide(observed(), desired): the two must agree in every case the observer can end in.
    struct scenario {
        std::string name;
        std::function<void(container&, desired_state&)> set;
    };
    const std::vector<scenario> scenarios{
        {"fresh container", [](container&, desired_state&) {}},
        {"steady unit", [](container& c, desired_state& d) { run(c, d); }},
        {"steady unit, new password", [](container& c, desired_state& d) { run(c, d); d.peer.admin_password = secret("other"); }},
        {"steady unit in backoff", [](container& c, desired_state& d) { run(c, d); c.service_state = "backoff"; }},
        {"steady unit stopped", [](container& c, desired_state& d) { run(c, d); c.service_state = "inactive"; }},
        {"renamed service", [](container& c, desired_state& d) { run(c, d); d.config.service_name = "redis2"; }},
        {"secrets on the command line", [](container&, desired_state& d) { d.config.secrets = secret_mode::command_line; }},
        {"secrets moved to the command line", [](container& c, desired_state& d) { run(c, d); d.config.secrets = secret_mode::command_line; }},
        {"Pebble unreachable", [](container& c, desired_state&) { c.up = false; }},
        {"peer data missing", [](container&, desired_state& d) { d.peer.current_master.clear(); }},
        {"invalid input", [](container&, desired_state& d) { d.config.service_name = ""; }},
        {"a layer above overrides ours", [](container& c, desired_state& d) {
             run(c, d);
             layer above;
             above.services["redis"].override = override_kind::merge;
             above.services["redis"].command = "sleep 1000";
             c.above.push_back(above);
         }},
        {"storage a file", [](container& c, desired_state&) { c.storage = {true, "file", "root", "root", 0, 0}; }},
        {"storage missing", [](container& c, desired_state&) { c.storage = {false, "", "", "", 0, 0}; }},
        {"service timed out", [](container& c, desired_state& d) {
             run(c, d);
             c.fault = on(kind::get_service, reply(outcome::timed_out, "timeout"));
         }},
        {"files unreadable", [](container& c, desired_state& d) {
             run(c, d);
             c.fault = on(kind::read_files, reply(outcome::failed, "permission denied"));
         }},
    };
    std::size_t decided = 0;
    for (const auto& s : scenarios) {
        INFO(s.name);
        container c;
        desired_state d = unit();
        s.set(c, d);
        auto m = reconcile_machine::observe_only(d);
        for (auto req = m.start(); req; req = m.resume(c.handle(*req))) {}
        REQUIRE(m.done());
        if (!m.observed_all()) continue;  // reconcile() does not decide then
        const decision a = m.decide_observed();
        const decision b = decide(m.observed(), d);
        // The key is the container's when it has one, else new (at random) on each side.
        const bool keyed = d.config.secrets != secret_mode::config_file || m.observed().secrets_key.has_value();
        CHECK(summary(a, keyed) == summary(b, keyed));
        ++decided;
    }
    CHECK(decided == scenarios.size() - 1);  // all but "Pebble unreachable" were decided
}
