// The semantic plan comparison: what differs between Pebble's plan and the desired layer once both
// are normalized as Pebble renders them.
#include "layer_detail.hpp"

#include <fmt/core.h>

#include <set>
#include <type_traits>

namespace redispebble {

using namespace detail;

namespace {

// The plan as Pebble renders it: durations by value, check threshold default, empty-string
// optionals dropped (omitempty).
void normalize_str(std::optional<std::string>& v) {
    if (v && v->empty()) v.reset();
}

void normalize_duration(std::optional<std::string>& v) {
    if (v) v = format_go_duration(parse_go_duration(*v).value_or(0));
}

// The strings (omitempty) and durations of an entry, as Pebble renders them. Top-level fields
// only: a check's http, tcp and exec are compared as written.
template <class T>
void normalize_fields(T& x) {
    fields_of<T>::each([&](const field_spec& f, auto member) {
        if constexpr (std::is_same_v<member_t<decltype(member)>, std::optional<std::string>>) {
            if (f.kind == field_kind::duration) normalize_duration(x.*member);
            else normalize_str(x.*member);
        }
    });
}

service normalized(service s) {
    normalize_fields(s);
    return s;
}

check normalized(check c) {
    // CombineLayers' defaults: period 10s, timeout 3s capped at the period, threshold 3. A check
    // that sets one of them to its default behaves exactly as one that leaves it unset.
    if (!c.period) c.period = "10s";
    if (!c.timeout) {
        const auto period = parse_go_duration(*c.period).value_or(0);
        c.timeout = format_go_duration(std::min<std::int64_t>(3'000'000'000, period));
    }
    normalize_fields(c);
    if (!c.threshold || *c.threshold == 0) c.threshold = 3;
    if (c.tcp && c.tcp->port && *c.tcp->port == 0) c.tcp->port.reset();
    return c;
}

log_target normalized(log_target t) {
    normalize_fields(t);
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
    void override_of(override_kind a, override_kind b) {
        if (a != b) out.push_back({prefix + "override", std::string(to_string(a)), std::string(to_string(b))});
    }
    // A check's kind (http, tcp, exec): `fields` compares its fields (absent as empty); an absent
    // kind against an empty one shows as "<absent>" against "{}".
    template <class T, class Fields>
    void kind(const char* name, const std::optional<T>& a, const std::optional<T>& b, Fields fields) {
        if (a == b) return;
        const T va = a.value_or(T{}), vb = b.value_or(T{});
        fields(va, vb);
        if (a.has_value() != b.has_value() && va == vb)
            out.push_back({prefix + name, a ? "{}" : "<absent>", b ? "{}" : "<absent>"});
    }
};

// An entry's fields as its table says (layer_detail.hpp), each difference under d's prefix.
template <class T>
void diff_fields(differ& d, const T& a, const T& b);

template <class M>
void diff_field(differ& d, const field_spec& f, const M& a, const M& b) {
    const std::string name(f.key);
    if constexpr (std::is_same_v<M, std::optional<std::string>>) {
        d.opt(name, a, b);
    } else if constexpr (std::is_same_v<M, std::optional<std::int64_t>> || std::is_same_v<M, std::optional<double>>) {
        d.num(name, a, b);
    } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
        d.list(name, a, b);
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
        d.map(name, a, b);
    } else if constexpr (std::is_same_v<M, override_kind>) {
        d.override_of(a, b);
    } else {  // a check's http, tcp or exec
        d.kind(name.c_str(), a, b, [&](const auto& ka, const auto& kb) {
            differ inner{d.out, d.prefix + name + "."};
            diff_fields(inner, ka, kb);
        });
    }
}

template <class T>
void diff_fields(differ& d, const T& a, const T& b) {
    // A log target's override is listed first (where it always stood), its other fields in the
    // table's order.
    if constexpr (std::is_same_v<T, log_target>) d.override_of(a.override, b.override);
    fields_of<T>::each([&](const field_spec& f, auto member) {
        if constexpr (std::is_same_v<T, log_target> && std::is_same_v<member_t<decltype(member)>, override_kind>) return;
        else diff_field(d, f, a.*member, b.*member);
    });
}

template <class T>
void diff_entries(std::vector<difference>& out, const std::string& section, const std::map<std::string, T>& plan,
                  const std::map<std::string, T>& desired) {
    for (const auto& [name, want] : desired) {
        auto it = plan.find(name);
        const std::string path = section + "." + name;
        if (it == plan.end()) {
            out.push_back({path, "<absent>", "<new entry>"});
            continue;
        }
        // What the plan entry would be once Pebble applies the desired entry.
        const T* after = &want;
        T merged;
        if (want.override == override_kind::merge) {
            merged = it->second;
            merge_entry(merged, want);
            after = &merged;
        }
        if (it->second == *after) continue;  // equal entries differ nowhere, normalized or not
        differ d{out, path + "."};
        diff_fields(d, normalized(it->second), normalized(*after));
    }
}

} // namespace

std::vector<difference> plan_differences(const layer& plan, const layer& desired) {
    std::vector<difference> out;
    diff_entries(out, "services", plan.services, desired.services);
    diff_entries(out, "checks", plan.checks, desired.checks);
    diff_entries(out, "log-targets", plan.log_targets, desired.log_targets);
    return out;
}

} // namespace redispebble
