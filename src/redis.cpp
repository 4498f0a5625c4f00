#include <redispebble/redis.hpp>

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <fmt/compile.h>
#include <fmt/core.h>

namespace redispebble {

namespace {

std::string storage_file(const redis_config& cfg, std::string_view name) {
    std::string base = cfg.storage_path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    return fmt::format(FMT_STRING("{}/{}"), base == "/" ? "" : base, name);
}

void require_complete(const peer_data& peer) {
    if (peer.admin_password.empty())
        throw input_error("peer data", 0, 0, "admin-password", "is not set yet");
    if (peer.current_master.empty())
        throw input_error("peer data", 0, 0, "current-master", "is not set yet");
    if (peer.hostname.empty()) throw input_error("peer data", 0, 0, "hostname", "is not set");
}

// redis.conf string syntax (sdssplitargs): a double-quoted string where \\ \" and \xHH are escapes
// (\n \r \t \b \a too, unused here). Every byte outside printable ASCII (controls, DEL, every byte
// of a multi-byte UTF-8 sequence) is written as \xHH, so the file is plain ASCII and reads back as
// the exact bytes.
std::string redis_conf_quote(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (b < 0x20 || b >= 0x7f) {
            out += fmt::format(FMT_STRING("\\x{:02x}"), b);
        } else {
            out += c;
        }
    }
    return out + "\"";
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

} // namespace

std::vector<redis_flag> redis_flags(const redis_config& cfg, const peer_data& peer) {
    validate(cfg);
    require_complete(peer);
    validate(peer);  // UTF-8 password without NUL, host names redis-server reads as one value
    const std::string& password = peer.admin_password.reveal();
    const std::string port = std::to_string(cfg.port);
    std::vector<redis_flag> flags{
        {"requirepass", {password}, true},
        {"bind", {cfg.bind_address}, false},
        {"masterauth", {password}, true},
        {"replica-announce-ip", {peer.hostname}, false},
    };
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

std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer) {
    if (cfg.secrets != secret_mode::config_file) return std::nullopt;
    std::string content;
    for (const auto& f : redis_flags(cfg, peer))
        if (f.is_secret) content += f.name + ' ' + redis_conf_quote(f.values.front()) + '\n';
    file_spec spec;
    spec.path = secrets_file_path(cfg);
    spec.sha256 = sha256_hex(content);
    spec.content = secret(std::move(content));
    spec.permissions = "600";
    spec.user = cfg.user;
    spec.group = cfg.group;
    spec.make_dirs = true;
    spec.origin = "secrets";
    return spec;
}

std::string secrets_digest(const redis_config& cfg, const peer_data& peer) {
    auto file = secrets_file(cfg, peer);
    if (!file) return {};
    const std::string salt = "redispebble:" + cfg.storage_path + ":" + cfg.service_name;
    return "pbkdf2-sha256:" + pbkdf2_sha256_hex(file->content.reveal(), salt, 10000);
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

std::string redis_command(const redis_config& cfg, const peer_data& peer) {
    const auto flags = redis_flags(cfg, peer);
    std::vector<std::string> argv{"redis-server"};
    if (cfg.secrets == secret_mode::config_file) {
        argv.push_back(secrets_file_path(cfg));
        const auto rest = argv_of(flags, false);
        argv.insert(argv.end(), rest.begin(), rest.end());
    } else {
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
    }
    std::string command = shlex_join(argv);
    // Whatever we produce must come back as the same argv through Pebble's parser.
    if (parse_service_command(command).base != argv)
        throw input_error("config", 0, 0, "", "internal error: the redis-server command does not round-trip");
    return command;
}

layer make_layer(const redis_config& cfg, const peer_data& peer, const std::vector<file_spec>& certificate_files) {
    layer l;
    l.summary = "Redis layer";
    l.description = "Redis layer";
    service& s = l.services[cfg.service_name];
    s.override = override_kind::replace;
    s.summary = "Redis";
    s.command = redis_command(cfg, peer);
    s.user = cfg.user;
    s.group = cfg.group;
    s.working_dir = cfg.storage_path;  // redis-server keeps its dump and AOF files in its working directory
    s.startup = "enabled";
    if (cfg.secrets == secret_mode::config_file) s.environment["REDISPEBBLE_SECRETS_DIGEST"] = secrets_digest(cfg, peer);
    if (!certificate_files.empty()) {
        std::string listing;
        for (const auto& f : certificate_files) listing += f.path + ' ' + f.sha256 + '\n';
        s.environment["REDISPEBBLE_FILES_DIGEST"] = "sha256:" + sha256_hex(listing);
    }
    s.environment[std::string(layer_fingerprint_key)] = "sha256:" + sha256_hex(to_yaml(l));
    return l;
}

} // namespace redispebble
