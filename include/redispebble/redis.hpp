// redispebble — what Redis under Pebble should look like: flags, layer, files. Pure functions.
#ifndef REDISPEBBLE_REDIS_HPP
#define REDISPEBBLE_REDIS_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/secret.hpp>

#include <map>
#include <optional>
#include <string_view>
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
/// `--requirepass P --bind ADDR --masterauth P --replica-announce-ip HOST` (no requirepass and
/// masterauth when !peer.enable_password); with TLS
/// `--tls-port PORT --port 0 --tls-auth-clients yes|no|optional --tls-cert-file S/redis.crt
/// --tls-key-file S/redis.key
/// --tls-ca-cert-file S/ca.crt`, otherwise `--port PORT`; on a replica `--replicaof MASTER PORT`
/// and, with TLS, `--tls-replication yes`; then `--appendonly yes|no --dir S`, `--logfile F` when
/// cfg.logfile is set, and `--protected-mode no` when !peer.enable_password. S is cfg.storage_path.
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

/// A value in redis.conf string syntax: double-quoted, `\\` and `\"` escaped, every byte outside
/// printable ASCII written as `\xHH` (sdssplitargs reads back the exact bytes).
[[nodiscard]] std::string redis_conf_quote(std::string_view value);

/// Path of the secrets file: S/redispebble-secrets.conf.
[[nodiscard]] std::string secrets_file_path(const redis_config& cfg);

/// The first line of the secrets file: a redis.conf comment (redis-server skips lines starting
/// with `#`) holding the unit's secrets key, 64 lower-case hex digits (32 random bytes).
inline constexpr std::string_view secrets_key_prefix = "# redispebble-key ";

/// A new secrets key: 32 bytes from OpenSSL's RAND_bytes as 64 lower-case hex digits. Throws
/// std::runtime_error when the generator fails.
[[nodiscard]] secret new_secrets_key();

/// The key a secrets file holds: its first line is `secrets_key_prefix` followed by exactly 64
/// lower-case hex digits and a newline. nullopt for anything else (no file yet, a file written by
/// an older version, a damaged file): the caller then makes a new key, and the file is rewritten.
[[nodiscard]] std::optional<secret> parse_secrets_key(std::string_view file_content);

/// The secrets file: `secrets_key_prefix KEY`, then `requirepass "..."` and `masterauth "..."` in
/// redis.conf syntax (escaped so that Redis reads back the exact bytes). Only in
/// secret_mode::config_file; nullopt otherwise. `secrets_key` is the unit's key (see
/// parse_secrets_key); empty: a new one (new_secrets_key()). Throws std::invalid_argument for a
/// key that is not 64 lower-case hex digits. `sha256` of the file is not a password digest: the
/// content holds the 256-bit key, so the digest tests no guess without it.
[[nodiscard]] std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer,
                                                    const secret& secrets_key = {});

/// The value the layer carries in its environment as REDISPEBBLE_SECRETS_DIGEST:
/// `hmac-sha256:` + HMAC-SHA256(secrets key, the password lines of the secrets file). It changes
/// whenever a password does (so the plan differs and Redis restarts), differs between units (each
/// has its own random key), and lets no reader of the plan test a password guess: that needs the
/// key, held only in the container's 0600 secrets file. See docs/inputs.md, "Threat model".
/// "" outside secret_mode::config_file. `secrets_key` as for secrets_file().
[[nodiscard]] std::string secrets_digest(const redis_config& cfg, const peer_data& peer,
                                         const secret& secrets_key = {});

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

/// Where certificate_plan() puts the certificate files, whatever the resources: S/redis.crt,
/// S/redis.key, S/ca.crt (S = cfg.storage_path). With TLS off these are the files to remove
/// (files_to_remove() in decide.hpp).
[[nodiscard]] std::vector<std::string> certificate_paths(const redis_config& cfg);

