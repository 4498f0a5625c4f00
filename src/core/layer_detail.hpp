// The layer model's private declarations, shared by its files (src/core/layer*.cpp, yaml_v3.cpp).
// Not installed. Standard library only, as the whole core.
#ifndef REDISPEBBLE_SRC_CORE_LAYER_DETAIL_HPP
#define REDISPEBBLE_SRC_CORE_LAYER_DETAIL_HPP
#include <redispebble/layer.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redispebble::detail {

// validServiceAction: restart, shutdown and ignore everywhere; failure-shutdown only in
// on-success, success-shutdown only in on-failure and on-check-failure.
inline constexpr std::string_view on_success_actions[] = {"restart", "shutdown", "ignore", "failure-shutdown"};
inline constexpr std::string_view on_failure_actions[] = {"restart", "shutdown", "ignore", "success-shutdown"};
inline constexpr std::string_view startup_values[] = {"enabled", "disabled"};
inline constexpr std::string_view check_levels[] = {"alive", "ready"};
inline constexpr std::string_view log_target_types[] = {"loki", "opentelemetry"};  // Pebble v1.26

// True when v is unset, empty or one of `allowed`.
bool empty_or_one_of(const std::optional<std::string>& v, std::span<const std::string_view> allowed);

// ---- The field tables ----------------------------------------------------------------------
// One table per struct (service, check and its http/tcp/exec kinds, log target), in the order
// of Pebble's Go struct (internals/plan/plan.go v1.26), which is the order yaml.v3 writes and we
// write. Parsing (layer.cpp), emission (layer_emit.cpp), merge (layer_merge.cpp) and the semantic
// difference (layer_diff.cpp) all walk these tables: fields_of<T>::each(f) calls
// f(field_spec, member pointer) once a field. What each job does with a field follows from the
// member's type and the spec:
//   member type                 kind      parse                emit              merge (Pebble's rule)
//   optional<string>            text      string               omitempty         set when non-empty
//   optional<string>            choice    one of `choices`     omitempty         set when non-empty
//   optional<string>            duration  Go duration          Go-formatted (*)  set when present
//   optional<int64_t>           integer   yaml.v3 int          (see zero)        set when present (see zero)
//   optional<double>            number    finite, >= at_least  Go %g             set when present
//   vector<string>              list      list of strings      omitempty         appended
//   map<string, string>         map       values in `choices`  omitempty         key by key
//   override_kind               override  merge | replace      when set          not merged
//   optional<http_check> ...    nested    its own table        its own table     field by field
// (*) in to_plan_yaml; to_yaml keeps the text as written.
enum class field_kind { text, choice, duration, integer, number, list, map, override_of, nested };

struct field_spec {
    std::string_view key;  ///< the YAML key
    field_kind kind;
    /// choice: the values allowed; map: the values allowed (empty span: any).
    std::span<const std::string_view> choices{};
    /// integer: 0 means unset (Go's omitempty on a plain int: threshold, port): not written, not
    /// merged. Otherwise (a *int: user-id, group-id) 0 is a value.
    bool zero_is_unset = false;
    /// No omitempty in Pebble's struct: to_plan_yaml writes the field even when empty.
    bool always = false;
    /// number: the smallest value parsing accepts.
    double at_least = 0;
};

// The specs by kind, for the tables below: spec::text("summary"), spec::integer("port", true), ...
namespace spec {
constexpr field_spec text(std::string_view key) { return {key, field_kind::text}; }
constexpr field_spec choice(std::string_view key, std::span<const std::string_view> values) {
    return {key, field_kind::choice, values};
}
constexpr field_spec duration(std::string_view key) { return {key, field_kind::duration}; }
constexpr field_spec integer(std::string_view key, bool zero_is_unset = false) {
    return {key, field_kind::integer, {}, zero_is_unset};
}
constexpr field_spec number(std::string_view key, double at_least) {
    return {key, field_kind::number, {}, false, false, at_least};
}
constexpr field_spec list(std::string_view key) { return {key, field_kind::list}; }
constexpr field_spec map(std::string_view key, std::span<const std::string_view> values = {}) {
    return {key, field_kind::map, values};
}
constexpr field_spec override_field() { return {"override", field_kind::override_of}; }
constexpr field_spec nested(std::string_view key) { return {key, field_kind::nested}; }
// Without omitempty in Pebble's struct.
constexpr field_spec always(field_spec s) {
    s.always = true;
    return s;
}
} // namespace spec

template <class T>
struct fields_of;

// The fields a service and an exec check share: its environment, whom the command runs as, and
// where (Pebble declares them in this order in both structs).
template <class T, class F>
void run_as_fields(F& f) {
    f(spec::map("environment"), &T::environment);
    f(spec::integer("user-id"), &T::user_id);
    f(spec::text("user"), &T::user);
    f(spec::integer("group-id"), &T::group_id);
    f(spec::text("group"), &T::group);
    f(spec::text("working-dir"), &T::working_dir);
}

