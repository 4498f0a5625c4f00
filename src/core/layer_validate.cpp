// Layer.Validate and Plan.Validate (internals/plan/plan.go): Pebble's messages, before any I/O.
#include "layer_detail.hpp"

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <fmt/core.h>

#include <cmath>

namespace redispebble {

using namespace detail;

void validate_layer(const layer& l, std::string_view label) {
    // Layer.Validate, CombineLayers' override check, and those of Plan.Validate that a `replace`
    // entry decides alone (its combined entry is the entry itself). Messages are Pebble's.
    const std::string src = std::string(label);
    auto fail = [&](const std::string& key, const std::string& msg) { throw input_error(src, 0, 0, key, msg); };
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
        if (!empty_or_one_of(s.on_success, on_success_actions))
            fail(path + ".on-success", fmt::format("plan service \"{}\" on-success action \"{}\" invalid", name, *s.on_success));
        if (!empty_or_one_of(s.on_failure, on_failure_actions))
            fail(path + ".on-failure", fmt::format("plan service \"{}\" on-failure action \"{}\" invalid", name, *s.on_failure));
        for (const auto& [check, action] : s.on_check_failure)
            if (!empty_or_one_of(action, on_failure_actions))
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
        if (!empty_or_one_of(c.level, check_levels))
            fail(path + ".level", fmt::format("plan check \"{}\" level must be \"alive\" or \"ready\"", name));
        if (!empty_or_one_of(c.startup, startup_values))
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
        if (!empty_or_one_of(t.type, log_target_types))
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

} // namespace redispebble
