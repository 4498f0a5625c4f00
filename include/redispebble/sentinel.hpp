// redispebble — Redis Sentinel as the reference operator (redis-k8s) runs it: a second container
// `sentinel` in every unit running `redis-server <sentinel.conf> --sentinel` under its own Pebble
// layer. Its layer, its sentinel.conf, the directives we own in a file Sentinel rewrites at run time,
// asking Sentinel for the current master, and the sans-io machine that reconciles the container.
// Pure: standard library only (CMake target redispebble::core). See docs/sentinel.md.
#ifndef REDISPEBBLE_SENTINEL_HPP
#define REDISPEBBLE_SENTINEL_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/probe.hpp>
#include <redispebble/reconcile_machine.hpp>
#include <redispebble/redis.hpp>
#include <redispebble/secret.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// Redis's defaults for the per-master options Sentinel leaves out of its file when it rewrites it
/// (Redis 7.0 sentinel.c: SENTINEL_DEFAULT_DOWN_AFTER, SENTINEL_DEFAULT_FAILOVER_TIMEOUT,
/// SENTINEL_DEFAULT_PARALLEL_SYNCS), and its port (REDIS_SENTINEL_PORT).
inline constexpr long long sentinel_default_down_after = 30000;
inline constexpr long long sentinel_default_failover_timeout = 180000;
inline constexpr int sentinel_default_parallel_syncs = 1;
inline constexpr int sentinel_default_port = 26379;

/// The quorum of `sentinel monitor`: cfg.sentinel_quorum when set, else as redis-k8s
/// (Sentinel.expected_quorum): floor(peer.planned_units / 2) + 1.
[[nodiscard]] int sentinel_quorum(const redis_config& cfg, const peer_data& peer);

/// Splits one line of a redis.conf-syntax file as Redis does (sds.c sdssplitargs): words separated
/// by blanks, "..." with \\, \", \n, \r, \t, \b, \a and \xHH escapes, '...' with \' only. nullopt for
/// a line Redis refuses (unbalanced quotes, a closing quote not followed by a blank).
[[nodiscard]] std::optional<std::vector<std::string>> split_conf_line(std::string_view line);

/// One directive we own in sentinel.conf. `key` names it ("port", "requirepass",
/// "sentinel monitor <name>", ...); `words` are its values after the key's words.
struct sentinel_directive {
    std::string key;
    std::vector<std::string> words;
    bool is_secret = false;  ///< requirepass, sentinel auth-pass
    friend bool operator==(const sentinel_directive&, const sentinel_directive&) = default;
};

/// The directives we own, in this order (redis-k8s's templates/sentinel.conf.j2 plus `bind` and TLS):
/// `port P` (or with TLS `port 0` and `tls-port P`, `tls-auth-clients`, `tls-cert-file`,
/// `tls-key-file`, `tls-ca-cert-file` under the config file's directory, `tls-replication yes`),
/// `bind ADDR`, `requirepass SENTINEL-PASSWORD` (when enable-password), `sentinel resolve-hostnames
/// yes`, `sentinel announce-hostnames yes`, `sentinel announce-ip HOSTNAME`, `sentinel monitor NAME
/// MASTER PORT QUORUM`, `sentinel down-after-milliseconds NAME N`, `sentinel failover-timeout NAME
/// N`, `sentinel parallel-syncs NAME N`, `sentinel auth-pass NAME ADMIN-PASSWORD` (when
/// enable-password). `master` is the host to monitor (see docs/sentinel.md for which one).
/// Throws input_error naming the key for inputs that cannot make the file: validate(cfg) and
/// validate(peer) failures; an empty sentinel-password, hostname or master ("is not set yet");
/// an admin password Sentinel would write back unreadable. Redis 7.0's sentinel.c writes `sentinel
/// auth-pass` back unquoted when it rewrites its file, and then refuses to start on that file
/// ("Unbalanced quotes", quoting the line): with Sentinel the admin password must hold no blank
/// (space, tab, CR, LF), no `"` and no `'`. A `sentinel-quorum` above peer data's
/// `planned-units` is refused (key sentinel-quorum): fewer Sentinels than the quorum can never
/// agree the master is down, so Sentinel would never fail over (it accepts such a monitor
/// silently; SENTINEL CKQUORUM is its only complaint).
[[nodiscard]] std::vector<sentinel_directive> sentinel_directives(const redis_config& cfg, const peer_data& peer,
                                                                  const std::string& master);

