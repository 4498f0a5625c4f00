// redispebble — asking Redis itself how it is: the redis-cli probe's command, its standard input,
// the parse of its output and the verdict. Pure: standard library only, no I/O.
//
// The reconciler runs the probe through Pebble's exec in the workload container
// (`POST /v1/exec`, see reconcile_machine): redis-cli reaches Redis on the address the unit binds,
// and the admin password travels on redis-cli's standard input (an `AUTH` line), never in argv,
// Pebble's plan, the exec's environment or a log line.
#ifndef REDISPEBBLE_PROBE_HPP
#define REDISPEBBLE_PROBE_HPP

#include <redispebble/config.hpp>
#include <redispebble/secret.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace redispebble {

/// The probe's argv: `redis-cli -h HOST -p PORT` (plus `--tls --cacert S/ca.crt` when enable_tls, and
/// `--cert S/redis.crt --key S/redis.key` only with tls-auth-clients yes: under optional Redis
/// verifies a presented certificate and refuses one made for server use only). HOST is bind-address,
/// except the wildcards: 0.0.0.0 -> 127.0.0.1 and :: -> ::1. No secret in it.
[[nodiscard]] std::vector<std::string> probe_command(const redis_config& cfg);

/// The probe's standard input: `AUTH "<password>"`, `PING`, `INFO replication`, `INFO server`,
/// one per line. The password is written inside double quotes with every byte that is not a letter
/// or digit as `\xHH` (redis-cli splits its input lines with sdssplitargs, which decodes them), so
/// any password, spaces and quotes included, reaches Redis byte for byte. An empty `password` (peer
/// data with enable-password false: Redis has no requirepass) sends no AUTH line.
[[nodiscard]] secret probe_input(const secret& password);

/// What redis-cli's output (stdout and stderr merged, raw mode: not a terminal) says.
struct probe_result {
    bool connected = false;        ///< false: "Could not connect to Redis at ..." (or no output)
    bool authenticated = false;    ///< the AUTH line answered OK
    bool pong = false;             ///< PING answered PONG
    std::string error;             ///< the first error Redis or redis-cli gave (WRONGPASS, LOADING...)
    std::string role;              ///< "master" or "slave" (INFO replication's `role`)
    std::string master_host;       ///< replica: `master_host`
    std::string master_port;       ///< replica: `master_port`
    std::string master_link_status;///< replica: "up" or "down"
    /// replica with the link down: `master_link_down_since_seconds`; Redis says -1 when the link
    /// has not been up since Redis started (then uptime_seconds is how long it has been down).
    std::optional<long long> link_down_since_seconds;
    std::optional<long long> uptime_seconds;  ///< INFO server's `uptime_in_seconds`
};

/// Parses redis-cli's output for probe_input. Never throws: unknown lines are ignored, CR LF
/// line ends (INFO's) are accepted. `auth_sent`: whether the input began with AUTH (probe_input
/// with a password); when not, `authenticated` is true unless PING was refused with NOAUTH (a Redis
/// that still wants a password).
[[nodiscard]] probe_result parse_probe(const std::string& output, bool auth_sent = true);

/// How long a replica's link has been down, in seconds: link_down_since_seconds when Redis knows
/// it, else uptime_seconds (the link was never up since the start); nullopt when neither is known.
[[nodiscard]] std::optional<long long> link_down_seconds(const probe_result& p);

/// The probe's verdict.
struct probe_verdict {
    enum class kind {
        healthy,        ///< Active
        starting,       ///< Waiting: not answering yet, loading, a replica's link down within the bound
        link_failed,    ///< Blocked: a replica's link down past the bound (reason from Redis's log)
        refused,        ///< Blocked: Redis refused the admin password, or answered something else
    };
    kind what = kind::starting;
    std::string message;  ///< the status message (no secrets; for link_failed the reason is appended)
};

/// The verdict on `p` for a unit whose inputs are `cfg` and `peer`:
/// - not connected -> starting, "Redis is not answering on HOST:PORT: <redis-cli's words>";
/// - AUTH refused -> refused, "Redis refused the admin password: <Redis's words>"; without a
///   password (enable-password false) a NOAUTH answer to PING -> refused, "Redis wants a password
///   but peer data has enable-password false: <Redis's words>";
/// - PING answered with an error (LOADING, ...) -> starting, "Redis is not ready: <error>";
/// - this unit is the master and `role` is master, or a replica with master_link_status up -> healthy;
/// - a replica whose link is down for less than `link_bound` -> starting,
///   "Replica of MASTER:PORT: link to the master is down (N s)";
/// - down for `link_bound` or more -> link_failed, "Replica of MASTER:PORT cannot sync with its master";
/// - a role other than the one the peer data gives -> starting, "Redis reports role R, expected E".
[[nodiscard]] probe_verdict assess_probe(const probe_result& p, const redis_config& cfg, const peer_data& peer,
                                         std::chrono::seconds link_bound);

/// From Redis's log lines (Pebble's `GET /v1/logs`, oldest first), the last `max_lines` warnings
/// about replication with the master (Redis writes "MASTER", "SYNC", "replication" in them and
/// marks warnings with '#': "# Unable to AUTH to MASTER: -WRONGPASS ..."); without such warnings
/// the last lines about replication; without those, the last lines.
[[nodiscard]] std::vector<std::string> replication_log_lines(const std::vector<std::string>& lines,
                                                             std::size_t max_lines = 3);

} // namespace redispebble

#endif
