// redispebble — Pebble's layer model: YAML in and out, merge and combine, semantic comparison.
// Standard library only. Field names and semantics follow Pebble's internals/plan/plan.go (v1.26).
#ifndef REDISPEBBLE_LAYER_HPP
#define REDISPEBBLE_LAYER_HPP

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// `override:` of a service, check or log target. `unset` is only valid in a combined plan
/// (Pebble requires it in every layer it is given).
enum class override_kind { unset, merge, replace };

struct service {
    std::optional<std::string> summary;
    std::optional<std::string> description;
    std::optional<std::string> startup;        ///< "enabled" | "disabled"
    override_kind override = override_kind::unset;
    std::optional<std::string> command;        ///< split by Pebble with shell-like rules; see shlex.hpp
    std::vector<std::string> after;            ///< merge: appended
    std::vector<std::string> before;           ///< merge: appended
    std::vector<std::string> requires_;        ///< `requires`; merge: appended
    std::optional<std::string> workload;
    std::map<std::string, std::string> environment; ///< merge: key by key
    std::optional<std::int64_t> user_id;
    std::optional<std::string> user;
    std::optional<std::int64_t> group_id;
    std::optional<std::string> group;
    std::optional<std::string> working_dir;
    std::optional<std::string> on_success;     ///< restart | shutdown | failure-shutdown | success-shutdown | ignore
    std::optional<std::string> on_failure;
    std::map<std::string, std::string> on_check_failure; ///< check name -> action; merge: key by key
    std::optional<std::string> backoff_delay;  ///< Go duration as written ("500ms")
    std::optional<double> backoff_factor;
    std::optional<std::string> backoff_limit;  ///< Go duration
    std::optional<std::string> kill_delay;     ///< Go duration

    friend bool operator==(const service&, const service&) = default;
};

struct http_check {
    std::optional<std::string> url;
    std::map<std::string, std::string> headers;
    friend bool operator==(const http_check&, const http_check&) = default;
};

struct tcp_check {
    std::optional<std::int64_t> port;
    std::optional<std::string> host;
    friend bool operator==(const tcp_check&, const tcp_check&) = default;
};

struct exec_check {
    std::optional<std::string> command;
    std::optional<std::string> service_context;
    std::map<std::string, std::string> environment;
    std::optional<std::int64_t> user_id;
    std::optional<std::string> user;
    std::optional<std::int64_t> group_id;
    std::optional<std::string> group;
    std::optional<std::string> working_dir;
    friend bool operator==(const exec_check&, const exec_check&) = default;
};

struct check {
    override_kind override = override_kind::unset;
    std::optional<std::string> level;          ///< "alive" | "ready"
    std::optional<std::string> startup;        ///< "enabled" | "disabled"
    std::optional<std::string> period;         ///< Go duration, default 10s
    std::optional<std::string> timeout;        ///< Go duration, default 3s
    std::optional<std::int64_t> threshold;     ///< default 3
    std::optional<http_check> http;            ///< exactly one of http, tcp, exec
    std::optional<tcp_check> tcp;
    std::optional<exec_check> exec;
    friend bool operator==(const check&, const check&) = default;
};

struct log_target {
    override_kind override = override_kind::unset;
    std::optional<std::string> type;           ///< "loki" | "opentelemetry" (Pebble v1.26)
    std::optional<std::string> location;
    std::vector<std::string> services;         ///< merge: appended
    std::map<std::string, std::string> labels; ///< merge: key by key
    friend bool operator==(const log_target&, const log_target&) = default;
};

/// A layer, or a combined plan (same shape; a plan has no summary or description).
struct layer {
    std::optional<std::string> summary;
    std::optional<std::string> description;
    std::map<std::string, service> services;
    std::map<std::string, check> checks;
    std::map<std::string, log_target> log_targets;
    friend bool operator==(const layer&, const layer&) = default;
};

