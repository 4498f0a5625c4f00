// Pebble's layer model: strict parsing (yaml-cpp), emission (our own, to control quoting exactly),
// Pebble's merge and combine rules (internals/plan/plan.go) and the semantic plan comparison.
#include <redispebble/layer.hpp>

#include <redispebble/utf8.hpp>

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

namespace redispebble {

// ---------------------------------------------------------------------------------------------
// Go durations

std::optional<std::int64_t> parse_go_duration(std::string_view s) noexcept {
    // time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ ; "0" alone is valid. Integer arithmetic
    // with Go's overflow limits; a fraction is added as uint64(float64(f) * (float64(unit) / scale)),
    // that is truncated, and digits beyond what fits are ignored.
    constexpr std::uint64_t limit = std::uint64_t{1} << 63;
    if (s.empty()) return std::nullopt;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) return std::nullopt;
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    std::uint64_t d = 0;
    while (!s.empty()) {
        if (!(s[0] == '.' || is_digit(s[0]))) return std::nullopt;
        std::uint64_t v = 0, f = 0;
        double scale = 1;
        std::size_t i = 0;
        for (; i < s.size() && is_digit(s[i]); ++i) {  // leadingInt
            if (v > limit / 10) return std::nullopt;
            v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (v > limit) return std::nullopt;
        }
        const bool pre = i > 0;
        s.remove_prefix(i);
        bool post = false;
        if (!s.empty() && s[0] == '.') {  // leadingFraction
            s.remove_prefix(1);
            bool overflow = false;
            for (i = 0; i < s.size() && is_digit(s[i]); ++i) {
                if (overflow) continue;
                if (f > (limit - 1) / 10) {
                    overflow = true;
                    continue;
                }
                const std::uint64_t y = f * 10 + static_cast<std::uint64_t>(s[i] - '0');
                if (y > limit) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = i > 0;
            s.remove_prefix(i);
        }
        if (!pre && !post) return std::nullopt;
        for (i = 0; i < s.size() && s[i] != '.' && !is_digit(s[i]); ++i) {
        }
        if (i == 0) return std::nullopt;
        const std::string_view u = s.substr(0, i);
        s.remove_prefix(i);
        std::uint64_t unit = 0;
        if (u == "ns") unit = 1;
        else if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") unit = 1000;
        else if (u == "ms") unit = 1000000;
        else if (u == "s") unit = 1000000000;
        else if (u == "m") unit = 60000000000;
        else if (u == "h") unit = 3600000000000;
        else return std::nullopt;
        if (v > limit / unit) return std::nullopt;
        v *= unit;
        if (f > 0) {
            v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
            if (v > limit) return std::nullopt;
        }
        d += v;
        if (d > limit) return std::nullopt;
    }
    if (neg) return d == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(d);
    if (d > limit - 1) return std::nullopt;
    return static_cast<std::int64_t>(d);
}

std::string format_go_duration(std::int64_t d) {
    // time.Duration.String().
    if (d == 0) return "0s";
    const bool neg = d < 0;
    std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(d) : static_cast<std::uint64_t>(d);
    auto frac = [](std::uint64_t v, int prec, std::string& out) {
        // Writes v / 10^prec with trailing zeros (and a bare dot) dropped.
        std::string digits;
        bool print = false;
        for (int i = 0; i < prec; ++i) {
            const auto digit = v % 10;
            print = print || digit != 0;
            if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
            v /= 10;
        }
        if (print) digits.insert(digits.begin(), '.');
        out = std::to_string(v) + digits + out;
    };
    std::string out;
    if (u < 1000000000ULL) {
        // Sub-second: ns, µs or ms with a fraction.
        std::string unit;
        int prec = 0;
        if (u < 1000ULL) unit = "ns", prec = 0;
        else if (u < 1000000ULL) unit = "\xc2\xb5s", prec = 3;
        else unit = "ms", prec = 6;
        out = unit;
        frac(u, prec, out);
    } else {
        out = "s";
        frac(u % 60000000000ULL, 9, out);
        u /= 60000000000ULL;
        if (u > 0) {
            out = std::to_string(u % 60) + "m" + out;
            u /= 60;
            if (u > 0) out = std::to_string(u) + "h" + out;
        }
    }
    return neg ? "-" + out : out;
}

std::string_view to_string(override_kind o) noexcept {
    switch (o) {
    case override_kind::merge: return "merge";
    case override_kind::replace: return "replace";
    case override_kind::unset: return "";
    }
    return "";
}

namespace {

// ---------------------------------------------------------------------------------------------
// Parsing

// Go's strconv.ParseInt(s, 0, 64) (sign, 0x / 0o / 0b / leading-0 octal prefixes).
std::optional<std::int64_t> go_int(std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) neg = s[0] == '-', s.remove_prefix(1);
    unsigned base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s.remove_prefix(2);
    else if (s.size() > 1 && s[0] == '0') base = 8, s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        const unsigned d = c >= '0' && c <= '9' ? unsigned(c - '0')
                           : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? unsigned((c | 0x20) - 'a' + 10)
                                                                    : 99u;
        if (d >= base) return std::nullopt;
        if (v > ((std::uint64_t{1} << 63) - d) / base) return std::nullopt;
        v = v * base + d;
    }
    if (neg) return v == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(v);
}

bool yaml_style_float(std::string_view s);

struct reader {
    std::string source;

    [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& msg) const {
        const YAML::Mark m = n.Mark();
        throw input_error(source, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, key, msg);
    }

    std::string str(const YAML::Node& n, const std::string& key) const {
        if (n.IsNull()) return "";
        if (!n.IsScalar()) fail(n, key, "expected a string");
        return n.Scalar();
    }
    std::optional<std::string> opt_str(const YAML::Node& n, const std::string& key) const {
        if (n.IsNull()) return std::nullopt;
        return str(n, key);
    }
    std::optional<std::string> choice(const YAML::Node& n, const std::string& key,
                                      std::initializer_list<std::string_view> allowed) const {
        auto v = opt_str(n, key);
        if (!v || v->empty()) return v;
        if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            fail(n, key, fmt::format("invalid value \"{}\"; expected one of: {}", *v, list));
        }
        return v;
    }
    std::optional<std::string> duration(const YAML::Node& n, const std::string& key) const {
        auto v = opt_str(n, key);
        if (!v) return v;
        if (!parse_go_duration(*v)) fail(n, key, fmt::format("invalid duration \"{}\"", *v));
        return v;
    }
    // A Go int field decoded by yaml.v3: the scalar must resolve to !!int (decimal, 0x, 0o, 0b,
    // leading-0 octal, underscores) or !!float (truncated); a quoted scalar is a string and fails.
    std::optional<std::int64_t> integer(const YAML::Node& n, const std::string& key) const {
        if (n.IsNull()) return std::nullopt;
        if (!n.IsScalar() || n.Tag() == "!") fail(n, key, "expected an integer");
        const std::string& text = n.Scalar();
        if (!text.empty() && (text[0] == '+' || text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
            std::string plain;
            for (char c : text)
                if (c != '_') plain += c;
            if (auto v = go_int(plain)) return v;
            if (yaml_style_float(plain)) {
                const double f = std::strtod(plain.c_str(), nullptr);
                if (std::isfinite(f) && f >= -9.2233720368547758e18 && f < 9.2233720368547758e18)
                    return static_cast<std::int64_t>(f);
            }
        }
        fail(n, key, fmt::format("expected an integer, got \"{}\"", text));
    }
    std::optional<double> number(const YAML::Node& n, const std::string& key) const {
        if (n.IsNull()) return std::nullopt;
        // OptionalFloat.UnmarshalYAML parses the scalar's text, quoted or not.
        if (!n.IsScalar()) fail(n, key, "expected a number");
        double v = 0;
        try {
            std::size_t used = 0;
            v = std::stod(n.Scalar(), &used);
            if (used != n.Scalar().size()) throw std::invalid_argument(n.Scalar());
        } catch (const std::exception&) {
            fail(n, key, fmt::format("expected a number, got \"{}\"", n.Scalar()));
        }
        // strconv.ParseFloat takes "nan" and "inf" too; a NaN equals nothing, not even itself, so
        // the plan would differ from itself on every reconcile, and an infinite factor overflows
        // every backoff delay. Refused here.
        if (!std::isfinite(v)) fail(n, key, fmt::format("expected a finite number, got \"{}\"", n.Scalar()));
        return v;
    }
    std::vector<std::string> list(const YAML::Node& n, const std::string& key) const {
        std::vector<std::string> out;
        if (n.IsNull()) return out;
        if (!n.IsSequence()) fail(n, key, "expected a list of strings");
        for (const auto& item : n) out.push_back(str(item, key));
        return out;
    }
    // map[string]string: any scalar value becomes its text, null becomes "" (as Go decodes it).
    std::map<std::string, std::string> string_map(const YAML::Node& n, const std::string& key) const {
        std::map<std::string, std::string> out;
        if (n.IsNull()) return out;
        if (!n.IsMap()) fail(n, key, "expected a mapping");
        for (const auto& kv : n) {
            const std::string k = str(kv.first, key);
            if (!kv.second.IsNull() && !kv.second.IsScalar()) fail(kv.second, key + "." + k, "expected a string");
            out[k] = kv.second.IsNull() ? "" : kv.second.Scalar();
        }
        return out;
    }
    override_kind override_of(const YAML::Node& n, const std::string& key) const {
        auto v = choice(n, key, {"merge", "replace"});
        if (!v || v->empty()) return override_kind::unset;
        return *v == "merge" ? override_kind::merge : override_kind::replace;
    }
    // Iterates a mapping, rejecting fields that are not in `known` (Pebble decodes strictly).
    void fields(const YAML::Node& n, const std::string& path, std::initializer_list<std::string_view> known,
                const std::function<void(const std::string&, const YAML::Node&)>& each) const {
        if (n.IsNull()) return;
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        std::set<std::string> seen;
        for (const auto& kv : n) {
            const std::string k = str(kv.first, path);
            const std::string here = path.empty() ? k : path + "." + k;
            if (std::find(known.begin(), known.end(), k) == known.end()) fail(kv.first, here, "unknown field");
            if (!seen.insert(k).second) fail(kv.first, here, "appears twice");
            each(k, kv.second);
        }
    }
};

