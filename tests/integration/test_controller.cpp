// The many-units example controller, run as a test against three test servers.
#include <redispebble/testing/process.hpp>
#include <redispebble/testing/server.hpp>

#include "support/run_command.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

#ifdef REDISPEBBLE_CONTROLLER
TEST_CASE("The example controller reconciles several units concurrently", "[controller][examples]") {
    using namespace std::chrono_literals;
    redispebble::test::temp_dir dir;
    std::vector<std::unique_ptr<redispebble::testing::pebble_server>> servers;
    std::vector<std::string> argv{REDISPEBBLE_CONTROLLER};
    std::filesystem::permissions(dir.path, std::filesystem::perms(0755));  // the redis user enters s0..s2
    for (int i = 0; i < 3; ++i) {
        // Real redis-server processes, each unit a master on its own port: the probe (redis-cli
        // through the test server's exec) runs on the controller's io_context too.
        redispebble::testing::server_options o;
        o.start_window = 300ms;
        servers.push_back(std::make_unique<redispebble::testing::pebble_server>(o));
        const std::string n = std::to_string(i);
        const auto config = dir.write("config" + n + ".yaml", "storage-path: " + dir.path + "/s" + n +
                                                                 "\nbind-address: 127.0.0.1\nport: " +
                                                                 std::to_string(redispebble::testing::free_tcp_port()) + "\n");
        const auto peer = dir.write("peer" + n + ".yaml", "admin-password: pw\ncurrent-master: unit-" + n + "\nhostname: unit-" + n + "\n");
        for (const auto& a : {std::string("--unit"), servers.back()->socket_path(), config, peer}) argv.push_back(a);
    }
    auto r = redispebble::test::run_command(argv, {}, {}, 60s);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    for (const auto& s : servers) {
        CHECK(r.out.find(s->socket_path() + ": active") != std::string::npos);
        CHECK(s->record().starts.at("redis") == 1);
        CHECK(s->record().layers_added == 1);
    }
    // A second run changes nothing anywhere.
    auto again = redispebble::test::run_command(argv, {}, {}, 60s);
    CHECK(again.exit_code == 0);
    for (const auto& s : servers) CHECK(s->record().starts.at("redis") == 1);
    // Bad input is exit code 2.
    CHECK(redispebble::test::run_command({REDISPEBBLE_CONTROLLER, "--unit"}, {}, {}, 10s).exit_code == 2);
}
#endif
