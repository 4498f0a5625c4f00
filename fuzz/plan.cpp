// parse_plan (GET /v1/plan?format=yaml): only input_error on bad input; an accepted plan
// validates or gives input_error, is emitted by to_plan_yaml without an exception, parses back equal, and differs from
// itself nowhere. The test server renders its plan with the same to_plan_yaml.
#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include "util.hpp"

REDISPEBBLE_FUZZ_TARGET(plan) {
    using namespace redispebble;
    const auto p = fuzz::check_round_trip(
        fuzz::as_text(data, size), "plan", [](std::string_view text, std::string_view source) { return parse_plan(text, source); },
        [](const layer& x) { validate_plan(x); }, [](const layer& x) { return to_plan_yaml(x); }, "to_plan_yaml");
    if (p) FUZZ_CHECK(plan_differences(*p, *p).empty());
    return 0;
}