// validServiceAction: restart, shutdown and ignore everywhere; failure-shutdown only in
// on-success, success-shutdown only in on-failure and on-check-failure.
#define REDISPEBBLE_ON_SUCCESS_ACTIONS {"restart", "shutdown", "ignore", "failure-shutdown"}
#define REDISPEBBLE_ON_FAILURE_ACTIONS {"restart", "shutdown", "ignore", "success-shutdown"}
constexpr std::array<std::string_view, 4> on_failure_actions = REDISPEBBLE_ON_FAILURE_ACTIONS;

service read_service(const reader& r, const YAML::Node& n, const std::string& path) {
    service s;
    r.fields(n, path,
             {"summary", "description", "startup", "override", "command", "after", "before", "requires", "workload",
              "environment", "user-id", "user", "group-id", "group", "working-dir", "on-success", "on-failure",
              "on-check-failure", "backoff-delay", "backoff-factor", "backoff-limit", "kill-delay"},
             [&](const std::string& k, const YAML::Node& v) {
                 const std::string p = path + "." + k;
                 if (k == "summary") s.summary = r.opt_str(v, p);
                 else if (k == "description") s.description = r.opt_str(v, p);
                 else if (k == "startup") s.startup = r.choice(v, p, {"enabled", "disabled"});
                 else if (k == "override") s.override = r.override_of(v, p);
                 else if (k == "command") s.command = r.opt_str(v, p);
                 else if (k == "after") s.after = r.list(v, p);
                 else if (k == "before") s.before = r.list(v, p);
                 else if (k == "requires") s.requires_ = r.list(v, p);
                 else if (k == "workload") s.workload = r.opt_str(v, p);
                 else if (k == "environment") s.environment = r.string_map(v, p);
                 else if (k == "user-id") s.user_id = r.integer(v, p);
                 else if (k == "user") s.user = r.opt_str(v, p);
                 else if (k == "group-id") s.group_id = r.integer(v, p);
                 else if (k == "group") s.group = r.opt_str(v, p);
                 else if (k == "working-dir") s.working_dir = r.opt_str(v, p);
                 else if (k == "on-success") s.on_success = r.choice(v, p, REDISPEBBLE_ON_SUCCESS_ACTIONS);
                 else if (k == "on-failure") s.on_failure = r.choice(v, p, REDISPEBBLE_ON_FAILURE_ACTIONS);
                 else if (k == "on-check-failure") {
                     s.on_check_failure = r.string_map(v, p);
                     for (const auto& [check, action] : s.on_check_failure)
                         if (!action.empty() && std::find(on_failure_actions.begin(), on_failure_actions.end(), action) == on_failure_actions.end())
                             r.fail(v, p + "." + check, fmt::format("invalid action \"{}\"", action));
                 } else if (k == "backoff-delay") s.backoff_delay = r.duration(v, p);
                 else if (k == "backoff-factor") {
                     s.backoff_factor = r.number(v, p);
                     if (s.backoff_factor && *s.backoff_factor < 1)
                         r.fail(v, p, fmt::format("must be 1.0 or greater, not {}", *s.backoff_factor));
                 } else if (k == "backoff-limit") s.backoff_limit = r.duration(v, p);
                 else if (k == "kill-delay") s.kill_delay = r.duration(v, p);
             });
    return s;
}

check read_check(const reader& r, const YAML::Node& n, const std::string& path) {
    check c;
    r.fields(n, path, {"override", "level", "startup", "period", "timeout", "threshold", "http", "tcp", "exec"},
             [&](const std::string& k, const YAML::Node& v) {
                 const std::string p = path + "." + k;
                 if (k == "override") c.override = r.override_of(v, p);
                 else if (k == "level") c.level = r.choice(v, p, {"alive", "ready"});
                 else if (k == "startup") c.startup = r.choice(v, p, {"enabled", "disabled"});
                 else if (k == "period") c.period = r.duration(v, p);
                 else if (k == "timeout") c.timeout = r.duration(v, p);
                 else if (k == "threshold") c.threshold = r.integer(v, p);
                 else if (k == "http") {
                     http_check h;
                     r.fields(v, p, {"url", "headers"}, [&](const std::string& hk, const YAML::Node& hv) {
                         if (hk == "url") h.url = r.opt_str(hv, p + ".url");
                         else h.headers = r.string_map(hv, p + ".headers");
                     });
                     c.http = h;
                 } else if (k == "tcp") {
                     tcp_check t;
                     r.fields(v, p, {"port", "host"}, [&](const std::string& tk, const YAML::Node& tv) {
                         if (tk == "port") t.port = r.integer(tv, p + ".port");
                         else t.host = r.opt_str(tv, p + ".host");
                     });
                     c.tcp = t;
                 } else if (k == "exec") {
                     exec_check e;
                     r.fields(v, p,
                              {"command", "service-context", "environment", "user-id", "user", "group-id", "group",
                               "working-dir"},
                              [&](const std::string& ek, const YAML::Node& ev) {
                                  const std::string q = p + "." + ek;
                                  if (ek == "command") e.command = r.opt_str(ev, q);
                                  else if (ek == "service-context") e.service_context = r.opt_str(ev, q);
                                  else if (ek == "environment") e.environment = r.string_map(ev, q);
                                  else if (ek == "user-id") e.user_id = r.integer(ev, q);
                                  else if (ek == "user") e.user = r.opt_str(ev, q);
                                  else if (ek == "group-id") e.group_id = r.integer(ev, q);
                                  else if (ek == "group") e.group = r.opt_str(ev, q);
                                  else e.working_dir = r.opt_str(ev, q);
                              });
                     c.exec = e;
                 }
             });
    return c;
}

