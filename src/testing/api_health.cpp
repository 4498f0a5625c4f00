// GET /v1/health (Pebble's api_health.go).
#include "daemon.hpp"

namespace redispebble::testing {

reply pebble_server::impl::health(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    const std::string level = t.get("level");
    const auto names = t.list("names");
    layer plan = plan_locked();
    bool healthy = true;
    for (const auto& [name, c] : plan.checks) {
        if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
        if (level == "alive" && c.level.value_or("") != "alive") continue;
        if (level == "ready" && c.level.value_or("") == "") { /* unset level counts for ready */ }
        const check_state* st = checks.find_locked(name);
        if (st && st->status == "down") healthy = false;
    }
    return sync(json::object{{"healthy", healthy}}, healthy ? 200 : 502);
}

} // namespace redispebble::testing
