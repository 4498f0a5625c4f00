#include <redispebble/redis.hpp>

#include "redis_detail.hpp"

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <fmt/compile.h>
#include <fmt/core.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace redispebble {

namespace {

// `value` in double quotes, \ and " escaped with a backslash, and each byte for which
// escape(out, byte) appends an escape written that way; every other byte as it is.
template <class Escape>
std::string backslash_quoted(std::string_view value, Escape escape) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '\\' || c == '"') out.append({'\\', c});
        else if (!escape(out, static_cast<unsigned char>(c))) out += c;
    }
    return out + "\"";
}

} // namespace

// redis.conf string syntax (sdssplitargs): a double-quoted string where \\ \" and \xHH are escapes
// (\n \r \t \b \a too, unused here). Every byte outside printable ASCII (controls, DEL, every byte
// of a multi-byte UTF-8 sequence) is written as \xHH, so the file is plain ASCII and reads back as
// the exact bytes.
std::string redis_conf_quote(std::string_view value) {
    return backslash_quoted(value, [](std::string& out, unsigned char b) {
        if (b >= 0x20 && b < 0x7f) return false;
        out += fmt::format(FMT_STRING("\\x{:02x}"), b);
        return true;
    });
}

namespace {

std::string storage_file(const redis_config& cfg, std::string_view name) {
    std::string base = cfg.storage_path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    return fmt::format(FMT_STRING("{}/{}"), base == "/" ? "" : base, name);
}

void require_complete(const peer_data& peer) {
    if (peer.enable_password && peer.admin_password.empty())
        throw input_error("peer data", 0, 0, "admin-password", "is not set yet");
    if (peer.current_master.empty())
        throw input_error("peer data", 0, 0, "current-master", "is not set yet");
    if (peer.hostname.empty()) throw input_error("peer data", 0, 0, "hostname", "is not set");
}

// POSIX shell single quoting: 'it'\''s'.
std::string posix_sh_quote(std::string_view v) {
    const bool plain = !v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == ':' || c == '@' || c == '%' || c == '+' ||
               c == '=' || c == ',' || c == '-';
    });
    if (plain) return std::string(v);
    std::string out = "'";
    for (char c : v) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

std::vector<std::string> argv_of(const std::vector<redis_flag>& flags, bool include_secrets) {
    std::vector<std::string> argv;
    for (const auto& f : flags) {
        if (f.is_secret && !include_secrets) continue;
        argv.push_back("--" + f.name);
        argv.insert(argv.end(), f.values.begin(), f.values.end());
    }
    return argv;
}

