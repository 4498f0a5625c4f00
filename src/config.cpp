#include <redispebble/config.hpp>

#include <redispebble/error.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

namespace redispebble {

namespace {

struct document {
    std::string source;
    YAML::Node root;
};

[[noreturn]] void fail(const std::string& source, const YAML::Mark& mark, const std::string& key, const std::string& msg) {
    throw input_error(source, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1, key, msg);
}

document parse(std::string_view yaml, std::string_view source) {
    document doc{std::string(source), {}};
    try {
        doc.root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        fail(doc.source, e.mark, "", "invalid YAML: " + e.msg);
    }
    if (doc.root.IsNull()) return doc;  // an empty document: every default
    if (!doc.root.IsMap()) fail(doc.source, doc.root.Mark(), "", "expected a mapping of keys to values");
    return doc;
}

std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return '"' + n.Scalar() + '"';
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
}

// Walks a mapping: calls `on_key(key, value)` for every entry, rejecting unknown and repeated keys.
void each_key(const document& doc, const std::vector<std::string>& known,
              const std::function<void(const std::string&, const YAML::Node&)>& on_key) {
    if (doc.root.IsNull()) return;
    std::vector<std::string> seen;
    for (const auto& kv : doc.root) {
        if (!kv.first.IsScalar()) fail(doc.source, kv.first.Mark(), "", "keys must be plain strings");
        const std::string key = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            fail(doc.source, kv.first.Mark(), key, "unknown key; known keys: " + list);
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            fail(doc.source, kv.first.Mark(), key, "appears twice");
        seen.push_back(key);
        on_key(key, kv.second);
    }
}

std::string as_string(const document& doc, const std::string& key, const YAML::Node& n, bool secret_value = false) {
    if (!n.IsScalar())
        fail(doc.source, n.Mark(), key, "expected a string, got " + (secret_value ? std::string("something else") : shown(n)));
    return n.Scalar();
}

bool as_bool(const document& doc, const std::string& key, const YAML::Node& n) {
    if (n.IsScalar() && n.Tag() != "!") {  // a quoted "true" is a string, not a boolean
        const std::string& v = n.Scalar();
        if (v == "true") return true;
        if (v == "false") return false;
    }
    fail(doc.source, n.Mark(), key, "expected a boolean (true or false), got " + shown(n));
}

std::uint16_t as_port(const document& doc, const std::string& key, const YAML::Node& n) {
    if (n.IsScalar() && n.Tag() != "!") {
        const std::string& v = n.Scalar();
        if (!v.empty() && v.size() <= 5 && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
            const long port = std::stol(v);
            if (port >= 1 && port <= 65535) return static_cast<std::uint16_t>(port);
        }
    }
    fail(doc.source, n.Mark(), key, "expected an integer from 1 to 65535, got " + shown(n));
}

void check_name(const std::string& source, int line, int column, const std::string& key, const std::string& v) {
    if (v.empty()) throw input_error(source, line, column, key, "must not be empty");
    const bool ok = std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '-' || c == '_' || c == '.';
    });
    if (!ok) throw input_error(source, line, column, key, fmt::format("expected lower-case letters, digits, '-', '_' or '.', got \"{}\"", v));
}

struct position {
    int line = 0, column = 0;
};