/// Whether peer data holds what the Sentinel container needs before anything is compared: the
/// admin and sentinel passwords (when enable-password is on), current-master and hostname. Without
/// them sentinel_machine reports Waiting for peer data (msg_waiting_for_peer_data).
[[nodiscard]] bool sentinel_peer_data_complete(const peer_data& peer) noexcept;
/// The keys sentinel_peer_data_complete() wants that are not set yet, in this order:
/// admin-password and sentinel-password (only when enable_password), current-master, hostname.
[[nodiscard]] std::vector<std::string> sentinel_peer_data_missing(const peer_data& peer);

/// What the inputs alone decide for the Sentinel container, before Pebble is asked (prepare()'s
/// verdict for the Redis container): nullopt when they make its layer and file. Otherwise, first
/// that applies:
/// - Blocked with input_error's words when validate(cfg) refuses the configuration;
/// - Waiting, waiting_for_peer_data() naming the keys not set yet (sentinel_peer_data_missing);
/// - with enable-tls, Blocked msg_not_enough_certificates (missing_resources set) when a resource
///   is missing, or Blocked with check_certificates()'s words for one Redis would refuse;
/// - Blocked with sentinel_directives()'s words (peer data's current-master as the master).
/// sentinel_machine, reconcile_unit (Blocked: neither container is touched) and the CLI's `plan`
/// all use it, so they say the same thing.
[[nodiscard]] std::optional<decision> sentinel_verdict(const desired_state& desired);

/// The directives as redis.conf lines: secret values written with redis_conf_quote, others quoted
/// only when they are not plain words. Secret (it holds the passwords).
[[nodiscard]] secret sentinel_conf_text(const std::vector<sentinel_directive>& directives);

/// The key of a sentinel.conf line when it is a directive we own, for master `name` (see
/// sentinel_directives); "" for a line Sentinel owns (myid, epochs, known-replica, known-sentinel,
/// dir, ...), a comment or a blank line. A per-master option we own for another master name is
/// ours too (to be removed: Sentinel would monitor that master as well).
[[nodiscard]] std::string sentinel_owned_key(const std::vector<std::string>& words, const std::string& name);

/// What merging our directives into the container's sentinel.conf gives.
struct sentinel_conf_merge {
    /// The file to push: our directives, then the current file's other lines in their order (what
    /// Sentinel wrote: myid, epochs, known replicas and sentinels). Dropped: the per-master lines of
    /// a master name other than ours, and `user` lines (Sentinel writes the default user's password
    /// hash as `user default on #...`: kept, an old password would stay valid beside a new one).
    secret content;
    std::string sha256;  ///< hex SHA-256 of content
    /// The keys of our directives whose value differs from the file's, in our order then the file's
    /// (never a value: some are passwords). Missing per-master options compare as Redis's
    /// defaults (Sentinel leaves default values out when it rewrites), a missing `port` as 26379,
    /// missing `sentinel resolve-hostnames`/`announce-hostnames` as no. Empty: nothing to push.
    std::vector<std::string> changed;
    bool file_missing = false;  ///< no current file (changed then names every directive)
    /// Our keys as the current file has them (the last line of each), for reports: the value of
    /// `requirepass` and `sentinel auth-pass NAME` (passwords) is {"<redacted>"}, never copied.
    std::map<std::string, std::vector<std::string>> file_values;
    /// Lines that are neither ours nor Sentinel's run-time state (sentinel_line_kind), one
    /// sentence each naming the line number and the directive (never its values): kept when
    /// Sentinel accepts the directive, dropped (and counted in `changed`) when it would refuse it.
    std::vector<std::string> warnings;
};

/// How Sentinel (Redis 7.0.15) takes a sentinel.conf line that is not one of our directives.
enum class sentinel_line_kind {
    /// Sentinel's run-time state and its CONFIG REWRITE output: `sentinel myid`, `current-epoch`,
    /// `config-epoch`, `leader-epoch`, `known-replica`/`known-slave`, `known-sentinel`, and `dir`,
    /// `user`, `protected-mode`, `latency-tracking-info-percentiles` (measured on 7.0.15).
    runtime,
    /// Another directive Sentinel accepts: a `sentinel` option of sentinel.c's
    /// sentinelHandleConfiguration, or a Redis configuration name (Redis 7.0.15's CONFIG GET *,
    /// aliases included) or one config.c reads itself (include, rename-command, user, loadmodule).
    accepted,
    /// Neither: Sentinel refuses to start ("FATAL CONFIG FILE ERROR ... Bad directive or wrong
    /// number of arguments", "Unrecognized sentinel configuration statement").
    refused
};
/// The kind of a split, non-empty, non-comment line (its arguments are not checked).
[[nodiscard]] sentinel_line_kind sentinel_line_kind_of(const std::vector<std::string>& words);

