// redispebble — what Redis under Pebble should look like: flags, layer, files. Pure functions.
#ifndef REDISPEBBLE_REDIS_HPP
#define REDISPEBBLE_REDIS_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/secret.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// One redis-server option. `secret` options carry a password: they are written to the secrets
/// file in secret_mode::config_file and printed as `<redacted>` by describe().
struct redis_flag {
    std::string name;                 ///< without the leading "--": "requirepass", "replicaof"
    std::vector<std::string> values;  ///< "replicaof" has two
    bool is_secret = false;
    friend bool operator==(const redis_flag&, const redis_flag&) = default;
};

/// The redis-server options, in this order:
/// `--requirepass P --bind ADDR --masterauth P --replica-announce-ip HOST`; with TLS
/// `--tls-port PORT --port 0 --tls-auth-clients yes|no|optional --tls-cert-file S/redis.crt
/// --tls-key-file S/redis.key
/// --tls-ca-cert-file S/ca.crt`, otherwise `--port PORT`; on a replica `--replicaof MASTER PORT`
/// and, with TLS, `--tls-replication yes`. S is cfg.storage_path.
/// Precondition: peer.complete() (throws input_error naming the missing key otherwise). Also
/// throws input_error, naming the key, when validate(cfg) or validate(peer) rejects the inputs
/// (see config.hpp): every value here becomes one argv word redis-server must read as a value.
[[nodiscard]] std::vector<redis_flag> redis_flags(const redis_config& cfg, const peer_data& peer);

/// The flags as one line with secret values replaced by `<redacted>`: safe to print or log.
[[nodiscard]] std::string describe(const std::vector<redis_flag>& flags);

/// A file the container must hold, with its content. Content of the secrets file and of the key
/// is secret; `sha256` is the hex digest of the content, comparable with what the container holds.
struct file_spec {
    std::string path;             ///< absolute path in the container
    secret content;
    std::string permissions = "600";
    std::string user;
    std::string group;
    bool make_dirs = true;
    std::string origin;           ///< "secrets", or the resource name ("cert-file"...)
    std::string sha256;           ///< hex digest of content
    friend bool operator==(const file_spec&, const file_spec&) = default;
};

/// Path of the secrets file: S/redispebble-secrets.conf.
[[nodiscard]] std::string secrets_file_path(const redis_config& cfg);

/// The secrets file in redis.conf syntax (`requirepass "..."`, `masterauth "..."`, escaped so
/// that Redis reads back the exact bytes). Only in secret_mode::config_file; nullopt otherwise.
[[nodiscard]] std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer);

/// Salted, stretched digest of the secrets file content (PBKDF2-HMAC-SHA256) that the layer
/// carries in its environment as REDISPEBBLE_SECRETS_DIGEST: it changes whenever a password does,
/// and does not let a reader of the plan test password guesses cheaply.
[[nodiscard]] std::string secrets_digest(const redis_config& cfg, const peer_data& peer);

/// The certificate resources and where they go.
struct certificate_entry {
    std::string resource;         ///< "cert-file", "key-file", "ca-cert-file"
    std::string destination;      ///< S/redis.crt, S/redis.key, S/ca.crt
    friend bool operator==(const certificate_entry&, const certificate_entry&) = default;
};
inline const std::vector<std::string>& certificate_resources() {
    static const std::vector<std::string> names{"cert-file", "key-file", "ca-cert-file"};
    return names;
}

/// The certificate plan: for each resource present in `resources` (resource name -> its content,
/// as read from the charm's resource file), a file_spec for its destination (0600, user:group,
/// make-dirs); `missing` names the resources that were not given, in the order above.
struct certificate_plan_result {
    std::vector<file_spec> files;
    std::vector<std::string> missing;
    [[nodiscard]] bool complete() const noexcept { return missing.empty(); }
};
[[nodiscard]] certificate_plan_result certificate_plan(const redis_config& cfg,
                                                       const std::map<std::string, secret>& resources);

/// The command Pebble runs, each word quoted with shlex_quote for Pebble's splitting (see
/// shlex.hpp). secret_mode::config_file: `redis-server S/redispebble-secrets.conf FLAGS...` with
/// the non-secret flags only (no password anywhere). secret_mode::command_line: `redis-server
/// FLAGS...` with every flag, password included (the documented risky option); throws
/// input_error on "admin-password" (never showing the value) for a password it cannot carry: a
/// bare `[` or `]` (Pebble's default-arguments group), one starting with `--` (redis-server would
/// take it as an option), invalid UTF-8 or a NUL (in both modes). The result is checked to come
/// back as the same argv through parse_service_command.
[[nodiscard]] std::string redis_command(const redis_config& cfg, const peer_data& peer);

/// The environment key of the service that records which layer we applied (see make_layer).
inline constexpr std::string_view layer_fingerprint_key = "REDISPEBBLE_LAYER_FINGERPRINT";

/// The Pebble layer: summary and description "Redis layer"; service cfg.service_name with
/// override replace, the command above, user and group, working-dir the storage path (where
/// Redis writes its data), startup enabled; environment
/// REDISPEBBLE_SECRETS_DIGEST (config_file mode) and REDISPEBBLE_FILES_DIGEST (a digest over the
/// certificate files, so a new certificate restarts Redis) when those files exist, and last
/// REDISPEBBLE_LAYER_FINGERPRINT (layer_fingerprint_key): "sha256:" + the SHA-256 of to_yaml() of
/// the layer without that key. It records in Pebble's plan which layer we applied, as Kubernetes
/// records the last-applied configuration, so decide() can tell our layer from what other layers
/// merge into the service (see docs/reconcile.md). It reveals nothing the layer does not already
/// show: the layer holds the PBKDF2 digest, not the password (in secret_mode::command_line the
/// password is in the plan anyway).
[[nodiscard]] layer make_layer(const redis_config& cfg, const peer_data& peer,
                               const std::vector<file_spec>& certificate_files = {});

} // namespace redispebble

#endif
