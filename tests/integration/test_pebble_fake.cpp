// redispebble-pebble-fake (tools/pebble_fake.cpp) driven from outside C++: the program is started as
// a process, and curl and Pebble's own CLI (with PEBBLE_BIN) talk to its socket, as a Python or Go
// test would. Every wait is bounded.
#include <redispebble/testing/process.hpp>

#include "support/pebble_daemon.hpp"
#include "support/redis_tools.hpp"
#include "support/run_command.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redispebble::test::eventually;
using redispebble::test::has;
using redispebble::test::run_command;
using redispebble::test::temp_dir;
namespace json = boost::json;

namespace {

const std::string fake_bin = REDISPEBBLE_PEBBLE_FAKE;

std::string curl_bin() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');)
        if (!d.empty() && ::access((d + "/curl").c_str(), X_OK) == 0) return d + "/curl";
    FAIL("curl is not installed (scripts/setup.sh installs it)");
    return {};
}

// The program, started with `args`; the constructor returns once it printed its ready line.
struct fake_program {
    explicit fake_program(std::vector<std::string> args, const std::string& working_dir = "") {
        args.insert(args.begin(), fake_bin);
        redispebble::testing::process_options opts;
        opts.argv = std::move(args);
        opts.working_dir = working_dir;
        process = std::make_unique<redispebble::testing::child_process>(opts);
        std::string line;
        const bool ready = eventually([&] {
            const std::string out = process->output();
            const auto nl = out.find('\n');
            if (nl == std::string::npos) return !process->running();
            line = out.substr(0, nl);
            return true;
        }, 20s);
        INFO(process->output());
        REQUIRE(ready);
        REQUIRE(process->running());
        const json::object o = json::parse(line).as_object();
        socket = std::string(o.at("socket").as_string());
        pid = static_cast<int>(o.at("pid").as_int64());
    }
    ~fake_program() {
        if (process) process->terminate(10s);
    }
    // SIGTERM, and the exit status (nullopt: it did not exit within 20 s).
    std::optional<int> stop() {
        process->signal(SIGTERM);
        return process->wait_for(20s);
    }

    std::unique_ptr<redispebble::testing::child_process> process;
    std::string socket;
    int pid = 0;
};

struct curl_answer {
    int exit_code = -1;  ///< curl's: 0, 7 refused, 1/8/18/52/56 broken answers
    json::value body;    ///< Pebble's envelope (null when curl failed)
    std::string raw;
};

curl_answer curl(const std::string& socket, const std::string& method, const std::string& target,
                 const std::string& body = {}) {
    std::vector<std::string> argv{curl_bin(), "-sS", "--max-time", "20", "--unix-socket", socket, "-X", method};
    if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    argv.push_back("http://localhost" + target);
    auto r = run_command(argv, {}, {}, 30s);
    curl_answer a{r.exit_code, nullptr, r.out + r.err};
    if (r.exit_code == 0) {
        boost::system::error_code ec;
        a.body = json::parse(r.out, ec);
        if (ec) a.body = nullptr;
    }
    return a;
}

// The `result` of a sync answer; fails the test on anything else.
json::value result_of(const curl_answer& a) {
    INFO(a.raw);
    REQUIRE(a.exit_code == 0);
    REQUIRE(a.body.is_object());
    return a.body.as_object().at("result");
}

json::object record_of(const std::string& socket) {
    return result_of(curl(socket, "GET", "/v1/fake/record")).as_object();
}

std::int64_t count_in(const json::object& record, const char* field, const char* service) {
    const auto& m = record.at(field).as_object();
    auto it = m.find(service);
    return it == m.end() ? 0 : it->value().as_int64();
}

std::string service_current(const std::string& socket, const std::string& name) {
    const auto r = curl(socket, "GET", "/v1/services?names=" + name);
    if (r.exit_code != 0 || !r.body.is_object()) return "";
    for (const auto& s : r.body.as_object().at("result").as_array())
        if (s.as_object().at("name").as_string() == name) return std::string(s.as_object().at("current").as_string());
    return "";
}

std::string add_layer_body(const std::string& label, const std::string& yaml) {
    return json::serialize(json::object{{"action", "add"}, {"label", label}, {"format", "yaml"}, {"combine", true}, {"layer", yaml}});
}

bool process_exists(int pid) { return ::kill(pid, 0) == 0; }

} // namespace

