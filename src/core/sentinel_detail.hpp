// Sentinel's private declarations, shared by sentinel.cpp and sentinel_machine.cpp. Not installed.
// Standard library only, as the whole core.
#ifndef REDISPEBBLE_SRC_CORE_SENTINEL_DETAIL_HPP
#define REDISPEBBLE_SRC_CORE_SENTINEL_DETAIL_HPP
#include <redispebble/config.hpp>

#include <string>
#include <string_view>

namespace redispebble::detail {

// The directory of sentinel-config-path ("/" for a file at the root): Sentinel's working
// directory, where it rewrites its file and where the certificate files go.
inline std::string config_dir(const redis_config& cfg) {
    const auto slash = cfg.sentinel_config_path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : cfg.sentinel_config_path.substr(0, slash);
}

// The configuration with the config file's directory as storage-path: where the certificate
// files go in the Sentinel container.
inline redis_config in_sentinel_dir(const redis_config& cfg) {
    redis_config there = cfg;
    there.storage_path = config_dir(cfg);
    return there;
}

} // namespace redispebble::detail

#endif