/// Compares `current` (the container's sentinel.conf; nullopt when absent) with `wanted`
/// semantically, directive by directive (split_conf_line, so quoting and order do not matter), and
/// makes the merged file. A current line that does not split is dropped and counted as changed
/// (key "unreadable line N"). A line Sentinel would refuse (sentinel_line_kind::refused, e.g. a
/// hand-added unknown directive) is dropped too, counted as changed (key "line N: DIRECTIVE,
/// which Sentinel refuses") and warned about: pushing it would restart Sentinel into `FATAL CONFIG
/// FILE ERROR`. A line Sentinel accepts that is not its run-time state is kept and warned about.
[[nodiscard]] sentinel_conf_merge merge_sentinel_conf(const std::optional<std::string>& current,
                                                      const std::vector<sentinel_directive>& wanted,
                                                      const std::string& master_name);

/// What of Redis's secrets file (secrets_file()) the reconciler compares: its first line when it
/// is the key line, then its `requirepass`/`masterauth` lines re-written as secrets_file() writes
/// them, and its `replicaof`/`slaveof` lines. The file we push gives back its own content. Redis
/// loads that file as its configuration file, and Sentinel sends `CONFIG REWRITE` with every
/// reconfiguration, so Redis appends its state to it (`dir`, `save`, `user default on #...`) and
/// re-quotes values: those lines alone are no reason to push and restart. A `replicaof` line is:
/// Redis would follow it on its next start when the layer has no --replicaof (the master).
[[nodiscard]] std::string secrets_file_compared_content(std::string_view content);

/// The master host `content` monitors: the HOST of the last `sentinel monitor NAME HOST PORT Q`
/// for cfg.sentinel_master_name; nullopt when there is none.
[[nodiscard]] std::optional<std::string> monitored_master(std::string_view content, const redis_config& cfg);

/// The Sentinel layer (redis-k8s's Sentinel._sentinel_layer): summary and description "Sentinel
/// layer", service cfg.sentinel_service_name with override replace, summary "Sentinel service",
/// command `redis-server <sentinel-config-path> --sentinel` (no password: they are in the file),
/// user and group, working-dir the config file's directory, startup enabled, and
/// REDISPEBBLE_LAYER_FINGERPRINT ("sha256:" + SHA-256 of to_yaml() of the layer without it), as
/// make_layer's.
[[nodiscard]] layer make_sentinel_layer(const redis_config& cfg);

/// The certificate files Sentinel reads with TLS: the resources of certificate_plan() under the
/// config file's directory (redis.crt, redis.key, ca.crt). Empty without TLS. With TLS off,
/// sentinel_machine removes those files when the container holds them (files_to_remove()), as
/// decide() does in the Redis container.
[[nodiscard]] certificate_plan_result sentinel_certificate_plan(const redis_config& cfg,
                                                                const std::map<std::string, secret>& resources);

/// Asking Sentinel which host is the master: argv `redis-cli -h HOST -p SENTINEL-PORT` (TLS as
/// probe_command), HOST the local address of bind-address (local_address()). No secret in it.
[[nodiscard]] std::vector<std::string> sentinel_query_command(const redis_config& cfg);
/// Its standard input: `AUTH "<sentinel-password>"` (escaped as probe_input; none without a
/// password) then `SENTINEL get-master-addr-by-name NAME`. The password travels on stdin, as the
/// probe's: never in argv, the exec's environment (Pebble keeps it in the change) or a log.
[[nodiscard]] secret sentinel_query_input(const redis_config& cfg, const peer_data& peer);

/// What redis-cli answered (stdout and stderr merged, raw mode).
struct sentinel_answer {
    bool connected = false;
    bool authenticated = false;
    std::string error;              ///< redis-cli's or Sentinel's first error
    std::optional<std::string> master_host, master_port;  ///< nullopt: Sentinel knows no such master
};
[[nodiscard]] sentinel_answer parse_sentinel_answer(const std::string& output, bool auth_sent);

/// The verdict on Sentinel's answer (assess_probe's kinds; link_failed is never given), HOST:PORT
/// being sentinel_query_command's:
/// - not connected -> starting, "Sentinel is not answering on HOST:PORT: <redis-cli's words>";
/// - AUTH refused -> refused, "Sentinel refused the sentinel password: <Sentinel's words>"; without
///   a password a NOAUTH answer -> refused, "Sentinel wants a password but peer data has
///   enable-password false: <Sentinel's words>";
/// - another error -> refused, "Sentinel answered: <its words>";
/// - no master of that name (a null answer) -> starting, "Sentinel does not monitor NAME";
/// - the master's address -> healthy.
/// Messages carry Sentinel's and redis-cli's words, never a password of `peer` (redacted).
[[nodiscard]] probe_verdict assess_sentinel_answer(const sentinel_answer& a, const redis_config& cfg,
                                                   const peer_data& peer);

