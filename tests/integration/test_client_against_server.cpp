// Every call of the Pebble client, made against the Pebble-compatible test server.
#include <redispebble/pebble/client.hpp>

#include <redispebble/layer.hpp>
#include <redispebble/testing/server.hpp>

#include "support/reconcile_run.hpp"
#include "support/run_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace redispebble;
using namespace std::chrono_literals;
namespace pb = redispebble::pebble;

namespace {
testing::server_options fast() {
    testing::server_options o;
    o.run_processes = false;
    o.start_window = 50ms;
    o.failing_services = {"failer"};
    return o;
}
pb::client_options at(const testing::pebble_server& s) { return test::client_options_for(s, 5s); }
} // namespace

TEST_CASE("Every client call works against the test server", "[client-server]") {
    testing::pebble_server server(fast());
    pb::client c(at(server));

    CHECK(c.system_info().version == "v1.26.0");
    CHECK(c.health({}));
    CHECK(c.plan() == "{}\n");

    c.add_layer({"base", "services:\n  web:\n    override: replace\n    command: /bin/sleep 1000\n    startup: enabled\n"
                         "  failer:\n    override: replace\n    command: /bin/false\n", false, false});
    c.add_layer({"base", "services:\n  web:\n    override: merge\n    environment: {A: '1'}\n", true, false});
    auto plan = c.plan_layer();
    REQUIRE(plan.services.count("web") == 1);
    CHECK(plan.services.at("web").environment.at("A") == "1");
    pb::error_code ec;
    pb::diagnostics diag;
    c.add_layer({"base", "services: {}\n", false, false}, ec, &diag);
    CHECK(ec == pb::error::api_error);
    CHECK(diag.message == "layer \"base\" already exists");

    auto id = c.autostart();
    auto ch = c.wait_change(id, {5s, false});
    CHECK(ch.status == "Done");
    CHECK(ch.ready);
    auto services = c.list_services({{"web"}});
    REQUIRE(services.size() == 1);
    CHECK(services[0].current == "active");

    CHECK(c.wait_change(c.restart({{"web"}}), {5s, false}).tasks.size() == 2);
    CHECK(c.wait_change(c.stop({{"web"}}), {5s, false}).status == "Done");
    CHECK(c.list_services({{"web"}})[0].current == "inactive");
    CHECK(c.wait_change(c.start({{"web"}}), {5s, false}).status == "Done");
    CHECK(c.wait_change(c.replan(), {5s, false}).status == "Done");
    CHECK(server.record().starts.at("web") == 3);

    auto failed = c.wait_change(c.start({{"failer"}}), {5s, false});
    CHECK(failed.failed());
    CHECK(failed.err.find("exited quickly") != std::string::npos);
    c.wait_change(c.start({{"failer"}}), {5s, true}, ec, &diag);
    CHECK(ec == pb::error::change_failed);

    CHECK(c.changes({"all", ""}).size() >= 7);
    CHECK(c.change(id).id == id);
    c.change("999", ec, &diag);
    CHECK(ec == pb::error::not_found);
    c.abort_change(id, ec, &diag);
    CHECK(ec);  // a ready change has nothing to abort

    // Files against the real filesystem.
    redispebble::test::temp_dir dir;
    auto file = pb::push_file::from_string(dir.path + "/a/b/c.txt", "hello");
    file.make_dirs = true;
    file.permissions = "600";
    auto results = c.push({{file}});
    REQUIRE(results.size() == 1);
    CHECK(results[0].ok());
    results = c.push({{pb::push_file::from_string(dir.path + "/missing/x.txt", "x")}});
    CHECK(results[0].ec == pb::error::not_found);  // no make_dirs
    std::string got;
    pb::pull_file pf;
    pf.path = dir.path + "/a/b/c.txt";
    pf.sink = [&](std::span<const char> bytes) { got.append(bytes.data(), bytes.size()); };
    pb::pull_file missing;
    missing.path = dir.path + "/nope";
    missing.sink = [](std::span<const char>) {};
    auto pulled = c.pull({{pf, missing}});
    REQUIRE(pulled.size() == 2);
    CHECK(pulled[0].ok());
    CHECK(got == "hello");
    CHECK(pulled[1].ec == pb::error::not_found);
    auto listed = c.list_files({dir.path + "/a/b", "", false});
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].name == "c.txt");
    CHECK(listed[0].size == 5);
    pb::make_dir_options md;
    md.path = dir.path + "/made/deep";
    md.make_parents = true;
    c.make_dir(md);
    CHECK(std::filesystem::is_directory(dir.path + "/made/deep"));
    c.remove_path({dir.path + "/made", true});
    CHECK_FALSE(std::filesystem::exists(dir.path + "/made"));
    c.list_files({dir.path + "/made", "", false}, ec, &diag);
    CHECK(ec == pb::error::not_found);

    // Checks, signals, notices, logs, identities.
    c.add_layer({"checks", "checks:\n  up:\n    override: replace\n    period: 100ms\n    exec:\n      command: /bin/true\n", false, false});
    CHECK(c.checks({}).size() == 1);
    CHECK(c.stop_checks({"up"}) == std::vector<std::string>{"up"});
    CHECK(c.checks({})[0].status == "inactive");
    CHECK(c.start_checks({"up"}) == std::vector<std::string>{"up"});
    c.send_signal({"SIGHUP", {"web"}});
    c.send_signal({"SIGHUP", {"failer-not-there"}}, ec, &diag);
    CHECK(ec);
    pb::add_notice_options n;
    n.key = "example.com/thing";
    n.data = {{"k", "v"}};
    auto nid = c.add_notice(n);
    CHECK(c.notice(nid).key == "example.com/thing");
    pb::notices_options nq;
    nq.types = {"custom"};
    CHECK(c.notices(nq).size() == 1);
    CHECK(c.logs({{"web"}, 10}).size() <= 10);
    CHECK_NOTHROW(c.identities());
}

TEST_CASE("The asynchronous forms complete on the caller's io_context", "[client-server]") {
    testing::pebble_server server(fast());
    boost::asio::io_context io;
    pb::client c(io, at(server));
    std::string version;
    c.async_system_info([&](pb::error_code ec, pb::system_info info) {
        REQUIRE_FALSE(ec);
        version = info.version;
    });
    auto plan = c.async_plan(boost::asio::use_future);
    io.run();
    CHECK(version == "v1.26.0");
    CHECK(plan.get() == "{}\n");
}
