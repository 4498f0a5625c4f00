#include <redispebble/config.hpp>

#include <redispebble/utf8.hpp>

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <array>
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
    // The key each_key is at: where an empty value (`port:`) is reported, since yaml-cpp marks a
    // null node at the next token (the next line, or past the end of the input).
    mutable YAML::Mark key_mark = YAML::Mark::null_mark();
};

// Where the value `v` of the current key is, for an error: its own mark, or its key's when empty.
YAML::Mark value_mark(const document& doc, const YAML::Node& v) { return v.IsNull() ? doc.key_mark : v.Mark(); }

// The plain string options, by key: load_config reads each as a string, validate checks each is
// UTF-8, to_yaml writes each quoted. (Config is redis_config or const redis_config.)
template <class Config>
auto string_options(Config& cfg) -> std::array<std::pair<const char*, decltype(&cfg.storage_path)>, 7> {
    return {{{"storage-path", &cfg.storage_path},
             {"service-name", &cfg.service_name},
             {"layer-label", &cfg.layer_label},
             {"container-name", &cfg.container_name},
             {"user", &cfg.user},
             {"group", &cfg.group},
             {"bind-address", &cfg.bind_address}}};
}

[[noreturn]] void fail(const std::string& source, const YAML::Mark& mark, const std::string& key, const std::string& msg) {
    throw input_error(source, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1, key, msg);
}

// A quoted value must end on the line it starts. YAML lets a quoted scalar run on over lines, and
// yaml-cpp reads an unterminated one to the end of the document: `admin-password: "abc` followed by
// `hostname: h` became the password `abc hostname: h` (found from outside, issue 12). None of our
// keys wants a value over several lines (an escape such as \n writes a newline on one line).
void check_quote_closes(const document& doc, std::string_view yaml, const std::string& key, const YAML::Node& value) {
    if (!value.IsScalar() || value.Mark().is_null()) return;
    const std::size_t at = static_cast<std::size_t>(value.Mark().pos);
    if (at >= yaml.size() || (yaml[at] != '"' && yaml[at] != '\'')) return;
    const char q = yaml[at];
    for (std::size_t i = at + 1; i < yaml.size() && yaml[i] != '\n' && yaml[i] != '\r'; ++i) {
        if (q == '"' && yaml[i] == '\\') {  // \" and \\ inside "..."; a backslash ending the line runs on
            if (i + 1 >= yaml.size() || yaml[i + 1] == '\n' || yaml[i + 1] == '\r') break;
            ++i;
        } else if (q == '\'' && yaml[i] == '\'' && i + 1 < yaml.size() && yaml[i + 1] == '\'') ++i;  // '' inside '...'
        else if (yaml[i] == q) return;
    }
    fail(doc.source, value.Mark(), key,
         std::string("the quoted value has no closing ") + q +
             " on its line (a quoted value must end on the line it starts; YAML would read on into the next lines)");
}

// `holds_secret`: some of yaml-cpp's messages quote bytes of the document ("unknown escape
// character: q", "invalid unicode: ..."); for a document that holds a password only the part
// before such a quotation is kept.
document parse(std::string_view yaml, std::string_view source, bool holds_secret = false) {
    document doc{std::string(source), {}};
    // yaml.v3 (and Pebble's JSON) carry UTF-8 only; yaml-cpp would pass the bytes through.
    if (const std::size_t bad = invalid_utf8_at(yaml); bad != std::string_view::npos) {
        const text_position at = position_of(yaml, bad);
        throw input_error(doc.source, at.line, at.column, "", "invalid YAML: not valid UTF-8");
    }
    try {
        doc.root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        std::string msg = e.msg;
        if (holds_secret) {
            if (auto colon = msg.find(':'); colon != std::string::npos) msg.erase(colon);
        }
        fail(doc.source, e.mark, "", "invalid YAML: " + msg);
    }
    if (doc.root.IsNull()) return doc;  // an empty document: every default
    if (!doc.root.IsMap()) fail(doc.source, doc.root.Mark(), "", "expected a mapping of keys to values");
    for (const auto& kv : doc.root)
        if (kv.first.IsScalar()) check_quote_closes(doc, yaml, kv.first.Scalar(), kv.second);
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
            fail(doc.source, kv.first.Mark(), key, "unknown key \"" + key + "\"; known keys: " + list);
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            fail(doc.source, kv.first.Mark(), key, "appears twice");
        seen.push_back(key);
        doc.key_mark = kv.first.Mark();
        on_key(key, kv.second);
    }
}

