// GET and POST /v1/checks, POST /v1/checks/refresh (Pebble's api_checks.go).
#include "daemon.hpp"

namespace redispebble::testing {

/// The 400 of GET /v1/checks and /v1/health for a `level` that is neither "", "alive" nor "ready".
std::optional<reply> pebble_server::impl::bad_check_level(const std::string& level) {
    if (level.empty() || level == "alive" || level == "ready") return std::nullopt;
    return error(400, "level must be \"alive\" or \"ready\"");
}

/// GET /v1/checks (v1GetChecks): the check manager's checks (CheckManager.Checks), by name, with
/// `level` and `names` filters.
reply pebble_server::impl::list_checks(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    const std::string level = t.get("level");
    if (auto bad = bad_check_level(level)) return *bad;
    const auto names = t.list("names");
    json::array a;
    for (const auto& [name, st] : checks.all_locked()) {
        if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
        if (!level.empty() && st.level != level) continue;
        a.push_back(check_info(name, st));
    }
    return sync(std::move(a));
}

/// POST /v1/checks (Pebble's v1PostChecks, CheckManager.StartChecks/StopChecks): every name is
/// looked up before any check is started or stopped, so a list with an unknown name acts on none:
/// 400 "cannot <action> checks: cannot find checks in plan: <the unknown names, sorted, joined by
/// ', '>". An empty list is 400 "must specify checks for <action> action" (before the action is
/// checked, as Pebble does). `changed` is sorted, and null when nothing changed.
reply pebble_server::impl::post_checks(const json::object& o) {
    reply err;
    const auto action_field = string_field(o, "action", err, "cannot decode data from request body");
    if (!action_field) return err;
    auto names = string_list(o, "checks", err, "cannot decode data from request body");
    if (!names) return err;
    const std::string& action = *action_field;
    if (names->empty()) return error(400, fmt::format("must specify checks for {} action", action));
    if (action != "start" && action != "stop") return error(400, fmt::format("invalid action \"{}\"", action));
    std::lock_guard<std::mutex> lock(m);
    const layer p = plan_locked();
    std::vector<std::string> missing;
    for (const auto& name : *names)
        if (!p.checks.count(name)) missing.push_back(name);
    if (!missing.empty()) {
        std::sort(missing.begin(), missing.end());
        return error(400, fmt::format("cannot {} checks: cannot find checks in plan: {}", action, fmt::join(missing, ", ")));
    }
    std::vector<std::string> changed;
    for (const auto& name : *names) {
        const bool changes_it =
            action == "stop" ? checks.stop_check_locked(name, p.checks.at(name)) : checks.start_check_locked(name, p.checks.at(name));
        if (changes_it) changed.push_back(name);
    }
    if (changed.empty()) return sync(json::object{{"changed", nullptr}});
    std::sort(changed.begin(), changed.end());
    json::array a;
    for (auto& n : changed) a.emplace_back(n);
    return sync(json::object{{"changed", std::move(a)}});
}

/// POST /v1/checks/refresh (Pebble's v1PostChecksRefresh, CheckManager.RefreshCheck): {"name": N}
/// runs the check now. A running check runs with its change's config, counts the result as a
/// periodic run does and its period starts again; a stopped one runs the plan's check as it is
/// (no service-context merged, as Pebble passes plan.Checks[N]) and nothing is recorded.
/// {"info": <check info>, "error": E} with E omitted on success. 400 "must specify check name",
/// 404 "cannot find check with name".
awaitable<reply> pebble_server::impl::refresh_check(const std::string& body) {
    reply err;
    auto v = decode_object(body, err);
    if (!v) co_return err;
    const std::string name = str_of(*v, "name");
    if (name.empty()) co_return error(400, "must specify check name");
    std::pair<redispebble::check, std::string> run;  // the config, and the change running it
    {
        std::lock_guard<std::mutex> lock(m);
        const layer plan = plan_locked();
        auto it = plan.checks.find(name);
        if (it == plan.checks.end()) co_return error(404, fmt::format("cannot find check with name \"{}\"", name));
        run = checks.refresh_config_locked(name, it->second);
    }
    // Run it on a helper thread: an exec check can take up to its timeout.
    auto result = std::make_shared<std::optional<check_manager::check_error>>();
    asio::steady_timer done(io, std::chrono::steady_clock::time_point::max());
    run_helper([this, c = run.first, result, &done] {
        *result = check_manager::run_check(c, stopping);
        asio::post(io, [&done] { done.cancel(); });
    });
    error_code ec;
    co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
    std::lock_guard<std::mutex> lock(m);
    checks.refreshed_locked(name, run.second, *result);
    const check_state* st = checks.find_locked(name);
    json::object out{{"info", check_info(name, st ? *st : check_state{})}};
    if (*result) out["error"] = (*result)->full();
    co_return sync(std::move(out));
}

/// One entry of GET /v1/checks (Pebble's checkInfo): failures and change-id omitted when zero.
json::object pebble_server::impl::check_info(const std::string& name, const check_state& st) {
    json::object o;
    o["name"] = name;
    if (!st.level.empty()) o["level"] = st.level;
    o["startup"] = st.startup;
    o["status"] = st.status;
    o["successes"] = st.successes;
    if (st.failures) o["failures"] = st.failures;
    o["threshold"] = st.threshold;
    if (!st.change_id.empty()) o["change-id"] = st.change_id;
    return o;
}

} // namespace redispebble::testing