TEST_CASE("The fake program prints its socket and serves Pebble's API and its record to curl", "[pebble-fake]") {
    temp_dir dir;
    const std::string socket = dir.path + "/.pebble.socket";
    fake_program fake({"--socket", socket, "--simulate", "--start-window", "100ms"});
    CHECK(fake.socket == socket);
    CHECK(fake.pid == fake.process->pid());

    CHECK(result_of(curl(socket, "GET", "/v1/plan?format=yaml")) == "{}\n");
    CHECK(result_of(curl(socket, "POST", "/v1/layers",
                         add_layer_body("redis", "services:\n  redis:\n    override: replace\n    command: redis-server\n"))) == true);
    CHECK(has(std::string(result_of(curl(socket, "GET", "/v1/plan?format=yaml")).as_string()), "command: redis-server"));

    const auto start = curl(socket, "POST", "/v1/services", R"({"action": "start", "services": ["redis"]})");
    INFO(start.raw);
    REQUIRE(start.body.is_object());
    CHECK(start.body.as_object().at("type") == "async");
    const std::string change(start.body.as_object().at("change").as_string());
    const auto done = result_of(curl(socket, "GET", "/v1/changes/" + change + "/wait?timeout=10s")).as_object();
    CHECK(done.at("status") == "Done");
    CHECK(service_current(socket, "redis") == "active");

    const json::object rec = record_of(socket);
    CHECK(count_in(rec, "starts", "redis") == 1);
    CHECK(count_in(rec, "restarts", "redis") == 0);
    CHECK(rec.at("layers-added") == 1);
    CHECK(rec.at("files-written") == 0);
    CHECK(rec.at("shutdown") == "");
    std::vector<std::string> targets;
    for (const auto& q : rec.at("requests").as_array()) targets.emplace_back(q.as_object().at("target").as_string());
    CHECK(std::count(targets.begin(), targets.end(), "/v1/layers") == 1);
    CHECK(std::count(targets.begin(), targets.end(), "/v1/plan?format=yaml") == 2);
    // Its own endpoints are out of band: not in the record.
    CHECK(std::none_of(targets.begin(), targets.end(), [](const std::string& t) { return has(t, "/v1/fake/"); }));

    // A restart is counted as one.
    const auto restart = curl(socket, "POST", "/v1/services", R"({"action": "restart", "services": ["redis"]})");
    REQUIRE(restart.body.is_object());
    const std::string change2(restart.body.as_object().at("change").as_string());
    CHECK(result_of(curl(socket, "GET", "/v1/changes/" + change2 + "/wait?timeout=10s")).as_object().at("status") == "Done");
    const json::object rec2 = record_of(socket);
    CHECK(count_in(rec2, "restarts", "redis") == 1);
    CHECK(count_in(rec2, "starts", "redis") == 2);

    CHECK(curl(socket, "PUT", "/v1/fake/record").body.as_object().at("status-code") == 405);
    CHECK(curl(socket, "GET", "/v1/fake/nothing").body.as_object().at("status-code") == 404);

    // SIGTERM: a clean exit, the socket removed.
    CHECK(fake.stop() == 0);
    CHECK_FALSE(std::filesystem::exists(socket));
}

TEST_CASE("The fake program makes a temporary socket when none is given and removes it at exit", "[pebble-fake]") {
    fake_program fake({"--simulate"});
    CHECK(has(fake.socket, "/.pebble.socket"));
    CHECK(std::filesystem::is_socket(fake.socket));
    CHECK(result_of(curl(fake.socket, "GET", "/v1/system-info")).as_object().at("version") == "v1.26.0");
    CHECK(fake.stop() == 0);
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(fake.socket).parent_path()));
}

TEST_CASE("The fake program prints a relative socket path as an absolute one", "[pebble-fake]") {
    temp_dir dir;
    std::filesystem::create_directories(dir.path + "/sub");
    fake_program fake({"--simulate", "--socket", "../fake.socket"}, dir.path + "/sub");
    CHECK(fake.socket == std::filesystem::canonical(dir.path).string() + "/fake.socket");
    CHECK(result_of(curl(fake.socket, "GET", "/v1/system-info")).is_object());
    CHECK(fake.stop() == 0);
    CHECK_FALSE(std::filesystem::exists(fake.socket));
}

