// redispebble — the reconcile decision: observed state + desired state -> what to do. Pure
// (standard library only), CMake target redispebble::core. Formerly <redispebble/reconcile.hpp>,
// which still includes this header. The I/O around it: <redispebble/reconciler.hpp> (observe(),
// apply(), reconcile()); the same loop as requests and replies: <redispebble/reconcile_machine.hpp>.
#ifndef REDISPEBBLE_DECIDE_HPP
#define REDISPEBBLE_DECIDE_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/redis.hpp>
#include <redispebble/secret.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// Juju's unit statuses that a reconcile can end in.
enum class unit_status { active, waiting, blocked, maintenance };
[[nodiscard]] std::string_view to_string(unit_status s) noexcept;
/// The worse of two statuses, for a unit of two containers: blocked, then waiting, then
/// maintenance, then active.
[[nodiscard]] unit_status worse(unit_status a, unit_status b) noexcept;

/// The messages, word for word what the charm sets.
inline constexpr std::string_view msg_waiting_for_pebble = "Waiting for Pebble in workload container";
inline constexpr std::string_view msg_waiting_for_peer_data = "Waiting for peer data to be updated";
inline constexpr std::string_view msg_not_enough_certificates = "Not enough certificates found";
/// msg_waiting_for_peer_data naming the keys not set yet (peer_data::missing(), or
/// sentinel_peer_data_missing()): `Waiting for peer data to be updated (not set yet: K1, K2)`.
/// The charm's words first, so a test or a human matching them still does; the keys tell the
/// operator what the leader has not written.
[[nodiscard]] std::string waiting_for_peer_data(const std::vector<std::string>& missing_keys);

/// A path as `GET /v1/files?action=list&path=P&itself=true` shows it (Pebble's fileInfoResult).
struct path_state {
    bool exists = false;      ///< false: Pebble answered not-found
    std::string type;         ///< "directory", "file", "symlink", ... (Pebble stats through symlinks)
    std::string user, group;  ///< owner names as the container resolves them; "" when it cannot
    std::optional<std::uint32_t> user_id, group_id;
};

/// What the reconciler saw in the container: decide()'s first input. observe() and async_observe()
/// (<redispebble/reconciler.hpp>) fill every field decide() needs; a field left unset counts as
/// "not in order" (the storage is made, a file is pushed), never as in sync.
struct observed_state {
    bool pebble_reachable = false;
    /// The current plan, when read (nullopt when Pebble was not reachable).
    std::optional<layer> plan;
    /// The service's status as `GET /v1/services` reports it ("active", "inactive", "backoff",
    /// "error"), or nullopt when not observed / not in the plan.
    std::optional<std::string> service_current;
    /// SHA-256 (hex) of each file as the container holds it; nullopt: the file does not exist.
    /// A path that is not a key was not observed and is treated as different.
    std::map<std::string, std::optional<std::string>> file_sha256;
    /// The storage directory (`storage-path`) itself; nullopt: not observed, treated as not in
    /// order (it is made and its owner set).
    std::optional<path_state> storage;
    /// The key the container's secrets file holds (parse_secrets_key of its content); nullopt
    /// when the file is absent, was not read or holds no key: a new key is made, so the file is
    /// pushed again and the layer changes.
    std::optional<secret> secrets_key;
    /// The current state (`GET /v1/services`: active, inactive, backoff, error) of each service our
    /// layer retires (entries_to_retire), by name. A name that is not a key was not observed and
    /// counts as running: it is stopped (again).
    std::map<std::string, std::string> retired_services_current;
    /// The status (`GET /v1/checks`: up, down, inactive) of each check our layer retires; a name
    /// that is not a key was not observed and counts as running: it is stopped (again).
    std::map<std::string, std::string> retired_checks_status;
};

