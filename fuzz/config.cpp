// load_config: only input_error on bad input; what it accepts validates, is valid UTF-8 (it goes
// into Pebble's JSON and YAML) and round-trips through to_yaml.
#include "fuzz_target.hpp"
#include "util.hpp"

#include <redispebble/config.hpp>
#include <redispebble/error.hpp>

REDISPEBBLE_FUZZ_TARGET(config) {
    using namespace redispebble;
    const auto accepted = fuzz::accepted([&] { return load_config(fuzz::as_text(data, size)); });
    if (!accepted) return 0;
    const redis_config& cfg = *accepted;
    validate(cfg);  // an accepted config passes the same rules when built in code
    for (const auto* s : {&cfg.storage_path, &cfg.service_name, &cfg.layer_label, &cfg.container_name, &cfg.user,
                          &cfg.group, &cfg.bind_address})
        FUZZ_CHECK(fuzz::valid_utf8(*s));
    const std::string yaml = to_yaml(cfg);
    FUZZ_CHECK(load_config(yaml) == cfg);
    FUZZ_CHECK(to_yaml(load_config(yaml)) == yaml);
    return 0;
}