TEST_CASE("The fake program runs real service processes by default and stops them on SIGTERM", "[pebble-fake]") {
    temp_dir dir;
    const std::string pid_file = dir.path + "/service.pid";
    fake_program fake({"--socket", dir.path + "/.pebble.socket", "--start-window", "200ms", "--version", "v1.26.9"});
    CHECK(result_of(curl(fake.socket, "GET", "/v1/system-info")).as_object().at("version") == "v1.26.9");
    const std::string layer = "services:\n  sleeper:\n    override: replace\n    command: /bin/sh -c 'echo $$ > " + pid_file +
                              "; exec sleep 1000'\n";
    result_of(curl(fake.socket, "POST", "/v1/layers", add_layer_body("base", layer)));
    const auto start = curl(fake.socket, "POST", "/v1/services", R"({"action": "start", "services": ["sleeper"]})");
    REQUIRE(start.body.is_object());
    const std::string change(start.body.as_object().at("change").as_string());
    CHECK(result_of(curl(fake.socket, "GET", "/v1/changes/" + change + "/wait?timeout=10s")).as_object().at("status") == "Done");

    int pid = 0;
    REQUIRE(eventually([&] {
        std::ifstream in(pid_file);
        return static_cast<bool>(in >> pid) && pid > 0;
    }));
    CHECK(process_exists(pid));
    CHECK(count_in(record_of(fake.socket), "starts", "sleeper") == 1);

    CHECK(fake.stop() == 0);
    CHECK(eventually([&] { return !process_exists(pid); }));
}

TEST_CASE("The fake program reads a layers directory and --hold leaves the enabled services stopped", "[pebble-fake]") {
    temp_dir dir;
    std::filesystem::create_directories(dir.path + "/layers");
    dir.write("layers/001-base.yaml",
              "services:\n  redis:\n    override: replace\n    command: redis-server\n    startup: enabled\n");
    {
        fake_program held({"--simulate", "--start-window", "50ms", "--layers-dir", dir.path + "/layers", "--hold"});
        CHECK(has(std::string(result_of(curl(held.socket, "GET", "/v1/plan?format=yaml")).as_string()), "command: redis-server"));
        CHECK(service_current(held.socket, "redis") == "inactive");
        CHECK(count_in(record_of(held.socket), "starts", "redis") == 0);
        CHECK(held.stop() == 0);
    }
    fake_program started({"--simulate", "--start-window", "50ms", "--layers-dir", dir.path + "/layers"});
    CHECK(eventually([&] { return service_current(started.socket, "redis") == "active"; }));
    CHECK(count_in(record_of(started.socket), "starts", "redis") == 1);

    // --fail: a simulated service that exits quickly.
    fake_program failing({"--simulate", "--start-window", "50ms", "--layers-dir", dir.path + "/layers", "--fail", "redis"});
    CHECK(eventually([&] {
        const auto s = service_current(failing.socket, "redis");
        return s == "backoff" || s == "error";
    }));
}

TEST_CASE("The fake program exits with code 2 and Pebble's message on a bad layers directory", "[pebble-fake]") {
    temp_dir dir;
    std::filesystem::create_directories(dir.path + "/layers");
    dir.write("layers/base.yaml", "services: {}\n");
    auto r = run_command({fake_bin, "--simulate", "--layers-dir", dir.path + "/layers"}, {}, {}, 30s);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--layers-dir"));
    CHECK(has(r.err, "invalid layer filename: \"base.yaml\""));
    CHECK(r.out.empty());
}

TEST_CASE("The fake program faults the N-th request to one endpoint and lets the others through", "[pebble-fake]") {
    // From the command line: the 2nd GET /v1/system-info gets garbage; other endpoints pass.
    fake_program fake({"--simulate", "--fault", "garbage", "--fault-method", "GET", "--fault-path", "/v1/system-info",
                       "--fault-at", "2"});
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 0);  // the 1st: whole
    CHECK(curl(fake.socket, "GET", "/v1/plan?format=yaml").exit_code == 0);  // another path: not counted
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code != 0);  // the 2nd: garbage
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 0);  // count 1: over

    // Through /v1/fake/faults: the 2nd layer added is cut, the 1st and the plan reads are whole.
    const auto set = result_of(curl(fake.socket, "POST", "/v1/fake/faults",
                                    R"({"fault": "garbage", "method": "POST", "path": "/v1/layers", "at": 2})"));
    CHECK(set.as_object().at("at") == 2);
    CHECK(set.as_object().at("path") == "/v1/layers");
    const std::string layer = R"({"action": "add", "label": "L", "format": "yaml", "combine": true, "layer": "services: {a: {override: replace, command: sleep 1}}"})";
    CHECK(curl(fake.socket, "POST", "/v1/layers", layer).exit_code == 0);
    CHECK(curl(fake.socket, "GET", "/v1/plan?format=yaml").exit_code == 0);
    CHECK(curl(fake.socket, "POST", "/v1/layers", layer).exit_code != 0);
    CHECK(curl(fake.socket, "POST", "/v1/layers", layer).exit_code == 0);
    // Bad targets are 400s naming the field.
    auto bad = [&](const std::string& body) {
        const auto a = curl(fake.socket, "POST", "/v1/fake/faults", body);
        return a.body.is_object() ? std::string(a.body.as_object().at("result").as_object().at("message").as_string()) : std::string();
    };
    CHECK(has(bad(R"({"fault": "garbage", "at": 0})"), "invalid at 0"));
    CHECK(has(bad(R"({"fault": "garbage", "path": 3})"), "invalid path 3"));
    CHECK(has(bad(R"({"fault": "refuse", "path": "/v1/plan"})"), "takes no method, path or at"));
}

