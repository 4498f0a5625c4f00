// redispebble — what the Redis and Sentinel halves of the core share (private: not installed).
#ifndef REDISPEBBLE_SRC_CORE_REDIS_DETAIL_HPP
#define REDISPEBBLE_SRC_CORE_REDIS_DETAIL_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>

#include <string>

namespace redispebble::detail {

/// Adds the service `name` to `l` as every service of our layers is written (redis, its exporter,
/// sentinel; as the reference charm writes them): override replace, `summary`, `command`, the
/// configured user and group, startup enabled. The caller adds the rest (working-dir, environment,
/// after, on-check-failure). redis.cpp.
service& charm_service(layer& l, const std::string& name, std::string summary, std::string command,
                       const redis_config& cfg);

/// Makes `l` = make_layer(cfg, peer, certificates, key) from make_layer(cfg, peer, certificates,
/// another key): the secrets digests of Redis and its exporter, then the fingerprint. redis.cpp,
/// beside make_layer.
void rekey_layer(layer& l, const redis_config& cfg, const peer_data& peer, const secret& key);

} // namespace redispebble::detail

#endif
