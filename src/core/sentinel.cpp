// Sentinel's pure half: the directives and sentinel.conf (read, classified, written), the layer,
// the certificates, the query and its verdict. The machine that drives them through Pebble is
// sentinel_machine.cpp; what both use is sentinel_detail.hpp.
#include <redispebble/sentinel.hpp>

#include "redis_detail.hpp"
#include "sentinel_detail.hpp"

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace redispebble {

using detail::config_dir;
using detail::in_sentinel_dir;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string in_config_dir(const redis_config& cfg, std::string_view name) {
    const std::string dir = config_dir(cfg);
    return (dir == "/" ? "" : dir) + "/" + std::string(name);
}

// Options of ours that take the master name as their first value.
const std::set<std::string>& per_master_owned() {
    static const std::set<std::string> s{"monitor", "down-after-milliseconds", "failover-timeout", "parallel-syncs",
                                         "auth-pass"};
    return s;
}
// Sentinel's own per-master lines (sentinel.c rewriteConfigSentinelOption and the options a user
// may set): dropped with the master they belong to when it is not ours.
const std::set<std::string>& per_master_any() {
    static const std::set<std::string> s{"monitor", "down-after-milliseconds", "failover-timeout", "parallel-syncs",
                                         "auth-pass", "auth-user", "config-epoch", "leader-epoch", "known-replica",
                                         "known-slave", "known-sentinel", "notification-script",
                                         "client-reconfig-script", "rename-command", "master-reboot-down-after-period"};
    return s;
}
const std::set<std::string>& global_owned() {
    static const std::set<std::string> s{"port", "bind", "requirepass", "tls-port", "tls-auth-clients",
                                         "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-replication"};
    return s;
}

// Redis 7.0.15's configuration names (CONFIG GET * on Debian bookworm's redis-server, aliases
// included) and the directives config.c reads before looking them up: what Sentinel, which is
// redis-server, accepts at the start of a line.
const std::set<std::string>& redis_directives() {
    static const std::set<std::string> s{
        "acl-pubsub-default", "aclfile", "acllog-max-len", "active-defrag-cycle-max", "active-defrag-cycle-min",
        "active-defrag-ignore-bytes", "active-defrag-max-scan-fields", "active-defrag-threshold-lower",
        "active-defrag-threshold-upper", "active-expire-effort", "activedefrag", "activerehashing", "always-show-logo",
        "aof-disable-auto-gc", "aof-load-truncated", "aof-rewrite-incremental-fsync", "aof-timestamp-enabled",
        "aof-use-rdb-preamble", "aof_rewrite_cpulist", "appenddirname", "appendfilename", "appendfsync", "appendonly",
        "auto-aof-rewrite-min-size", "auto-aof-rewrite-percentage", "bgsave_cpulist", "bind", "bind-source-addr",
        "bio_cpulist", "busy-reply-threshold", "client-output-buffer-limit", "client-query-buffer-limit",
        "cluster-allow-pubsubshard-when-down", "cluster-allow-reads-when-down", "cluster-allow-replica-migration",
        "cluster-announce-bus-port", "cluster-announce-hostname", "cluster-announce-ip", "cluster-announce-port",
        "cluster-announce-tls-port", "cluster-config-file", "cluster-enabled", "cluster-link-sendbuf-limit",
        "cluster-migration-barrier", "cluster-node-timeout", "cluster-port", "cluster-preferred-endpoint-type",
        "cluster-replica-no-failover", "cluster-replica-validity-factor", "cluster-require-full-coverage",
        "cluster-slave-no-failover", "cluster-slave-validity-factor", "crash-log-enabled", "crash-memcheck-enabled",
        "daemonize", "databases", "dbfilename", "dir", "disable-thp", "dynamic-hz", "enable-debug-command",
        "enable-module-command", "enable-protected-configs", "hash-max-listpack-entries", "hash-max-listpack-value",
        "hash-max-ziplist-entries", "hash-max-ziplist-value", "hll-sparse-max-bytes", "hz", "ignore-warnings",
        "io-threads", "io-threads-do-reads", "jemalloc-bg-thread", "latency-monitor-threshold", "latency-tracking",
        "latency-tracking-info-percentiles", "lazyfree-lazy-eviction", "lazyfree-lazy-expire",
        "lazyfree-lazy-server-del", "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "lfu-decay-time",
        "lfu-log-factor", "list-compress-depth", "list-max-listpack-size", "list-max-ziplist-size", "logfile",
        "loglevel", "lua-time-limit", "masterauth", "masteruser", "maxclients", "maxmemory", "maxmemory-clients",
        "maxmemory-eviction-tenacity", "maxmemory-policy", "maxmemory-samples", "min-replicas-max-lag",
        "min-replicas-to-write", "min-slaves-max-lag", "min-slaves-to-write", "no-appendfsync-on-rewrite",
        "notify-keyspace-events", "oom-score-adj", "oom-score-adj-values", "pidfile", "port", "proc-title-template",
        "propagation-error-behavior", "protected-mode", "proto-max-bulk-len", "rdb-del-sync-files",
        "rdb-save-incremental-fsync", "rdbchecksum", "rdbcompression", "repl-backlog-size", "repl-backlog-ttl",
        "repl-disable-tcp-nodelay", "repl-diskless-load", "repl-diskless-sync", "repl-diskless-sync-delay",
        "repl-diskless-sync-max-replicas", "repl-ping-replica-period", "repl-ping-slave-period", "repl-timeout",
        "replica-announce-ip", "replica-announce-port", "replica-announced", "replica-ignore-disk-write-errors",
        "replica-ignore-maxmemory", "replica-lazy-flush", "replica-priority", "replica-read-only",
        "replica-serve-stale-data", "replicaof", "requirepass", "sanitize-dump-payload", "save", "server_cpulist",
        "set-max-intset-entries", "set-proc-title", "shutdown-on-sigint", "shutdown-on-sigterm", "shutdown-timeout",
        "slave-announce-ip", "slave-announce-port", "slave-ignore-maxmemory", "slave-lazy-flush", "slave-priority",
        "slave-read-only", "slave-serve-stale-data", "slaveof", "slowlog-log-slower-than", "slowlog-max-len",
        "socket-mark-id", "stop-writes-on-bgsave-error", "stream-node-max-bytes", "stream-node-max-entries",
        "supervised", "syslog-enabled", "syslog-facility", "syslog-ident", "tcp-backlog", "tcp-keepalive", "timeout",
        "tls-auth-clients", "tls-ca-cert-dir", "tls-ca-cert-file", "tls-cert-file", "tls-ciphers", "tls-ciphersuites",
        "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass", "tls-cluster",
        "tls-dh-params-file", "tls-key-file", "tls-key-file-pass", "tls-port", "tls-prefer-server-ciphers",
        "tls-protocols", "tls-replication", "tls-session-cache-size", "tls-session-cache-timeout",
        "tls-session-caching", "tracking-table-max-keys", "unixsocket", "unixsocketperm", "zset-max-listpack-entries",
        "zset-max-listpack-value", "zset-max-ziplist-entries", "zset-max-ziplist-value",
        // config.c's own: loadServerConfigFromString handles these before the table.
        "include", "rename-command", "user", "loadmodule", "sentinel"};
    return s;
}
// sentinel.c sentinelHandleConfiguration's options (Redis 7.0), and which of them are run-time state.
const std::set<std::string>& sentinel_options() {
    static const std::set<std::string> s{
        "monitor", "down-after-milliseconds", "failover-timeout", "parallel-syncs", "notification-script",
        "client-reconfig-script", "auth-pass", "auth-user", "current-epoch", "myid", "config-epoch", "leader-epoch",
        "known-slave", "known-replica", "known-sentinel", "rename-command", "announce-ip", "announce-port",
        "deny-scripts-reconfig", "sentinel-user", "sentinel-pass", "resolve-hostnames", "announce-hostnames",
        "master-reboot-down-after-period"};
    return s;
}
const std::set<std::string>& sentinel_runtime_options() {
    static const std::set<std::string> s{"myid",        "current-epoch", "config-epoch",  "leader-epoch",
                                         "known-slave", "known-replica", "known-sentinel"};
    return s;
}

// The value a key has when the file does not say (Redis's defaults; Sentinel drops defaults).
std::optional<std::vector<std::string>> default_of(const std::string& key) {
    auto starts = [&](std::string_view p) { return key.rfind(p, 0) == 0; };
    if (key == "port") return std::vector<std::string>{std::to_string(sentinel_default_port)};
    if (key == "sentinel resolve-hostnames" || key == "sentinel announce-hostnames") return std::vector<std::string>{"no"};
    if (starts("sentinel down-after-milliseconds "))
        return std::vector<std::string>{std::to_string(sentinel_default_down_after)};
    if (starts("sentinel failover-timeout "))
        return std::vector<std::string>{std::to_string(sentinel_default_failover_timeout)};
    if (starts("sentinel parallel-syncs "))
        return std::vector<std::string>{std::to_string(sentinel_default_parallel_syncs)};
    return std::nullopt;
}

bool plain_word(std::string_view v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
    });
}

