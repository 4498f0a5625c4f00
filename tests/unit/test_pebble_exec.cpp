// The sans-io pieces of exec and log following, checked against the recorded transcripts 54-59, 69.
#include <redispebble/pebble/detail/exec_sansio.hpp>

#include <redispebble/pebble/detail/envelope.hpp>

#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <limits>

namespace pebble = redispebble::pebble;
namespace detail = redispebble::pebble::detail;
namespace json = boost::json;
using namespace std::chrono_literals;
using redispebble::test::load_single;
using redispebble::test::parse_http;

namespace {

/// The change in a recorded /wait response, with each task's data kept as JSON text.
pebble::change change_of(const std::string& transcript) {
    auto res = parse_http(load_single(transcript).response);
    auto v = json::parse(res.body);
    auto& r = v.at("result").as_object();
    pebble::change c;
    c.id = json::value_to<std::string>(r.at("id"));
    c.status = json::value_to<std::string>(r.at("status"));
    c.ready = r.at("ready").as_bool();
    for (auto& t : r.at("tasks").as_array()) {
        pebble::task task;
        task.kind = json::value_to<std::string>(t.at("kind"));
        if (auto* d = t.as_object().if_contains("data")) task.data = json::serialize(*d);
        c.tasks.push_back(task);
    }
    return c;
}

} // namespace

TEST_CASE("the exec request body carries what transcript 55 sent", "[exec]") {
    auto req = parse_http(load_single("55-exec-echo.http").request);
    auto recorded = json::parse(req.body).as_object();
    pebble::exec_options o;
    o.command = {"/bin/echo", "hi"};
    o.environment["GREETING"] = "hello";
    o.working_dir = "/tmp";
    o.timeout = 10s;
    auto body = detail::exec_request_body(o).as_object();
    for (auto& [k, v] : recorded) {
        INFO("field " << std::string(k));
        REQUIRE(body.contains(k));
        CHECK(body.at(k) == v);
    }
    // The rest are Go's zero values, which Pebble reads as "not set".
    CHECK(body.at("terminal") == false);
    CHECK(body.at("split-stderr") == false);
    CHECK(body.at("width") == 0);
    CHECK_FALSE(body.contains("user-id"));
    CHECK_FALSE(body.contains("service-context"));

    o.timeout = 1500ms;
    o.user_id = 1000;
    o.split_stderr = true;
    auto b2 = detail::exec_request_body(o).as_object();
    CHECK(b2.at("timeout") == "1500ms");
    CHECK(b2.at("user-id") == 1000);
    CHECK(b2.at("split-stderr") == true);
}

TEST_CASE("exec options are validated before any I/O", "[exec]") {
    pebble::diagnostics d;
    pebble::exec_options o;
    CHECK(detail::validate_exec_options(o, d) == pebble::error::invalid_option);
    CHECK(d.message.find("exec_options.command") != std::string::npos);
    o.command = {"/bin/true"};
    CHECK_FALSE(detail::validate_exec_options(o, d));
    o.timeout = -1ms;
    CHECK(detail::validate_exec_options(o, d) == pebble::error::invalid_option);
    o.timeout = 0ms;
    o.terminal = true;
    o.split_stderr = true;
    CHECK(detail::validate_exec_options(o, d) == pebble::error::invalid_option);
    o.split_stderr = false;
    o.environment["A=B"] = std::string("x");  // not "x": GCC 12 false -Wrestrict at -O3 (GCC bug 105329)
    CHECK(detail::validate_exec_options(o, d) == pebble::error::invalid_option);
}

TEST_CASE("the exit code comes from the finished change task data of transcripts 58 and 59", "[exec]") {
    auto done = change_of("58-exec-change-done.http");
    CHECK(done.ready);
    CHECK_FALSE(done.failed());
    CHECK(detail::exit_code_of(done) == 0);
    auto seven = change_of("59-exec-change-exit-code-7.http");
    CHECK(seven.status == "Done");  // a non-zero exit does not fail the change
    CHECK(detail::exit_code_of(seven) == 7);
    CHECK(detail::exit_code_of(pebble::change{}) == -1);
}

TEST_CASE("a missing binary is the api_error of transcript 54", "[exec]") {
    auto res = parse_http(load_single("54-exec-missing-binary-400.http").response);
    detail::envelope env;
    pebble::diagnostics d;
    auto ec = detail::parse_envelope(static_cast<unsigned>(res.status()), res.body, env, d);
    CHECK(ec == pebble::error::api_error);
    CHECK(d.status_code == 400);
    CHECK(d.message == "cannot find executable \"nosuchbinary\"");
}

TEST_CASE("the exec answer of transcript 55 is async with a task id and the change id", "[exec]") {
    auto res = parse_http(load_single("55-exec-echo.http").response);
    detail::envelope env;
    pebble::diagnostics d;
    REQUIRE_FALSE(detail::parse_envelope(static_cast<unsigned>(res.status()), res.body, env, d));
    CHECK(env.type == "async");
    CHECK(env.change == "1");
    CHECK(env.result.at("task-id") == "1");
}

TEST_CASE("log lines are parsed as they arrive and a partial line waits for its end", "[exec][logs]") {
    auto res = parse_http(load_single("69-logs.http").response);
    std::string pending;
    std::vector<pebble::log_entry> out;
    pebble::diagnostics d;
    // Feed the body in awkward pieces.
    for (std::size_t i = 0; i < res.body.size(); i += 37) {
        pending += res.body.substr(i, 37);
        REQUIRE(detail::parse_log_lines(pending, out, d));
    }
    REQUIRE(out.size() == 3);
    CHECK(out[0].service == "redis");
    CHECK(out[0].time == "2026-11-25T02:42:30.146Z");
    CHECK(out[2].message.find("bye bye") != std::string::npos);
    CHECK(pending.empty());

    std::string partial = "{\"time\":\"t\",\"service\":\"s\",\"message\":\"m\"}\r\n{\"time\":";
    out.clear();
    REQUIRE(detail::parse_log_lines(partial, out, d));
    CHECK(out.size() == 1);
    CHECK(partial == "{\"time\":");

    std::string bad = "not json\n";
    CHECK_FALSE(detail::parse_log_lines(bad, out, d));
    CHECK(d.message == "a log line is not a JSON object");
}

TEST_CASE("a non-zero exit is its own error code in the api condition", "[exec]") {
    pebble::error_code ec = pebble::error::command_failed;
    CHECK(ec == pebble::condition::api);
    CHECK(ec.message() == "the command exited with a non-zero status");
}

TEST_CASE("an exit code out of int range or not an integer reads as unknown", "[exec][fuzz]") {
    for (const std::string data : {R"({"exit-code":1e300})", R"({"exit-code":-1e300})", R"({"exit-code":2147483648})",
                                   R"({"exit-code":18446744073709551615})", R"({"exit-code":1.5})",
                                   R"({"exit-code":"7"})", R"({"exit-code":null})"}) {
        pebble::change c;
        c.tasks.emplace_back();
        c.tasks.back().data = data;
        INFO(data);
        CHECK(detail::exit_code_of(c) == -1);
    }
    pebble::change c;
    c.tasks.emplace_back();
    c.tasks.back().data = R"({"exit-code":7.0})";
    CHECK(detail::exit_code_of(c) == 7);
    c.tasks.back().data = R"({"exit-code":-2147483648})";
    CHECK(detail::exit_code_of(c) == std::numeric_limits<int>::min());
}
