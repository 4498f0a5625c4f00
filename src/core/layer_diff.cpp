// The semantic plan comparison: what differs between Pebble's plan and the desired layer once both
// are normalized as Pebble renders them.
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
    // The fields a service and an exec check share: whom the command runs as, and where.
    template <class T>
    void run_as(const std::string& under, const T& a, const T& b) {
        num(under + "user-id", a.user_id, b.user_id);
        opt(under + "user", a.user, b.user);
        num(under + "group-id", a.group_id, b.group_id);
        opt(under + "group", a.group, b.group);
        opt(under + "working-dir", a.working_dir, b.working_dir);
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

void diff_service(differ& d, const service& a, const service& b) {
    d.opt("summary", a.summary, b.summary);
    d.opt("description", a.description, b.description);
    d.opt("startup", a.startup, b.startup);
    d.override_of(a.override, b.override);
    d.opt("command", a.command, b.command);
    d.list("after", a.after, b.after);
    d.list("before", a.before, b.before);
    d.list("requires", a.requires_, b.requires_);
    d.opt("workload", a.workload, b.workload);
    d.map("environment", a.environment, b.environment);
    d.run_as("", a, b);
    d.opt("on-success", a.on_success, b.on_success);
    d.opt("on-failure", a.on_failure, b.on_failure);
    d.map("on-check-failure", a.on_check_failure, b.on_check_failure);
    d.opt("backoff-delay", a.backoff_delay, b.backoff_delay);
    d.num("backoff-factor", a.backoff_factor, b.backoff_factor);
    d.opt("backoff-limit", a.backoff_limit, b.backoff_limit);
    d.opt("kill-delay", a.kill_delay, b.kill_delay);
}

void diff_check(differ& d, const check& a, const check& b) {
    d.override_of(a.override, b.override);
    d.opt("level", a.level, b.level);
    d.opt("startup", a.startup, b.startup);
    d.opt("period", a.period, b.period);
    d.opt("timeout", a.timeout, b.timeout);
    d.num("threshold", a.threshold, b.threshold);
    d.kind("http", a.http, b.http, [&](const http_check& ha, const http_check& hb) {
        d.opt("http.url", ha.url, hb.url);
        d.map("http.headers", ha.headers, hb.headers);
    });
    d.kind("tcp", a.tcp, b.tcp, [&](const tcp_check& ta, const tcp_check& tb) {
        d.num("tcp.port", ta.port, tb.port);
        d.opt("tcp.host", ta.host, tb.host);
    });
    d.kind("exec", a.exec, b.exec, [&](const exec_check& ea, const exec_check& eb) {
        d.opt("exec.command", ea.command, eb.command);
        d.opt("exec.service-context", ea.service_context, eb.service_context);
        d.map("exec.environment", ea.environment, eb.environment);
        d.run_as("exec.", ea, eb);
    });
}

void diff_log_target(differ& d, const log_target& a, const log_target& b) {
    d.override_of(a.override, b.override);
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
