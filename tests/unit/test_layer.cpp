#include <redispebble/layer.hpp>

#include <redispebble/error.hpp>

#include "support/transcripts.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace redispebble;
using namespace redispebble::test;

namespace {

// The layer YAML a recorded POST /v1/layers sent, and the plan YAML a recorded GET /v1/plan got.
std::string posted_layer(const exchange& ex) {
    auto body = boost::json::parse(parse_http(ex.request).body).as_object();
    return std::string(body.at("layer").as_string());
}
std::string plan_result(const exchange& ex) {
    auto body = boost::json::parse(parse_http(ex.response).body).as_object();
    return std::string(body.at("result").as_string());
}

} // namespace

TEST_CASE("Combining the recorded layers renders the plan Pebble returned byte for byte", "[layer]") {
    SECTION("merge into an existing label") {
        layer base = parse_layer(posted_layer(load_single("05-layers-add-new-label.http")));
        merge_into(base, parse_layer(posted_layer(load_single("06-layers-add-combine-existing-label.http"))));
        CHECK(to_plan_yaml(combine({base})) == plan_result(load_single("07-plan-after-combine.http")));
    }
    SECTION("a redis layer with checks") {
        layer l = parse_layer(posted_layer(load_single("12-layers-add-redis-checks.http")));
        CHECK(to_plan_yaml(combine({l})) == plan_result(load_single("13-plan-redis-layer.http")));
    }
    SECTION("the reconcile session") {
        auto ex = load_transcript("90-reconcile-redis.http");
        layer l = parse_layer(posted_layer(ex[1]));
        CHECK(to_plan_yaml(combine({l})) == plan_result(ex[4]));
        CHECK(plan_result(ex[0]) == "{}\n");
        CHECK(to_plan_yaml(layer{}) == "{}\n");
    }
}

TEST_CASE("Every recorded plan parses and compares equal to the layer that produced it", "[layer]") {
    auto ex = load_transcript("90-reconcile-redis.http");
    CHECK(plan_differences(parse_plan(plan_result(ex[4])), parse_layer(posted_layer(ex[1]))).empty());
    CHECK(plan_differences(parse_plan(plan_result(load_single("13-plan-redis-layer.http"))),
                           parse_layer(posted_layer(load_single("12-layers-add-redis-checks.http"))))
              .empty());
    CHECK(parse_plan(plan_result(load_single("03-plan-empty.http"))) == layer{});
    auto merged = parse_plan(plan_result(load_single("07-plan-after-combine.http")));
    CHECK(merged.services.at("web").environment.at("B") == "20");
    CHECK(merged.services.at("web").override == override_kind::replace);
}

TEST_CASE("plan_differences reports exactly the field that changed", "[layer]") {
    auto ex = load_transcript("90-reconcile-redis.http");
    const layer plan = parse_plan(plan_result(ex[4]));
    const layer original = parse_layer(posted_layer(ex[1]));

    layer l = original;
    l.services.at("redis").command = "redis-server --port 6000";
    auto d = plan_differences(plan, l);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "services.redis.command");
    CHECK(d[0].desired == "redis-server --port 6000");

    l = original;
    l.services.at("redis").environment["NEW"] = "1";
    d = plan_differences(plan, l);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "services.redis.environment.NEW");
    CHECK(d[0].current == "<absent>");

    l = original;
    l.services.at("redis").user = "redis";
    d = plan_differences(plan, l);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "services.redis.user");

    l = original;
    l.services["other"].override = override_kind::replace;
    l.services["other"].command = "sleep 1";
    d = plan_differences(plan, l);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "services.other");
    CHECK(d[0].current == "<absent>");
}

TEST_CASE("plan_differences sees what Pebble sees and nothing else", "[layer]") {
    const layer plan = parse_plan("services:\n    s:\n        override: replace\n        command: x\n"
                                  "        environment:\n            A: \"\"\n            N: \"1\"\n"
                                  "        kill-delay: 1m0s\n        after:\n            - a\n"
                                  "checks:\n    c:\n        override: replace\n        threshold: 3\n"
                                  "        tcp:\n            port: 80\n");
    const layer desired = parse_layer("services:\n  s:\n    override: replace\n    command: 'x'\n"
                                      "    environment:\n      A: null\n      N: 1\n    kill-delay: 60s\n"
                                      "    after: [a]\n"
                                      "checks:\n  c:\n    override: replace\n    tcp: {port: 80}\n");
    CHECK(plan_differences(plan, desired).empty());

    // A merge layer appends to lists: adding it again is a real change Pebble would make.
    layer merge = parse_layer("services:\n  s:\n    override: merge\n    after: [a]\n");
    auto d = plan_differences(plan, merge);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "services.s.after");
    CHECK(d[0].desired == "[a, a]");
    // A merge layer that only sets what is already there changes nothing.
    CHECK(plan_differences(plan, parse_layer("services:\n  s:\n    override: merge\n    command: x\n")).empty());
}