bool valid_key(std::string_view key) {
    return key.size() == 64 &&
           std::all_of(key.begin(), key.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

secret checked_key(const secret& key) {
    if (key.empty()) return new_secrets_key();
    if (!valid_key(key.reveal()))
        throw std::invalid_argument("a secrets key must be 64 lower-case hex digits");
    return key;
}

} // namespace

std::vector<redis_flag> redis_flags(const redis_config& cfg, const peer_data& peer) {
    validate(cfg);
    require_complete(peer);
    validate(peer);  // UTF-8 password without NUL, host names redis-server reads as one value
    const std::string& password = peer.admin_password.reveal();
    const std::string port = std::to_string(cfg.port);
    std::vector<redis_flag> flags;
    if (peer.enable_password) flags.push_back({"requirepass", {password}, true});
    flags.push_back({"bind", {cfg.bind_address}, false});
    if (peer.enable_password) flags.push_back({"masterauth", {password}, true});
    flags.push_back({"replica-announce-ip", {peer.hostname}, false});
    if (cfg.enable_tls) {
        flags.push_back({"tls-port", {port}, false});
        flags.push_back({"port", {"0"}, false});
        flags.push_back({"tls-auth-clients", {std::string(to_string(cfg.tls_auth_clients))}, false});
        flags.push_back({"tls-cert-file", {storage_file(cfg, "redis.crt")}, false});
        flags.push_back({"tls-key-file", {storage_file(cfg, "redis.key")}, false});
        flags.push_back({"tls-ca-cert-file", {storage_file(cfg, "ca.crt")}, false});
    } else {
        flags.push_back({"port", {port}, false});
    }
    if (!peer.is_master()) {
        flags.push_back({"replicaof", {peer.current_master, port}, false});
        if (cfg.enable_tls) flags.push_back({"tls-replication", {"yes"}, false});
    }
    // Persistence and logs (redis-k8s: --appendonly yes --dir <storage>).
    flags.push_back({"appendonly", {cfg.appendonly ? "yes" : "no"}, false});
    flags.push_back({"dir", {cfg.storage_path}, false});
    if (!cfg.logfile.empty()) flags.push_back({"logfile", {cfg.logfile}, false});
    // Legacy mode without a password: Redis refuses non-loopback clients unless told otherwise.
    if (!peer.enable_password) flags.push_back({"protected-mode", {"no"}, false});
    return flags;
}

std::string describe(const std::vector<redis_flag>& flags) {
    std::string out;
    for (const auto& f : flags) {
        if (!out.empty()) out += ' ';
        out += "--" + f.name;
        for (const auto& v : f.values) out += ' ' + (f.is_secret ? std::string(redacted) : shlex_quote(v));
    }
    return out;
}

std::string secrets_file_path(const redis_config& cfg) { return storage_file(cfg, "redispebble-secrets.conf"); }

namespace {

// A file only `cfg.user` reads (0600, directories made): what redis-server and the exporter load at
// start (the secrets file, the client-auth and exporter password files).
file_spec private_file(const redis_config& cfg, std::string path, std::string content, std::string origin) {
    file_spec f;
    f.path = std::move(path);
    f.sha256 = sha256_hex(content);
    f.content = secret(std::move(content));
    f.permissions = "600";
    f.user = cfg.user;
    f.group = cfg.group;
    f.make_dirs = true;
    f.origin = std::move(origin);
    return f;
}

// The password lines of the secrets file, in redis.conf syntax, from redis_flags().
std::string password_lines(const std::vector<redis_flag>& flags) {
    std::string content;
    for (const auto& f : flags)
        if (f.is_secret) content += f.name + ' ' + redis_conf_quote(f.values.front()) + '\n';
    return content;
}
} // namespace

namespace detail {
redis_inputs redis_inputs_of(const redis_config& cfg, const peer_data& peer) {
    redis_inputs in;
    in.flags = redis_flags(cfg, peer);
    in.password_lines = password_lines(in.flags);
    return in;
}
} // namespace detail

secret new_secrets_key() { return secret(random_hex(32)); }

std::optional<secret> parse_secrets_key(std::string_view content) {
    if (content.substr(0, secrets_key_prefix.size()) != secrets_key_prefix) return std::nullopt;
    const std::string_view rest = content.substr(secrets_key_prefix.size());
    if (rest.size() < 65 || rest[64] != '\n') return std::nullopt;
    const std::string_view key = rest.substr(0, 64);
    if (!valid_key(key)) return std::nullopt;
    return secret(std::string(key));
}

namespace detail {
std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer, const std::string& lines,
                                      const secret& secrets_key) {
    if (cfg.secrets != secret_mode::config_file || !peer.enable_password) return std::nullopt;
    const secret key = checked_key(secrets_key);
    return private_file(cfg, secrets_file_path(cfg), std::string(secrets_key_prefix) + key.reveal() + '\n' + lines,
                        "secrets");
}

std::string secrets_digest(const redis_config& cfg, const std::string& lines, const secret& secrets_key) {
    if (cfg.secrets != secret_mode::config_file) return {};
    const secret key = checked_key(secrets_key);
    return "hmac-sha256:" + hmac_sha256_hex(key.reveal(), lines);
}
} // namespace detail

// The key is checked before the flags are computed, as before the internal forms existed: a bad
// key is std::invalid_argument whatever else is wrong.
std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer, const secret& secrets_key) {
    if (cfg.secrets != secret_mode::config_file || !peer.enable_password) return std::nullopt;
    const secret key = checked_key(secrets_key);
    return detail::secrets_file(cfg, peer, password_lines(redis_flags(cfg, peer)), key);
}