log_target read_log_target(const reader& r, const YAML::Node& n, const std::string& path) {
    log_target t;
    r.fields(n, path, {"override", "type", "location", "services", "labels"},
             [&](const std::string& k, const YAML::Node& v) {
                 const std::string p = path + "." + k;
                 if (k == "override") t.override = r.override_of(v, p);
                 else if (k == "type") t.type = r.choice(v, p, {"loki", "opentelemetry"});
                 else if (k == "location") t.location = r.opt_str(v, p);
                 else if (k == "services") t.services = r.list(v, p);
                 else t.labels = r.string_map(v, p);
             });
    return t;
}

layer read_layer(std::string_view yaml, std::string_view source) {
    reader r{std::string(source)};
    // yaml.v3 reads UTF-8 only ("invalid leading UTF-8 octet"); yaml-cpp would pass any bytes
    // through, and to_plan_yaml could not write them back.
    if (const std::size_t bad = invalid_utf8_at(yaml); bad != std::string_view::npos) {
        const text_position at = position_of(yaml, bad);
        throw input_error(r.source, at.line, at.column, "", "cannot parse YAML: invalid UTF-8");
    }
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw input_error(r.source, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1,
                          "", "cannot parse YAML: " + e.msg);
    }
    layer l;
    r.fields(root, "", {"summary", "description", "services", "checks", "log-targets"},
             [&](const std::string& k, const YAML::Node& v) {
                 if (k == "summary") l.summary = r.opt_str(v, k);
                 else if (k == "description") l.description = r.opt_str(v, k);
                 else {
                     if (v.IsNull()) return;
                     if (!v.IsMap()) r.fail(v, k, "expected a mapping of names to entries");
                     for (const auto& kv : v) {
                         const std::string name = r.str(kv.first, k);
                         const std::string path = k + "." + name;
                         if (kv.second.IsNull()) r.fail(kv.first, path, "entry cannot be null");
                         if (k == "services") l.services[name] = read_service(r, kv.second, path);
                         else if (k == "checks") l.checks[name] = read_check(r, kv.second, path);
                         else l.log_targets[name] = read_log_target(r, kv.second, path);
                     }
                 }
             });
    return l;
}

// ---------------------------------------------------------------------------------------------
// Emission

bool is_plain_safe_char(unsigned char c) { return c >= 0x20 && c != 0x7f; }

// Would a YAML 1.1/1.2 reader (yaml.v3's resolver) take this plain scalar as a non-string?
bool resolves_to_non_string(const std::string& s) {
    static const std::set<std::string> words{"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                             "False", "FALSE", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
                                             "NO", "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF",
                                             "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<"};
    if (words.count(s)) return true;
    // Numbers: ints (decimal, 0x, 0o, 0b, with _ and sign) and floats.
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (i == s.size()) return false;
    const std::string body = s.substr(i);
    auto all = [&](std::size_t from, auto pred) {
        return from < body.size() &&
               std::all_of(body.begin() + static_cast<long>(from), body.end(), [&](char c) { return pred(c) || c == '_'; });
    };
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'))
        return all(2, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'b'))
        return all(2, [](char c) { return c >= '0' && c <= '9'; });
    bool digit = false, dot = false, exp = false;
    for (std::size_t k = 0; k < body.size(); ++k) {
        const char c = body[k];
        if (c >= '0' && c <= '9') digit = true;
        else if (c == '_' && digit) continue;
        else if (c == '.' && !dot && !exp) dot = true;
        else if ((c == 'e' || c == 'E') && digit && !exp) {
            exp = true;
            if (k + 1 < body.size() && (body[k + 1] == '-' || body[k + 1] == '+')) ++k;
        } else
            return false;
    }
    return digit;
}

// Can this string be written as a plain scalar (libyaml's analysis, simplified conservatively)?
bool plain_allowed(const std::string& s) {
    if (s.empty()) return false;
    if (s.front() == ' ' || s.back() == ' ') return false;
    static const std::string_view leading = "-?:,[]{}#&*!|>'\"%@`";
    if (leading.find(s.front()) != std::string_view::npos) {
        // "-x", "?x", ":x" are plain-safe when not followed by a space; be conservative otherwise.
        if (!((s.front() == '-' || s.front() == '?' || s.front() == ':') && s.size() > 1 && s[1] != ' ')) return false;
    }
    if (s.back() == ':') return false;
    if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
    if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) return false;
    for (unsigned char c : s)
        if (!is_plain_safe_char(c)) return false;
    return true;
}

std::string double_quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02X}", c);
            else out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

enum class style { ours, pebble };

// --- yaml.v3's view of a string (resolve.go, encode.go stringv, emitterc.go analyze_scalar).

bool all_digits(std::string_view s, int base) {
    if (s.empty()) return false;
    for (char c : s) {
        const int v = c >= '0' && c <= '9' ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : 99;
        if (v >= base) return false;
    }
    return true;
}

// Go's strconv.ParseInt(s, 0, 64) || ParseUint(s, 0, 64) on a string without underscores.
bool go_parses_as_integer(std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) neg = s[0] == '-', s.remove_prefix(1);
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8, s.remove_prefix(2);
    else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s.remove_prefix(2);
    else if (s.size() > 1 && s[0] == '0') base = 8, s.remove_prefix(1);
    if (!all_digits(s, base)) return false;
    // Accumulate in 64 bits, detecting overflow: ParseUint takes up to 2^64-1, ParseInt down to -2^63.
    std::uint64_t v = 0;
    const auto b = static_cast<std::uint64_t>(base);
    for (char c : s) {
        const auto d = static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / b) return false;
        v = v * b + d;
    }
    return !neg || v <= (std::uint64_t{1} << 63);
}

// yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (overflow to ±Inf,
// which Go's ParseFloat reports as an error, is not modelled).
bool yaml_style_float(std::string_view s) {
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t from = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i - from;
    };
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (digits() == 0) return false;
    } else {
        if (digits() == 0) return false;
        if (i < s.size() && s[i] == '.') ++i, digits();
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == s.size();
}

// parseTimestamp: four digits and a dash, then one of yaml.v3's accepted layouts. Approximated by
// shape (date, optionally followed by a time), without calendar validation.
bool yaml_timestamp(std::string_view s) {
    std::size_t i = 0;
    auto num = [&](std::size_t min, std::size_t max) {
        const std::size_t from = i;
        while (i < s.size() && i - from < max && s[i] >= '0' && s[i] <= '9') ++i;
        return i - from >= min;
    };
    auto lit = [&](char c) { return i < s.size() && s[i] == c ? (++i, true) : false; };
    if (!num(4, 4) || !lit('-') || !num(1, 2) || !lit('-') || !num(1, 2)) return false;
    if (i == s.size()) return true;
    const char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ') return false;
    if (!num(1, 2) || !lit(':') || !num(1, 2) || !lit(':') || !num(1, 2)) return false;
    if (lit('.') && !num(1, 9)) return false;
    if (sep == ' ') return i == s.size();
    if (lit('Z')) return i == s.size();
    if (!(lit('+') || lit('-'))) return false;
    return num(2, 2) && lit(':') && num(2, 2) && i == s.size();
}

// resolve("", s) != "!!str", or isBase60Float(s) or isOldBool(s): yaml.v3 double-quotes it.
bool v3_needs_quotes(const std::string& s) {
    static const std::set<std::string> words{"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                             "False", "FALSE", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
                                             "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
                                             // isOldBool
                                             "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no",
                                             "No", "NO", "off", "Off", "OFF"};
    if (words.count(s)) return true;
    const char c = s[0];
    if (c == '.') {
        // strconv.ParseFloat on ".5", ".5e3".
        return s.size() > 1 && yaml_style_float(s);
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        if (yaml_timestamp(s)) return true;
        std::string plain;
        for (char ch : s)
            if (ch != '_') plain += ch;
        if (go_parses_as_integer(plain) || yaml_style_float(plain)) return true;
        // isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
        std::size_t i = (c == '+' || c == '-') ? 1 : 0;
        if (i >= s.size() || !(s[i] >= '0' && s[i] <= '9')) return false;
        while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) ++i;
        int groups = 0;
        while (i < s.size() && s[i] == ':') {
            ++i;
            std::size_t from = i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - from < 2) ++i;
            const std::size_t n = i - from;
            if (n == 0 || (n == 2 && s[from] > '5')) return false;
            ++groups;
        }
        if (groups == 0) return false;
        if (i < s.size() && s[i] == '.') {
            ++i;
            while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) ++i;
        }
        return i == s.size();
    }
    return false;
}