TEST_CASE("The fake program injects faults from its command line and through /v1/fake/faults", "[pebble-fake]") {
    fake_program fake({"--simulate", "--fault", "garbage", "--fault-count", "2"});
    // The first two requests get bytes that are not HTTP; the third a true answer.
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code != 0);
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code != 0);
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 0);

    // At run time: the next request is cut in the middle, the one after is whole.
    CHECK(result_of(curl(fake.socket, "POST", "/v1/fake/faults", R"({"fault": "close-mid-response"})")).as_object().at("count") == 1);
    // (curl 7.88 exits 0 when the connection closes inside the headers: no envelope is the proof.)
    const auto cut = curl(fake.socket, "GET", "/v1/plan?format=yaml");
    CHECK((cut.exit_code != 0 || cut.body.is_null()));
    CHECK(result_of(curl(fake.socket, "GET", "/v1/plan?format=yaml")) == "{}\n");

    // A delay answers late but answers.
    const auto delay = result_of(curl(fake.socket, "POST", "/v1/fake/faults", R"({"fault": "delay", "delay": "200ms", "count": 1})"));
    CHECK(delay.as_object().at("delay") == "200ms");
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 0);

    // "none" clears a pending fault.
    result_of(curl(fake.socket, "POST", "/v1/fake/faults", R"({"fault": "garbage", "count": 5})"));
    result_of(curl(fake.socket, "POST", "/v1/fake/faults", R"({"fault": "none"})"));
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 0);

    // refuse: the socket stays, connecting is refused (curl's 7) until SIGUSR2.
    result_of(curl(fake.socket, "POST", "/v1/fake/faults", R"({"fault": "refuse"})"));
    CHECK(std::filesystem::is_socket(fake.socket));
    CHECK(curl(fake.socket, "GET", "/v1/system-info").exit_code == 7);
    fake.process->signal(SIGUSR2);
    CHECK(eventually([&] { return curl(fake.socket, "GET", "/v1/system-info").exit_code == 0; }));

    // Bad bodies are 400 naming what is wrong.
    auto message = [&](const std::string& body) {
        const auto a = curl(fake.socket, "POST", "/v1/fake/faults", body);
        INFO(a.raw);
        REQUIRE(a.body.is_object());
        CHECK(a.body.as_object().at("status-code") == 400);
        return std::string(a.body.as_object().at("result").as_object().at("message").as_string());
    };
    CHECK(has(message(R"({"fault": "explode"})"), "invalid fault \"explode\""));
    CHECK(has(message(R"({"fault": "delay"})"), "needs a \"delay\""));
    CHECK(has(message(R"({"fault": "delay", "delay": "soon"})"), "invalid delay \"soon\""));
    CHECK(has(message(R"({"fault": "garbage", "count": 0})"), "invalid count 0"));
    CHECK(has(message("[1"), "cannot decode data from request body"));

    // The faulted requests are in the record (method and target), the fake's own are not.
    const json::object rec = record_of(fake.socket);
    std::size_t system_info = 0;
    for (const auto& q : rec.at("requests").as_array()) {
        CHECK_FALSE(has(std::string(q.as_object().at("target").as_string()), "/v1/fake/"));
        if (q.as_object().at("target") == "/v1/system-info") ++system_info;
    }
    CHECK(system_info >= 6);
    CHECK(fake.stop() == 0);
}

