// redispebble-pebble-fake: the Pebble-compatible test server (redispebble::testing::pebble_server)
// as a program, for tests written in any language (docs/testing-server.md, "The program").
#include <redispebble/layer.hpp>
#include <redispebble/testing/server.hpp>

#include <boost/json.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;
using redispebble::testing::fault;

constexpr const char* usage = R"(Usage: redispebble-pebble-fake [--socket PATH] [--simulate [--fail SERVICE]...] [--start-window DURATION]
                              [--layers-dir DIR] [--hold] [--version V]
                              [--fault KIND [--fault-count N] [--fault-delay DURATION]
                               [--fault-method METHOD] [--fault-path PATH] [--fault-at N]]

Run redispebble's Pebble-compatible test server (Pebble v1.26's REST API on a Unix socket) until
SIGTERM or SIGINT, for tests written in any language. When it listens it prints one JSON line on
stdout, {"socket": "PATH", "pid": N}. It records what it saw: GET /v1/fake/record on the same
socket answers the record (requests, starts, stops, restarts per service, ...) in Pebble's sync
envelope, and POST /v1/fake/faults injects a fault at run time (docs/testing-server.md).

Options:
  --socket PATH            where to listen (its directory must exist). Default: a fresh temporary
                           directory's .pebble.socket, removed at exit. Pebble's CLI finds
                           $PEBBLE/.pebble.socket: use --socket $PEBBLE/.pebble.socket.
  --simulate               simulate the services: active after the start window, no process.
                           Default: run the services' commands for real, as Pebble does.
  --fail SERVICE           with --simulate: starts of SERVICE exit quickly (code 1). Repeatable.
  --start-window DURATION  Pebble's "exited quickly" window, a Go duration (default 1s).
  --layers-dir DIR         read layers from DIR at start-up as `pebble run` reads $PEBBLE/layers
                           (001-label.yaml, 002-dir.d/001-label.yaml); DIR must exist.
  --hold                   `pebble run --hold`: do not start the services whose startup is enabled.
  --version V              the version /v1/system-info reports (default v1.26.0).
  --fault KIND             the first N requests get a fault: close-mid-response, delay, garbage, or
                           refuse (the listener is closed until SIGUSR2 or {"fault": "none"}).
  --fault-count N          N for --fault (default 1).
  --fault-delay DURATION   how late a delay fault answers (Go duration; needed with --fault delay).
  --fault-method METHOD    only requests with this method get the fault (e.g. POST).
  --fault-path PATH        only requests to this path get the fault (e.g. /v1/layers).
  --fault-at N             the fault starts at the N-th matching request (default 1: the first).

Signals: SIGTERM, SIGINT stop the services and the server and remove the socket (exit 0);
SIGUSR2 clears every fault and reopens a refused listener.

Example:
  redispebble-pebble-fake --socket /tmp/p/.pebble.socket --simulate --start-window 100ms &
  curl -s --unix-socket /tmp/p/.pebble.socket http://localhost/v1/fake/record

Exit codes: 0 stopped by a signal, 1 unexpected failure, 2 bad command line or layers directory.
)";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An integer from 1 to 1000000 (--fault-count, --fault-at), or a usage error naming the option.
int parse_count(const std::string& option, const std::string& value) {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1 || n > 1000000)
        throw usage_error(fmt::format(FMT_STRING("{}: expected an integer from 1 to 1000000, got \"{}\""), option, value));
    return static_cast<int>(n);
}

// A Go duration from 0 to 1h, as milliseconds; throws usage_error naming the option.
std::chrono::milliseconds parse_duration(const std::string& option, const std::string& value) {
    const auto ns = redispebble::parse_go_duration(value);
    if (!ns || *ns < 0 || *ns > std::int64_t(3600) * 1000000000)
        throw usage_error(fmt::format(FMT_STRING("{}: expected a Go duration from 0 to 1h such as \"500ms\", got \"{}\""),
                                      option, value));
    return std::chrono::milliseconds(*ns / 1000000);
}

