// redispebble — what the Redis and Sentinel halves of the core share (private: not installed).
#ifndef REDISPEBBLE_SRC_CORE_REDIS_DETAIL_HPP
#define REDISPEBBLE_SRC_CORE_REDIS_DETAIL_HPP

#include <redispebble/config.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/redis.hpp>

#include <optional>
#include <string>
#include <vector>

namespace redispebble::detail {

/// Adds the service `name` to `l` as every service of our layers is written (redis, its exporter,
/// sentinel; as the reference charm writes them): override replace, `summary`, `command`, the
/// configured user and group, startup enabled. The caller adds the rest (working-dir, environment,
/// after, on-check-failure). redis.cpp.
service& charm_service(layer& l, const std::string& name, std::string summary, std::string command,
                       const redis_config& cfg);

/// What prepare() and rekey() compute once per unit and hand to each step that needs it, instead of
/// each step computing redis_flags() again (six times per unit, each validating the whole config):
/// redis_flags(cfg, peer) and the secrets file's password lines (redis.conf syntax; secret: never
/// logged or printed). Throws as redis_flags() does. redis.cpp.
struct redis_inputs {
    std::vector<redis_flag> flags;
    std::string password_lines;
};
redis_inputs redis_inputs_of(const redis_config& cfg, const peer_data& peer);

/// redis_command(), make_layer(), secrets_file() and secrets_digest() (redis.hpp) from inputs
/// already computed: the public functions compute them and call these. redis.cpp.
std::string redis_command(const redis_config& cfg, const peer_data& peer, const std::vector<redis_flag>& flags);
layer make_layer(const redis_config& cfg, const peer_data& peer, const redis_inputs& in,
                 const std::vector<file_spec>& certificate_files, const secret& secrets_key);
std::optional<file_spec> secrets_file(const redis_config& cfg, const peer_data& peer, const std::string& password_lines,
                                      const secret& secrets_key);
std::string secrets_digest(const redis_config& cfg, const std::string& password_lines, const secret& secrets_key);

/// Makes `l` = make_layer(cfg, peer, certificates, key) from make_layer(cfg, peer, certificates,
/// another key): the secrets digests of Redis and its exporter, then the fingerprint.
/// `password_lines` as in redis_inputs. redis.cpp, beside make_layer.
void rekey_layer(layer& l, const redis_config& cfg, const peer_data& peer, const std::string& password_lines,
                 const secret& key);

} // namespace redispebble::detail

#endif