template <>
struct fields_of<service> {
    template <class F>
    static void each(F&& f) {
        f(spec::text("summary"), &service::summary);
        f(spec::text("description"), &service::description);
        f(spec::choice("startup", startup_values), &service::startup);
        f(spec::override_field(), &service::override);
        f(spec::text("command"), &service::command);
        f(spec::list("after"), &service::after);
        f(spec::list("before"), &service::before);
        f(spec::list("requires"), &service::requires_);
        f(spec::text("workload"), &service::workload);
        run_as_fields<service>(f);
        f(spec::choice("on-success", on_success_actions), &service::on_success);
        f(spec::choice("on-failure", on_failure_actions), &service::on_failure);
        f(spec::map("on-check-failure", on_failure_actions), &service::on_check_failure);
        f(spec::duration("backoff-delay"), &service::backoff_delay);
        f(spec::number("backoff-factor", 1.0), &service::backoff_factor);
        f(spec::duration("backoff-limit"), &service::backoff_limit);
        f(spec::duration("kill-delay"), &service::kill_delay);
    }
};

template <>
struct fields_of<http_check> {
    template <class F>
    static void each(F&& f) {
        f(spec::text("url"), &http_check::url);
        f(spec::map("headers"), &http_check::headers);
    }
};

template <>
struct fields_of<tcp_check> {
    template <class F>
    static void each(F&& f) {
        f(spec::integer("port", true), &tcp_check::port);
        f(spec::text("host"), &tcp_check::host);
    }
};

template <>
struct fields_of<exec_check> {
    template <class F>
    static void each(F&& f) {
        f(spec::text("command"), &exec_check::command);
        f(spec::text("service-context"), &exec_check::service_context);
        run_as_fields<exec_check>(f);
    }
};

template <>
struct fields_of<check> {
    template <class F>
    static void each(F&& f) {
        f(spec::override_field(), &check::override);
        f(spec::choice("level", check_levels), &check::level);
        f(spec::choice("startup", startup_values), &check::startup);
        f(spec::duration("period"), &check::period);
        f(spec::duration("timeout"), &check::timeout);
        f(spec::integer("threshold", true), &check::threshold);
        f(spec::nested("http"), &check::http);
        f(spec::nested("tcp"), &check::tcp);
        f(spec::nested("exec"), &check::exec);
    }
};

template <>
struct fields_of<log_target> {
    template <class F>
    static void each(F&& f) {
        f(spec::always(spec::choice("type", log_target_types)), &log_target::type);
        f(spec::always(spec::text("location")), &log_target::location);
        f(spec::always(spec::list("services")), &log_target::services);
        f(spec::override_field(), &log_target::override);
        f(spec::map("labels"), &log_target::labels);
    }
};

// The member a member pointer names, without its class: member_of<&service::user> is
// std::optional<std::string>.
template <class M>
struct member_type;
template <class C, class M>
struct member_type<M C::*> {
    using type = M;
};
template <class P>
using member_t = typename member_type<P>::type;

enum class style { ours, pebble };

// yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (overflow to ±Inf,
// which Go's ParseFloat reports as an error, is not modelled).
bool yaml_style_float(std::string_view s);

// Ours (sent to Pebble): plain when yaml.v3 would write it plain and it is safe for yaml-cpp to
// read back, double quotes otherwise; never a block scalar.
std::string scalar(const std::string& s, style st, bool key = false, int indent = 0);

std::string key_text(const std::string& k, style st);

// yaml.v3's sorter.go keyList.Less for string keys ("natural" order: digit runs compare by value).
// unicode.IsLetter/IsDigit are approximated: ASCII letters and every non-ASCII code point are
// letters, only 0-9 are digits.
bool v3_key_less(const std::string& a8, const std::string& b8);

// Map keys in the order the style writes them.
template <class V>
std::vector<const std::pair<const std::string, V>*> ordered(const std::map<std::string, V>& m, style st) {
    std::vector<const std::pair<const std::string, V>*> out;
    for (const auto& kv : m) out.push_back(&kv);
    if (st == style::pebble)
        std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return v3_key_less(a->first, b->first); });
    return out;
}

std::string format_float(double v);

// Go's strconv.ParseUint(s, 0, 64) after an optional sign: base prefixes 0x, 0o, 0b and a leading-0
// octal, no underscores. Nothing when s is not such a number or its magnitude exceeds 2^64-1; the
// callers apply ParseInt's range.
struct go_integer {
    bool negative = false;
    std::uint64_t magnitude = 0;
};
std::optional<go_integer> parse_go_integer(std::string_view s);

// Pebble's Merge of one entry onto another (Service.Merge, Check.Merge, LogTarget.Merge): the
// field table's merge rule, field by field. layer_merge.cpp.
void merge_entry(service& s, const service& o);
void merge_entry(check& c, const check& o);
void merge_entry(log_target& t, const log_target& o);

} // namespace redispebble::detail

#endif
