// parse_go_duration (Go's time.ParseDuration) never throws; a parsed value formats
// (time.Duration.String) and parses back to the same nanoseconds; any int64 formats and parses back.
#include "fuzz_target.hpp"

#include <redispebble/layer.hpp>

#include <cstring>

REDISPEBBLE_FUZZ_TARGET(go_duration) {
    using namespace redispebble;
    const auto text = fuzz::as_text(data, size);
    if (auto ns = parse_go_duration(text)) {
        const std::string formatted = format_go_duration(*ns);
        const auto back = parse_go_duration(formatted);
        FUZZ_CHECK(back.has_value());
        FUZZ_CHECK(*back == *ns);
    }
    if (size >= sizeof(std::int64_t)) {
        std::int64_t v;
        std::memcpy(&v, data, sizeof v);
        const auto back = parse_go_duration(format_go_duration(v));
        FUZZ_CHECK(back.has_value());
        FUZZ_CHECK(*back == v);
    }
    return 0;
}