std::string secrets_digest(const redis_config& cfg, const peer_data& peer, const secret& secrets_key) {
    if (cfg.secrets != secret_mode::config_file) return {};
    const secret key = checked_key(secrets_key);
    return detail::secrets_digest(cfg, password_lines(redis_flags(cfg, peer)), key);
}

certificate_plan_result certificate_plan(const redis_config& cfg, const std::map<std::string, secret>& resources) {
    static const std::pair<const char*, const char*> destinations[] = {
        {"cert-file", "redis.crt"}, {"key-file", "redis.key"}, {"ca-cert-file", "ca.crt"}};
    certificate_plan_result out;
    for (const auto& [resource, name] : destinations) {
        auto it = resources.find(resource);
        if (it == resources.end()) {
            out.missing.emplace_back(resource);
            continue;
        }
        file_spec f;
        f.path = storage_file(cfg, name);
        f.content = it->second;
        f.sha256 = sha256_hex(it->second.reveal());
        f.permissions = "600";
        f.user = cfg.user;
        f.group = cfg.group;
        f.make_dirs = true;
        f.origin = resource;
        out.files.push_back(std::move(f));
    }
    return out;
}

std::vector<std::string> certificate_paths(const redis_config& cfg) {
    std::map<std::string, secret> any;
    for (const auto& r : certificate_resources()) any[r] = secret("x");
    std::vector<std::string> paths;
    for (const auto& f : certificate_plan(cfg, any).files) paths.push_back(f.path);
    return paths;
}

namespace {

struct bio_free { void operator()(BIO* b) const { BIO_free(b); } };
struct x509_free { void operator()(X509* x) const { X509_free(x); } };
struct pkey_free { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// OpenSSL's reason for the last error (static text, never the input), and the queue cleared.
std::string openssl_reason() {
    const unsigned long e = ERR_peek_last_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return r ? r : "no reason given";
}

[[noreturn]] void bad_resource(const std::string& name, const std::string& why) {
    throw input_error("resources", 0, 0, name, why);
}

bio_ptr read_only_bio(const secret& content) {
    const std::string& c = content.reveal();
    return bio_ptr(BIO_new_mem_buf(c.data(), static_cast<int>(c.size())));
}

// No passphrase: Redis is given none (tls-key-file-pass is not set).
int no_passphrase(char*, int, int, void*) { return -1; }

// The PEM certificates in `content`; throws naming `name` when there is none or something else
// follows them (Redis's chain and CA loaders fail on it).
std::vector<x509_ptr> pem_certificates(const std::string& name, const secret& content) {
    std::vector<x509_ptr> out;
    bio_ptr bio = read_only_bio(content);
    ERR_clear_error();
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) out.emplace_back(x);
    const unsigned long e = ERR_peek_last_error();
    // The loop ends on "no start line" once the certificates are read; any other reason is a
    // damaged block.
    if (!out.empty() && e && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) ERR_clear_error();
    else if (out.empty())
        bad_resource(name, "is not a PEM certificate (OpenSSL: " + openssl_reason() +
                               "; Redis reads it as PEM, -----BEGIN CERTIFICATE-----)");
    else if (e)
        bad_resource(name, "holds a damaged PEM block after " + std::to_string(out.size()) +
                               " certificate(s) (OpenSSL: " + openssl_reason() + ")");
    return out;
}

} // namespace

void check_certificates(const std::map<std::string, secret>& resources) {
    auto find = [&](const char* name) -> const secret* {
        auto it = resources.find(name);
        return it == resources.end() ? nullptr : &it->second;
    };
    x509_ptr leaf;
    if (const secret* cert = find("cert-file")) leaf = std::move(pem_certificates("cert-file", *cert).front());
    if (const secret* key = find("key-file")) {
        bio_ptr bio = read_only_bio(*key);
        ERR_clear_error();
        pkey_ptr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
        if (!pkey)
            bad_resource("key-file", "is not an unencrypted PEM private key (OpenSSL: " + openssl_reason() +
                                         "; Redis reads it as PEM, with no passphrase)");
        if (leaf && X509_check_private_key(leaf.get(), pkey.get()) != 1)
            bad_resource("key-file", "does not match the certificate in cert-file (OpenSSL: " + openssl_reason() +
                                         "; Redis refuses a key that is not the certificate's)");
    }
    if (const secret* ca = find("ca-cert-file")) (void)pem_certificates("ca-cert-file", *ca);
    ERR_clear_error();
}

