// parse_plan (GET /v1/plan?format=yaml): only input_error on bad input; an accepted plan
// validates or gives input_error, is emitted by to_plan_yaml without an exception, parses back equal, and differs from
// itself nowhere. The test server renders its plan with the same to_plan_yaml.
#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include "util.hpp"

REDISPEBBLE_FUZZ_TARGET(plan) {
    using namespace redispebble;
    layer p;
    try {
        p = parse_plan(fuzz::as_text(data, size));
    } catch (const input_error&) {
        return 0;
    }
    // Pebble parses a layer before it validates it (an entry without override parses, and is
    // refused by the combine): validation gives input_error or nothing, and either way the
    // emitted text parses back to the same layer.
    try {
        validate_plan(p);
    } catch (const input_error&) {
    }
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