// One UTF-8 code point at s[i] (invalid bytes come back one by one as themselves).
char32_t code_point(const std::string& s, std::size_t i, std::size_t& width) {
    const auto b = static_cast<unsigned char>(s[i]);
    width = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    if (i + width > s.size()) width = 1;
    if (width == 1) return b;
    char32_t cp = b & (0xFF >> (width + 1));
    for (std::size_t k = 1; k < width; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    return cp;
}

bool v3_printable(char32_t c) {
    return c == 0x0A || (c >= 0x20 && c <= 0x7E) || c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}
bool v3_break(char32_t c) { return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029; }

struct scalar_analysis {
    bool multiline = false, block_plain = true, single_quoted = true, block = true;
};

// yaml_emitter_analyze_scalar, block context.
scalar_analysis analyze(const std::string& s) {
    scalar_analysis a;
    if (s.empty()) {
        a.block = false;
        return a;
    }
    bool block_indicators = s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0;
    bool line_breaks = false, special = false, tabs = false, leading_space = false, leading_break = false,
         trailing_space = false, trailing_break = false, break_space = false, space_break = false;
    bool preceded_by_ws = true, previous_space = false, previous_break = false;
    for (std::size_t i = 0, w = 0; i < s.size(); i += w) {
        const char32_t c = code_point(s, i, w);
        std::size_t w2 = 0;
        const char32_t next = i + w < s.size() ? code_point(s, i + w, w2) : 0;
        const bool followed_by_ws = i + w >= s.size() || next == ' ' || next == '\t';
        if (i == 0) {
            switch (c) {
            case '#': case ',': case '[': case ']': case '{': case '}': case '&': case '*': case '!': case '|':
            case '>': case '\'': case '"': case '%': case '@': case '`': block_indicators = true; break;
            case '?': case ':': case '-':
                if (followed_by_ws) block_indicators = true;
                break;
            default: break;
            }
        } else if ((c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)) {
            block_indicators = true;
        }
        if (c == '\t') tabs = true;
        else if (!v3_printable(c)) special = true;
        if (c == ' ') {
            if (i == 0) leading_space = true;
            if (i + w == s.size()) trailing_space = true;
            if (previous_break) break_space = true;
            previous_space = true, previous_break = false;
        } else if (v3_break(c)) {
            line_breaks = true;
            if (i == 0) leading_break = true;
            if (i + w == s.size()) trailing_break = true;
            if (previous_space) space_break = true;
            previous_space = false, previous_break = true;
        } else {
            previous_space = previous_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || v3_break(c) || c == 0;
    }
    a.multiline = line_breaks;
    if (leading_space || leading_break || trailing_space || trailing_break) a.block_plain = false;
    if (trailing_space) a.block = false;
    if (break_space) a.block_plain = a.single_quoted = false;
    if (space_break || tabs || special) a.block_plain = a.single_quoted = false;
    if (space_break || special) a.block = false;
    if (line_breaks || block_indicators) a.block_plain = false;
    return a;
}

// yaml_emitter_write_double_quoted_scalar with unicode on and no line width.
std::string v3_double_quoted(const std::string& s) {
    std::string out = "\"";
    for (std::size_t i = 0, w = 0; i < s.size(); i += w) {
        const char32_t c = code_point(s, i, w);
        if (v3_printable(c) && c != 0xFEFF && !v3_break(c) && c != '"' && c != '\\') {
            out.append(s, i, w);
            continue;
        }
        switch (c) {
        case 0x00: out += "\\0"; break;
        case 0x07: out += "\\a"; break;
        case 0x08: out += "\\b"; break;
        case 0x09: out += "\\t"; break;
        case 0x0A: out += "\\n"; break;
        case 0x0B: out += "\\v"; break;
        case 0x0C: out += "\\f"; break;
        case 0x0D: out += "\\r"; break;
        case 0x1B: out += "\\e"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case 0x85: out += "\\N"; break;
        case 0xA0: out += "\\_"; break;
        case 0x2028: out += "\\L"; break;
        case 0x2029: out += "\\P"; break;
        default:
            if (c <= 0xFF) out += fmt::format("\\x{:02X}", static_cast<unsigned>(c));
            else if (c <= 0xFFFF) out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
            else out += fmt::format("\\U{:08X}", static_cast<unsigned>(c));
        }
    }
    return out + "\"";
}

// A string scalar as yaml.v3 writes it: plain, 'single', "double" or a literal block whose lines
// are indented by `indent` spaces. `key` is a simple-key context (no block scalars).
std::string v3_scalar(const std::string& s, bool key, int indent, int best_indent) {
    const bool can_plain = !v3_needs_quotes(s);
    const scalar_analysis a = analyze(s);
    enum { plain, single, dbl, literal } st = s.find('\n') != std::string::npos ? literal : can_plain ? plain : dbl;
    if (st == plain && !a.block_plain) st = single;
    if (st == single && !a.single_quoted) st = dbl;
    if (st == literal && (!a.block || key)) st = dbl;
    switch (st) {
    case plain: return s;
    case single: {
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
        return out + "'";
    }
    case dbl: return v3_double_quoted(s);
    case literal: break;
    }
    std::string out = "|";
    if (s.front() == ' ' || v3_break(static_cast<unsigned char>(s.front()))) out += std::to_string(best_indent);
    const bool ends_break = s.back() == '\n' || s.back() == '\r';
    if (!ends_break) out += '-';
    else if (s.size() == 1 || s[s.size() - 2] == '\n' || s[s.size() - 2] == '\r') out += '+';
    // Every break is written as is; a line's text is indented, and the first one also ends the
    // header line when no break has done so.
    bool at_line_start = true, broke = false;
    for (char c : s) {
        if (c == '\n') {
            out += '\n';
            at_line_start = broke = true;
            continue;
        }
        if (at_line_start) {
            if (!broke) out += '\n';
            out.append(static_cast<std::size_t>(indent), ' ');
            at_line_start = false;
        }
        out += c;
    }
    // The emitter ends the node; the caller's line break follows. A value ending in a break
    // already wrote it, so drop one.
    if (ends_break && out.back() == '\n') out.pop_back();
    return out;
}

// Ours (sent to Pebble): plain when yaml.v3 would write it plain and it is safe for yaml-cpp to
// read back, double quotes otherwise; never a block scalar.
std::string scalar(const std::string& s, style st, bool key = false, int indent = 0) {
    if (st == style::pebble) return v3_scalar(s, key, indent, 4);
    const bool plain = !v3_needs_quotes(s) && !resolves_to_non_string(s) && plain_allowed(s) && analyze(s).block_plain;
    return plain ? s : double_quoted(s);
}

std::string key_text(const std::string& k, style st) { return scalar(k, st, true); }

// yaml.v3's sorter.go keyList.Less for string keys ("natural" order: digit runs compare by value).
// unicode.IsLetter/IsDigit are approximated: ASCII letters and every non-ASCII code point are
// letters, only 0-9 are digits.
bool v3_key_less(const std::string& a8, const std::string& b8) {
    auto runes = [](const std::string& s) {
        std::vector<char32_t> out;
        for (std::size_t i = 0, w = 0; i < s.size(); i += w) out.push_back(code_point(s, i, w));
        return out;
    };
    const auto ar = runes(a8), br = runes(b8);
    auto is_digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    auto is_letter = [](char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0; };
    bool digits = false;
    for (std::size_t i = 0; i < ar.size() && i < br.size(); ++i) {
        if (ar[i] == br[i]) {
            digits = is_digit(ar[i]);
            continue;
        }
        const bool al = is_letter(ar[i]), bl = is_letter(br[i]);
        if (al && bl) return ar[i] < br[i];
        if (al || bl) return digits ? al : bl;
        // Go's int64 arithmetic wraps on overflow ("9999999999999999999"); so does this, in uint64
        // (defined), read back as int64 the way Go compares them.
        std::uint64_t an = 0, bn = 0;
        if (ar[i] == '0' || br[i] == '0') {
            for (std::size_t j = i; j-- > 0 && is_digit(ar[j]);) {
                if (ar[j] != '0') {
                    an = bn = 1;
                    break;
                }
            }
        }
        std::size_t ai = i, bi = i;
        for (; ai < ar.size() && is_digit(ar[ai]); ++ai) an = an * 10 + static_cast<std::uint64_t>(ar[ai] - '0');
        for (; bi < br.size() && is_digit(br[bi]); ++bi) bn = bn * 10 + static_cast<std::uint64_t>(br[bi] - '0');
        if (an != bn) return static_cast<std::int64_t>(an) < static_cast<std::int64_t>(bn);
        if (ai != bi) return ai < bi;
        return ar[i] < br[i];
    }
    return ar.size() < br.size();
}

// Map keys in the order the style writes them.
template <class V>
std::vector<const std::pair<const std::string, V>*> ordered(const std::map<std::string, V>& m, style st) {
    std::vector<const std::pair<const std::string, V>*> out;
    for (const auto& kv : m) out.push_back(&kv);
    if (st == style::pebble)
        std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return v3_key_less(a->first, b->first); });
    return out;
}