std::string redis_command(const redis_config& cfg, const peer_data& peer) {
    return detail::redis_command(cfg, peer, redis_flags(cfg, peer));
}

std::string detail::redis_command(const redis_config& cfg, const peer_data& peer, const std::vector<redis_flag>& flags) {
    std::vector<std::string> argv{"redis-server"};
    if (cfg.secrets == secret_mode::config_file && peer.enable_password) {
        argv.push_back(secrets_file_path(cfg));
        const auto rest = argv_of(flags, false);
        argv.insert(argv.end(), rest.begin(), rest.end());
    } else if (peer.enable_password) {
        const std::string& p = peer.admin_password.reveal();
        if (p == "[" || p == "]")
            throw input_error("peer data", 0, 0, "admin-password",
                              "a password that is a bare [ or ] cannot be passed on Pebble's command line "
                              "(use secrets: config-file)");
        if (p.rfind("--", 0) == 0)
            throw input_error("peer data", 0, 0, "admin-password",
                              "a password starting with -- would be read by redis-server as an option "
                              "(use secrets: config-file)");
        const auto rest = argv_of(flags, true);
        argv.insert(argv.end(), rest.begin(), rest.end());
    } else {
        const auto rest = argv_of(flags, false);
        argv.insert(argv.end(), rest.begin(), rest.end());
    }
    std::string command = shlex_join(argv);
    // Whatever we produce must come back as the same argv through Pebble's parser.
    if (parse_service_command(command).base != argv)
        throw input_error("config", 0, 0, "", "internal error: the redis-server command does not round-trip");
    return command;
}

std::string client_auth_file_path(const redis_config& cfg) { return storage_file(cfg, "redispebble-client-auth"); }

std::string exporter_password_file_path(const redis_config& cfg) {
    return storage_file(cfg, "redispebble-exporter-passwords.json");
}

std::string local_address(const redis_config& cfg) {
    if (cfg.bind_address == "0.0.0.0") return "127.0.0.1";
    if (cfg.bind_address == "::") return "::1";
    return cfg.bind_address;
}

namespace {

// JSON string escaping for the exporter's password file (RFC 8259: ", \ and controls escaped).
std::string json_quote(std::string_view v) {
    return backslash_quoted(v, [](std::string& out, unsigned char b) {
        if (b >= 0x20) return false;
        out += fmt::format(FMT_STRING("\\u{:04x}"), b);
        return true;
    });
}

std::string redis_uri(const redis_config& cfg) {
    const std::string host = local_address(cfg);
    return fmt::format(FMT_STRING("{}://{}:{}"), cfg.enable_tls ? "rediss" : "redis",
                       host.find(':') != std::string::npos ? "[" + host + "]" : host, cfg.port);
}

std::vector<std::string> redis_cli_tls_args(const redis_config& cfg) {
    if (!cfg.enable_tls) return {};
    // The unit's certificate goes with a local client only when Redis asks for one
    // (tls-auth-clients yes): under optional, Redis verifies a presented certificate, and a
    // certificate made for server use only (extendedKeyUsage serverAuth) would be refused.
    if (cfg.tls_auth_clients != tls_client_auth::yes) return {"--tls", "--cacert", storage_file(cfg, "ca.crt")};
    return {"--tls", "--cacert", storage_file(cfg, "ca.crt"), "--cert", storage_file(cfg, "redis.crt"), "--key",
            storage_file(cfg, "redis.key")};
}

} // namespace