/// Parses a layer as a user writes it (2-space or any indentation). Strict like Pebble: unknown
/// fields, wrong types, bad enum values and malformed durations are input_error with line and key.
/// `override` is not required here (plans omit nothing, but layers under construction may);
/// validate_layer() checks what Pebble checks when a layer is added.
[[nodiscard]] layer parse_layer(std::string_view yaml, std::string_view source = "layer");

/// Parses what `GET /v1/plan?format=yaml` returns (`"{}\n"` for an empty plan).
[[nodiscard]] layer parse_plan(std::string_view yaml, std::string_view source = "plan");

/// Checks what Pebble checks of the layer itself on `POST /v1/layers` (Layer.Validate and the
/// override check of CombineLayers), with Pebble's messages: every service, check and log target
/// has an override; reserved label prefix and service names; commands that split; actions valid
/// for their field; backoff-factor >= 1; check level/startup values, non-zero period/timeout; at
/// most one of http/tcp/exec; log target types and reserved label names. What only the combined
/// plan decides (a command, exactly one check type...) is validate_plan's. Throws input_error.
void validate_layer(const layer& l, std::string_view label = "layer");

/// Checks what Pebble checks on the combined plan when a layer is added (Plan.Validate, without
/// the before/after loop detection): every service has a command; every service it `requires` is
/// in the plan (checkCycles: `service "x" does not exist`); every check has exactly one of
/// http/tcp/exec with its url/port/command set and an existing service-context; every log target
/// has a type, a location and known services. Throws input_error with Pebble's message.
void validate_plan(const layer& plan, std::string_view source = "plan");

/// YAML for `POST /v1/layers`: 2-space indentation, fields in Pebble's order, every string that
/// needs it quoted. parse_layer(to_yaml(l)) == l for every layer.
[[nodiscard]] std::string to_yaml(const layer& l);

/// The YAML Pebble's `GET /v1/plan` renders for a combined plan: 4-space indentation, Go struct
/// field order, map keys sorted, summary/description of the layer dropped, environment values as
/// strings. Used by the test server; byte-identical to Pebble v1.26 for the transcripts.
[[nodiscard]] std::string to_plan_yaml(const layer& plan);

/// Pebble's merge of `upper` onto `base` (one layer over another, or `combine: true` into an
/// existing label): per entry, `override: replace` replaces, `merge` merges field by field
/// (scalars overwrite, maps merge key by key, lists append).
void merge_into(layer& base, const layer& upper);

/// The plan of a stack of layers, lowest first.
[[nodiscard]] layer combine(const std::vector<layer>& layers);

/// One difference between the current plan and what it would be with the desired layer.
struct difference {
    std::string path;     ///< "services.redis.command", "services.redis.environment.X", "services.redis"
    std::string current;  ///< rendered current value, "" when absent ("<absent>" for whole entries)
    std::string desired;  ///< rendered desired value
    friend bool operator==(const difference&, const difference&) = default;
};

/// What adding `desired` (combine) would change in `plan`, restricted to the entries `desired`
/// names. Semantic: equal when Pebble would render the same plan (environment null == "", Go
/// durations by value so `1m` == `1m0s`, check defaults such as threshold 3, list-append merges,
/// key order, quoting, indentation). Every value that differs is listed; empty means "no change".
[[nodiscard]] std::vector<difference> plan_differences(const layer& plan, const layer& desired);

/// Parses a Go duration ("1m30s", "500ms", "1.5h") to nanoseconds; nullopt when malformed.
[[nodiscard]] std::optional<std::int64_t> parse_go_duration(std::string_view text) noexcept;
/// Renders nanoseconds the way Go's time.Duration.String() does ("1m0s", "500ms", "0s").
[[nodiscard]] std::string format_go_duration(std::int64_t nanoseconds);

[[nodiscard]] std::string_view to_string(override_kind o) noexcept;

} // namespace redispebble

#endif
