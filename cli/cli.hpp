// redispebble command-line tool: shared pieces.
#ifndef REDISPEBBLE_CLI_CLI_HPP
#define REDISPEBBLE_CLI_CLI_HPP

#include <redispebble/core.hpp>
#include <redispebble/reconcile_machine.hpp>

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble::cli {

/// Exit codes, documented in `redispebble --help` and docs/cli.md.
enum exit_code : int {
    exit_ok = 0,          ///< done; the unit is (or would be) Active
    exit_failure = 1,     ///< an unexpected failure (a bug, or an OS error)
    exit_usage = 2,       ///< bad command line or bad input file
    exit_waiting = 3,     ///< the unit is Waiting (Pebble absent, peer data incomplete): retry later
    exit_blocked = 4,     ///< the unit is Blocked (missing certificates, Redis failed to start)
    exit_differs = 5,     ///< `diff`: the container is out of sync with the inputs
};

/// A usage error: printed with a pointer to --help, exit_usage.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// `--format`: text (the default) for people, json or yaml for programs (Juju's convention).
enum class output_format { text, json, yaml };

/// Parses the value of --format; throws usage_error naming the value.
output_format parse_format(const std::string& value);

/// Options shared by the subcommands.
struct options {
    output_format format = output_format::text;
    std::optional<std::string> config_file;
    std::optional<std::string> peer_file;
    std::optional<std::string> plan_file;
    std::optional<std::string> hostname;
    std::map<std::string, std::string> resources;  ///< name -> path
    std::optional<std::string> socket;
    std::optional<std::string> sentinel_socket;  ///< --sentinel-socket: the Sentinel container's Pebble
    bool dry_run = false;
    bool verbose = false;
    bool retry = false;
    double timeout_seconds = 60;
    std::vector<std::string> positional;
};

/// Parses `args` (without the subcommand). `allowed` lists the long options the subcommand takes;
/// errors name `command` and the option ("apply: unknown option --frobnicate").
options parse_options(std::string_view command, const std::vector<std::string>& args,
                      const std::vector<std::string>& allowed);

/// The examples directory: the installed copy beside the executable (bin/../share/redispebble/examples),
/// the source checkout, then CMAKE_INSTALL_PREFIX's copy; throws usage_error when none exists.
std::string examples_dir();

/// Reads a whole file; throws usage_error naming it.
std::string read_text_file(const std::string& path, const std::string& what);

/// Loads the config, the peer data (hostname from --hostname, else the file, else this machine's
/// hostname) and the resource contents. Throws input_error / usage_error.
desired_state load_desired(const options& opts);

/// The Pebble socket: --socket, then $PEBBLE_SOCKET, then /charm/containers/<container>/pebble.socket.
std::string socket_path(const options& opts, const redis_config& cfg);
/// The Sentinel container's socket (only with `sentinel: true`): --sentinel-socket, then
/// $SENTINEL_PEBBLE_SOCKET, then /charm/containers/<sentinel-container-name>/pebble.socket.
std::string sentinel_socket_path(const options& opts, const redis_config& cfg);

/// Prints a decision and its actions (no secret).
void print_decision(const decision& d);

/// The version of the machine-readable document (docs/cli.md, "Machine-readable output").
inline constexpr std::string_view report_schema = "redispebble/v1";

/// The machine-readable document of `command`: the keys every command prints (schema, command,
/// status, message, retry-later, actions-done, differences, overridden, push, storage-fix,
/// add-layer, restart, start, missing-resources, flags, redis-state, failed-step, attempts), from
/// the report `r` when the command reconciled, else (plan) from the decision alone. Values are
/// redacted as the text form's: no password, no digest, no file content.
boost::json::object report_document(std::string_view command, const decision& d, const reconcile_report* r);

/// The layer as the text form prints it (redact(l), to_yaml), as a tree of strings.
boost::json::value layer_value(const layer& l);

/// Prints `doc` on stdout as one line of JSON or as a YAML document; a string value that is not
/// valid UTF-8 has each offending byte replaced by U+FFFD, so the output always parses.
void print_document(const boost::json::object& doc, output_format f);

int cmd_plan(const std::vector<std::string>& args);
int cmd_apply(const std::vector<std::string>& args);
int cmd_status(const std::vector<std::string>& args);
int cmd_diff(const std::vector<std::string>& args);
int cmd_exec(const std::vector<std::string>& args);

/// The exit code for a decided status.
int exit_for(unit_status s);

} // namespace redispebble::cli

#endif
