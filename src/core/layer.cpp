// Pebble's layer model: strict parsing of a layer or a plan (yaml-cpp), refusing what Pebble's
// ParseLayer refuses (unknown fields, wrong types, bad names). Emission is in layer_emit.cpp, merge and
// combine in layer_merge.cpp, semantic differences in layer_diff.cpp, validation in
// layer_validate.cpp, Go durations in go_duration.cpp.
#include "layer_detail.hpp"

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

using namespace detail;

namespace {

// Go's strconv.ParseInt(s, 0, 64) (sign, 0x / 0o / 0b / leading-0 octal prefixes).
std::optional<std::int64_t> go_int(std::string_view s) {
    const auto n = parse_go_integer(s);
    if (!n) return std::nullopt;
    constexpr std::uint64_t min_magnitude = std::uint64_t{1} << 63;  // of -2^63
    if (n->negative) {
        if (n->magnitude > min_magnitude) return std::nullopt;
        return n->magnitude == min_magnitude ? std::numeric_limits<std::int64_t>::min()
                                             : -static_cast<std::int64_t>(n->magnitude);
    }
    if (n->magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(n->magnitude);
}

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

constexpr std::array<std::string_view, 4> on_failure_actions = REDISPEBBLE_ON_FAILURE_ACTIONS;

// The fields a service and an exec check share (its environment, whom the command runs as, and
// where), read into x: false when k is none of them.
template <class T>
bool read_run_as(const reader& r, const std::string& k, const YAML::Node& v, const std::string& p, T& x) {
    if (k == "environment") x.environment = r.string_map(v, p);
    else if (k == "user-id") x.user_id = r.integer(v, p);
    else if (k == "user") x.user = r.opt_str(v, p);
    else if (k == "group-id") x.group_id = r.integer(v, p);
    else if (k == "group") x.group = r.opt_str(v, p);
    else if (k == "working-dir") x.working_dir = r.opt_str(v, p);
    else return false;
    return true;
}

service read_service(const reader& r, const YAML::Node& n, const std::string& path) {
    service s;
    r.fields(n, path,
             {"summary", "description", "startup", "override", "command", "after", "before", "requires", "workload",
              "environment", "user-id", "user", "group-id", "group", "working-dir", "on-success", "on-failure",
              "on-check-failure", "backoff-delay", "backoff-factor", "backoff-limit", "kill-delay"},
             [&](const std::string& k, const YAML::Node& v) {
                 const std::string p = path + "." + k;
                 if (read_run_as(r, k, v, p, s)) return;
                 if (k == "summary") s.summary = r.opt_str(v, p);
                 else if (k == "description") s.description = r.opt_str(v, p);
                 else if (k == "startup") s.startup = r.choice(v, p, {"enabled", "disabled"});
                 else if (k == "override") s.override = r.override_of(v, p);
                 else if (k == "command") s.command = r.opt_str(v, p);
                 else if (k == "after") s.after = r.list(v, p);
                 else if (k == "before") s.before = r.list(v, p);
                 else if (k == "requires") s.requires_ = r.list(v, p);
                 else if (k == "workload") s.workload = r.opt_str(v, p);
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
                                  else read_run_as(r, ek, ev, q, e);
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

} // namespace

std::string_view to_string(override_kind o) noexcept {
    switch (o) {
    case override_kind::merge: return "merge";
    case override_kind::replace: return "replace";
    case override_kind::unset: return "";
    }
    return "";
}

layer parse_layer(std::string_view yaml, std::string_view source) { return read_layer(yaml, source); }

layer parse_plan(std::string_view yaml, std::string_view source) {
    layer l = read_layer(yaml, source);
    l.summary.reset();
    l.description.reset();
    return l;
}

} // namespace redispebble