/// What our layer no longer wants but Pebble's plan still holds (docs/reconcile.md, "Retiring
/// what we no longer want"). Pebble cannot delete an entry from a layer: combining into our label
/// keeps what an earlier version of our layer added. Ours, by name, from the inputs: the exporter
/// `<service>-exporter` with metrics off, the checks `<service>-alive`, `<service>-ready` with
/// health-checks off, `<service>-exporter-alive` with either off. A former name of our service
/// (service-name changed): a service of the plan other than ours whose working-dir is our
/// storage-path and that carries layer_fingerprint_key or retired_marker_key in its environment
/// (two Redis sharing one data directory and secrets file cannot both be meant), with its exporter
/// and checks by the names above. Only names present in the plan are listed; an entry our layer
/// wants is never listed.
struct retired_entries {
    std::vector<std::string> services;
    std::vector<std::string> checks;
};
[[nodiscard]] retired_entries entries_to_retire(const layer& plan, const layer& wanted, const redis_config& cfg);

/// The environment key a retired service carries in our layer (its value names our label).
inline constexpr std::string_view retired_marker_key = "REDISPEBBLE_RETIRED_BY";

/// `wanted` with the retired entries added, as Pebble users retire what they cannot delete:
/// a service becomes `override: replace`, `startup: disabled`, `working-dir` the storage path,
/// command `/bin/true` (Pebble requires one; it is never started), environment
/// retired_marker_key; a check becomes `override: replace`, `startup: disabled`, exec `/bin/true`
/// (Pebble requires a kind), no level. The fingerprint (layer_fingerprint_key) is made again over
/// the result, as make_layer makes it.
[[nodiscard]] layer with_retired(layer wanted, const retired_entries& retired, const redis_config& cfg);

/// What to do so the storage directory exists and belongs to the service's user and group
/// before Redis starts (docs/reconcile.md, "Storage"). Both steps go through Pebble:
/// - make: `POST /v1/files {"action": "make-dirs"}` with make-parents, permissions, user, group.
///   Pebble (osutil.Mkdir with ExistOK) leaves an existing directory as it is: owner unchanged.
/// - chown: `POST /v1/exec` of `command`: `chown -R -H -- USER:GROUP PATH`, run by Pebble's own user,
///   recursive because a volume adopted from elsewhere holds files (appendonlydir, dump.rdb) Redis
///   must rewrite; -H follows PATH when it is a symbolic link (Pebble's stat of PATH does, so the
///   owner compared is the target's). Only when the directory's own owner differs, so never on an
///   in-sync unit.
struct storage_fix {
    std::string path;
    std::string user, group;
    std::string permissions = "750";    ///< for a directory that is made
    bool make = false;
    bool chown = false;
    std::vector<std::string> command;   ///< chown's argv (no secrets)
};

/// What the unit should be: the inputs.
struct desired_state {
    redis_config config;
    peer_data peer;
    /// Certificate resources: name ("cert-file", "key-file", "ca-cert-file") -> content.
    std::map<std::string, secret> resources;
};

/// What to do, and the status to report once it is done.
struct decision {
    /// The status to report once every action below is done (an operator reports Juju's
    /// `maintenance` while it performs them): `active` with actions pending means "active after
    /// them". Formerly `status`, which stays as a deprecated alias of this member.
    union {
        unit_status status_after = unit_status::waiting;
        /// Deprecated alias of status_after (the same object): it read as the status now.
        /// Reading the union member not last written is not defined by ISO C++ ([class.union]);
        /// GCC defines it (its manual, -fstrict-aliasing: "type-punning" through a union is
        /// allowed) and Clang follows GCC, the two compilers this library supports; both members
        /// have one type, so the value read is the value written. Kept for source compatibility
        /// only: to be removed once users moved to status_after.
        [[deprecated("decision::status is the status after the actions: use decision::status_after")]]
        unit_status status;
    };
    std::string message;                  ///< "" for active; goes with status_after
    /// Whether the caller should reconcile again later even if nothing else happens (Juju:
    /// `event.defer()`): true for Waiting, false for Active and for Blocked on bad input.
    bool retry_later = false;