std::string as_string(const document& doc, const std::string& key, const YAML::Node& n, bool secret_value = false) {
    if (!n.IsScalar())
        fail(doc.source, value_mark(doc, n), key, "expected a string, got " + (secret_value ? std::string("something else") : shown(n)));
    return n.Scalar();
}

bool as_bool(const document& doc, const std::string& key, const YAML::Node& n) {
    if (n.IsScalar() && n.Tag() != "!") {  // a quoted "true" is a string, not a boolean
        const std::string& v = n.Scalar();
        if (v == "true") return true;
        if (v == "false") return false;
    }
    std::string msg = "expected a boolean (true or false), got " + shown(n);
    if (n.IsScalar()) {
        std::string lower = n.Scalar();
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        static const char* const yaml11[] = {"yes", "no", "y", "n", "on", "off", "true", "false"};
        if (std::find(std::begin(yaml11), std::end(yaml11), lower) != std::end(yaml11))
            msg += " (only the lower-case, unquoted words true and false are booleans here; YAML 1.1's "
                   "yes/no/on/off are not accepted)";
    }
    fail(doc.source, value_mark(doc, n), key, msg);
}

std::uint16_t as_port(const document& doc, const std::string& key, const YAML::Node& n) {
    if (n.IsScalar() && n.Tag() != "!") {
        const std::string& v = n.Scalar();
        // Plain decimal only: a leading zero is octal to YAML 1.1 readers (Go's yaml) and decimal to
        // YAML 1.2 ones, so "06379" is refused rather than guessed.
        if (!v.empty() && v.size() <= 5 && v.front() != '0' &&
            std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
            const long port = std::stol(v);
            if (port >= 1 && port <= 65535) return static_cast<std::uint16_t>(port);
        }
    }
    fail(doc.source, value_mark(doc, n), key, "expected an integer from 1 to 65535, got " + shown(n));
}

// A plain decimal integer from `lo` to `hi` (no sign, no leading zero, no quotes).
long long as_integer(const document& doc, const std::string& key, const YAML::Node& n, long long lo, long long hi) {
    if (n.IsScalar() && n.Tag() != "!") {
        const std::string& v = n.Scalar();
        if (!v.empty() && v.size() <= 10 && (v == "0" || v.front() != '0') &&
            std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
            const long long x = std::stoll(v);
            if (x >= lo && x <= hi) return x;
        }
    }
    fail(doc.source, value_mark(doc, n), key, fmt::format("expected an integer from {} to {}, got {}", lo, hi, shown(n)));
}

// Service name, layer label, container name: Juju and Pebble names, [a-z0-9-].
void check_name(const std::string& source, int line, int column, const std::string& key, const std::string& v) {
    if (v.empty()) throw input_error(source, line, column, key, "must not be empty");
    const bool ok = std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok)
        throw input_error(source, line, column, key,
                          fmt::format("expected lower-case letters, digits and '-', got \"{}\"", v));
}

// User and group: the portable POSIX name characters [A-Za-z0-9._-], not starting with '-'.
void check_account(const std::string& source, int line, int column, const std::string& key, const std::string& v) {
    if (v.empty()) throw input_error(source, line, column, key, "must not be empty");
    const bool ok = v.front() != '-' && std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
    });
    if (!ok)
        throw input_error(source, line, column, key,
                          fmt::format("expected a user or group name of letters, digits, '.', '_' and '-' "
                                      "(not starting with '-'), got \"{}\"", v));
}

bool is_ipv4(std::string_view s) {
    int parts = 0;
    while (true) {
        std::size_t n = 0;
        int value = 0;
        while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 3) value = value * 10 + (s[n++] - '0');
        if (n == 0 || value > 255 || (n > 1 && s[0] == '0')) return false;  // no leading zeros (octal?)
        ++parts;
        s.remove_prefix(n);
        if (s.empty()) return parts == 4;
        if (s.front() != '.' || parts == 4) return false;
        s.remove_prefix(1);
    }
}