[[noreturn]] void not_set(const std::string& key) { throw input_error("peer data", 0, 0, key, "is not set yet"); }

// The words after the key's own words.
std::vector<std::string> value_words(const std::vector<std::string>& words, const std::string& key) {
    const std::size_t skip = static_cast<std::size_t>(std::count(key.begin(), key.end(), ' ')) + 1;
    return words.size() > skip ? std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(skip), words.end())
                               : std::vector<std::string>{};
}

} // namespace

int sentinel_quorum(const redis_config& cfg, const peer_data& peer) {
    return cfg.sentinel_quorum > 0 ? cfg.sentinel_quorum : peer.planned_units / 2 + 1;
}

std::optional<std::vector<std::string>> split_conf_line(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    const std::size_t n = line.size();
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0'; };
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    while (true) {
        while (i < n && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        if (i >= n) return out;
        std::string cur;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (i >= n) return std::nullopt;  // unterminated quotes
                if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && hex(line[i + 2]) >= 0 && hex(line[i + 3]) >= 0) {
                    cur += static_cast<char>(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if (line[i] == '\\' && i + 1 < n) {
                    ++i;
                    switch (line[i]) {
                    case 'n': cur += '\n'; break;
                    case 'r': cur += '\r'; break;
                    case 't': cur += '\t'; break;
                    case 'b': cur += '\b'; break;
                    case 'a': cur += '\a'; break;
                    default: cur += line[i]; break;
                    }
                } else if (line[i] == '"') {
                    if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return std::nullopt;
                    done = true;
                } else {
                    cur += line[i];
                }
            } else if (insq) {
                if (i >= n) return std::nullopt;
                if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
                    ++i;
                    cur += '\'';
                } else if (line[i] == '\'') {
                    if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return std::nullopt;
                    done = true;
                } else {
                    cur += line[i];
                }
            } else {
                if (i >= n || blank(line[i])) {
                    done = true;
                } else if (line[i] == '"') {
                    inq = true;
                } else if (line[i] == '\'') {
                    insq = true;
                } else {
                    cur += line[i];
                }
            }
            if (i < n) ++i;
        }
        out.push_back(std::move(cur));
    }
}

