// redispebble — the inputs: charm configuration and peer data. Standard library only.
#ifndef REDISPEBBLE_CONFIG_HPP
#define REDISPEBBLE_CONFIG_HPP

#include <redispebble/secret.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// Where the admin password goes.
enum class secret_mode {
    /// Default. The passwords are written to a file in the storage path (mode 0600, owner
    /// user:group) that redis-server loads as its configuration file; argv, Pebble's plan and
    /// Pebble's logs never see them. The layer carries an HMAC of the passwords keyed by a random
    /// key kept in that file (see secrets_digest() in redis.hpp), so a password change still
    /// changes the plan and restarts Redis, and a reader of the plan can test no guess.
    config_file,
    /// The original design: `--requirepass P` and `--masterauth P` on the command line. Anyone who
    /// can read /proc/PID/cmdline, `pebble plan` or Pebble's "starting" log line sees the password.
    /// Use only where that is acceptable (throw-away test units).
    command_line,
};

/// redis-server's `tls-auth-clients`: whether a TLS client must present a certificate signed by
/// the CA (`yes`, Redis's own default), may (`optional`: checked when presented) or need not (`no`:
/// not asked for).
enum class tls_client_auth { yes, no, optional };

/// The charm's configuration. Every default is the documented one; a YAML file may set any key
/// (see load_config), unknown keys are errors.
struct redis_config {
    bool enable_tls = false;                       ///< `enable-tls`
    std::uint16_t port = 6379;                     ///< `port`: the plain port, or the TLS port when enable_tls
    std::string storage_path = "/var/lib/redis";   ///< `storage-path`: data, certificates, secrets file
    std::string service_name = "redis";            ///< `service-name`: Pebble service
    std::string layer_label = "redis";             ///< `layer-label`: Pebble layer label
    std::string container_name = "redis";          ///< `container-name`: Juju workload container
    std::string user = "redis";                    ///< `user`: the service's user and files' owner
    std::string group = "redis";                   ///< `group`
    std::string bind_address = "0.0.0.0";          ///< `bind-address`
    secret_mode secrets = secret_mode::config_file;///< `secrets`: "config-file" or "command-line"
    /// `tls-auth-clients`: "yes", "no" or "optional" (default, as the reference charm passes
    /// `--tls-auth-clients optional`); used only with enable_tls.
    tls_client_auth tls_auth_clients = tls_client_auth::optional;
    // What the reference operator (redis-k8s) runs beside Redis: persistence, checks, an exporter.
    bool appendonly = true;                        ///< `appendonly`: `--appendonly yes|no` (redis-k8s: yes)
    std::string logfile;                           ///< `logfile`: "" = stdout (Pebble's logs); else an absolute path
    bool health_checks = true;                     ///< `health-checks`: the layer's `alive` and `ready` checks
    std::string check_period = "10s";              ///< `check-period`: Go duration, both checks
    std::string check_timeout = "3s";              ///< `check-timeout`: Go duration, both checks
    int check_threshold = 3;                       ///< `check-threshold`: 1-100 failures before `down`
    std::string on_check_failure = "restart";      ///< `on-check-failure`: restart | ignore | shutdown | off
    bool metrics = false;                          ///< `metrics`: a `redis_exporter` service beside Redis
    std::uint16_t metrics_port = 9121;             ///< `metrics-port`: the exporter's port (on bind-address)
    // Redis Sentinel (docs/sentinel.md), as redis-k8s runs it: `redis-server <sentinel.conf>
    // --sentinel` in the unit's second container under its own layer. The defaults are redis-k8s's
    // (templates/sentinel.conf.j2, src/literals.py).
    bool sentinel = false;                         ///< `sentinel`: reconcile the unit's Sentinel container too
    std::uint16_t sentinel_port = 26379;           ///< `sentinel-port`: redis-k8s's SENTINEL_PORT
    std::string sentinel_master_name = "redis-k8s";///< `sentinel-master-name`: redis-k8s uses the application name
    /// `sentinel-quorum`: sentinels that must agree the master is down; 0 (default): as redis-k8s,
    /// floor(planned-units / 2) + 1 from peer data.
    int sentinel_quorum = 0;
    long long sentinel_down_after_milliseconds = 5000;  ///< `sentinel-down-after-milliseconds` (redis-k8s: 5000)
    long long sentinel_failover_timeout = 30000;        ///< `sentinel-failover-timeout` in ms (redis-k8s: 30000)
    int sentinel_parallel_syncs = 1;                    ///< `sentinel-parallel-syncs` (redis-k8s: 1)
    std::string sentinel_container_name = "sentinel";   ///< `sentinel-container-name`
    std::string sentinel_service_name = "sentinel";     ///< `sentinel-service-name`: Pebble service
    std::string sentinel_layer_label = "sentinel";      ///< `sentinel-layer-label`: Pebble layer label
    /// `sentinel-config-path`: Sentinel's own file (0600, user:group), which Sentinel rewrites at run
    /// time; redis-k8s: /etc/redis-server/sentinel.conf.
    std::string sentinel_config_path = "/etc/redis-server/sentinel.conf";

    friend bool operator==(const redis_config&, const redis_config&) = default;
};