TEST_CASE("The fake program refuses bad options with exit code 2 naming the option", "[pebble-fake]") {
    temp_dir dir;
    const std::string file = dir.write("not-a-socket", "x");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--bogus"}, "unknown option --bogus"},
        {{"--start-window", "5x"}, "--start-window: expected a Go duration"},
        {{"--start-window"}, "option --start-window needs a value"},
        {{"--start-window=-1s"}, "--start-window: expected a Go duration"},
        {{"--socket", dir.path + "/no/such/dir/.pebble.socket"}, "--socket: directory"},
        {{"--socket", file}, "exists and is not a socket"},
        {{"--socket", dir.path + "/.."}, "names a directory"},
        {{"--socket", "/" + std::string(120, 's')}, "longer than a Unix socket path"},
        {{"--fail", "redis"}, "--fail: only with --simulate"},
        {{"--fault", "explode"}, "--fault: unknown fault \"explode\""},
        {{"--fault", "delay"}, "--fault delay: give --fault-delay"},
        {{"--fault", "garbage", "--fault-count", "0"}, "--fault-count: expected an integer"},
        {{"--fault-count", "2"}, "--fault-count: only with --fault"},
        {{"--fault-path", "/v1/layers"}, "only with --fault"},
        {{"--fault", "garbage", "--fault-path", "v1/layers"}, "--fault-path: \"v1/layers\" is not a path"},
        {{"--fault", "garbage", "--fault-at", "0"}, "--fault-at: expected an integer"},
        {{"--fault", "refuse", "--fault-at", "2"}, "--fault refuse closes the listener"},
        {{"--layers-dir", dir.path + "/missing"}, "--layers-dir:"},
        {{"--simulate=yes"}, "option --simulate takes no value"},
    };
    for (const auto& [args, expected] : cases) {
        std::vector<std::string> argv{fake_bin};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run_command(argv, {}, {}, 30s);
        INFO(args.front() << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(has(r.err, expected));
        CHECK(has(r.err, "redispebble-pebble-fake --help"));
        CHECK(r.out.empty());
    }
    // A socket a live server listens on is not taken over.
    fake_program live({"--simulate"});
    auto taken = run_command({fake_bin, "--socket", live.socket}, {}, {}, 30s);
    CHECK(taken.exit_code == 2);
    CHECK(has(taken.err, "a server already listens on"));
    CHECK(result_of(curl(live.socket, "GET", "/v1/system-info")).is_object());

    auto help = run_command({fake_bin, "--help"}, {}, {}, 30s);
    CHECK(help.exit_code == 0);
    CHECK(has(help.out, "Usage: redispebble-pebble-fake"));
    CHECK(has(help.out, "--start-window DURATION"));
}

TEST_CASE("Pebble's own CLI drives the fake program through its socket", "[pebble-fake][pebble]") {
    auto pebble = redispebble::test::pebble_bin();
    if (!pebble) {
        WARN("PEBBLE_BIN is not set: Pebble's CLI against the fake program is skipped");
        return;
    }
    temp_dir dir;
    fake_program fake({"--socket", dir.path + "/.pebble.socket", "--start-window", "200ms"});
    const std::map<std::string, std::string> env{{"PEBBLE", dir.path}};
    auto pebble_cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), *pebble);
        auto r = run_command(args, {}, env, 30s);
        INFO(args[1] << ": " << r.out << r.err);
        CHECK(r.exit_code == 0);
        return r.out;
    };
    const std::string layer = dir.write("layer.yaml",
                                        "services:\n  sleeper:\n    override: replace\n    command: sleep 1000\n    startup: enabled\n");
    CHECK(has(pebble_cli({"add", "base", layer}), "Layer \"base\" added successfully"));
    const std::string plan = pebble_cli({"plan"});
    CHECK(has(plan, "sleeper:"));
    CHECK(has(plan, "command: sleep 1000"));
    CHECK(plan == std::string(result_of(curl(fake.socket, "GET", "/v1/plan?format=yaml")).as_string()));
    CHECK(has(pebble_cli({"services"}), "sleeper  enabled  inactive"));
    pebble_cli({"start", "sleeper"});
    CHECK(has(pebble_cli({"services"}), "sleeper  enabled  active"));
    pebble_cli({"restart", "sleeper"});
    CHECK(has(pebble_cli({"version"}), "server  v1.26.0"));

    const json::object rec = record_of(fake.socket);
    CHECK(rec.at("layers-added") == 1);
    CHECK(count_in(rec, "starts", "sleeper") == 2);
    CHECK(count_in(rec, "restarts", "sleeper") == 1);
    CHECK(fake.stop() == 0);
}