bool sentinel_peer_data_complete(const peer_data& peer) noexcept {
    return !(peer.enable_password && (peer.admin_password.empty() || peer.sentinel_password.empty())) &&
           !peer.current_master.empty() && !peer.hostname.empty();
}

std::vector<std::string> sentinel_peer_data_missing(const peer_data& peer) {
    std::vector<std::string> keys;
    if (peer.enable_password && peer.admin_password.empty()) keys.emplace_back("admin-password");
    if (peer.enable_password && peer.sentinel_password.empty()) keys.emplace_back("sentinel-password");
    if (peer.current_master.empty()) keys.emplace_back("current-master");
    if (peer.hostname.empty()) keys.emplace_back("hostname");
    return keys;
}

std::optional<decision> sentinel_verdict(const desired_state& desired) {
    const redis_config& cfg = desired.config;
    decision d;
    d.layer_label = cfg.sentinel_layer_label;
    auto verdict = [&](unit_status status, std::string message, bool retry) {
        d.status_after = status;
        d.message = std::move(message);
        d.retry_later = retry;
        return std::optional<decision>(std::move(d));
    };
    try {
        validate(cfg);
    } catch (const input_error& e) {
        return verdict(unit_status::blocked, e.what(), false);
    }
    if (!sentinel_peer_data_complete(desired.peer))
        return verdict(unit_status::waiting, waiting_for_peer_data(sentinel_peer_data_missing(desired.peer)), true);
    try {
        if (cfg.enable_tls) {
            const auto plan = sentinel_certificate_plan(cfg, desired.resources);
            if (!plan.complete()) {
                d.missing_resources = plan.missing;
                return verdict(unit_status::blocked, std::string(msg_not_enough_certificates), false);
            }
            check_certificates(desired.resources);
        }
        (void)sentinel_directives(cfg, desired.peer, desired.peer.current_master);
    } catch (const input_error& e) {
        return verdict(unit_status::blocked, e.what(), false);
    }
    return std::nullopt;
}