/// Checks the certificate resources that are present (certificate_resources() names) as Redis
/// will read them (Redis 7.0 tls.c: SSL_CTX_use_certificate_chain_file, SSL_CTX_use_PrivateKey_file
/// with no passphrase, SSL_CTX_load_verify_locations), with OpenSSL: `cert-file` must start with a
/// PEM certificate, `key-file` must be an unencrypted PEM private key that matches that
/// certificate, `ca-cert-file` must hold at least one PEM certificate and nothing that is not one.
/// Throws input_error (source "resources", key the resource name) saying why, with OpenSSL's
/// reason; never a byte of the content (the key is secret). A file Redis would refuse is refused
/// here, before anything is pushed: Redis and Sentinel would otherwise restart into failure.
void check_certificates(const std::map<std::string, secret>& resources);

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
/// Path of the file the `ready` check reads its password from: S/redispebble-client-auth (the
/// raw password, 0600, user:group).
[[nodiscard]] std::string client_auth_file_path(const redis_config& cfg);
/// Path of the exporter's `-redis.password-file`: S/redispebble-exporter-passwords.json, a JSON
/// object {"redis://HOST:PORT": "password"} (redis_exporter's format; rediss:// with TLS).
[[nodiscard]] std::string exporter_password_file_path(const redis_config& cfg);
/// The address a local client (check, exporter) uses: 127.0.0.1 for bind 0.0.0.0, ::1 for ::,
/// otherwise the bind address.
[[nodiscard]] std::string local_address(const redis_config& cfg);
/// The 0600 files the companions need, with a password (none when !peer.enable_password): the
/// client-auth file when cfg.health_checks, the exporter's password file when cfg.metrics.
[[nodiscard]] std::vector<file_spec> companion_files(const redis_config& cfg, const peer_data& peer);
/// The `ready` check's command. With a password: `/bin/sh -c 'exec redis-cli -e -h H -p P [TLS]
/// -x AUTH < S/redispebble-client-auth'` (redis-cli has no password-file flag; `-x` reads the last
/// argument from stdin, so the password is in no argv, environment or plan; `-e` makes an error
/// reply exit 1). Without: `redis-cli -e -h H -p P [TLS] PING`. TLS: `--tls --cacert S/ca.crt`,
/// plus `--cert S/redis.crt --key S/redis.key` only with tls-auth-clients yes (as probe_command).
[[nodiscard]] std::string ready_check_command(const redis_config& cfg, const peer_data& peer);
/// The exporter's command: `prometheus-redis-exporter -redis.addr redis[s]://H:P
/// -web.listen-address BIND:METRICS_PORT [-redis.password-file F] [-tls-ca-cert-file S/ca.crt
/// [-tls-client-cert-file S/redis.crt -tls-client-key-file S/redis.key: tls-auth-clients yes]]`.
[[nodiscard]] std::string exporter_command(const redis_config& cfg, const peer_data& peer);
/// The exporter's Pebble service name: `<service-name>-exporter`.
[[nodiscard]] std::string exporter_service_name(const redis_config& cfg);

/// The Pebble layer: summary and description "Redis layer"; service cfg.service_name with
/// override replace, the command above, user and group, working-dir the storage path (where
/// Redis writes its data), startup enabled; environment
/// REDISPEBBLE_SECRETS_DIGEST (config_file mode: secrets_digest() with `secrets_key`, which must be
/// the key of the secrets file pushed with it; empty: a new key), REDISPEBBLE_FILES_DIGEST (a
/// digest over the certificate files, so a new certificate restarts Redis) when those files exist,
/// and last REDISPEBBLE_LAYER_FINGERPRINT (layer_fingerprint_key): "sha256:" + the SHA-256 of
/// to_yaml() of the layer without that key. It records in Pebble's plan which layer we applied, as
/// Kubernetes records the last-applied configuration, so decide() can tell our layer from what other
/// layers merge into the service (see docs/reconcile.md). It reveals nothing the layer does not
/// already show: the secrets digest is an HMAC keyed by a random key only the container's 0600
/// secrets file holds (in secret_mode::command_line the password is in the plan anyway).
/// With cfg.health_checks: checks `<service>-alive` (level alive, tcp on local_address:port) and
/// `<service>-ready` (level ready, exec ready_check_command with service-context the service),
/// both with check-period, check-timeout, check-threshold; the service's on-check-failure maps
/// both to cfg.on_check_failure (none when "off"). With cfg.metrics: service
/// `<service>-exporter` (exporter_command, user/group, startup enabled, after the service,
/// environment REDISPEBBLE_SECRETS_DIGEST and REDISPEBBLE_FILES_DIGEST as the service's, so a new
/// password or certificate changes it); with cfg.health_checks too, check `<service>-exporter-alive`
/// (no level, so it never fails the container's alive/ready health; http on
/// http://local_address:metrics-port/health, redis_exporter's own health page) and the exporter's
/// on-check-failure mapping it to cfg.on_check_failure (none when "off").
[[nodiscard]] layer make_layer(const redis_config& cfg, const peer_data& peer,
                               const std::vector<file_spec>& certificate_files = {},
                               const secret& secrets_key = {});

} // namespace redispebble

#endif