fault parse_fault(const std::string& value) {
    if (value == "close-mid-response") return fault::close_mid_response;
    if (value == "delay") return fault::delay;
    if (value == "garbage") return fault::garbage;
    if (value == "refuse") return fault::refuse;
    throw usage_error(fmt::format(
        FMT_STRING("--fault: unknown fault \"{}\" (known: close-mid-response, delay, garbage, refuse)"), value));
}

// True when something accepts connections on the Unix socket at `path`.
bool accepts_connections(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

struct program_options {
    redispebble::testing::server_options server;
    std::optional<fault> start_fault;
    std::optional<int> fault_count;
    std::optional<std::chrono::milliseconds> fault_delay;
    std::optional<redispebble::testing::fault_target> fault_target;
};

program_options parse_args(const std::vector<std::string>& args) {
    program_options p;
    p.server.fake_endpoints = true;
    std::vector<std::string> failing;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        std::optional<std::string> inline_value;
        if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = a.substr(eq + 1);
            a = a.substr(0, eq);
        }
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) throw usage_error(fmt::format(FMT_STRING("option {} needs a value"), a));
            return args[++i];
        };
        auto flag = [&] {
            if (inline_value) throw usage_error(fmt::format(FMT_STRING("option {} takes no value"), a));
        };
        if (a == "--socket") {
            p.server.socket_path = value();
            if (p.server.socket_path.empty()) throw usage_error("--socket: the path is empty");
        } else if (a == "--simulate") {
            flag();
            p.server.run_processes = false;
        } else if (a == "--fail") {
            failing.push_back(value());
            if (failing.back().empty()) throw usage_error("--fail: the service name is empty");
        } else if (a == "--start-window") {
            p.server.start_window = parse_duration(a, value());
        } else if (a == "--layers-dir") {
            p.server.layers_dir = value();
            std::error_code ec;
            if (!fs::is_directory(p.server.layers_dir, ec))
                throw usage_error(fmt::format(FMT_STRING("--layers-dir: \"{}\" is not a directory"), p.server.layers_dir));
        } else if (a == "--hold") {
            flag();
            p.server.hold = true;
        } else if (a == "--version") {
            p.server.version = value();
            if (p.server.version.empty()) throw usage_error("--version: the version is empty");
        } else if (a == "--fault") {
            p.start_fault = parse_fault(value());
        } else if (a == "--fault-count") {
            p.fault_count = parse_count(a, value());
        } else if (a == "--fault-delay") {
            p.fault_delay = parse_duration(a, value());
        } else if (a == "--fault-method" || a == "--fault-path") {
            const std::string v = value();
            if (v.empty()) throw usage_error(fmt::format(FMT_STRING("{}: empty"), a));
            if (a == "--fault-path" && v.front() != '/')
                throw usage_error(fmt::format(FMT_STRING("--fault-path: \"{}\" is not a path starting with /"), v));
            if (!p.fault_target) p.fault_target.emplace();
            (a == "--fault-method" ? p.fault_target->method : p.fault_target->path) = v;
        } else if (a == "--fault-at") {
            const int n = parse_count(a, value());
            if (!p.fault_target) p.fault_target.emplace();
            p.fault_target->at = n;
        } else {
            throw usage_error(fmt::format(FMT_STRING("unknown option {}"), args[i]));
        }
    }
    if (!failing.empty() && p.server.run_processes)
        throw usage_error("--fail: only with --simulate (a real service fails by exiting)");
    p.server.failing_services.insert(failing.begin(), failing.end());
    if ((p.fault_count || p.fault_delay) && !p.start_fault)
        throw usage_error(fmt::format(FMT_STRING("{}: only with --fault"), p.fault_count ? "--fault-count" : "--fault-delay"));
    if (p.start_fault == fault::delay && !p.fault_delay) throw usage_error("--fault delay: give --fault-delay DURATION");
    if (p.fault_target && !p.start_fault) throw usage_error("--fault-method, --fault-path, --fault-at: only with --fault");
    if (p.fault_target && p.start_fault == fault::refuse)
        throw usage_error("--fault refuse closes the listener: it takes no --fault-method, --fault-path or --fault-at");
    if (!p.server.socket_path.empty()) {
        std::error_code ec;
        const fs::path given = fs::absolute(p.server.socket_path, ec);
        if (!fs::is_directory(given.parent_path(), ec))
            throw usage_error(fmt::format(FMT_STRING("--socket: directory \"{}\" does not exist"), given.parent_path().string()));
        if (given.filename().empty() || given.filename() == "." || given.filename() == "..")
            throw usage_error(fmt::format(FMT_STRING("--socket: \"{}\" names a directory, not a socket file"), p.server.socket_path));
        // Absolute (the directory resolved), so the ready line names it wherever the reader runs.
        p.server.socket_path = (fs::canonical(given.parent_path(), ec) / given.filename()).string();
        const std::string& s = p.server.socket_path;
        if (s.size() >= sizeof(sockaddr_un::sun_path))
            throw usage_error(fmt::format(FMT_STRING("--socket: \"{}\" is longer than a Unix socket path can be ({} bytes)"),
                                          s, sizeof(sockaddr_un::sun_path) - 1));
        const auto st = fs::symlink_status(s, ec);
        if (fs::exists(st) && !fs::is_socket(st))
            throw usage_error(fmt::format(FMT_STRING("--socket: \"{}\" exists and is not a socket"), s));
        if (fs::is_socket(st) && accepts_connections(s))
            throw usage_error(fmt::format(FMT_STRING("--socket: a server already listens on \"{}\""), s));
    }
    return p;
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return 0;
        }
    program_options p;
    try {
        p = parse_args(args);
    } catch (const usage_error& e) {
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: {}\nRun `redispebble-pebble-fake --help` for its options.\n"),
                   e.what());
        return 2;
    }
    // Block the signals before the server starts its threads (they inherit the mask), so only
    // sigwait below sees them; the services' processes get a clean mask (testing::child_process).
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGUSR2}) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<redispebble::testing::pebble_server> server;
    try {
        server = redispebble::testing::pebble_server::start(p.server);
    } catch (const boost::system::system_error& e) {  // bind / listen
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: cannot listen on \"{}\": {}\n"),
                   p.server.socket_path.empty() ? "a temporary directory" : p.server.socket_path, e.what());
        return 1;
    } catch (const std::system_error& e) {  // mkdtemp
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: cannot make a temporary directory: {}\n"), e.what());
        return 1;
    } catch (const std::runtime_error& e) {
        if (p.server.layers_dir.empty()) {
            fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: unexpected failure: {}\n"), e.what());
            return 1;
        }
        // Pebble's words for a bad $PEBBLE/layers, where `pebble run` exits.
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: --layers-dir \"{}\": {}\n"), p.server.layers_dir, e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: unexpected failure: {}\n"), e.what());
        return 1;
    }
    if (p.start_fault && p.fault_target)
        server->inject(*p.start_fault, *p.fault_target, p.fault_count.value_or(1), p.fault_delay.value_or(std::chrono::milliseconds(0)));
    else if (p.start_fault)
        server->inject(*p.start_fault, p.fault_count.value_or(1), p.fault_delay.value_or(std::chrono::milliseconds(0)));

    const boost::json::object ready{{"socket", server->socket_path()}, {"pid", static_cast<std::int64_t>(::getpid())}};
    std::fputs((boost::json::serialize(ready) + "\n").c_str(), stdout);
    std::fflush(stdout);

    for (;;) {
        int signo = 0;
        if (::sigwait(&set, &signo) != 0) continue;
        if (signo == SIGUSR2) {
            server->clear_faults();
            continue;
        }
        break;
    }
    try {
        server->stop();  // stops the services, closes the listener, removes the socket
    } catch (const std::exception& e) {
        fmt::print(stderr, FMT_STRING("redispebble-pebble-fake: while stopping: {}\n"), e.what());
        return 1;
    }
    return 0;
}
