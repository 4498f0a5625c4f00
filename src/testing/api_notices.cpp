// GET /v1/notices, /v1/notices/{id}, POST /v1/notices and the change-update notices (Pebble's
// api_notices.go); the long-poll is in server_exec.cpp.
#include "daemon.hpp"

namespace redispebble::testing {

void pebble_server::impl::notify_change_locked(const change_t& c) {
    const std::string t = now_rfc3339();
    for (auto& n : notices)
        if (n.type == "change-update" && n.key == c.id) {
            n.last = n.repeated = t;
            ++n.occurrences;
            n.last_data = {{"kind", c.kind}};
            return;
        }
    notice_t n;
    n.id = std::to_string(next_notice++);
    n.type = "change-update";
    n.key = c.id;
    n.first = n.last = n.repeated = t;
    n.last_data = {{"kind", c.kind}};
    notices.push_back(std::move(n));
}

json::object pebble_server::impl::notice_json(const notice_t& n) {
    json::object o;
    o["id"] = n.id;
    if (n.user_id) o["user-id"] = *n.user_id;
    else o["user-id"] = nullptr;
    o["type"] = n.type;
    o["key"] = n.key;
    o["first-occurred"] = n.first;
    o["last-occurred"] = n.last;
    o["last-repeated"] = n.repeated;
    o["occurrences"] = n.occurrences;
    if (!n.last_data.empty()) o["last-data"] = n.last_data;
    o["expire-after"] = "168h0m0s";
    return o;
}

reply pebble_server::impl::notices_endpoint(const http::request<http::string_body>& req, const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    if (t.path != "/v1/notices") {
        const std::string id = t.path.substr(std::string("/v1/notices/").size());
        for (const auto& n : notices)
            if (n.id == id) return sync(notice_json(n));
        return error(404, fmt::format("cannot find notice with ID \"{}\"", id), "not-found");
    }
    if (req.method() == http::verb::post) {
        reply err;
        auto v = decode_object(req.body(), err);
        if (!v) return err;
        const json::object& o = *v;
        if (str_of(o, "action") != "add") return error(400, fmt::format("invalid action \"{}\"", str_of(o, "action")));
        if (str_of(o, "type") != "custom") return error(400, "invalid type \"" + str_of(o, "type") + "\"");
        const std::string key = str_of(o, "key");
        if (key.empty()) return error(400, "invalid key \"\"");
        const std::string now = now_rfc3339();
        json::object data;
        if (auto d = o.find("data"); d != o.end() && d->value().is_object()) data = d->value().as_object();
        for (auto& n : notices)
            if (n.type == "custom" && n.key == key) {
                ++n.occurrences;
                n.last = n.repeated = now;
                n.last_data = data;
                return sync(json::object{{"id", n.id}});
            }
        notice_t n;
        n.id = std::to_string(next_notice++);
        n.type = "custom";
        n.key = key;
        n.user_id = 0;
        n.first = n.last = n.repeated = now;
        n.last_data = data;
        notices.push_back(n);
        return sync(json::object{{"id", n.id}});
    }
    const auto types = t.list("types");
    const auto keys = t.list("keys");
    json::array a;
    for (const auto& n : notices) {
        if (!types.empty() && std::find(types.begin(), types.end(), n.type) == types.end()) continue;
        if (!keys.empty() && std::find(keys.begin(), keys.end(), n.key) == keys.end()) continue;
        a.push_back(notice_json(n));
    }
    return sync(std::move(a));
}

} // namespace redispebble::testing
