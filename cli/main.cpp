// redispebble: keep a Redis workload running under Pebble.
#include "cli.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

// The inputs plan reads, as the general help and `plan --help` list them.
constexpr const char* input_options = R"(  --config FILE          charm-style configuration (YAML; see docs/inputs.md). Default: all defaults.
  --peer FILE            peer data: admin-password, current-master, hostname (YAML).
  --plan FILE            the current Pebble plan (`pebble plan > FILE`). Default: empty plan.
  --resource NAME=PATH   a certificate resource: cert-file, key-file or ca-cert-file.
  --hostname H           this unit's hostname (default: the peer file's, else this machine's).
)";

const std::string usage = std::string(R"(redispebble: keep a Redis workload running under Pebble

Usage:
  redispebble plan   [--config FILE] [--peer FILE] [--plan FILE] [--resource NAME=PATH]... [--hostname H]
  redispebble apply  [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] [--resource NAME=PATH]...
                     [--hostname H] [--timeout SECONDS] [--retry] [--dry-run] [--verbose] [--format F]
  redispebble status [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] ...
  redispebble diff   [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] ...
  redispebble exec   [--socket PATH] [--timeout S] [-w DIR] [--env K=V]... -- CMD [ARGS...]
  redispebble help [COMMAND]      (or redispebble COMMAND --help)

Commands:
  plan     Dry run on files: print the Pebble layer, the redis-server flags (passwords redacted),
           the certificate plan, the differences against a current plan saved from `pebble plan`,
           and the decision. With no arguments it runs on the example inputs (installed beside
           the tool in share/redispebble/examples/, else the checkout's examples/).
  apply    Reconcile the unit through Pebble: read the plan, the service and the files; push the
           secrets file and certificates that differ, add the layer (combine), restart Redis and
           wait for it; print the status. A second apply with the same inputs changes nothing.
           --dry-run observes and decides only.
  status   Pebble's version, the services, and whether the layer and files are in sync;
           maintenance (exit 3) while apply has work to do.
  diff     What apply would change (exit 0 in sync, 5 out of sync).
  exec     Run a command through Pebble (like `pebble exec`): stdin, stdout and stderr are passed
           through and its exit code becomes ours (socket: --socket, $PEBBLE_SOCKET, $PEBBLE).

Pebble:
  --socket PATH          Pebble's socket. Default: $PEBBLE_SOCKET, else
                         /charm/containers/<container-name>/pebble.socket.
  --sentinel-socket PATH with `sentinel: true`: the Sentinel container's Pebble socket (docs/sentinel.md).
  --timeout SECONDS      deadline of the whole reconcile (default 60); every request has its own.
  --retry                while Pebble is absent (or a step times out), try again with backoff
                         (0.5 s, doubling, at most 10 s) until the deadline.
  --verbose              log each step to stderr (passwords are never logged).

Output (plan, apply, status, diff):
  --format FORMAT        text (default), json or yaml: the report as a document (docs/cli.md).

Inputs:
)") + input_options + R"(
Exit codes:
  0  Active (nothing to do, or done)       3  Waiting (Pebble absent, peer data incomplete), or
                                            status: Maintenance (apply has work to do)
  1  unexpected failure                     4  Blocked (missing certificates, Redis failed to start)
  2  bad command line or input file         5  diff: out of sync
)";

struct command_help {
    const char* name;
    std::string text;
};

// status and diff read Pebble and the inputs alike: their help is `head` (usage and what it does),
// these options, then `examples` (and the exit codes).
std::string reader_help(const char* head, const char* examples) {
    return std::string(head) + R"(
Options:
  --socket PATH          Pebble's socket. Default: $PEBBLE_SOCKET, else
                         /charm/containers/<container-name>/pebble.socket.
  --sentinel-socket PATH with `sentinel: true`: the Sentinel container's Pebble socket; both containers
                         are reported (default as for apply).
  --config FILE, --peer FILE, --resource NAME=PATH, --hostname H: the inputs, as for apply.
  --timeout SECONDS      deadline (default 60).
  --retry, --verbose     as for apply.
  --format FORMAT        text (default), json or yaml: the report as a document (docs/cli.md).

Example:
)" + examples;
}

