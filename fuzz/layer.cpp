// parse_layer: only input_error on bad input; an accepted layer validates or gives input_error, is emitted by to_yaml
// without an exception, and parses back to the same layer (and the same text).
#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include "util.hpp"

REDISPEBBLE_FUZZ_TARGET(layer) {
    using namespace redispebble;
    layer l;
    try {
        l = parse_layer(fuzz::as_text(data, size));
    } catch (const input_error&) {
        return 0;
    }
    // Pebble parses a layer before it validates it (an entry without override parses, and is
    // refused by the combine): validation gives input_error or nothing, and either way the
    // emitted text parses back to the same layer.
    try {
        validate_layer(l);
    } catch (const input_error&) {
    }
    const std::string yaml = to_yaml(l);
    layer again;
    try {
        again = parse_layer(yaml, "to_yaml output");
    } catch (const input_error& e) {
        std::fprintf(stderr, "to_yaml output does not parse: %s\n%s\n", e.what(), yaml.c_str());
        FUZZ_CHECK(!"to_yaml output parses");
    }
    FUZZ_CHECK(again == l);
    FUZZ_CHECK(to_yaml(again) == yaml);
    return 0;
}
