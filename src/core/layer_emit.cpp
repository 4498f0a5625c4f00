// Layer emission, our own to control quoting exactly: to_yaml (what we send to Pebble) and
// to_plan_yaml (yaml.v3-compatible, as Pebble renders GET /v1/plan).
#include "layer_detail.hpp"

#include <string>
#include <type_traits>

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
    void integer(const std::string& key, const std::optional<std::int64_t>& v, int depth, bool omit_zero) {
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

// An entry's fields as its table says (layer_detail.hpp), at depth d.
template <class T>
void emit_entry(emitter& e, const T& x, int d);

template <class M>
void emit_field(emitter& e, const field_spec& f, const M& v, int d) {
    const std::string key(f.key);
    if constexpr (std::is_same_v<M, std::optional<std::string>>) {
        if (f.kind == field_kind::duration) e.duration(key, v, d);
        else if (f.always && e.kind() == style::pebble) e.str_always(key, v.value_or(""), d);
        else e.str(key, v, d);
    } else if constexpr (std::is_same_v<M, std::optional<std::int64_t>>) {
        e.integer(key, v, d, f.zero_is_unset);
    } else if constexpr (std::is_same_v<M, std::optional<double>>) {
        if (v) e.raw(key, format_float(*v), d);
    } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
        e.list(key, v, d, f.always && e.kind() == style::pebble);
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
        e.map(key, v, d);
    } else if constexpr (std::is_same_v<M, override_kind>) {
        if (v != override_kind::unset) e.str(key, std::string(to_string(v)), d);
    } else if (v) {  // a check's http, tcp or exec
        e.begin(key, d);
        emit_entry(e, *v, d + 1);
    }
}

template <class T>
void emit_entry(emitter& e, const T& x, int d) {
    fields_of<T>::each([&](const field_spec& f, auto member) { emit_field(e, f, x.*member, d); });
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
    section("services", l.services, emit_entry<service>);
    section("checks", l.checks, emit_entry<check>);
    section("log-targets", l.log_targets, emit_entry<log_target>);
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
