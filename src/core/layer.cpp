// Pebble's layer model: strict parsing of a layer or a plan (yaml-cpp), refusing what Pebble's
// ParseLayer refuses (unknown fields, wrong types, bad names). The fields of each entry are
// layer_detail.hpp's tables, which emission (layer_emit.cpp), merge and combine (layer_merge.cpp)
// and semantic differences (layer_diff.cpp) walk too; validation is in layer_validate.cpp, Go
// durations in go_duration.cpp.
#include "layer_detail.hpp"

#include <redispebble/utf8.hpp>

#include <redispebble/error.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <span>
#include <type_traits>

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
                                      std::span<const std::string_view> allowed) const {
        auto v = opt_str(n, key);
        if (!empty_or_one_of(v, allowed)) {
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
        static constexpr std::string_view kinds[] = {"merge", "replace"};
        auto v = choice(n, key, kinds);
        if (!v || v->empty()) return override_kind::unset;
        return *v == "merge" ? override_kind::merge : override_kind::replace;
    }
    // Iterates a mapping, rejecting fields that are not in `known` (Pebble decodes strictly).
    void fields(const YAML::Node& n, const std::string& path, std::span<const std::string_view> known,
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

// One field of an entry, read as its table says (layer_detail.hpp).
template <class T>
T read_entry(const reader& r, const YAML::Node& n, const std::string& path);

template <class M>
void read_field(const reader& r, const field_spec& f, const YAML::Node& v, const std::string& p, M& x) {
    if constexpr (std::is_same_v<M, std::optional<std::string>>) {
        if (f.kind == field_kind::duration) x = r.duration(v, p);
        else if (f.kind == field_kind::choice) x = r.choice(v, p, f.choices);
        else x = r.opt_str(v, p);
    } else if constexpr (std::is_same_v<M, std::optional<std::int64_t>>) {
        x = r.integer(v, p);
    } else if constexpr (std::is_same_v<M, std::optional<double>>) {
        x = r.number(v, p);
        if (x && *x < f.at_least) r.fail(v, p, fmt::format("must be {:.1f} or greater, not {}", f.at_least, *x));
    } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
        x = r.list(v, p);
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
        x = r.string_map(v, p);
        if (!f.choices.empty())
            for (const auto& [key, value] : x)
                if (!empty_or_one_of(value, f.choices)) r.fail(v, p + "." + key, fmt::format("invalid action \"{}\"", value));
    } else if constexpr (std::is_same_v<M, override_kind>) {
        x = r.override_of(v, p);
    } else {
        x = read_entry<typename M::value_type>(r, v, p);  // a check's http, tcp or exec
    }
}

template <class T>
T read_entry(const reader& r, const YAML::Node& n, const std::string& path) {
    static const std::vector<std::string_view> known = [] {
        std::vector<std::string_view> keys;
        fields_of<T>::each([&](const field_spec& f, auto) { keys.push_back(f.key); });
        return keys;
    }();
    T x;
    r.fields(n, path, known, [&](const std::string& k, const YAML::Node& v) {
        fields_of<T>::each([&](const field_spec& f, auto member) {
            if (f.key == k) read_field(r, f, v, path + "." + k, x.*member);
        });
    });
    return x;
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
    static constexpr std::string_view sections[] = {"summary", "description", "services", "checks", "log-targets"};
    r.fields(root, "", sections,
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
                         if (k == "services") l.services[name] = read_entry<service>(r, kv.second, path);
                         else if (k == "checks") l.checks[name] = read_entry<check>(r, kv.second, path);
                         else l.log_targets[name] = read_entry<log_target>(r, kv.second, path);
                     }
                 }
             });
    return l;
}

} // namespace

namespace detail {

bool empty_or_one_of(const std::optional<std::string>& v, std::span<const std::string_view> allowed) {
    return !v || v->empty() || std::find(allowed.begin(), allowed.end(), *v) != allowed.end();
}

} // namespace detail

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