std::vector<sentinel_directive> sentinel_directives(const redis_config& cfg, const peer_data& peer,
                                                    const std::string& master) {
    validate(cfg);
    validate(peer);
    if (peer.enable_password && peer.admin_password.empty()) not_set("admin-password");
    if (peer.enable_password && peer.sentinel_password.empty()) not_set("sentinel-password");
    if (peer.hostname.empty()) throw input_error("peer data", 0, 0, "hostname", "is not set");
    if (master.empty()) not_set("current-master");
    peer_data as_master = peer;  // check_host's rules for the master, whichever source it came from
    as_master.current_master = master;
    validate(as_master);
    if (peer.enable_password) {
        const std::string& p = peer.admin_password.reveal();
        if (std::any_of(p.begin(), p.end(), [](char c) {
                return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'';
            }))
            throw input_error("peer data", 0, 0, "admin-password",
                              "with sentinel: true it must hold no space, tab, CR, LF, \" or ' (Redis 7.0's Sentinel "
                              "writes `sentinel auth-pass` back to its file unquoted and then cannot read the file)");
    }
    if (sentinel_quorum(cfg, peer) > peer.planned_units)
        throw input_error("config", 0, 0, "sentinel-quorum",
                          "is " + std::to_string(sentinel_quorum(cfg, peer)) + ", above the " +
                              std::to_string(peer.planned_units) + " planned unit(s) (peer data planned-units): " +
                              "that many Sentinels can never agree the master is down, so Sentinel would never "
                              "fail over; set it to at most " + std::to_string(peer.planned_units) +
                              " or 0 (a majority of the planned units)");
    const std::string& name = cfg.sentinel_master_name;
    const std::string port = std::to_string(cfg.sentinel_port);
    std::vector<sentinel_directive> d;
    if (cfg.enable_tls) {
        d.push_back({"port", {"0"}});
        d.push_back({"tls-port", {port}});
        d.push_back({"tls-auth-clients", {std::string(to_string(cfg.tls_auth_clients))}});
        d.push_back({"tls-cert-file", {in_config_dir(cfg, "redis.crt")}});
        d.push_back({"tls-key-file", {in_config_dir(cfg, "redis.key")}});
        d.push_back({"tls-ca-cert-file", {in_config_dir(cfg, "ca.crt")}});
        d.push_back({"tls-replication", {"yes"}});  // Sentinel's connections to Redis use TLS
    } else {
        d.push_back({"port", {port}});
    }
    d.push_back({"bind", {cfg.bind_address}});
    if (peer.enable_password) d.push_back({"requirepass", {peer.sentinel_password.reveal()}, true});
    d.push_back({"sentinel resolve-hostnames", {"yes"}});
    d.push_back({"sentinel announce-hostnames", {"yes"}});
    d.push_back({"sentinel announce-ip", {peer.hostname}});
    d.push_back({"sentinel monitor " + name, {master, std::to_string(cfg.port), std::to_string(sentinel_quorum(cfg, peer))}});
    d.push_back({"sentinel down-after-milliseconds " + name, {std::to_string(cfg.sentinel_down_after_milliseconds)}});
    d.push_back({"sentinel failover-timeout " + name, {std::to_string(cfg.sentinel_failover_timeout)}});
    d.push_back({"sentinel parallel-syncs " + name, {std::to_string(cfg.sentinel_parallel_syncs)}});
    if (peer.enable_password) d.push_back({"sentinel auth-pass " + name, {peer.admin_password.reveal()}, true});
    return d;
}

