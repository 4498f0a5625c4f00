// parse_plan (GET /v1/plan?format=yaml): only input_error on bad input; an accepted plan
// validates, is emitted by to_plan_yaml without an exception, parses back equal, and differs from
// itself nowhere. The test server renders its plan with the same to_plan_yaml.
#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include "util.hpp"

#include <cmath>

namespace {
/// Issue #14's known layer faults (see fuzz_target.hpp: skip_known): NaN backoff-factor, invalid
/// UTF-8, keys longer than YAML's 1024-character plain-key limit.
bool known_fault(const redispebble::layer& l) {
    auto bad = [](const std::string& s) { return !redispebble::fuzz::valid_utf8(s) || s.size() > 1000; };
    auto bad_opt = [&](const std::optional<std::string>& s) { return s && bad(*s); };
    auto bad_map = [&](const std::map<std::string, std::string>& m) {
        for (const auto& [k, v] : m)
            if (bad(k) || bad(v)) return true;
        return false;
    };
    if (bad_opt(l.summary) || bad_opt(l.description)) return true;
    for (const auto& [n, s] : l.services) {
        if (bad(n) || bad_opt(s.summary) || bad_opt(s.description) || bad_opt(s.command) || bad_map(s.environment) ||
            bad_map(s.on_check_failure) || bad_opt(s.user) || bad_opt(s.group) || bad_opt(s.working_dir))
            return true;
        if (s.backoff_factor && std::isnan(*s.backoff_factor)) return true;
        for (const auto* v : {&s.after, &s.before, &s.requires_})
            for (const auto& x : *v)
                if (bad(x)) return true;
    }
    for (const auto& [n, c] : l.checks) {
        if (bad(n)) return true;
        if (c.http && (bad_opt(c.http->url) || bad_map(c.http->headers))) return true;
        if (c.exec && (bad_opt(c.exec->command) || bad_map(c.exec->environment))) return true;
    }
    for (const auto& [n, t] : l.log_targets) {
        if (bad(n) || bad_opt(t.location) || bad_map(t.labels)) return true;
        for (const auto& x : t.services)
            if (bad(x)) return true;
    }
    return false;
}
} // namespace

REDISPEBBLE_FUZZ_TARGET(plan) {
    using namespace redispebble;
    layer p;
    try {
        p = parse_plan(fuzz::as_text(data, size));
    } catch (const input_error&) {
        return 0;
    }
    if (fuzz::skip_known()) {
        if (known_fault(p)) return 0;
        try {
            validate_plan(p);
        } catch (const input_error&) {
            return 0;  // known: the parse accepts what validation refuses (a service without override)
        }
    }
    validate_plan(p);
    const std::string yaml = to_plan_yaml(p);
    layer again;
    try {
        again = parse_plan(yaml, "to_plan_yaml output");
    } catch (const input_error& e) {
        std::fprintf(stderr, "to_plan_yaml output does not parse: %s\n%s\n", e.what(), yaml.c_str());
        FUZZ_CHECK(!"to_plan_yaml output parses");
    }
    FUZZ_CHECK(again == p);
    FUZZ_CHECK(to_plan_yaml(again) == yaml);
    FUZZ_CHECK(plan_differences(p, p).empty());
    return 0;
}