/// Which master the unit should follow, and where that came from.
struct master_choice {
    std::string host;
    /// "sentinel" (Sentinel answered), "sentinel.conf" (Sentinel did not answer; its file monitors
    /// this host, as Sentinel last wrote it), "peer data" (neither).
    std::string source;
};

/// Reconciles the Sentinel container: observe (plan, service, sentinel.conf and the certificate
/// files), ask Sentinel for the master when its service is active, decide, act (make the config
/// file's directory, user:group 750, as redis-k8s does, when it pushes: Sentinel rewrites its file
/// through a temporary file beside it; push the merged file when one of our directives changed, add
/// the layer when it is not applied, remove the certificate files with TLS off, restart the service
/// once when a push or the layer happened, start it when it is stopped), probe, report. Any failure ends the run with a report that says what was done
/// before it; nothing throws.
///
/// The probe (probe.enabled; the Redis probe's options): after Sentinel was (re)started, the same
/// question through Pebble's exec (sentinel_query_command, the password on stdin), judged by
/// assess_sentinel_answer: not answering yet is asked again every probe.settle_step within
/// probe.settle, then Waiting with redis-cli's words and Sentinel's last log lines (Pebble's logs);
/// a refused password or another error is Blocked with Sentinel's words. With nothing to do (apply,
/// and the dry runs of status and diff), the question asked while observing decides the same way,
/// without the wait; Waiting "not answering" always carries Sentinel's last log lines. A service
/// that failed to start is Blocked with Pebble's change error, which carries Sentinel's last
/// output ("FATAL CONFIG FILE ERROR ..."). One in Pebble's backoff with nothing to change is
/// watched (backoff_watch, as the Redis container's): Blocked with its last log lines ("keeps
/// failing (Pebble backoff ...)") only when it fails again or its backoff has grown; one crash
/// that Pebble restarted is asked as after a start; Waiting with its log lines when the settle
/// runs out first.
///
/// The master it monitors is master(): Sentinel's answer, else the host the file monitors, else
/// peer data's current-master. The report's redis_state says "sentinel master HOST:PORT" when
/// Sentinel answered. Only the directives we own are compared (merge_sentinel_conf), so a file
/// Sentinel rewrote with its run-time state and unchanged inputs is zero writes and zero restarts.
class sentinel_machine : private detail::service_machine<sentinel_machine> {
public:
    explicit sentinel_machine(desired_state desired, bool dry_run = false, probe_options probe = {});
    [[nodiscard]] std::optional<pebble_request> start();
    [[nodiscard]] std::optional<pebble_request> resume(const pebble_reply& reply);
    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] const reconcile_report& report() const noexcept { return report_; }
    /// The master chosen (valid once the observation is over; empty before).
    [[nodiscard]] const master_choice& master() const noexcept { return master_; }
    /// Sentinel's own answer, when it gave one.
    [[nodiscard]] const std::optional<std::string>& sentinel_master() const noexcept { return sentinel_master_; }

private:
    friend class detail::service_machine<sentinel_machine>;
    enum class phase {
        plan, service, files, ask, make_dir, push, layer, remove, restart, wait, probe, pause, logs, watch_pause,
        watch_service, recheck, finished
    };
    /// service_machine's, and the decision into the report.
    std::optional<pebble_request> finish(unit_status status, std::string message, bool retry);
    std::optional<pebble_request> fail(const pebble_reply& reply, const std::string& step);
    std::optional<pebble_request> decide_and_act();
    pebble_request files_request();
    std::optional<pebble_request> next_action();
    /// Both passwords out of `text` (redact_output), its last 5 lines kept.
    std::string redact(const std::string& text) const;
    /// The shared steps' form: 5 lines whatever the step (the counts are the Redis machine's).
    std::string redact(const std::string& text, std::size_t) const { return redact(text); }
    const std::string& service() const noexcept { return desired_.config.sentinel_service_name; }
    std::optional<pebble_request> probe_request();
    std::optional<pebble_request> on_probe(const pebble_reply& reply);
    std::optional<pebble_request> on_verdict(const probe_verdict& v);

    desired_state desired_;
    bool dry_run_ = false;
    phase phase_ = phase::plan;
    layer plan_;
    std::optional<std::string> service_current_;
    std::optional<std::string> current_file_;
    std::map<std::string, std::optional<std::string>> file_sha256_;
    std::vector<file_spec> certificates_;
    std::optional<std::string> sentinel_master_;
    master_choice master_;
    std::optional<probe_verdict> asked_;  ///< the verdict on the answer while observing
    bool made_ = false;
};

/// The status message when Pebble in the Sentinel container cannot be reached (redis-k8s's words).
inline constexpr std::string_view msg_waiting_for_sentinel_pebble = "Waiting for Pebble in sentinel container";

} // namespace redispebble

#endif
