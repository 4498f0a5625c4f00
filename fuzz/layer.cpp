// parse_layer: only input_error on bad input; an accepted layer validates or gives input_error, is emitted by to_yaml
// without an exception, and parses back to the same layer (and the same text).
#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include "util.hpp"

REDISPEBBLE_FUZZ_TARGET(layer) {
    using namespace redispebble;
    fuzz::check_round_trip(
        fuzz::as_text(data, size), "layer", [](std::string_view text, std::string_view source) { return parse_layer(text, source); },
        [](const layer& x) { validate_layer(x); }, [](const layer& x) { return to_yaml(x); }, "to_yaml");
    return 0;
}
