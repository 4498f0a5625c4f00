#include <redispebble/testing/process.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

using namespace redispebble::testing;
using namespace std::chrono_literals;

TEST_CASE("A child process runs with its environment and its output is captured", "[process]") {
    child_process p({{"sh", "-c", "echo out $GREETING; echo err >&2; exit 3"}, {{"GREETING", "hi"}}, "", {}, {}, ""});
    CHECK(p.wait_for(5s) == 3);
    CHECK_FALSE(p.running());
    // The reader thread may still be draining the pipe.
    for (int i = 0; i < 100 && p.output().find("err") == std::string::npos; ++i) std::this_thread::sleep_for(10ms);
    CHECK(p.output().find("out hi\n") != std::string::npos);
    CHECK(p.output().find("err\n") != std::string::npos);
}

TEST_CASE("A missing executable is an error naming it", "[process]") {
    CHECK_THROWS_WITH(child_process({{"/nonexistent/binary"}, {}, "", {}, {}, ""}), Catch::Contains("/nonexistent/binary"));
    CHECK_THROWS_WITH(child_process({{"true"}, {}, "/nonexistent-dir", {}, {}, ""}), Catch::Contains("working directory"));
}

TEST_CASE("terminate stops a long-running process and signal reaches it", "[process]") {
    child_process p({{"sleep", "100"}, {}, "", {}, {}, ""});
    CHECK(p.running());
    CHECK_FALSE(p.wait_for(50ms));
    CHECK(p.terminate(2s) == 128 + SIGTERM);
    CHECK_FALSE(p.running());
    child_process q({{"sleep", "100"}, {}, "", {}, {}, ""});
    q.signal(SIGKILL);
    CHECK(q.wait_for(5s) == 128 + SIGKILL);
}

TEST_CASE("free_tcp_port and wait_for_tcp find a listener", "[process]") {
    const int port = free_tcp_port();
    CHECK(port > 0);
    CHECK_FALSE(wait_for_tcp(port, 50ms));
}