std::vector<file_spec> companion_files(const redis_config& cfg, const peer_data& peer) {
    std::vector<file_spec> out;
    if (!peer.enable_password || peer.admin_password.empty()) return out;
    const std::string& password = peer.admin_password.reveal();
    if (cfg.health_checks) out.push_back(private_file(cfg, client_auth_file_path(cfg), password, "client-auth"));
    if (cfg.metrics)
        out.push_back(private_file(cfg, exporter_password_file_path(cfg),
                                   "{" + json_quote(redis_uri(cfg)) + ": " + json_quote(password) + "}\n",
                                   "exporter-passwords"));
    return out;
}

std::string ready_check_command(const redis_config& cfg, const peer_data& peer) {
    std::vector<std::string> cli{"redis-cli", "-e", "-h", local_address(cfg), "-p", std::to_string(cfg.port)};
    const auto tls = redis_cli_tls_args(cfg);
    cli.insert(cli.end(), tls.begin(), tls.end());
    if (!peer.enable_password) {
        cli.push_back("PING");
        return shlex_join(cli);
    }
    // redis-cli has no password-file option: a shell feeds the 0600 file to `-x AUTH` on stdin, so
    // the password is in no argv, no environment and not in the plan. -e: an error reply exits 1.
    cli.insert(cli.end(), {"-x", "AUTH"});
    std::string script = "exec";
    for (const auto& w : cli) script += " " + posix_sh_quote(w);
    script += " < " + posix_sh_quote(client_auth_file_path(cfg));
    return shlex_join({"/bin/sh", "-c", script});
}

std::string exporter_command(const redis_config& cfg, const peer_data& peer) {
    const std::string host = cfg.bind_address.find(':') != std::string::npos ? "[" + cfg.bind_address + "]" : cfg.bind_address;
    std::vector<std::string> argv{"prometheus-redis-exporter", "-redis.addr", redis_uri(cfg), "-web.listen-address",
                                  fmt::format(FMT_STRING("{}:{}"), host, cfg.metrics_port)};
    if (peer.enable_password) argv.insert(argv.end(), {"-redis.password-file", exporter_password_file_path(cfg)});
    if (cfg.enable_tls) argv.insert(argv.end(), {"-tls-ca-cert-file", storage_file(cfg, "ca.crt")});
    if (cfg.enable_tls && cfg.tls_auth_clients == tls_client_auth::yes)  // as redis_cli_tls_args
        argv.insert(argv.end(), {"-tls-client-cert-file", storage_file(cfg, "redis.crt"), "-tls-client-key-file",
                                 storage_file(cfg, "redis.key")});
    return shlex_join(argv);
}

std::string exporter_service_name(const redis_config& cfg) { return cfg.service_name + "-exporter"; }

service& detail::charm_service(layer& l, const std::string& name, std::string summary, std::string command,
                               const redis_config& cfg) {
    service& s = l.services[name];
    s.override = override_kind::replace;
    s.summary = std::move(summary);
    s.command = std::move(command);
    s.user = cfg.user;
    s.group = cfg.group;
    s.startup = "enabled";
    return s;
}

layer make_layer(const redis_config& cfg, const peer_data& peer, const std::vector<file_spec>& certificate_files,
                 const secret& secrets_key) {
    return detail::make_layer(cfg, peer, detail::redis_inputs_of(cfg, peer), certificate_files, secrets_key);
}