std::string format_float(double v) {
    // yaml.v3 writes float64 with strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent
    // form when the exponent is < -4 or >= 6 ("1e+06"), and .inf / -.inf / .nan.
    if (std::isnan(v)) return ".nan";
    if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string sci(buf, r.ptr);
    const auto e = sci.find('e');
    const int exp = std::stoi(sci.substr(e + 1));
    if (exp < -4 || exp >= 6) {
        const std::string sign = exp < 0 ? "-" : "+";
        std::string digits = std::to_string(exp < 0 ? -exp : exp);
        if (digits.size() < 2) digits = "0" + digits;
        return sci.substr(0, e) + "e" + sign + digits;
    }
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

class emitter {
public:
    emitter(style st, int indent) : st_(st), indent_(indent) {}
    // yaml_emitter_check_simple_key: a key longer than 128 bytes is written as an explicit key,
    // `? KEY` then `: VALUE` on the next line (YAML allows at most 1024 characters for an
    // implicit key; yaml.v3 switches at 128, and so do both styles here).
    static bool explicit_key(const std::string& key) { return key.size() > 128; }
    // `key:` with the value's lines to follow (a mapping or a list).
    void begin(const std::string& key, int depth) {
        if (!explicit_key(key)) {
            line(depth, key_text(key, st_) + ":");
            return;
        }
        line(depth, "? " + key_text(key, st_));
        pending_colon_ = depth;
    }
    // After begin(), when no line followed: the value is an empty mapping (yaml.v3 writes `{}`;
    // a bare `key:` would read back as null).
    void end_mapping(std::size_t mark) {
        if (pending_colon_ >= 0) {
            const int at = pending_colon_;
            pending_colon_ = -1;
            line(at, ": {}");
            return;
        }
        if (out_.size() == mark && !out_.empty() && out_.back() == '\n') {
            out_.pop_back();
            out_ += " {}\n";
        }
    }
    std::size_t mark() const { return out_.size(); }
    void str(const std::string& key, const std::optional<std::string>& v, int depth) {
        // Pebble omits empty strings (omitempty); ours keeps a set empty string so it round-trips.
        if (v && (!v->empty() || st_ == style::ours))
            key_value(key, v->empty() ? std::string("\"\"") : scalar(*v, st_, false, (depth + 1) * indent_), depth);
    }
    void str_always(const std::string& key, const std::string& v, int depth) {
        key_value(key, v.empty() ? std::string("\"\"") : scalar(v, st_, false, (depth + 1) * indent_), depth);
    }
    void raw(const std::string& key, const std::string& v, int depth) { key_value(key, v, depth); }
    void integer(const std::string& key, const std::optional<std::int64_t>& v, int depth, bool omit_zero = true) {
        if (v && !(omit_zero && *v == 0)) raw(key, std::to_string(*v), depth);
    }
    void duration(const std::string& key, const std::optional<std::string>& v, int depth) {
        if (!v) return;
        if (st_ == style::pebble) raw(key, scalar(format_go_duration(parse_go_duration(*v).value_or(0)), st_), depth);
        else str(key, v, depth);
    }
    void list(const std::string& key, const std::vector<std::string>& v, int depth, bool always = false) {
        if (v.empty()) {
            if (always) raw(key, "[]", depth);
            return;
        }
        begin(key, depth);
        // yaml.v3 indents sequence items under their key; so do we.
        for (const auto& item : v) line(depth + 1, "- " + scalar(item, st_, false, (depth + 2) * indent_));
    }
    void map(const std::string& key, const std::map<std::string, std::string>& m, int depth) {
        if (m.empty()) return;
        begin(key, depth);
        for (const auto* kv : ordered(m, st_))
            key_value(kv->first,
                      kv->second.empty() ? std::string("\"\"") : scalar(kv->second, st_, false, (depth + 2) * indent_),
                      depth + 1);
    }
    std::string take() { return std::move(out_); }
    style kind() const { return st_; }

private:
    void key_value(const std::string& key, const std::string& value, int depth) {
        if (!explicit_key(key)) {
            line(depth, key_text(key, st_) + ": " + value);
            return;
        }
        line(depth, "? " + key_text(key, st_));
        line(depth, ": " + value);
    }
    void line(int depth, const std::string& text) {
        if (pending_colon_ >= 0) {
            // The value of an explicit key. yaml.v3 writes `:` and the mapping's first line on the
            // same line, padded to the mapping's indentation; ours puts the mapping below it.
            const int at = pending_colon_;
            pending_colon_ = -1;
            out_.append(static_cast<std::size_t>(at * indent_), ' ');
            out_ += ':';
            if (st_ == style::pebble && depth > at) {
                out_.append(static_cast<std::size_t>((depth - at) * indent_ - 1), ' ');
                out_ += text;
                out_ += '\n';
                return;
            }
            out_ += '\n';
        }
        out_.append(static_cast<std::size_t>(depth * indent_), ' ');
        out_ += text;
        out_ += '\n';
    }
    style st_;
    int indent_;
    int pending_colon_ = -1;  // depth of an explicit key whose `:` is not written yet
    std::string out_;
};

void emit_service(emitter& e, const service& s, int d) {
    e.str("summary", s.summary, d);
    e.str("description", s.description, d);
    e.str("startup", s.startup, d);
    if (s.override != override_kind::unset) e.str("override", std::string(to_string(s.override)), d);
    e.str("command", s.command, d);
    e.list("after", s.after, d);
    e.list("before", s.before, d);
    e.list("requires", s.requires_, d);
    e.str("workload", s.workload, d);
    e.map("environment", s.environment, d);
    e.integer("user-id", s.user_id, d, false);
    e.str("user", s.user, d);
    e.integer("group-id", s.group_id, d, false);
    e.str("group", s.group, d);
    e.str("working-dir", s.working_dir, d);
    e.str("on-success", s.on_success, d);
    e.str("on-failure", s.on_failure, d);
    e.map("on-check-failure", s.on_check_failure, d);
    e.duration("backoff-delay", s.backoff_delay, d);
    if (s.backoff_factor) e.raw("backoff-factor", format_float(*s.backoff_factor), d);
    e.duration("backoff-limit", s.backoff_limit, d);
    e.duration("kill-delay", s.kill_delay, d);
}

void emit_check(emitter& e, const check& c, int d) {
    if (c.override != override_kind::unset) e.str("override", std::string(to_string(c.override)), d);
    e.str("level", c.level, d);
    e.str("startup", c.startup, d);
    e.duration("period", c.period, d);
    e.duration("timeout", c.timeout, d);
    e.integer("threshold", c.threshold, d);
    if (c.http) {
        e.begin("http", d);
        e.str("url", c.http->url, d + 1);
        e.map("headers", c.http->headers, d + 1);
    }
    if (c.tcp) {
        e.begin("tcp", d);
        e.integer("port", c.tcp->port, d + 1);
        e.str("host", c.tcp->host, d + 1);
    }
    if (c.exec) {
        e.begin("exec", d);
        e.str("command", c.exec->command, d + 1);
        e.str("service-context", c.exec->service_context, d + 1);
        e.map("environment", c.exec->environment, d + 1);
        e.integer("user-id", c.exec->user_id, d + 1, false);
        e.str("user", c.exec->user, d + 1);
        e.integer("group-id", c.exec->group_id, d + 1, false);
        e.str("group", c.exec->group, d + 1);
        e.str("working-dir", c.exec->working_dir, d + 1);
    }
}

void emit_log_target(emitter& e, const log_target& t, int d) {
    if (e.kind() == style::pebble) {
        // No omitempty on type, location and services in Pebble's struct.
        e.str_always("type", t.type.value_or(""), d);
        e.str_always("location", t.location.value_or(""), d);
        e.list("services", t.services, d, true);
    } else {
        e.str("type", t.type, d);
        e.str("location", t.location, d);
        e.list("services", t.services, d);
    }
    if (t.override != override_kind::unset) e.str("override", std::string(to_string(t.override)), d);
    e.map("labels", t.labels, d);
}

std::string emit(const layer& l, style st, int indent) {
    emitter e(st, indent);
    if (st == style::ours) {
        e.str("summary", l.summary, 0);
        e.str("description", l.description, 0);
    }
    if (!l.services.empty()) {
        e.begin("services", 0);
        for (const auto* kv : ordered(l.services, st)) {
            e.begin(kv->first, 1);
            const std::size_t mark = e.mark();
            emit_service(e, kv->second, 2);
            e.end_mapping(mark);
        }
    }
    if (!l.checks.empty()) {
        e.begin("checks", 0);
        for (const auto* kv : ordered(l.checks, st)) {
            e.begin(kv->first, 1);
            const std::size_t mark = e.mark();
            emit_check(e, kv->second, 2);
            e.end_mapping(mark);
        }
    }
    if (!l.log_targets.empty()) {
        e.begin("log-targets", 0);
        for (const auto* kv : ordered(l.log_targets, st)) {
            e.begin(kv->first, 1);
            const std::size_t mark = e.mark();
            emit_log_target(e, kv->second, 2);
            e.end_mapping(mark);
        }
    }
    std::string out = e.take();
    return out.empty() ? "{}\n" : out;
}

// ---------------------------------------------------------------------------------------------
// Merge

template <class T>
void set_if(std::optional<T>& dst, const std::optional<T>& src) {
    if (src) dst = src;
}
void set_if_nonempty(std::optional<std::string>& dst, const std::optional<std::string>& src) {
    if (src && !src->empty()) dst = src;
}
void append(std::vector<std::string>& dst, const std::vector<std::string>& src) { dst.insert(dst.end(), src.begin(), src.end()); }
void merge_map(std::map<std::string, std::string>& dst, const std::map<std::string, std::string>& src) {
    for (const auto& [k, v] : src) dst[k] = v;
}

void merge_service(service& s, const service& o) {
    set_if_nonempty(s.summary, o.summary);
    set_if_nonempty(s.description, o.description);
    set_if_nonempty(s.startup, o.startup);
    set_if_nonempty(s.command, o.command);
    set_if(s.kill_delay, o.kill_delay);
    set_if(s.user_id, o.user_id);
    set_if_nonempty(s.user, o.user);
    set_if(s.group_id, o.group_id);
    set_if_nonempty(s.group, o.group);
    set_if_nonempty(s.working_dir, o.working_dir);
    append(s.after, o.after);
    append(s.before, o.before);
    append(s.requires_, o.requires_);
    set_if_nonempty(s.workload, o.workload);
    merge_map(s.environment, o.environment);
    set_if_nonempty(s.on_success, o.on_success);
    set_if_nonempty(s.on_failure, o.on_failure);
    merge_map(s.on_check_failure, o.on_check_failure);
    set_if(s.backoff_delay, o.backoff_delay);
    set_if(s.backoff_factor, o.backoff_factor);
    set_if(s.backoff_limit, o.backoff_limit);
}

void merge_check(check& c, const check& o) {
    set_if_nonempty(c.level, o.level);
    set_if_nonempty(c.startup, o.startup);
    set_if(c.period, o.period);
    set_if(c.timeout, o.timeout);
    if (o.threshold && *o.threshold != 0) c.threshold = o.threshold;
    if (o.http) {
        if (!c.http) c.http.emplace();
        set_if_nonempty(c.http->url, o.http->url);
        merge_map(c.http->headers, o.http->headers);
    }
    if (o.tcp) {
        if (!c.tcp) c.tcp.emplace();
        if (o.tcp->port && *o.tcp->port != 0) c.tcp->port = o.tcp->port;
        set_if_nonempty(c.tcp->host, o.tcp->host);
    }
    if (o.exec) {
        if (!c.exec) c.exec.emplace();
        set_if_nonempty(c.exec->command, o.exec->command);
        set_if_nonempty(c.exec->service_context, o.exec->service_context);
        merge_map(c.exec->environment, o.exec->environment);
        set_if(c.exec->user_id, o.exec->user_id);
        set_if_nonempty(c.exec->user, o.exec->user);
        set_if(c.exec->group_id, o.exec->group_id);
        set_if_nonempty(c.exec->group, o.exec->group);
        set_if_nonempty(c.exec->working_dir, o.exec->working_dir);
    }
}

void merge_log_target(log_target& t, const log_target& o) {
    set_if_nonempty(t.type, o.type);
    set_if_nonempty(t.location, o.location);
    append(t.services, o.services);
    merge_map(t.labels, o.labels);
}

template <class T, class F>
void merge_entries(std::map<std::string, T>& base, const std::map<std::string, T>& upper, F merge) {
    for (const auto& [name, entry] : upper) {
        auto it = base.find(name);
        if (entry.override == override_kind::merge && it != base.end()) merge(it->second, entry);
        else base[name] = entry;
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

// The plan as Pebble renders it: durations by value, check threshold default, empty-string
// optionals dropped (omitempty).
void normalize_str(std::optional<std::string>& v) {
    if (v && v->empty()) v.reset();
}
void normalize_duration(std::optional<std::string>& v) {
    if (v) v = format_go_duration(parse_go_duration(*v).value_or(0));
}

service normalized(service s) {
    for (auto* f : {&s.summary, &s.description, &s.startup, &s.command, &s.workload, &s.user, &s.group,
                    &s.working_dir, &s.on_success, &s.on_failure})
        normalize_str(*f);
    for (auto* f : {&s.backoff_delay, &s.backoff_limit, &s.kill_delay}) normalize_duration(*f);
    return s;
}

check normalized(check c) {
    normalize_str(c.level);
    normalize_str(c.startup);
    // CombineLayers' defaults: period 10s, timeout 3s capped at the period, threshold 3. A check
    // that sets one of them to its default behaves exactly as one that leaves it unset.
    if (!c.period) c.period = "10s";
    if (!c.timeout) {
        const auto period = parse_go_duration(*c.period).value_or(0);
        c.timeout = format_go_duration(std::min<std::int64_t>(3'000'000'000, period));
    }
    normalize_duration(c.period);
    normalize_duration(c.timeout);
    if (!c.threshold || *c.threshold == 0) c.threshold = 3;
    if (c.tcp && c.tcp->port && *c.tcp->port == 0) c.tcp->port.reset();
    return c;
}

log_target normalized(log_target t) {
    normalize_str(t.type);
    normalize_str(t.location);
    return t;
}

std::string render_list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + s;
    return out + "]";
}

struct differ {
    std::vector<difference>& out;
    std::string prefix;

    void opt(const std::string& name, const std::optional<std::string>& a, const std::optional<std::string>& b) {
        if (a != b) out.push_back({prefix + name, a.value_or(""), b.value_or("")});
    }
    template <class N>
    void num(const std::string& name, const std::optional<N>& a, const std::optional<N>& b) {
        if (a != b) out.push_back({prefix + name, a ? fmt::format("{}", *a) : "", b ? fmt::format("{}", *b) : ""});
    }
    void list(const std::string& name, const std::vector<std::string>& a, const std::vector<std::string>& b) {
        if (a != b) out.push_back({prefix + name, render_list(a), render_list(b)});
    }
    void map(const std::string& name, const std::map<std::string, std::string>& a,
             const std::map<std::string, std::string>& b) {
        std::set<std::string> keys;
        for (const auto& [k, v] : a) keys.insert(k);
        for (const auto& [k, v] : b) keys.insert(k);
        for (const auto& k : keys) {
            auto ia = a.find(k), ib = b.find(k);
            const std::optional<std::string> va = ia == a.end() ? std::nullopt : std::optional(ia->second);
            const std::optional<std::string> vb = ib == b.end() ? std::nullopt : std::optional(ib->second);
            if (va != vb) out.push_back({prefix + name + "." + k, va.value_or("<absent>"), vb.value_or("<absent>")});
        }
    }
};

void diff_service(differ& d, const service& a, const service& b) {
    d.opt("summary", a.summary, b.summary);
    d.opt("description", a.description, b.description);
    d.opt("startup", a.startup, b.startup);
    if (a.override != b.override)
        d.out.push_back({d.prefix + "override", std::string(to_string(a.override)), std::string(to_string(b.override))});
    d.opt("command", a.command, b.command);
    d.list("after", a.after, b.after);
    d.list("before", a.before, b.before);
    d.list("requires", a.requires_, b.requires_);
    d.opt("workload", a.workload, b.workload);
    d.map("environment", a.environment, b.environment);
    d.num("user-id", a.user_id, b.user_id);
    d.opt("user", a.user, b.user);
    d.num("group-id", a.group_id, b.group_id);
    d.opt("group", a.group, b.group);
    d.opt("working-dir", a.working_dir, b.working_dir);
    d.opt("on-success", a.on_success, b.on_success);
    d.opt("on-failure", a.on_failure, b.on_failure);
    d.map("on-check-failure", a.on_check_failure, b.on_check_failure);
    d.opt("backoff-delay", a.backoff_delay, b.backoff_delay);
    d.num("backoff-factor", a.backoff_factor, b.backoff_factor);
    d.opt("backoff-limit", a.backoff_limit, b.backoff_limit);
    d.opt("kill-delay", a.kill_delay, b.kill_delay);
}

void diff_check(differ& d, const check& a, const check& b) {
    if (a.override != b.override)
        d.out.push_back({d.prefix + "override", std::string(to_string(a.override)), std::string(to_string(b.override))});
    d.opt("level", a.level, b.level);
    d.opt("startup", a.startup, b.startup);
    d.opt("period", a.period, b.period);
    d.opt("timeout", a.timeout, b.timeout);
    d.num("threshold", a.threshold, b.threshold);
    if (a.http != b.http) {
        const http_check ha = a.http.value_or(http_check{}), hb = b.http.value_or(http_check{});
        d.opt("http.url", ha.url, hb.url);
        d.map("http.headers", ha.headers, hb.headers);
        if (a.http.has_value() != b.http.has_value() && ha == hb)
            d.out.push_back({d.prefix + "http", a.http ? "{}" : "<absent>", b.http ? "{}" : "<absent>"});
    }
    if (a.tcp != b.tcp) {
        const tcp_check ta = a.tcp.value_or(tcp_check{}), tb = b.tcp.value_or(tcp_check{});
        d.num("tcp.port", ta.port, tb.port);
        d.opt("tcp.host", ta.host, tb.host);
        if (a.tcp.has_value() != b.tcp.has_value() && ta == tb)
            d.out.push_back({d.prefix + "tcp", a.tcp ? "{}" : "<absent>", b.tcp ? "{}" : "<absent>"});
    }
    if (a.exec != b.exec) {
        const exec_check ea = a.exec.value_or(exec_check{}), eb = b.exec.value_or(exec_check{});
        d.opt("exec.command", ea.command, eb.command);
        d.opt("exec.service-context", ea.service_context, eb.service_context);
        d.map("exec.environment", ea.environment, eb.environment);
        d.num("exec.user-id", ea.user_id, eb.user_id);
        d.opt("exec.user", ea.user, eb.user);
        d.num("exec.group-id", ea.group_id, eb.group_id);
        d.opt("exec.group", ea.group, eb.group);
        d.opt("exec.working-dir", ea.working_dir, eb.working_dir);
        if (a.exec.has_value() != b.exec.has_value() && ea == eb)
            d.out.push_back({d.prefix + "exec", a.exec ? "{}" : "<absent>", b.exec ? "{}" : "<absent>"});
    }
}

void diff_log_target(differ& d, const log_target& a, const log_target& b) {
    if (a.override != b.override)
        d.out.push_back({d.prefix + "override", std::string(to_string(a.override)), std::string(to_string(b.override))});
    d.opt("type", a.type, b.type);
    d.opt("location", a.location, b.location);
    d.list("services", a.services, b.services);
    d.map("labels", a.labels, b.labels);
}

template <class T, class Merge, class Diff>
void diff_entries(std::vector<difference>& out, const std::string& section, const std::map<std::string, T>& plan,
                  const std::map<std::string, T>& desired, Merge merge, Diff diff) {
    for (const auto& [name, want] : desired) {
        auto it = plan.find(name);
        const std::string path = section + "." + name;
        if (it == plan.end()) {
            out.push_back({path, "<absent>", "<new entry>"});
            continue;
        }
        // What the plan entry would be once Pebble applies the desired entry.
        T after = want;
        if (want.override == override_kind::merge) {
            after = it->second;
            merge(after, want);
        }
        differ d{out, path + "."};
        diff(d, normalized(it->second), normalized(after));
    }
}

} // namespace

layer parse_layer(std::string_view yaml, std::string_view source) { return read_layer(yaml, source); }

layer parse_plan(std::string_view yaml, std::string_view source) {
    layer l = read_layer(yaml, source);
    l.summary.reset();
    l.description.reset();
    return l;
}

void validate_layer(const layer& l, std::string_view label) {
    // Layer.Validate, CombineLayers' override check, and those of Plan.Validate that a `replace`
    // entry decides alone (its combined entry is the entry itself). Messages are Pebble's.
    const std::string src = std::string(label);
    auto fail = [&](const std::string& key, const std::string& msg) { throw input_error(src, 0, 0, key, msg); };
    auto one_of = [](const std::optional<std::string>& v, std::initializer_list<std::string_view> allowed) {
        return !v || v->empty() || std::find(allowed.begin(), allowed.end(), *v) != allowed.end();
    };
    if (label.rfind("pebble-", 0) == 0) fail("", "cannot use reserved label prefix \"pebble-\"");
    for (const auto& [name, s] : l.services) {
        const std::string path = "services." + name;
        if (name.empty()) fail("services", "cannot use empty string as service name");
        if (name == "pebble") fail(path, "cannot use reserved service name \"pebble\"");
        if (name.front() == '-') fail(path, fmt::format("cannot use service name \"{}\": starting with \"-\" not allowed", name));
        if (s.command) {
            try {
                (void)parse_service_command(*s.command);
            } catch (const input_error& e) {
                fail(path + ".command", fmt::format("plan service \"{}\" command invalid: {}", name, e.message()));
            }
        }
        if (!one_of(s.on_success, REDISPEBBLE_ON_SUCCESS_ACTIONS))
            fail(path + ".on-success", fmt::format("plan service \"{}\" on-success action \"{}\" invalid", name, *s.on_success));
        if (!one_of(s.on_failure, REDISPEBBLE_ON_FAILURE_ACTIONS))
            fail(path + ".on-failure", fmt::format("plan service \"{}\" on-failure action \"{}\" invalid", name, *s.on_failure));
        for (const auto& [check, action] : s.on_check_failure)
            if (!one_of(action, REDISPEBBLE_ON_FAILURE_ACTIONS))
                fail(path + ".on-check-failure." + check,
                     fmt::format("plan service \"{}\" on-check-failure action \"{}\" invalid", name, action));
        if (s.backoff_factor && !std::isfinite(*s.backoff_factor))
            fail(path + ".backoff-factor", fmt::format("plan service \"{}\" backoff-factor must be a finite number", name));
        if (s.backoff_factor && *s.backoff_factor < 1)
            fail(path + ".backoff-factor",
                 fmt::format("plan service \"{}\" backoff-factor must be 1.0 or greater, not {}", name, *s.backoff_factor));
        for (const auto* d : {&s.backoff_delay, &s.backoff_limit, &s.kill_delay})
            if (*d && !parse_go_duration(**d)) fail(path, fmt::format("invalid duration \"{}\"", **d));
    }
    for (const auto& [name, c] : l.checks) {
        const std::string path = "checks." + name;
        if (name.empty()) fail("checks", "cannot use empty string as check name");
        if (!one_of(c.level, {"alive", "ready"}))
            fail(path + ".level", fmt::format("plan check \"{}\" level must be \"alive\" or \"ready\"", name));
        if (!one_of(c.startup, {"enabled", "disabled"}))
            fail(path + ".startup", fmt::format("plan check \"{}\" startup must be \"enabled\" or \"disabled\"", name));
        for (const auto& [field, d] : {std::pair{"period", &c.period}, std::pair{"timeout", &c.timeout}}) {
            if (!*d) continue;
            const auto ns = parse_go_duration(**d);
            if (!ns) fail(path + "." + field, fmt::format("invalid duration \"{}\"", **d));
            if (*ns == 0) fail(path + "." + field, fmt::format("plan check \"{}\" {} must not be zero", name, field));
        }
        if (c.exec && c.exec->command) {
            try {
                (void)shlex_split(*c.exec->command);
            } catch (const input_error& e) {
                fail(path + ".exec.command", fmt::format("plan check \"{}\" command invalid: {}", name, e.message()));
            }
        }
        const int kinds = int(c.http.has_value()) + int(c.tcp.has_value()) + int(c.exec.has_value());
        // Merging never removes a type, so two in one layer fail the combined plan whatever lies below.
        if (kinds > 1)
            fail(path, fmt::format("plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"{}\"", name));
    }
    for (const auto& [name, t] : l.log_targets) {
        const std::string path = "log-targets." + name;
        for (const auto& [k, v] : t.labels)
            if (k.rfind("pebble_", 0) == 0)
                fail(path + ".labels." + k,
                     fmt::format("log target \"{}\": label \"{}\" uses reserved prefix \"pebble_\"", name, k));
        if (!one_of(t.type, {"loki", "opentelemetry"}))
            fail(path + ".type", fmt::format("log target \"{}\" has unsupported type \"{}\", must be \"loki\" or \"opentelemetry\"",
                                             name, *t.type));
    }
    // CombineLayers, after Layer.Validate: every entry says how it combines.
    for (const auto& [name, x] : l.services)
        if (x.override == override_kind::unset)
            fail("services." + name + ".override",
                 fmt::format("layer \"{}\" must define \"override\" for service \"{}\"", label, name));
    for (const auto& [name, x] : l.checks)
        if (x.override == override_kind::unset)
            fail("checks." + name + ".override",
                 fmt::format("layer \"{}\" must define \"override\" for check \"{}\"", label, name));
    for (const auto& [name, x] : l.log_targets)
        if (x.override == override_kind::unset)
            fail("log-targets." + name + ".override",
                 fmt::format("layer \"{}\" must define \"override\" for log target \"{}\"", label, name));
}

void validate_plan(const layer& p, std::string_view source) {
    // Plan.Validate (without the dependency-cycle check): what must hold once the layers are combined.
    const std::string src = std::string(source);
    auto fail = [&](const std::string& key, const std::string& msg) { throw input_error(src, 0, 0, key, msg); };
    for (const auto& [name, s] : p.services)
        if (!s.command || s.command->empty())
            fail("services." + name + ".command", fmt::format("plan must define \"command\" for service \"{}\"", name));
    // checkCycles orders every service: one that requires a service not in the plan fails it.
    for (const auto& [name, s] : p.services)
        for (const auto& r : s.requires_)
            if (!p.services.count(r)) fail("services." + name + ".requires", fmt::format("service \"{}\" does not exist", r));
    for (const auto& [name, c] : p.checks) {
        const std::string path = "checks." + name;
        if (c.http && (!c.http->url || c.http->url->empty()))
            fail(path + ".http.url", fmt::format("plan must set \"url\" for http check \"{}\"", name));
        if (c.tcp && (!c.tcp->port || *c.tcp->port == 0))
            fail(path + ".tcp.port", fmt::format("plan must set \"port\" for tcp check \"{}\"", name));
        if (c.exec) {
            if (!c.exec->command || c.exec->command->empty())
                fail(path + ".exec.command", fmt::format("plan must set \"command\" for exec check \"{}\"", name));
            const std::string context = c.exec->service_context.value_or("");
            if (!context.empty() && !p.services.count(context))
                fail(path + ".exec.service-context",
                     fmt::format("plan check \"{}\" service context specifies non-existent service \"{}\"", name, context));
        }
        if (int(c.http.has_value()) + int(c.tcp.has_value()) + int(c.exec.has_value()) != 1)
            fail(path, fmt::format("plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"{}\"", name));
    }
    for (const auto& [name, t] : p.log_targets) {
        const std::string path = "log-targets." + name;
        if (!t.type || t.type->empty())
            fail(path + ".type", fmt::format("plan must define \"type\" (\"loki\" or \"opentelemetry\") for log target \"{}\"", name));
        for (std::string svc : t.services) {
            if (!svc.empty() && svc.front() == '-') svc.erase(0, 1);
            if (svc != "all" && !p.services.count(svc))
                fail(path + ".services", fmt::format("log target \"{}\" specifies unknown service \"{}\"", name, svc));
        }
        if (!t.location || t.location->empty())
            fail(path + ".location", fmt::format("plan must define \"location\" for log target \"{}\"", name));
    }
}

std::string to_yaml(const layer& l) { return emit(l, style::ours, 2); }

std::string to_plan_yaml(const layer& plan) {
    layer p = plan;
    for (auto& [name, c] : p.checks)
        if (!c.threshold || *c.threshold == 0) c.threshold = 3;
    return emit(p, style::pebble, 4);
}

void merge_into(layer& base, const layer& upper) {
    merge_entries(base.services, upper.services, merge_service);
    merge_entries(base.checks, upper.checks, merge_check);
    merge_entries(base.log_targets, upper.log_targets, merge_log_target);
    if (upper.summary) base.summary = upper.summary;
    if (upper.description) base.description = upper.description;
}

layer combine(const std::vector<layer>& layers) {
    layer out;
    for (const auto& l : layers) merge_into(out, l);
    out.summary.reset();
    out.description.reset();
    return out;
}

std::vector<difference> plan_differences(const layer& plan, const layer& desired) {
    std::vector<difference> out;
    diff_entries(out, "services", plan.services, desired.services, merge_service,
                 [](differ& d, const service& a, const service& b) { diff_service(d, a, b); });
    diff_entries(out, "checks", plan.checks, desired.checks, merge_check,
                 [](differ& d, const check& a, const check& b) { diff_check(d, a, b); });
    diff_entries(out, "log-targets", plan.log_targets, desired.log_targets, merge_log_target,
                 [](differ& d, const log_target& a, const log_target& b) { diff_log_target(d, a, b); });
    return out;
}

} // namespace redispebble