void validate_at(const redis_config& cfg, const std::string& source, const std::map<std::string, position>& at) {
    auto where = [&](const std::string& key) {
        auto it = at.find(key);
        return it == at.end() ? position{} : it->second;
    };
    auto fail_at = [&](const std::string& key, const std::string& msg) {
        const position p = where(key);
        throw input_error(source, p.line, p.column, key, msg);
    };
    if (cfg.port == 0) fail_at("port", "expected an integer from 1 to 65535, got 0");
    const std::string& sp = cfg.storage_path;
    if (sp.empty() || sp.front() != '/') fail_at("storage-path", fmt::format("expected an absolute path, got \"{}\"", sp));
    if (sp.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
        fail_at("storage-path", "must not contain a newline or NUL");
    for (const auto& [key, value] : {std::pair<std::string, const std::string*>{"service-name", &cfg.service_name},
                                     {"layer-label", &cfg.layer_label},
                                     {"container-name", &cfg.container_name},
                                     {"user", &cfg.user},
                                     {"group", &cfg.group}}) {
        const position p = where(key);
        check_name(source, p.line, p.column, key, *value);
    }
    if (cfg.layer_label.rfind("pebble-", 0) == 0)
        fail_at("layer-label", "labels starting with \"pebble-\" are reserved by Pebble");
    const std::string& b = cfg.bind_address;
    const bool bind_ok = !b.empty() && std::all_of(b.begin(), b.end(), [](unsigned char c) {
        return std::isxdigit(c) || c == '.' || c == ':' || c == '-' || c == '*' || std::isalnum(c);
    });
    if (!bind_ok) fail_at("bind-address", fmt::format("expected an address such as 0.0.0.0 or ::, got \"{}\"", b));
}

} // namespace

std::string_view to_string(secret_mode m) noexcept {
    return m == secret_mode::config_file ? "config-file" : "command-line";
}

redis_config load_config(std::string_view yaml, std::string_view source) {
    const document doc = parse(yaml, source);
    redis_config cfg;
    std::map<std::string, position> at;
    each_key(doc, {"enable-tls", "port", "storage-path", "service-name", "layer-label", "container-name", "user",
                   "group", "bind-address", "secrets"},
             [&](const std::string& key, const YAML::Node& v) {
                 at[key] = {v.Mark().line + 1, v.Mark().column + 1};
                 if (key == "enable-tls") cfg.enable_tls = as_bool(doc, key, v);
                 else if (key == "port") cfg.port = as_port(doc, key, v);
                 else if (key == "storage-path") cfg.storage_path = as_string(doc, key, v);
                 else if (key == "service-name") cfg.service_name = as_string(doc, key, v);
                 else if (key == "layer-label") cfg.layer_label = as_string(doc, key, v);
                 else if (key == "container-name") cfg.container_name = as_string(doc, key, v);
                 else if (key == "user") cfg.user = as_string(doc, key, v);
                 else if (key == "group") cfg.group = as_string(doc, key, v);
                 else if (key == "bind-address") cfg.bind_address = as_string(doc, key, v);
                 else if (key == "secrets") {
                     const std::string m = as_string(doc, key, v);
                     if (m == "config-file") cfg.secrets = secret_mode::config_file;
                     else if (m == "command-line") cfg.secrets = secret_mode::command_line;
                     else fail(doc.source, v.Mark(), key, "expected \"config-file\" or \"command-line\", got \"" + m + "\"");
                 }
             });
    validate_at(cfg, doc.source, at);
    return cfg;
}

void validate(const redis_config& cfg) { validate_at(cfg, "config", {}); }

peer_data load_peer_data(std::string_view yaml, std::string_view source) {
    const document doc = parse(yaml, source);
    peer_data peer;
    each_key(doc, {"admin-password", "current-master", "hostname"}, [&](const std::string& key, const YAML::Node& v) {
        if (v.IsNull()) return;  // present but empty: not set yet
        if (key == "admin-password") {
            std::string p = as_string(doc, key, v, true);
            if (p.find('\0') != std::string::npos) fail(doc.source, v.Mark(), key, "must not contain a NUL byte");
            peer.admin_password = secret(std::move(p));
        } else if (key == "current-master") {
            peer.current_master = as_string(doc, key, v);
        } else {
            peer.hostname = as_string(doc, key, v);
        }
    });
    return peer;
}

std::string to_yaml(const redis_config& cfg) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "enable-tls" << YAML::Value << cfg.enable_tls;
    out << YAML::Key << "port" << YAML::Value << cfg.port;
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"storage-path", &cfg.storage_path},
                                     {"service-name", &cfg.service_name},
                                     {"layer-label", &cfg.layer_label},
                                     {"container-name", &cfg.container_name},
                                     {"user", &cfg.user},
                                     {"group", &cfg.group},
                                     {"bind-address", &cfg.bind_address}})
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
    out << YAML::Key << "secrets" << YAML::Value << std::string(to_string(cfg.secrets));
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace redispebble
