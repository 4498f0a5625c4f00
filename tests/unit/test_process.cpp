#include <redispebble/testing/process.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

using namespace redispebble::testing;
using namespace std::chrono_literals;

TEST_CASE("A child process runs with its environment and its output is captured", "[process]") {
    child_process p({{"sh", "-c", "echo out $GREETING; echo err >&2; exit 3"}, {{"GREETING", "hi"}}, "", {}, {}, ""});
    CHECK(p.wait_for(5s) == 3);
    CHECK_FALSE(p.running());
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

namespace {
std::string output_when_done(child_process& p) {
    REQUIRE(p.wait_for(5s).has_value());
    return p.output();  // complete once the process has exited
}
} // namespace

TEST_CASE("The output of bin echo is captured exactly", "[process]") {
    process_options o;
    o.argv = {"/bin/echo", "hello", "two words"};
    child_process p(o);
    CHECK(output_when_done(p) == "hello two words\n");
    CHECK(p.wait_for(0ms) == 0);
}

TEST_CASE("The exit code of sh -c exit 3 is reported", "[process]") {
    process_options o;
    o.argv = {"sh", "-c", "exit 3"};
    child_process p(o);
    CHECK(p.wait_for(5s) == 3);
    CHECK(p.terminate() == 3);  // already reaped: terminate reports the same status
}

TEST_CASE("The environment is passed and overrides the parent's", "[process]") {
    ::setenv("REDISPEBBLE_TEST_INHERITED", "from-parent", 1);
    ::setenv("REDISPEBBLE_TEST_OVERRIDDEN", "old", 1);
    process_options o;
    o.argv = {"sh", "-c", "echo \"$REDISPEBBLE_TEST_INHERITED|$REDISPEBBLE_TEST_OVERRIDDEN|$REDISPEBBLE_TEST_NEW\""};
    o.environment = {{"REDISPEBBLE_TEST_OVERRIDDEN", "new"}, {"REDISPEBBLE_TEST_NEW", "a b$c"}};
    child_process p(o);
    CHECK(output_when_done(p) == "from-parent|new|a b$c\n");
    ::unsetenv("REDISPEBBLE_TEST_INHERITED");
    ::unsetenv("REDISPEBBLE_TEST_OVERRIDDEN");
}

TEST_CASE("The working directory is set and output can go to a file", "[process]") {
    char tmpl[] = "/tmp/redispebble-process-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    const std::string log = dir + "/out.log";
    {
        process_options o;
        o.argv = {"sh", "-c", "pwd; echo err >&2"};
        o.working_dir = dir;
        o.output_file = log;
        child_process p(o);
        CHECK(p.wait_for(5s) == 0);
        CHECK(p.output().empty());
    }
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == dir + "\nerr\n");
    std::filesystem::remove_all(dir);
}

TEST_CASE("A missing executable is reported by the constructor with the exec errno", "[process]") {
    process_options o;
    o.argv = {"redispebble-no-such-program"};
    try {
        child_process p(o);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        CHECK(std::string(e.what()).find("redispebble-no-such-program") != std::string::npos);
    }
    char tmpl[] = "/tmp/redispebble-process-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string plain = std::string(tmpl) + "/not-executable";
    std::ofstream(plain) << "#!/bin/sh\necho should not run\n";
    std::filesystem::permissions(plain, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    o.argv = {plain};  // exists, not executable: EACCES even for root
    try {
        child_process p(o);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::permission_denied);
    }
    std::filesystem::remove_all(tmpl);
}

TEST_CASE("terminate of sleep 100 returns promptly with SIGTERM", "[process]") {
    process_options o;
    o.argv = {"sleep", "100"};
    child_process p(o);
    // Ended by SIGTERM itself: the grace period's SIGKILL would say 128 + SIGKILL.
    CHECK(p.terminate(2s) == 128 + SIGTERM);
    // A process that ignores SIGTERM is killed after the grace period.
    o.argv = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"};
    child_process stubborn(o);
    for (int i = 0; i < 200 && stubborn.output().empty(); ++i) std::this_thread::sleep_for(10ms);
    CHECK(stubborn.terminate(200ms) == 128 + SIGKILL);
}

TEST_CASE("The user and group are switched when running as root", "[process]") {
    if (::geteuid() != 0) {
        WARN("not root: user switching is not tested");
        return;
    }
    process_options o;
    o.argv = {"sh", "-c", "id -u; id -g; id -G"};
    o.user = "nobody";
    o.group = "nogroup";
    child_process p(o);
    const std::string out = output_when_done(p);
    const passwd* pw = ::getpwnam("nobody");
    const group* gr = ::getgrnam("nogroup");
    REQUIRE(pw);
    REQUIRE(gr);
    const std::string gid = std::to_string(gr->gr_gid);
    CHECK(out == std::to_string(pw->pw_uid) + "\n" + gid + "\n" + gid + "\n");
    o.user = "redispebble-no-such-user";
    CHECK_THROWS_WITH(child_process(o), Catch::Contains("redispebble-no-such-user"));
}

TEST_CASE("wait_for_tcp sees a listener on the port free_tcp_port gave", "[process]") {
    const int port = free_tcp_port();
    CHECK_FALSE(wait_for_tcp(port, 100ms));
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    CHECK(wait_for_tcp(port, 5s));
    ::close(fd);
}

TEST_CASE("Threads that reap one child at once all see its real exit status", "[process][threads]") {
    // The reaper race: two threads in waitpid, the loser used to record -1 (ECHILD) over the
    // status the winner had read. Run it many times: each run must give 7 to every thread.
    for (int run = 0; run < 20; ++run) {
        redispebble::testing::process_options o;
        o.argv = {"sh", "-c", "exit 7"};
        redispebble::testing::child_process p(o);
        std::vector<std::optional<int>> seen(4);
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < seen.size(); ++i)
            threads.emplace_back([&p, &seen, i] {
                while (p.running()) std::this_thread::yield();
                seen[i] = p.wait_for(std::chrono::seconds(30));
            });
        for (auto& t : threads) t.join();
        for (const auto& s : seen) CHECK(s == 7);
        CHECK(p.terminate() == 7);
    }
}
