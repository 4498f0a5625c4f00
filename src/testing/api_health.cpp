// GET /v1/health (Pebble's api_health.go).
#include "daemon.hpp"

namespace redispebble::testing {

/// v1Health: unhealthy (502) when a matching check of the check manager is down (inactive ones
/// are ignored). A check matches `level` when no level is asked, when its level is the one asked,
/// or when "ready" is asked and it is "alive" (ready implies alive): a check without a level
/// matches no level asked for.
reply pebble_server::impl::health(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    const std::string level = t.get("level");
    if (auto bad = bad_check_level(level)) return *bad;
    const auto names = t.list("names");
    bool healthy = true;
    for (const auto& [name, st] : checks.all_locked()) {
        if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
        const bool level_match = level.empty() || level == st.level || (level == "ready" && st.level == "alive");
        if (level_match && st.status == "down") healthy = false;
    }
    return sync(json::object{{"healthy", healthy}}, healthy ? 200 : 502);
}

} // namespace redispebble::testing