layer detail::make_layer(const redis_config& cfg, const peer_data& peer, const redis_inputs& in,
                         const std::vector<file_spec>& certificate_files, const secret& secrets_key) {
    layer l;
    l.summary = "Redis layer";
    l.description = "Redis layer";
    service& s = detail::charm_service(l, cfg.service_name, "Redis", detail::redis_command(cfg, peer, in.flags), cfg);
    s.working_dir = cfg.storage_path;  // redis-server keeps its dump and AOF files in its working directory
    if (cfg.secrets == secret_mode::config_file && peer.enable_password)
        s.environment["REDISPEBBLE_SECRETS_DIGEST"] = detail::secrets_digest(cfg, in.password_lines, secrets_key);
    if (!certificate_files.empty()) {
        std::string listing;
        for (const auto& f : certificate_files) listing += f.path + ' ' + f.sha256 + '\n';
        s.environment["REDISPEBBLE_FILES_DIGEST"] = "sha256:" + sha256_hex(listing);
    }
    if (cfg.health_checks) {
        const std::string alive = cfg.service_name + "-alive", ready = cfg.service_name + "-ready";
        // Both checks replace, at the configured period, timeout and threshold.
        const auto add_check = [&](const std::string& name, const char* level) -> check& {
            check& c = l.checks[name];
            c.override = override_kind::replace;
            c.level = level;
            c.period = cfg.check_period;
            c.timeout = cfg.check_timeout;
            c.threshold = cfg.check_threshold;
            return c;
        };
        add_check(alive, "alive").tcp = tcp_check{cfg.port, local_address(cfg)};
        check& r = add_check(ready, "ready");
        exec_check e;
        e.command = ready_check_command(cfg, peer);
        e.service_context = cfg.service_name;  // its user, group and environment: reads the 0600 file
        r.exec = std::move(e);
        if (cfg.on_check_failure != "off") {
            s.on_check_failure[alive] = cfg.on_check_failure;
            s.on_check_failure[ready] = cfg.on_check_failure;
        }
    }
    if (cfg.metrics) {
        service& x = detail::charm_service(l, exporter_service_name(cfg), "Prometheus exporter for Redis",
                                           exporter_command(cfg, peer), cfg);
        x.after = {cfg.service_name};
        // The exporter reads its password file once, at start: a new password changes this digest,
        // the plan differs and the reconciler restarts the exporter once.
        if (peer.enable_password && cfg.secrets == secret_mode::config_file)
            x.environment["REDISPEBBLE_SECRETS_DIGEST"] = s.environment["REDISPEBBLE_SECRETS_DIGEST"];
        else if (peer.enable_password)  // command-line mode: Redis's command in the plan holds the password
            x.environment["REDISPEBBLE_SECRETS_DIGEST"] = "sha256:" + sha256_hex(s.command.value_or(""));
        if (s.environment.count("REDISPEBBLE_FILES_DIGEST"))
            x.environment["REDISPEBBLE_FILES_DIGEST"] = s.environment["REDISPEBBLE_FILES_DIGEST"];
        if (cfg.health_checks) {
            // redis_exporter's /health answers 200 "ok" without asking Redis. No level: a stuck
            // exporter is restarted by on-check-failure, but never fails the container's alive or
            // ready health (which Juju gives Kubernetes as its probes).
            const std::string name = exporter_service_name(cfg) + "-alive";
            std::string host = local_address(cfg);
            if (host.find(':') != std::string::npos) host = "[" + host + "]";
            check& c = l.checks[name];
            c.override = override_kind::replace;
            c.period = cfg.check_period;
            c.timeout = cfg.check_timeout;
            c.threshold = cfg.check_threshold;
            c.http = http_check{"http://" + host + ":" + std::to_string(cfg.metrics_port) + "/health", {}};
            if (cfg.on_check_failure != "off") x.on_check_failure[name] = cfg.on_check_failure;
        }
    }
    s.environment[std::string(layer_fingerprint_key)] = "sha256:" + sha256_hex(to_yaml(l));
    return l;
}

namespace detail {

void rekey_layer(layer& l, const redis_config& cfg, const peer_data& peer, const std::string& password_lines,
                 const secret& key) {
    service& s = l.services.at(cfg.service_name);
    const std::string fingerprint(layer_fingerprint_key);
    if (cfg.secrets == secret_mode::config_file && peer.enable_password) {
        const std::string digest = secrets_digest(cfg, password_lines, key);
        s.environment["REDISPEBBLE_SECRETS_DIGEST"] = digest;
        if (cfg.metrics) l.services.at(exporter_service_name(cfg)).environment["REDISPEBBLE_SECRETS_DIGEST"] = digest;
    }
    s.environment.erase(fingerprint);
    s.environment[fingerprint] = "sha256:" + sha256_hex(to_yaml(l));
}

} // namespace detail

} // namespace redispebble
