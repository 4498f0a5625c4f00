// GET and POST /v1/services (Pebble's api_services.go).
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

reply async_reply(const std::string& change) {
    json::object o;
    o["type"] = "async";
    o["status-code"] = 202;
    o["status"] = "Accepted";
    o["change"] = change;
    o["result"] = nullptr;
    return {202, "application/json", json::serialize(o)};
}

} // namespace

reply pebble_server::impl::list_services(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    svc.notice_exits_locked();
    const auto names = t.list("names");
    layer p = plan_locked();
    json::array a;
    for (const auto& [name, cfg] : p.services) {
        if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
        service_t& s = svc.services[name];
        json::object o;
        o["name"] = name;
        o["startup"] = cfg.startup.value_or("disabled") == "enabled" ? "enabled" : "disabled";
        o["current"] = s.current == "starting" ? "active" : s.current;
        o["current-since"] = s.since;
        a.push_back(std::move(o));
    }
    return sync(std::move(a));
}

reply pebble_server::impl::post_services(const json::object& o) {
    reply err;
    const std::string action = str_of(o, "action");
    auto listed = string_list(o, "services", err, "cannot decode data from request body");
    if (!listed) return err;
    std::vector<std::string> names = std::move(*listed);
    std::shared_ptr<change_t> c;
    {
        std::lock_guard<std::mutex> lock(m);
        svc.notice_exits_locked();
        if (action == "replan" || action == "autostart") {
            if (!names.empty()) return error(400, fmt::format("{} accepts no service names", action));
            if (action == "autostart") {
                for (const auto& [n, cfg] : plan_locked().services)
                    if (cfg.startup == "enabled") names.push_back(n);
                if (names.empty()) return error(400, "no default services", "no-default-services");
            }
        } else if (action == "start" || action == "stop" || action == "restart") {
            if (names.empty()) return error(400, fmt::format("must specify services for {} action", action));
        } else {
            return error(400, fmt::format("invalid action \"{}\"", action));
        }
        // Pebble's replan also starts every enabled check that is not running (CheckManager.Replan),
        // before the replan change is made: the check changes have the lower ids. (Pebble skips it
        // when ServiceManager.Replan fails; with no names given, the test server's cannot.)
        if (action == "replan") checks.replan_locked(plan_locked());
        c = changes.services_change_locked(action, names, err);
        if (!c) return err;
        if (c->tasks.empty()) changes.finish_change_locked(*c);
    }
    if (!c->ready) asio::co_spawn(io, changes.run_change(c), asio::detached);
    return async_reply(c->id);
}

} // namespace redispebble::testing