// Counts the 16-bit groups of a ':'-separated run ("" has none); the last may be a dotted IPv4
// (two groups) when `ipv4_tail`. -1 when malformed.
int ipv6_groups(std::string_view s, bool ipv4_tail) {
    if (s.empty()) return 0;
    int groups = 0;
    while (true) {
        const std::size_t colon = s.find(':');
        const std::string_view g = s.substr(0, colon);
        if (colon == std::string_view::npos && ipv4_tail && g.find('.') != std::string_view::npos)
            return is_ipv4(g) ? groups + 2 : -1;
        if (g.empty() || g.size() > 4 || !std::all_of(g.begin(), g.end(), [](unsigned char c) { return std::isxdigit(c); }))
            return -1;
        ++groups;
        if (colon == std::string_view::npos) return groups;
        s.remove_prefix(colon + 1);
    }
}

bool is_ipv6(std::string_view s) {
    const std::size_t gap = s.find("::");
    if (gap == std::string_view::npos) return ipv6_groups(s, true) == 8;
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    const int left = ipv6_groups(s.substr(0, gap), false);
    const int right = ipv6_groups(s.substr(gap + 2), true);
    return left >= 0 && right >= 0 && left + right <= 7;
}

// A host name or address as the peer relation gives it: what `--replicaof` and
// `--replica-announce-ip` take as one word.
void check_host(const std::string& source, int line, int column, const std::string& key, const std::string& v) {
    const bool ok = v.front() != '-' && std::all_of(v.begin(), v.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ':';
    });
    if (!ok)
        throw input_error(source, line, column, key,
                          fmt::format("expected a host name or IP address (letters, digits, '.', '-', '_', ':', "
                                      "not starting with '-'), got \"{}\"", v));
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
    for (const auto& [key, value] : string_options(cfg))
        if (!valid_utf8(*value)) fail_at(key, "must be valid UTF-8 (Pebble's API carries JSON and YAML)");
    const std::string& sp = cfg.storage_path;
    if (sp.empty() || sp.front() != '/') fail_at("storage-path", fmt::format("expected an absolute path, got \"{}\"", sp));
    if (sp.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
        fail_at("storage-path", "must not contain a newline or NUL");
    // The storage directory is made and re-owned recursively (chown -R) to user:group: never the
    // root, and only a path that names what it says (no ".", ".." or "//"; a trailing "/" is fine).
    if (sp == "/") fail_at("storage-path", "must not be / (the storage directory is re-owned recursively to user:group)");
    for (std::size_t from = 1, end = 0; from <= sp.size(); from = end + 1) {
        end = std::min(sp.find('/', from), sp.size());
        const std::string_view part(sp.data() + from, end - from);
        if ((part.empty() && end != sp.size()) || part == "." || part == "..")
            fail_at("storage-path", fmt::format("expected a normal absolute path (no \".\", \"..\" or \"//\"), got \"{}\"", sp));
    }
    for (const auto& [key, value] : {std::pair<std::string, const std::string*>{"service-name", &cfg.service_name},
                                     {"layer-label", &cfg.layer_label},
                                     {"container-name", &cfg.container_name}}) {
        const position p = where(key);
        check_name(source, p.line, p.column, key, *value);
    }
    for (const auto& [key, value] :
         {std::pair<std::string, const std::string*>{"user", &cfg.user}, {"group", &cfg.group}}) {
        const position p = where(key);
        check_account(source, p.line, p.column, key, *value);
    }
    // Pebble v1.26, internals/plan/plan.go Layer.Validate: what it refuses when the layer is added.
    if (cfg.layer_label.rfind("pebble-", 0) == 0)
        fail_at("layer-label", "Pebble refuses it: cannot use reserved label prefix \"pebble-\" (labels starting with "
                               "\"pebble-\" are reserved by Pebble)");
    if (cfg.service_name == "pebble")
        fail_at("service-name", "Pebble refuses it: cannot use reserved service name \"pebble\"");
    if (cfg.service_name.front() == '-')
        fail_at("service-name", fmt::format("Pebble refuses it: cannot use service name \"{}\": starting with \"-\" not "
                                            "allowed", cfg.service_name));
    for (const char* keyword : {"all", "default", "none"})
        if (cfg.service_name == keyword)
            fail_at("service-name", fmt::format("\"{}\" is a keyword Pebble v1.26 deprecates as a service name "
                                                "(\"Using keyword \"{}\" as a service name is deprecated\"): choose another "
                                                "name", keyword, keyword));
    const std::string& b = cfg.bind_address;
    if (!is_ipv4(b) && !is_ipv6(b))
        fail_at("bind-address", fmt::format("expected an IPv4 or IPv6 address such as 0.0.0.0 or ::, got \"{}\"", b));
    const std::string& lf = cfg.logfile;
    if (!lf.empty() && lf.front() != '/') fail_at("logfile", fmt::format("expected an absolute path or nothing, got \"{}\"", lf));
    if (lf.find_first_of(std::string("\n\r\"\0", 4)) != std::string::npos)
        fail_at("logfile", "must not contain a newline, a double quote or NUL");
    const auto period = parse_go_duration(cfg.check_period), timeout = parse_go_duration(cfg.check_timeout);
    if (!period || *period <= 0)
        fail_at("check-period", fmt::format("expected a positive Go duration such as 10s, got \"{}\"", cfg.check_period));
    if (!timeout || *timeout <= 0)
        fail_at("check-timeout", fmt::format("expected a positive Go duration such as 3s, got \"{}\"", cfg.check_timeout));
    if (*timeout >= *period) fail_at("check-timeout", "must be shorter than check-period (Pebble requires it)");
    if (cfg.check_threshold < 1 || cfg.check_threshold > 100)
        fail_at("check-threshold", fmt::format("expected an integer from 1 to 100, got {}", cfg.check_threshold));
    const std::string& a = cfg.on_check_failure;
    if (a != "restart" && a != "ignore" && a != "shutdown" && a != "off")
        fail_at("on-check-failure", fmt::format("expected restart, ignore, shutdown or off, got \"{}\"", a));
    if (cfg.metrics_port == 0) fail_at("metrics-port", "expected an integer from 1 to 65535, got 0");
    if (cfg.metrics && cfg.metrics_port == cfg.port) fail_at("metrics-port", "must differ from port");
    // Sentinel (docs/sentinel.md). Checked whether or not it is enabled, so turning it on later
    // cannot reveal an old mistake.
    if (cfg.sentinel_port == 0) fail_at("sentinel-port", "expected an integer from 1 to 65535, got 0");
    if (cfg.sentinel_port == cfg.port)
        fail_at("sentinel-port", "must differ from port (the unit's containers share one network)");
    if (cfg.metrics && cfg.sentinel_port == cfg.metrics_port) fail_at("sentinel-port", "must differ from metrics-port");
    const std::string& mn = cfg.sentinel_master_name;
    if (mn.empty() || !std::all_of(mn.begin(), mn.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '.' || c == '_' || c == '-';
        }))
        fail_at("sentinel-master-name",
                fmt::format("expected a non-empty name of letters, digits, '.', '_' or '-' (one word of sentinel.conf "
                            "and of SENTINEL commands), got \"{}\"", mn));
    if (cfg.sentinel_quorum < 0 || cfg.sentinel_quorum > 1000)
        fail_at("sentinel-quorum", fmt::format("expected an integer from 0 (from planned-units) to 1000, got {}",
                                               cfg.sentinel_quorum));
    for (const auto& [key, value] : {std::pair<std::string, long long>{"sentinel-down-after-milliseconds",
                                                                       cfg.sentinel_down_after_milliseconds},
                                     {"sentinel-failover-timeout", cfg.sentinel_failover_timeout}})
        if (value < 1 || value > 2147483647)
            fail_at(key, fmt::format("expected an integer from 1 to 2147483647 (milliseconds), got {}", value));
    if (cfg.sentinel_parallel_syncs < 1 || cfg.sentinel_parallel_syncs > 1000)
        fail_at("sentinel-parallel-syncs",
                fmt::format("expected an integer from 1 to 1000, got {}", cfg.sentinel_parallel_syncs));
    for (const auto& [key, value] :
         {std::pair<std::string, const std::string*>{"sentinel-service-name", &cfg.sentinel_service_name},
          {"sentinel-layer-label", &cfg.sentinel_layer_label},
          {"sentinel-container-name", &cfg.sentinel_container_name}}) {
        const position p = where(key);
        check_name(source, p.line, p.column, key, *value);
    }
    const std::string& ss = cfg.sentinel_service_name;
    if (ss == "pebble") fail_at("sentinel-service-name", "Pebble refuses it: cannot use reserved service name \"pebble\"");
    if (ss == "all" || ss == "default" || ss == "none")
        fail_at("sentinel-service-name", fmt::format("\"{}\" is a keyword Pebble v1.26 deprecates as a service name: "
                                                     "choose another name", ss));
    if (ss == cfg.service_name || (cfg.metrics && ss == cfg.service_name + "-exporter"))
        fail_at("sentinel-service-name", "must differ from the Redis service and its exporter");
    if (cfg.sentinel_layer_label.rfind("pebble-", 0) == 0)
        fail_at("sentinel-layer-label", "Pebble refuses it: cannot use reserved label prefix \"pebble-\"");
    const std::string& cp = cfg.sentinel_config_path;
    if (!valid_utf8(cp)) fail_at("sentinel-config-path", "must be valid UTF-8 (Pebble's API carries JSON and YAML)");
    if (cp.empty() || cp.front() != '/' || cp.back() == '/')
        fail_at("sentinel-config-path", fmt::format("expected an absolute path of a file, got \"{}\"", cp));
    if (cp.find_first_of(std::string("\n\r\"\0", 4)) != std::string::npos)
        fail_at("sentinel-config-path", "must not contain a newline, a double quote or NUL");
}

} // namespace