    std::optional<storage_fix> storage;   ///< first of all: the storage directory is not in order
    std::vector<file_spec> push;          ///< files whose content differs from the container's
    std::optional<layer> add_layer;       ///< the layer to add with `combine: true`
    std::string layer_label;              ///< label for add_layer
    std::vector<std::string> restart;     ///< services to restart (after pushes and the layer)
    std::vector<std::string> start;       ///< services to start (layer unchanged, service not running)
    /// Checks our layer retires that still run: `POST /v1/checks {"action": "stop"}` after the
    /// layer (Pebble keeps running a check whose startup became disabled until it is stopped).
    std::vector<std::string> stop_checks;
    /// Services our layer retires that still run: `POST /v1/services {"action": "stop"}` after the
    /// layer and before any restart (a renamed Redis must free its port first).
    std::vector<std::string> stop;
    /// Files this unit pushed before and no longer wants that the container holds (a password
    /// file after enable-password false, the secrets file with secrets: command-line, the
    /// exporter's or the ready check's password file with metrics or health-checks off, the
    /// certificates with TLS off): `POST /v1/files {"action": "remove"}`.
    std::vector<std::string> remove;
    /// The entries our layer retires (entries_to_retire), "services.X" / "checks.Y", for reports.
    std::vector<std::string> retired;

    std::vector<difference> differences;  ///< why add_layer is set (secrets already redacted)
    /// Fields our layer sets that another layer overrides in the combined plan (redacted): our
    /// layer is applied (the plan carries its fingerprint) but a layer above it sets these, so the
    /// plan can never match. They cause no write and no restart; the status is Blocked and names
    /// them (see overridden_message).
    std::vector<difference> overridden;
    std::vector<std::string> missing_resources; ///< named when TLS is on and some are missing
    /// What the operator should know that is neither a difference nor a failure, one sentence
    /// each (the Sentinel container: a sentinel.conf line that is neither ours nor Sentinel's
    /// run-time state, kept or dropped; see merge_sentinel_conf). Never a value of a directive.
    std::vector<std::string> warnings;
    std::string flags;                    ///< describe(redis_flags(...)): redacted, for reports
    /// The service's state as observed (observed_state::service_current), when the inputs did not
    /// decide alone: apply() reads the logs of a service in Pebble's `backoff` that no action
    /// here changes, for the reason (Blocked with Redis's words).
    std::optional<std::string> service_current;

    /// True when nothing has to be done.
    [[nodiscard]] bool no_op() const noexcept {
        return !storage && push.empty() && !add_layer && restart.empty() && start.empty() && stop_checks.empty() &&
               stop.empty() && remove.empty();
    }
};

/// A command line with every password replaced by `<redacted>` (the word after --requirepass,
/// --masterauth, -a, --pass). A command that cannot be split is withheld entirely.
[[nodiscard]] std::string redact_command(const std::string& command);

/// A copy of `l` whose service and exec-check commands are redacted: safe to print or log.
[[nodiscard]] layer redact(layer l);

/// How the combined plan stands towards the layer we want, for service `service` (the layer step
/// of decide(), and what reconcile_machine checks after adding the layer). Our layer carries
/// layer_fingerprint_key in the service's environment (see make_layer):
/// * `applied`: the plan's service carries our fingerprint, so our layer, as it is now, is in
///   Pebble's layer stack and nothing above it replaced the service. `differences` are then the
///   fields our layer sets whose combined value differs: another layer above ours overrides them.
///   This covers every entry our layer holds: the service, the exporter service and the checks
///   (a check's kind, http/tcp/exec, is compared whole; its override is not).
/// * not `applied`: our layer is not in the stack (a fresh Pebble, other inputs before), or a
///   layer above replaces the service. `differences` are what adding ours changes: the service
///   (the whole entry, `services.<name>`, when the plan has none) and, when the plan has the
///   service, every other entry of ours (exporter, checks, retired entries) that differs, so a
///   change there is named and not only seen as the fingerprint's difference.
/// Only what our layer sets is compared, semantically (as plan_differences): fields it leaves
/// unset, environment keys it does not set, after/before/requires that other layers append and
/// the service's `override` (Pebble keeps the lowest layer's) are other layers' business.
/// Values are redacted (commands, every occurrence of `password`).
struct layer_standing {
    bool applied = false;
    std::vector<difference> differences;
};
[[nodiscard]] layer_standing compare_layer(const layer& plan, const layer& wanted, const std::string& service,
                                           const secret& password);

/// The Blocked status when another layer overrides fields our layer sets:
/// `Another Pebble layer overrides what layer "<label>" sets: <path>, <path>`.
[[nodiscard]] std::string overridden_message(const std::vector<difference>& overridden, const std::string& label);

