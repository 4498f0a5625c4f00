// GET /v1/notices, /v1/notices/{id}, POST /v1/notices (Pebble's api_notices.go); the notices
// themselves are the notice manager's (notices.cpp), the long-poll is in server_exec.cpp.
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

json::object notice_json(const notice_t& n) {
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

} // namespace

reply pebble_server::impl::notices_endpoint(const http::request<http::string_body>& req, const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    if (t.path != "/v1/notices") {
        const std::string id = t.path.substr(std::string("/v1/notices/").size());
        if (const notice_t* n = notices.find_locked(id)) return sync(notice_json(*n));
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
        json::object data;
        if (auto d = o.find("data"); d != o.end() && d->value().is_object()) data = d->value().as_object();
        return sync(json::object{{"id", notices.add_custom_locked(key, data)}});
    }
    const auto types = t.list("types");
    const auto keys = t.list("keys");
    json::array a;
    for (const notice_t* n : notices.select_locked(types, keys)) a.push_back(notice_json(*n));
    return sync(std::move(a));
}

} // namespace redispebble::testing