std::size_t invalid_utf8_at(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        const std::size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > s.size()) return i;
        std::uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1f) : len == 3 ? (b0 & 0x0f) : (b0 & 0x07);
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (b & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return i;
        i += len;
    }
    return std::string_view::npos;
}

text_position position_of(std::string_view text, std::size_t offset) noexcept {
    text_position p;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++p.line;
            p.column = 1;
        } else {
            ++p.column;
        }
    }
    return p;
}

std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
            if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
            else out += ch;
        }
    }
    return out + "\"";
}

std::string_view to_string(secret_mode m) noexcept {
    return m == secret_mode::config_file ? "config-file" : "command-line";
}

std::string_view to_string(tls_client_auth a) noexcept {
    switch (a) {
    case tls_client_auth::yes: return "yes";
    case tls_client_auth::no: return "no";
    case tls_client_auth::optional: return "optional";
    }
    return "optional";
}

redis_config load_config(std::string_view yaml, std::string_view source) {
    const document doc = parse(yaml, source);
    redis_config cfg;
    std::map<std::string, position> at;
    each_key(doc, {"enable-tls", "port", "storage-path", "service-name", "layer-label", "container-name", "user",
                   "group", "bind-address", "secrets", "tls-auth-clients", "appendonly", "logfile", "health-checks",
                   "check-period", "check-timeout", "check-threshold", "on-check-failure", "metrics", "metrics-port",
                   "sentinel", "sentinel-port", "sentinel-master-name", "sentinel-quorum",
                   "sentinel-down-after-milliseconds", "sentinel-failover-timeout", "sentinel-parallel-syncs",
                   "sentinel-container-name", "sentinel-service-name", "sentinel-layer-label",
                   "sentinel-config-path"},
             [&](const std::string& key, const YAML::Node& v) {
                 const YAML::Mark where = value_mark(doc, v);
                 at[key] = {where.line + 1, where.column + 1};
                 for (const auto& [name, field] : string_options(cfg))
                     if (key == name) {
                         *field = as_string(doc, key, v);
                         return;
                     }
                 if (key == "enable-tls") cfg.enable_tls = as_bool(doc, key, v);
                 else if (key == "port") cfg.port = as_port(doc, key, v);
                 else if (key == "secrets") {
                     const std::string m = as_string(doc, key, v);
                     if (m == "config-file") cfg.secrets = secret_mode::config_file;
                     else if (m == "command-line") cfg.secrets = secret_mode::command_line;
                     else fail(doc.source, value_mark(doc, v), key, "expected \"config-file\" or \"command-line\", got \"" + m + "\"");
                 } else if (key == "tls-auth-clients") {
                     // yes and no are Redis's words here (YAML 1.1 would read them as booleans).
                     const std::string m = as_string(doc, key, v);
                     if (m == "yes") cfg.tls_auth_clients = tls_client_auth::yes;
                     else if (m == "no") cfg.tls_auth_clients = tls_client_auth::no;
                     else if (m == "optional") cfg.tls_auth_clients = tls_client_auth::optional;
                     else fail(doc.source, value_mark(doc, v), key, "expected \"yes\", \"no\" or \"optional\", got \"" + m + "\"");
                 }
                 else if (key == "appendonly") cfg.appendonly = as_bool(doc, key, v);
                 else if (key == "logfile") cfg.logfile = v.IsNull() ? std::string() : as_string(doc, key, v);
                 else if (key == "health-checks") cfg.health_checks = as_bool(doc, key, v);
                 else if (key == "check-period") cfg.check_period = as_string(doc, key, v);
                 else if (key == "check-timeout") cfg.check_timeout = as_string(doc, key, v);
                 else if (key == "check-threshold") {
                     const std::string t = as_string(doc, key, v);
                     if (t.empty() || t.size() > 3 || t.front() == '0' ||
                         !std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); }))
                         fail(doc.source, value_mark(doc, v), key, "expected an integer from 1 to 100, got " + shown(v));
                     cfg.check_threshold = std::stoi(t);
                 }
                 else if (key == "on-check-failure") cfg.on_check_failure = as_string(doc, key, v);
                 else if (key == "metrics") cfg.metrics = as_bool(doc, key, v);
                 else if (key == "metrics-port") cfg.metrics_port = as_port(doc, key, v);
                 else if (key == "sentinel") cfg.sentinel = as_bool(doc, key, v);
                 else if (key == "sentinel-port") cfg.sentinel_port = as_port(doc, key, v);
                 else if (key == "sentinel-master-name") cfg.sentinel_master_name = as_string(doc, key, v);
                 else if (key == "sentinel-quorum") cfg.sentinel_quorum = static_cast<int>(as_integer(doc, key, v, 0, 1000));
                 else if (key == "sentinel-down-after-milliseconds")
                     cfg.sentinel_down_after_milliseconds = as_integer(doc, key, v, 1, 2147483647);
                 else if (key == "sentinel-failover-timeout")
                     cfg.sentinel_failover_timeout = as_integer(doc, key, v, 1, 2147483647);
                 else if (key == "sentinel-parallel-syncs")
                     cfg.sentinel_parallel_syncs = static_cast<int>(as_integer(doc, key, v, 1, 1000));
                 else if (key == "sentinel-container-name") cfg.sentinel_container_name = as_string(doc, key, v);
                 else if (key == "sentinel-service-name") cfg.sentinel_service_name = as_string(doc, key, v);
                 else if (key == "sentinel-layer-label") cfg.sentinel_layer_label = as_string(doc, key, v);
                 else if (key == "sentinel-config-path") cfg.sentinel_config_path = as_string(doc, key, v);
             });
    validate_at(cfg, doc.source, at);
    return cfg;
}