// `redispebble help CMD` and `redispebble CMD --help`: that command's options only, with an example.
const command_help command_helps[] = {
    {"plan", R"(Usage: redispebble plan [--config FILE] [--peer FILE] [--plan FILE] [--resource NAME=PATH]... [--hostname H]
                        [--format json|yaml|text]

Dry run on files: print the Pebble layer, the redis-server flags (passwords redacted), the
certificate plan, the differences against a current plan saved from `pebble plan`, and the
decision. With no arguments it runs on the example inputs (share/redispebble/examples/ beside the
tool when installed, else the checkout's examples/).

Options:
)" + std::string(input_options) + R"(  --format FORMAT        text (default), json or yaml: the report as a document (docs/cli.md).

Example:
  pebble plan > current.yaml
  redispebble plan --config config.yaml --peer peer.yaml --plan current.yaml

Exit codes: 0 Active, 2 bad command line or input, 3 Waiting, 4 Blocked.
)"},
    {"apply", R"(Usage: redispebble apply [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] [--resource NAME=PATH]...
                         [--hostname H] [--timeout SECONDS] [--retry] [--dry-run] [--verbose] [--format json|yaml|text]

Reconcile the unit through Pebble: read the plan, the service and the files; push the secrets file
and certificates that differ, add the layer (combine), restart Redis and wait for it; print the
status. A second apply with the same inputs changes nothing.

Options:
  --socket PATH          Pebble's socket. Default: $PEBBLE_SOCKET, else
                         /charm/containers/<container-name>/pebble.socket.
  --sentinel-socket PATH with `sentinel: true`: the Sentinel container's Pebble socket; both containers
                         are reconciled, Sentinel first (docs/sentinel.md). Default:
                         $SENTINEL_PEBBLE_SOCKET, else /charm/containers/<sentinel-container-name>/pebble.socket.
  --config FILE          charm-style configuration (YAML; see docs/inputs.md). Default: all defaults.
  --peer FILE            peer data: admin-password, current-master, hostname (YAML).
  --resource NAME=PATH   a certificate resource: cert-file, key-file or ca-cert-file.
  --hostname H           this unit's hostname (default: the peer file's, else this machine's).
  --timeout SECONDS      deadline of the whole reconcile (default 60); every request has its own.
  --retry                while Pebble is absent (or a step times out), try again with backoff
                         (0.5 s, doubling, at most 10 s) until the deadline.
  --dry-run              observe and decide only: nothing is pushed, added or restarted.
  --verbose              log each step to stderr (passwords are never logged).
  --format FORMAT        text (default), json or yaml: the report as a document (docs/cli.md).

Example:
  redispebble apply --socket /charm/containers/redis/pebble.socket --config config.yaml --peer peer.yaml

Exit codes: 0 Active, 1 unexpected failure, 2 bad command line or input, 3 Waiting, 4 Blocked.
)"},
    {"status", reader_help(R"(Usage: redispebble status [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] [--resource NAME=PATH]...
                          [--hostname H] [--timeout SECONDS] [--retry] [--verbose] [--format F]

Pebble's version, the services, and whether the layer and files are in sync with the inputs.
)", R"(  redispebble status --socket /charm/containers/redis/pebble.socket --config config.yaml --peer peer.yaml

Exit codes: 0 Active, 2 bad command line or input, 3 Waiting or Maintenance (apply has work to do),
4 Blocked.
)")},
    {"diff", reader_help(R"(Usage: redispebble diff [--socket PATH] [--sentinel-socket PATH] [--config FILE] [--peer FILE] [--resource NAME=PATH]...
                        [--hostname H] [--timeout SECONDS] [--retry] [--verbose] [--format F]

What apply would change: the differences between Pebble's plan and files and the inputs
(passwords redacted).
)", R"(  redispebble diff --socket /charm/containers/redis/pebble.socket --config config.yaml --peer peer.yaml
  redispebble diff --format json ... | jq -r '.differences[].path'

Exit codes: 0 in sync, 5 out of sync, 2 bad command line or input, 3 / 4 when it cannot compare.
)")},
    {"exec", R"(Usage: redispebble exec [--socket PATH] [--timeout S] [-w DIR] [--env K=V]... -- CMD [ARGS...]

Run a command through Pebble (like `pebble exec`): stdin, stdout and stderr are passed through and
its exit code becomes ours.

Options:
  --socket PATH          Pebble's socket. Default: $PEBBLE_SOCKET, else $PEBBLE/.pebble.socket.
  --timeout S            Pebble's exec timeout in seconds (default: none).
  -w, --working-dir DIR  the command's working directory.
  --env K=V              an environment variable for the command (repeatable).

Example:
  redispebble exec --socket /charm/containers/redis/pebble.socket -- redis-cli ping
)"},
};

const char* help_for(const std::string& command) {
    for (const auto& h : command_helps)
        if (command == h.name) return h.text.c_str();
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    using namespace redispebble::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "help") {
        const char* text = help_for(args[1]);
        if (!text) {
            fmt::print(stderr, "redispebble help: unknown command \"{}\"\nRun `redispebble --help` for usage.\n", args[1]);
            return exit_usage;
        }
        std::fputs(text, stdout);
        return exit_ok;
    }
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
        return args.empty() ? exit_usage : exit_ok;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    for (const auto& a : args) {
        if (a == "--" && command == "exec") break;  // the command's own options are its own
        if (a == "--help" || a == "-h") {
            const char* text = help_for(command);
            std::fputs(text ? text : usage.c_str(), stdout);
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
        if (help_for(command))
            fmt::print(stderr, "redispebble: {}\nRun `redispebble {} --help` for its options.\n", e.what(), command);
        else
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