TEST_CASE("to_yaml round-trips through parse_layer for awkward strings", "[layer]") {
    layer l;
    l.summary = "Redis layer";
    auto& s = l.services["redis"];
    s.override = override_kind::replace;
    s.startup = "enabled";
    const std::vector<std::string> awkward{"yes", "no", "null", "~", "123", "0x1F", "1.5e3", "-", "a: b", "#c",
                                           " lead", "trail ", "it's", "\"q\"", "multi\nline", "tab\t", "caf\xc3\xa9",
                                           "[x]", "{y}", "*ref", "&anchor", "!tag", "%p", "@at", "`tick", "", "a #b",
                                           "---", "key:", "on", "True"};
    int i = 0;
    for (const auto& v : awkward) s.environment["K" + std::to_string(i++)] = v;
    s.command = "redis-server --requirepass 'p a: #s' --save \"\"";
    s.after = {"yes", "a b"};
    s.user_id = 0;
    s.backoff_factor = 1.5;
    s.kill_delay = "10s";
    l.checks["c"].override = override_kind::merge;
    l.checks["c"].exec = exec_check{};
    l.checks["c"].exec->command = "redis-cli ping";
    l.log_targets["t"].override = override_kind::replace;
    l.log_targets["t"].type = "loki";
    l.log_targets["t"].services = {"all"};
    const std::string yaml = to_yaml(l);
    INFO(yaml);
    CHECK(parse_layer(yaml) == l);
    CHECK(yaml.rfind("summary: Redis layer\nservices:\n  redis:\n", 0) == 0);
}

TEST_CASE("Parsing is strict and names the line and the key", "[layer]") {
    auto error_of = [](const std::string& yaml) -> input_error {
        try {
            (void)parse_layer(yaml, "layer.yaml");
        } catch (const input_error& e) {
            return e;
        }
        FAIL("no error for " << yaml);
        throw;
    };
    auto e = error_of("services:\n  x:\n    override: replace\n    comand: y\n");
    CHECK(e.line() == 4);
    CHECK(e.key() == "services.x.comand");
    CHECK(e.message() == "unknown field");
    CHECK(error_of("services:\n  x:\n    startup: sometimes\n").key() == "services.x.startup");
    CHECK(error_of("services:\n  x:\n    override: over\n").key() == "services.x.override");
    CHECK(error_of("services:\n  x:\n    kill-delay: 5 seconds\n").message() == "invalid duration \"5 seconds\"");
    CHECK(error_of("services:\n  x:\n    backoff-factor: 0.5\n").key() == "services.x.backoff-factor");
    CHECK(error_of("services:\n  x:\n    after: a\n").key() == "services.x.after");
    CHECK(error_of("checks:\n  c:\n    threshold: many\n").key() == "checks.c.threshold");
    CHECK(error_of("services: [\n").message().find("cannot parse YAML") != std::string::npos);
    CHECK(error_of("bogus: 1\n").key() == "bogus");
}

TEST_CASE("validate_layer checks what Pebble checks when a layer is added", "[layer]") {
    layer l = parse_layer("services:\n  x:\n    command: y\n");
    CHECK_THROWS_WITH(validate_layer(l, "nooverride"),
                      Catch::Contains("layer \"nooverride\" must define \"override\" for service \"x\""));
    l.services["x"].override = override_kind::merge;
    CHECK_NOTHROW(validate_layer(l, "ok"));
    CHECK_THROWS_WITH(validate_layer(l, "pebble-x"), Catch::Contains("reserved label prefix"));
    layer c = parse_layer("checks:\n  c:\n    override: replace\n    tcp: {port: 1}\n    exec: {command: x}\n");
    CHECK_THROWS_WITH(validate_layer(c, "l"), Catch::Contains("only one of"));
}

TEST_CASE("merge_into follows Pebble's merge and replace rules", "[layer]") {
    layer base = parse_layer("services:\n  s:\n    override: replace\n    command: a\n    after: [x]\n"
                             "    environment: {A: '1', B: '2'}\n    user: u\n");
    merge_into(base, parse_layer("services:\n  s:\n    override: merge\n    after: [y]\n    environment: {B: '3'}\n"));
    const auto& s = base.services.at("s");
    CHECK(s.command == "a");
    CHECK(s.after == std::vector<std::string>{"x", "y"});
    CHECK(s.environment == std::map<std::string, std::string>{{"A", "1"}, {"B", "3"}});
    CHECK(s.override == override_kind::replace);  // the entry keeps its first override
    merge_into(base, parse_layer("services:\n  s:\n    override: replace\n    command: b\n"));
    CHECK(base.services.at("s").command == "b");
    CHECK_FALSE(base.services.at("s").user);
    CHECK(base.services.at("s").after.empty());
}

TEST_CASE("Go durations parse and render like Go", "[layer]") {
    CHECK(parse_go_duration("1m") == 60000000000LL);
    CHECK(parse_go_duration("1.5s") == 1500000000LL);
    CHECK(parse_go_duration("500ms") == 500000000LL);
    CHECK(parse_go_duration("1h30m") == 5400000000000LL);
    CHECK(parse_go_duration("0") == 0);
    CHECK(parse_go_duration("-2us") == -2000);
    CHECK_FALSE(parse_go_duration(""));
    CHECK_FALSE(parse_go_duration("5"));
    CHECK_FALSE(parse_go_duration("1d"));
    CHECK_FALSE(parse_go_duration("s"));
    CHECK(format_go_duration(0) == "0s");
    CHECK(format_go_duration(60000000000LL) == "1m0s");
    CHECK(format_go_duration(5400000000000LL) == "1h30m0s");
    CHECK(format_go_duration(500000000LL) == "500ms");
    CHECK(format_go_duration(1500000000LL) == "1.5s");
    CHECK(format_go_duration(1500) == "1.5\xc2\xb5s");
    CHECK(format_go_duration(-1) == "-1ns");
    CHECK(format_go_duration(9223372036854775807LL) == "2562047h47m16.854775807s");
}
