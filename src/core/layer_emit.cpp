// Layer emission, our own to control quoting exactly: to_yaml (what we send to Pebble) and
// to_plan_yaml (yaml.v3-compatible, as Pebble renders GET /v1/plan).
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

// The fields a service and an exec check share: whom the command runs as, and where.
template <class T>
void emit_run_as(emitter& e, const T& x, int d) {
    e.integer("user-id", x.user_id, d, false);
    e.str("user", x.user, d);
    e.integer("group-id", x.group_id, d, false);
    e.str("group", x.group, d);
    e.str("working-dir", x.working_dir, d);
}

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
    emit_run_as(e, s, d);
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
        emit_run_as(e, *c.exec, d + 1);
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
    // Each section: its key, then each entry (in the style's order) as a mapping of its fields.
    const auto section = [&](const char* key, const auto& entries, auto emit_entry) {
        if (entries.empty()) return;
        e.begin(key, 0);
        for (const auto* kv : ordered(entries, st)) {
            e.begin(kv->first, 1);
            const std::size_t mark = e.mark();
            emit_entry(e, kv->second, 2);
            e.end_mapping(mark);
        }
    };
    section("services", l.services, emit_service);
    section("checks", l.checks, emit_check);
    section("log-targets", l.log_targets, emit_log_target);
    std::string out = e.take();
    return out.empty() ? "{}\n" : out;
}

} // namespace

std::string to_yaml(const layer& l) { return emit(l, style::ours, 2); }

std::string to_plan_yaml(const layer& plan) {
    layer p = plan;
    for (auto& [name, c] : p.checks)
        if (!c.threshold || *c.threshold == 0) c.threshold = 3;
    return emit(p, style::pebble, 4);
}

} // namespace redispebble