/// What the peer relation says, plus this unit's own hostname.
struct peer_data {
    secret admin_password;    ///< `admin-password`; empty: not yet set by the leader
    std::string current_master; ///< `current-master`: hostname of the master; empty: not yet elected
    std::string hostname;     ///< `hostname`: this unit's hostname, announced to replicas
    /// `enable-password`: false is redis-k8s's legacy mode: no requirepass/masterauth, no secrets
    /// file, `--protected-mode no`. Anyone who reaches the port can read and write every key.
    bool enable_password = true;
    /// `sentinel-password`: Sentinel's own `requirepass` (redis-k8s's SENTINEL_PASSWORD_KEY); empty:
    /// not yet set by the leader. Used only with `sentinel: true`.
    secret sentinel_password{};
    /// `planned-units`: the application's planned units (Juju's planned_units()), for the Sentinel
    /// quorum when `sentinel-quorum` is 0. 1-1000.
    int planned_units = 1;

    /// True when everything a unit needs is there (the password only when enable_password).
    [[nodiscard]] bool complete() const noexcept {
        return (!enable_password || !admin_password.empty()) && !current_master.empty() && !hostname.empty();
    }
    /// The peer-data keys complete() needs that are not set yet, in this order: admin-password
    /// (only when enable_password), current-master, hostname. Empty exactly when complete().
    [[nodiscard]] std::vector<std::string> missing() const {
        std::vector<std::string> keys;
        if (enable_password && admin_password.empty()) keys.emplace_back("admin-password");
        if (current_master.empty()) keys.emplace_back("current-master");
        if (hostname.empty()) keys.emplace_back("hostname");
        return keys;
    }
    /// True when this unit is the current master.
    [[nodiscard]] bool is_master() const noexcept { return current_master == hostname; }

    friend bool operator==(const peer_data&, const peer_data&) = default;
};

/// Parses a charm-style configuration document: a YAML mapping of the keys named on
/// redis_config's members, each optional. Throws input_error naming the source, line, key and what
/// was expected for: YAML syntax errors, unknown keys, wrong types (`port: "x"`, `enable-tls: 3`),
/// out-of-range values, relative or empty paths, empty names.
[[nodiscard]] redis_config load_config(std::string_view yaml, std::string_view source = "config");

/// Parses a peer-data document: `admin-password`, `current-master`, `hostname`,
/// `sentinel-password` (strings), `enable-password` (boolean), `planned-units` (integer), all
/// optional (an incomplete peer data set is a Waiting decision, not an error). Unknown keys, wrong
/// types and the rules of validate(const peer_data&) are input_error. The password never appears
/// in an error message (nor do the bytes some YAML syntax errors would quote).
[[nodiscard]] peer_data load_peer_data(std::string_view yaml, std::string_view source = "peer data");

/// Checks a config built in code with the same rules as load_config; throws input_error. The rules:
/// `port` 1-65535; `storage-path` absolute, without NUL, CR or LF, not `/` and without `.`, `..`
/// or empty (`//`) components (it is re-owned recursively); `service-name`, `layer-label`,
/// `container-name` non-empty [a-z0-9-] (Juju's names); and Pebble v1.26's rules for what reaches
/// its layer (internals/plan/plan.go Layer.Validate, with its words): `service-name` not "pebble"
/// ("cannot use reserved service name"), not starting with '-' ("starting with "-" not allowed"),
/// not one of the keywords "all", "default", "none" (Pebble logs them as deprecated service names:
/// refused here so it never becomes an error later); `layer-label` not starting with "pebble-"
/// ("cannot use reserved label prefix"); `user`, `group` non-empty [A-Za-z0-9._-] not starting
/// with '-' (Pebble looks them up only when it starts the service); and
/// `bind-address` one IPv4 (dotted quad, no leading zeros) or IPv6 literal, checked by a small
/// parser here (the core makes no OS calls, so no inet_pton): no host names, zone ids, `*` or
/// Redis's `-` prefix. Booleans are only `true` and `false` (not YAML 1.1's yes/no/on/off).
/// `logfile` empty or an absolute path without NUL, CR, LF or '"'; `check-period` and
/// `check-timeout` positive Go durations (timeout below period); `check-threshold` 1-100;
/// `on-check-failure` one of restart, ignore, shutdown, off; `metrics-port` 1-65535 and not `port`.
/// Sentinel: `sentinel-port` 1-65535, not `port` nor (with metrics) `metrics-port` (a pod's
/// containers share one network); `sentinel-master-name` non-empty [A-Za-z0-9._-] (it is one word
/// of sentinel.conf and of SENTINEL commands); `sentinel-quorum` 0-1000;
/// `sentinel-down-after-milliseconds` and `sentinel-failover-timeout` 1-2147483647;
/// `sentinel-parallel-syncs` 1-1000; `sentinel-container-name`, `sentinel-service-name`,
/// `sentinel-layer-label` as their Redis twins (and the service name not `service-name`);
/// `sentinel-config-path` as `logfile`, but required.
void validate(const redis_config& cfg);

/// Checks peer data built in code with the same rules as load_peer_data: the password valid UTF-8
/// without NUL (Pebble's API carries JSON and YAML), `current-master` and `hostname`, when set, a
/// host name or address ([A-Za-z0-9._:-], not starting with '-', which redis-server would read as
/// an option), `sentinel-password` as the admin password, `planned-units` 1-1000. Messages never
/// contain a password.
void validate(const peer_data& peer);

/// The YAML form load_config reads (every key written). Round-trips.
[[nodiscard]] std::string to_yaml(const redis_config& cfg);

[[nodiscard]] std::string_view to_string(secret_mode m) noexcept;
/// "yes", "no", "optional": the word redis-server and the config file use.
[[nodiscard]] std::string_view to_string(tls_client_auth a) noexcept;

} // namespace redispebble

#endif
