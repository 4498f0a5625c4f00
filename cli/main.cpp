// redispebble: keep a Redis workload running under Pebble.
#include "cli.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* usage = R"(redispebble: keep a Redis workload running under Pebble

Usage:
  redispebble plan   [--config FILE] [--peer FILE] [--plan FILE] [--resource NAME=PATH]... [--hostname H]
  redispebble apply  [--socket PATH] [--config FILE] [--peer FILE] [--resource NAME=PATH]... [--hostname H]
                     [--timeout SECONDS] [--retry] [--dry-run] [--verbose]
  redispebble status [--socket PATH] [--config FILE] [--peer FILE] ...
  redispebble diff   [--socket PATH] [--config FILE] [--peer FILE] ...
  redispebble exec   [--socket PATH] [--timeout S] [-w DIR] [--env K=V]... -- CMD [ARGS...]
  redispebble help

Commands:
  plan     Dry run on files: print the Pebble layer, the redis-server flags (passwords redacted),
           the certificate plan, the differences against a current plan saved from `pebble plan`,
           and the decision. With no arguments it runs on the example inputs in examples/.
  apply    Reconcile the unit through Pebble: read the plan, the service and the files; push the
           secrets file and certificates that differ, add the layer (combine), restart Redis and
           wait for it; print the status. A second apply with the same inputs changes nothing.
           --dry-run observes and decides only.
  status   Pebble's version, the services, and whether the layer and files are in sync.
  diff     What apply would change (exit 0 in sync, 5 out of sync).
  exec     Run a command through Pebble (like `pebble exec`): stdin, stdout and stderr are passed
           through and its exit code becomes ours (socket: --socket, $PEBBLE_SOCKET, $PEBBLE).

Pebble:
  --socket PATH          Pebble's socket. Default: $PEBBLE_SOCKET, else
                         /charm/containers/<container-name>/pebble.socket.
  --timeout SECONDS      deadline of the whole reconcile (default 60); every request has its own.
  --retry                while Pebble is absent (or a step times out), try again with backoff
                         (0.5 s, doubling, at most 10 s) until the deadline.
  --verbose              log each step to stderr (passwords are never logged).

Inputs:
  --config FILE          charm-style configuration (YAML; see docs/inputs.md). Default: all defaults.
  --peer FILE            peer data: admin-password, current-master, hostname (YAML).
  --plan FILE            the current Pebble plan (`pebble plan > FILE`). Default: empty plan.
  --resource NAME=PATH   a certificate resource: cert-file, key-file or ca-cert-file.
  --hostname H           this unit's hostname (default: the peer file's, else this machine's).

Exit codes:
  0  Active (nothing to do, or done)       3  Waiting (Pebble absent, peer data incomplete)
  1  unexpected failure                     4  Blocked (missing certificates, Redis failed to start)
  2  bad command line or input file         5  diff: out of sync
)";

} // namespace

int main(int argc, char** argv) {
    using namespace redispebble::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::fputs(usage, args.empty() ? stderr : stdout);
        return args.empty() ? exit_usage : exit_ok;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    for (const auto& a : args) {
        if (a == "--" && command == "exec") break;  // the command's own options are its own
        if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return exit_ok;
        }
    }
    try {
        if (command == "plan") return cmd_plan(args);
        if (command == "apply") return cmd_apply(args);
        if (command == "status") return cmd_status(args);
        if (command == "diff") return cmd_diff(args);
        if (command == "exec") return cmd_exec(args);
        throw usage_error(fmt::format("unknown command \"{}\"", command));
    } catch (const usage_error& e) {
        fmt::print(stderr, "redispebble: {}\nRun `redispebble --help` for usage.\n", e.what());
        return exit_usage;
    } catch (const redispebble::input_error& e) {
        fmt::print(stderr, "redispebble: {}\n", e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "redispebble: unexpected failure: {}\n", e.what());
        return exit_failure;
    }
}