secret sentinel_conf_text(const std::vector<sentinel_directive>& directives) {
    std::string out;
    for (const auto& d : directives) {
        out += d.key;
        for (const auto& w : d.words) out += ' ' + (d.is_secret || !plain_word(w) ? redis_conf_quote(w) : w);
        out += '\n';
    }
    return secret(std::move(out));
}

std::string sentinel_owned_key(const std::vector<std::string>& words, const std::string& name) {
    if (words.empty()) return "";
    const std::string first = lower(words[0]);
    if (global_owned().count(first)) return first;
    if (first != "sentinel" || words.size() < 2) return "";
    const std::string opt = lower(words[1]);
    if (opt == "resolve-hostnames" || opt == "announce-hostnames" || opt == "announce-ip") return "sentinel " + opt;
    if (per_master_owned().count(opt) && words.size() >= 3) return "sentinel " + opt + " " + words[2];
    (void)name;
    return "";
}

sentinel_line_kind sentinel_line_kind_of(const std::vector<std::string>& words) {
    if (words.empty()) return sentinel_line_kind::runtime;
    const std::string first = lower(words[0]);
    if (first == "sentinel") {
        if (words.size() < 2 || !sentinel_options().count(lower(words[1]))) return sentinel_line_kind::refused;
        return sentinel_runtime_options().count(lower(words[1])) ? sentinel_line_kind::runtime
                                                                 : sentinel_line_kind::accepted;
    }
    if (first == "dir" || first == "user" || first == "protected-mode" || first == "latency-tracking-info-percentiles")
        return sentinel_line_kind::runtime;
    return redis_directives().count(first) ? sentinel_line_kind::accepted : sentinel_line_kind::refused;
}