void validate(const redis_config& cfg) { validate_at(cfg, "config", {}); }

namespace {

void validate_peer_at(const peer_data& peer, const std::string& source, const std::map<std::string, position>& at) {
    auto where = [&](const std::string& key) {
        auto it = at.find(key);
        return it == at.end() ? position{} : it->second;
    };
    // Never the value in these messages.
    for (const auto& [key, pw] : {std::pair<std::string, const secret*>{"admin-password", &peer.admin_password},
                                  {"sentinel-password", &peer.sentinel_password}}) {
        const std::string& p = pw->reveal();
        if (p.find('\0') != std::string::npos) {
            const position pos = where(key);
            throw input_error(source, pos.line, pos.column, key, "must not contain a NUL byte");
        }
        if (!valid_utf8(p)) {
            const position pos = where(key);
            throw input_error(source, pos.line, pos.column, key, "must be valid UTF-8 (Pebble's API carries JSON and YAML)");
        }
    }
    if (peer.planned_units < 1 || peer.planned_units > 1000) {
        const position pos = where("planned-units");
        throw input_error(source, pos.line, pos.column, "planned-units",
                          "expected an integer from 1 to 1000, got " + std::to_string(peer.planned_units));
    }
    for (const auto& [key, value] : {std::pair<std::string, const std::string*>{"current-master", &peer.current_master},
                                     {"hostname", &peer.hostname}}) {
        if (value->empty()) continue;  // not known yet: not an error
        const position pos = where(key);
        check_host(source, pos.line, pos.column, key, *value);
    }
}

} // namespace