/// The decision, in this order:
/// 1. Pebble not reachable -> Waiting msg_waiting_for_pebble, retry.
/// 2. Peer data incomplete -> Waiting msg_waiting_for_peer_data, retry.
/// 3. enable_tls with a certificate resource missing -> Blocked msg_not_enough_certificates
///    (missing ones named), nothing applied, no retry (the operator must attach them).
/// 4. Storage directory missing, not observed, or owned by another user or group than
///    `user`:`group` -> storage_fix (before anything else; it alone restarts nothing). A storage
///    path that exists and is not a directory -> Blocked naming it, nothing applied.
///    Files (secrets file, certificates when TLS) whose content differs -> push them.
///    Our layer not applied (compare_layer: fingerprint absent or different) -> add it (label, combine);
///    restart Redis if its entry (fingerprint aside), a file it reads or backoff says so, the exporter if its entry changed.
///    Files differ but the layer is applied -> restart the service.
///    Layer applied but the service not running (inactive) -> start it; in Pebble's backoff while
///    the storage needed fixing -> restart it. -> Active.
/// 5. Nothing differs -> Active, no action.
/// Our layer applied but fields it sets overridden by another layer -> the actions of 4 (never a
/// layer write or a restart for the overridden fields), status Blocked overridden_message(), retry.
/// Fields other layers add that ours does not set (environment keys, after/before/requires...)
/// change nothing.
/// Input that cannot be used (a password Pebble's command syntax cannot carry, an invalid config)
/// is Blocked with the input_error's message, never an exception.
[[nodiscard]] decision decide(const observed_state& observed, const desired_state& desired);

/// The part of decide() that depends on the inputs and the secrets key alone: the layer (with its
/// keyed digest), the files, the redacted flags, or the verdict when the inputs alone decide
/// (invalid configuration, incomplete peer data, missing certificates; the verdict and the file
/// paths do not depend on the key). `secrets_key` is the key read from the container's secrets
/// file; empty: a new one. decide(observed, desired) is decide(observed, desired,
/// prepare(desired, observed.secrets_key or empty)). Cost: one HMAC-SHA256 and one SHA-256 per
/// file, microseconds.
struct prepared_desired {
    std::optional<decision> verdict;
    layer wanted;
    std::vector<file_spec> files;
    std::string flags;
    secret secrets_key;  ///< the key the secrets file and the layer's digest were made with
    /// Files this unit may have pushed under other inputs that it does not want now (see
    /// decision::remove): observed with the files, removed when the container holds them.
    std::vector<std::string> retire_files;
};
[[nodiscard]] prepared_desired prepare(const desired_state& desired, const secret& secrets_key = {});

/// prepare(desired, secrets_key), made from `p` = prepare(desired, another key): only what the key
/// changes is made again (the secrets file, and the layer's secrets digests and fingerprint, as
/// make_layer() writes them), about half of prepare()'s work. reconcile_machine prepares with a
/// new key before it has read the container's, and rekeys once it has. `secrets_key` empty: a new
/// one. Throws std::invalid_argument for a key that is not 64 lower-case hex digits.
[[nodiscard]] prepared_desired rekey(prepared_desired p, const desired_state& desired, const secret& secrets_key);

/// The files a container must lose: each of `candidates` (files a unit pushes under some inputs)
/// that no file of `wanted` has as its path and that `observed_sha256` shows the container holds
/// (a digest, not nullopt; a path not observed is left alone), in the order of `candidates`.
/// decide() removes these for the Redis container (prepared_desired::retire_files: the secrets,
/// client-auth and exporter files, certificate_paths() with TLS off), sentinel_machine for the
/// Sentinel container (its certificate files with TLS off): turning TLS off leaves no private key.
[[nodiscard]] std::vector<std::string> files_to_remove(
    const std::vector<std::string>& candidates, const std::vector<file_spec>& wanted,
    const std::map<std::string, std::optional<std::string>>& observed_sha256);
[[nodiscard]] decision decide(const observed_state& observed, const desired_state& desired,
                              const prepared_desired& prepared);

} // namespace redispebble

#endif