sentinel_conf_merge merge_sentinel_conf(const std::optional<std::string>& current,
                                        const std::vector<sentinel_directive>& wanted, const std::string& master_name) {
    sentinel_conf_merge m;
    m.file_missing = !current;
    std::map<std::string, std::vector<std::string>> have;  // our keys as the file has them (last wins)
    std::vector<std::string> have_order;
    std::string kept;  // Sentinel's lines, in order
    std::vector<std::string> unreadable, refused;
    if (current) {
        std::istringstream in(*current);
        int number = 0;
        for (std::string line; std::getline(in, line);) {
            ++number;
            auto words = split_conf_line(line);
            if (!words) {
                unreadable.push_back("unreadable line " + std::to_string(number));
                continue;
            }
            if (words->empty()) {
                if (!line.empty() || !kept.empty()) kept += line + '\n';
                continue;
            }
            if ((*words)[0].front() == '#') {
                kept += line + '\n';
                continue;
            }
            if (lower((*words)[0]) == "user") continue;  // the default user's hash: see sentinel_conf_merge
            const std::string key = sentinel_owned_key(*words, master_name);
            if (!key.empty()) {
                if (!have.count(key)) have_order.push_back(key);
                have[key] = value_words(*words, key);
                continue;
            }
            // Another master's run-time lines go with it.
            if (words->size() >= 3 && lower((*words)[0]) == "sentinel" && per_master_any().count(lower((*words)[1])) &&
                (*words)[2] != master_name)
                continue;
            // Neither ours nor Sentinel's state: say so; never push what Sentinel would refuse.
            // Only the directive is named: its values may hold a password.
            const std::string named =
                lower((*words)[0]) == "sentinel" && words->size() >= 2 ? "sentinel " + (*words)[1] : (*words)[0];
            const std::string at = "line " + std::to_string(number) + ": " + named;
            switch (sentinel_line_kind_of(*words)) {
            case sentinel_line_kind::runtime: break;
            case sentinel_line_kind::accepted:
                m.warnings.push_back("sentinel.conf " + at + " is neither ours nor Sentinel's run-time state: kept "
                                     "(Sentinel accepts it)");
                break;
            case sentinel_line_kind::refused:
                refused.push_back(at + ", which Sentinel refuses");
                m.warnings.push_back("sentinel.conf " + at + " is a directive Sentinel refuses (it would not start: "
                                     "FATAL CONFIG FILE ERROR): dropped from the file");
                continue;
            }
            kept += line + '\n';
        }
    }
    std::set<std::string> wanted_keys;
    for (const auto& d : wanted) {
        wanted_keys.insert(d.key);
        auto it = have.find(d.key);
        const std::optional<std::vector<std::string>> cur = it != have.end() ? std::optional(it->second) : default_of(d.key);
        if (!current || !cur || *cur != d.words) m.changed.push_back(d.key);
    }
    for (const auto& key : have_order) {
        if (wanted_keys.count(key)) continue;
        const auto def = default_of(key);
        if (!def || *def != have[key]) m.changed.push_back(key);  // ours, no longer wanted: removed
    }
    m.changed.insert(m.changed.end(), unreadable.begin(), unreadable.end());
    m.changed.insert(m.changed.end(), refused.begin(), refused.end());
    for (const auto& [key, words] : have)
        m.file_values[key] = key == "requirepass" || key.rfind("sentinel auth-pass ", 0) == 0
                                 ? std::vector<std::string>{std::string(redacted)}
                                 : words;
    std::string content = sentinel_conf_text(wanted).reveal();
    if (!kept.empty()) content += "\n" + kept;
    m.sha256 = sha256_hex(content);
    m.content = secret(std::move(content));
    return m;
}

std::string secrets_file_compared_content(std::string_view content) {
    std::string out;
    std::istringstream in{std::string(content)};
    bool first = true;
    for (std::string line; std::getline(in, line); first = false) {
        if (first) {
            if (line.rfind(secrets_key_prefix, 0) == 0) out += line + '\n';
            else out += "<no key line>\n";
            continue;
        }
        auto words = split_conf_line(line);
        if (!words) {
            out += "<unreadable line>\n";
            continue;
        }
        if (words->empty()) continue;
        const std::string name = lower((*words)[0]);
        if ((name == "requirepass" || name == "masterauth") && words->size() == 2)
            out += name + ' ' + redis_conf_quote((*words)[1]) + '\n';
        else if (name == "requirepass" || name == "masterauth" || name == "replicaof" || name == "slaveof")
            out += "<" + name + " line>\n";
    }
    return out;
}

std::optional<std::string> monitored_master(std::string_view content, const redis_config& cfg) {
    std::optional<std::string> host;
    std::istringstream in{std::string(content)};
    for (std::string line; std::getline(in, line);) {
        auto words = split_conf_line(line);
        if (words && words->size() >= 4 && lower((*words)[0]) == "sentinel" && lower((*words)[1]) == "monitor" &&
            (*words)[2] == cfg.sentinel_master_name)
            host = (*words)[3];
    }
    return host;
}

layer make_sentinel_layer(const redis_config& cfg) {
    layer l;
    l.summary = "Sentinel layer";
    l.description = "Sentinel layer";
    service& s = detail::charm_service(l, cfg.sentinel_service_name, "Sentinel service",
                                       shlex_join({"redis-server", cfg.sentinel_config_path, "--sentinel"}), cfg);
    s.working_dir = config_dir(cfg);
    s.environment[std::string(layer_fingerprint_key)] = "sha256:" + sha256_hex(to_yaml(l));
    return l;
}

