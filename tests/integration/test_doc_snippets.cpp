// Every C++ block of README.md and docs/*.md is compiled into this executable (see
// tests/doc_snippets.cmake); the blocks marked `run` run here against the test server.
#include "support/doc_snippets.hpp"

using namespace redispebble;

namespace {
testing::server_options server_options() {
    testing::server_options o;
    o.run_processes = false;  // Redis is simulated; exec still runs commands for real
    o.start_window = std::chrono::milliseconds(200);
    return o;
}
pebble::client_options client_options(const testing::pebble_server& s) {
    pebble::client_options o;
    o.socket_path = s.socket_path();
    o.request_timeout = std::chrono::seconds(10);
    return o;
}
} // namespace

test::doc_snippet_fixture::doc_snippet_fixture()
    : server(server_options()), opts(client_options(server)), c(opts) {
    config_yaml = "storage-path: " + dir.path + "\nbind-address: 127.0.0.1\n";
    peer_yaml = "admin-password: a-password\ncurrent-master: redis-0\nhostname: redis-0\n";
}

TEST_CASE("The C++ blocks of README and docs marked run run against the test server", "[docs]") {
    REQUIRE_FALSE(test::doc_snippets().empty());
    for (const auto& s : test::doc_snippets()) {
        DYNAMIC_SECTION(s.where) {
            test::doc_snippet_fixture f;
            CHECK_NOTHROW(s.run(f));
        }
    }
}