peer_data load_peer_data(std::string_view yaml, std::string_view source) {
    const document doc = parse(yaml, source, true);
    peer_data peer;
    std::map<std::string, position> at;
    each_key(doc, {"admin-password", "current-master", "hostname", "enable-password", "sentinel-password", "planned-units"},
             [&](const std::string& key, const YAML::Node& v) {
        const YAML::Mark where = value_mark(doc, v);
        at[key] = {where.line + 1, where.column + 1};
        if (v.IsNull()) return;  // present but empty: not set yet
        if (key == "enable-password") {
            peer.enable_password = as_bool(doc, key, v);
        } else if (key == "planned-units") {
            peer.planned_units = static_cast<int>(as_integer(doc, key, v, 1, 1000));
        } else if (key == "sentinel-password") {
            peer.sentinel_password = secret(as_string(doc, key, v, true));
        } else if (key == "admin-password") {
            peer.admin_password = secret(as_string(doc, key, v, true));
        } else if (key == "current-master") {
            peer.current_master = as_string(doc, key, v);
        } else {
            peer.hostname = as_string(doc, key, v);
        }
    });
    validate_peer_at(peer, doc.source, at);
    return peer;
}

void validate(const peer_data& peer) { validate_peer_at(peer, "peer data", {}); }

std::string to_yaml(const redis_config& cfg) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "enable-tls" << YAML::Value << cfg.enable_tls;
    out << YAML::Key << "port" << YAML::Value << cfg.port;
    for (const auto& [key, value] : string_options(cfg))
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
    out << YAML::Key << "secrets" << YAML::Value << std::string(to_string(cfg.secrets));
    out << YAML::Key << "tls-auth-clients" << YAML::Value << YAML::DoubleQuoted
        << std::string(to_string(cfg.tls_auth_clients));
    out << YAML::Key << "appendonly" << YAML::Value << cfg.appendonly;
    out << YAML::Key << "logfile" << YAML::Value << YAML::DoubleQuoted << cfg.logfile;
    out << YAML::Key << "health-checks" << YAML::Value << cfg.health_checks;
    out << YAML::Key << "check-period" << YAML::Value << YAML::DoubleQuoted << cfg.check_period;
    out << YAML::Key << "check-timeout" << YAML::Value << YAML::DoubleQuoted << cfg.check_timeout;
    out << YAML::Key << "check-threshold" << YAML::Value << cfg.check_threshold;
    out << YAML::Key << "on-check-failure" << YAML::Value << cfg.on_check_failure;
    out << YAML::Key << "metrics" << YAML::Value << cfg.metrics;
    out << YAML::Key << "metrics-port" << YAML::Value << cfg.metrics_port;
    out << YAML::Key << "sentinel" << YAML::Value << cfg.sentinel;
    out << YAML::Key << "sentinel-port" << YAML::Value << cfg.sentinel_port;
    out << YAML::Key << "sentinel-master-name" << YAML::Value << YAML::DoubleQuoted << cfg.sentinel_master_name;
    out << YAML::Key << "sentinel-quorum" << YAML::Value << cfg.sentinel_quorum;
    out << YAML::Key << "sentinel-down-after-milliseconds" << YAML::Value << cfg.sentinel_down_after_milliseconds;
    out << YAML::Key << "sentinel-failover-timeout" << YAML::Value << cfg.sentinel_failover_timeout;
    out << YAML::Key << "sentinel-parallel-syncs" << YAML::Value << cfg.sentinel_parallel_syncs;
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string*>{"sentinel-container-name", &cfg.sentinel_container_name},
          {"sentinel-service-name", &cfg.sentinel_service_name},
          {"sentinel-layer-label", &cfg.sentinel_layer_label},
          {"sentinel-config-path", &cfg.sentinel_config_path}})
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace redispebble
