// `redispebble exec`: run a command through Pebble's exec API, like `pebble exec`.
#include "cli.hpp"

#include <redispebble/pebble/exec.hpp>

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace redispebble::cli {

namespace {

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // a closed pipe: the output is no longer wanted
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

int cmd_exec(const std::vector<std::string>& args) {
    pebble::exec_options eo;
    std::optional<std::string> socket;
    double timeout = 0;
    std::size_t i = 0;
    auto value = [&](const std::string& name) -> std::string {
        if (i + 1 >= args.size()) throw usage_error(fmt::format("{} needs a value", name));
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "--socket") socket = value(a);
        else if (a == "--timeout") {
            const std::string v = value(a);
            char* end = nullptr;
            timeout = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || timeout < 0) throw usage_error(fmt::format("--timeout: bad number \"{}\"", v));
        } else if (a == "-w" || a == "--working-dir") eo.working_dir = value(a);
        else if (a == "--env") {
            const std::string kv = value(a);
            auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) throw usage_error(fmt::format("--env: expected KEY=VALUE, got \"{}\"", kv));
            eo.environment[kv.substr(0, eq)] = kv.substr(eq + 1);
        } else if (!a.empty() && a[0] == '-') {
            throw usage_error(fmt::format("exec: unknown option \"{}\"", a));
        } else {
            break;  // the command starts here (`--` is optional when it does not start with '-')
        }
    }
    eo.command.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
    if (eo.command.empty()) throw usage_error("exec: no command given (redispebble exec [options] -- CMD [ARGS...])");
    if (!socket) {
        if (const char* s = std::getenv("PEBBLE_SOCKET"); s && *s) socket = s;
        else if (const char* p = std::getenv("PEBBLE"); p && *p) socket = std::string(p) + "/.pebble.socket";
        else throw usage_error("exec: no socket (--socket, $PEBBLE_SOCKET or $PEBBLE)");
    }
    eo.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
    eo.split_stderr = true;
    eo.stdout_sink = [](std::string_view d) { write_all(1, d); };
    eo.stderr_sink = [](std::string_view d) { write_all(2, d); };
    // A terminal's stdin would block the I/O thread waiting for typing: only pipes and files are sent.
    if (!::isatty(0)) {
        eo.stdin_source = [](std::span<char> buf) -> std::size_t {
            for (;;) {
                auto n = ::read(0, buf.data(), buf.size());
                if (n < 0 && errno == EINTR) continue;
                return n > 0 ? static_cast<std::size_t>(n) : 0;
            }
        };
    }
    pebble::client_options co;
    co.socket_path = *socket;
    pebble::client c(co);
    pebble::error_code ec;
    pebble::diagnostics d;
    auto r = pebble::exec(c, std::move(eo), ec, &d);
    if (!ec) return 0;
    if (ec == pebble::error::command_failed) return r.exit_code;
    fmt::print(stderr, "redispebble exec: {}{}{}\n", ec.message(), d.message.empty() ? "" : ": ", d.message);
    return exit_failure;
}

} // namespace redispebble::cli