certificate_plan_result sentinel_certificate_plan(const redis_config& cfg, const std::map<std::string, secret>& resources) {
    if (!cfg.enable_tls) return {};
    return certificate_plan(in_sentinel_dir(cfg), resources);
}

std::vector<std::string> sentinel_query_command(const redis_config& cfg) {
    std::vector<std::string> argv{"redis-cli", "-h", local_address(cfg), "-p", std::to_string(cfg.sentinel_port)};
    if (cfg.enable_tls) {
        argv.insert(argv.end(), {"--tls", "--cacert", in_config_dir(cfg, "ca.crt")});
        if (cfg.tls_auth_clients == tls_client_auth::yes)
            argv.insert(argv.end(), {"--cert", in_config_dir(cfg, "redis.crt"), "--key", in_config_dir(cfg, "redis.key")});
    }
    return argv;
}

secret sentinel_query_input(const redis_config& cfg, const peer_data& peer) {
    // probe_input's escaping of the AUTH line, without its PING/INFO lines.
    std::string in;
    if (peer.enable_password && !peer.sentinel_password.empty()) {
        const std::string auth = probe_input(peer.sentinel_password).reveal();
        in = auth.substr(0, auth.find('\n') + 1);
    }
    in += "SENTINEL get-master-addr-by-name " + cfg.sentinel_master_name + "\n";
    return secret(std::move(in));
}

sentinel_answer parse_sentinel_answer(const std::string& output, bool auth_sent) {
    sentinel_answer a;
    a.authenticated = !auth_sent;
    std::istringstream in(output);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("Could not ", 0) == 0 || line.rfind("Error: ", 0) == 0) {
            if (a.error.empty()) a.error = line;
            continue;
        }
        lines.push_back(line);
    }
    if (lines.empty()) return a;
    a.connected = true;
    std::size_t i = 0;
    if (auth_sent) {
        a.authenticated = lines[0] == "OK";
        if (!a.authenticated) {
            a.error = lines[0];
            return a;
        }
        ++i;
    }
    if (i >= lines.size()) return a;
    const std::string& first = lines[i];
    for (std::string_view e : {"ERR", "NOAUTH", "WRONGPASS", "NOPERM", "IDONTKNOW"})
        if (first.rfind(e, 0) == 0) {
            if (std::string_view(e) == "NOAUTH") a.authenticated = false;
            a.error = first;
            return a;
        }
    // Raw mode: a null reply prints an empty line; an array prints one element per line.
    if (first.empty() || i + 1 >= lines.size()) return a;
    a.master_host = first;
    a.master_port = lines[i + 1];
    return a;
}

probe_verdict assess_sentinel_answer(const sentinel_answer& a, const redis_config& cfg, const peer_data& peer) {
    using k = probe_verdict::kind;
    auto redact = [&](const std::string& t) {
        return redact_output(redact_output(t, peer.sentinel_password, 5), peer.admin_password, 5);
    };
    const std::string host = local_address(cfg), port = std::to_string(cfg.sentinel_port);
    const std::string here = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
    if (!a.connected)
        return {k::starting, "Sentinel is not answering on " + here + (a.error.empty() ? "" : ": " + redact(a.error))};
    if (!a.authenticated && !peer.enable_password)
        return {k::refused, "Sentinel wants a password but peer data has enable-password false: " + redact(a.error)};
    if (!a.authenticated)
        return {k::refused, "Sentinel refused the sentinel password: " +
                                (a.error.empty() ? std::string("no answer to AUTH") : redact(a.error))};
    if (!a.error.empty()) return {k::refused, "Sentinel answered: " + redact(a.error)};
    if (!a.master_host) return {k::starting, "Sentinel does not monitor " + cfg.sentinel_master_name};
    return {k::healthy, ""};
}

} // namespace redispebble
