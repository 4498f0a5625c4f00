// GET /v1/changes, /v1/changes/{id}, POST /v1/changes/{id} (abort), GET /v1/changes/{id}/wait
// (Pebble's api_changes.go).
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

// What a change and a task both begin with: Pebble's id, kind, summary and status.
template <class T>
json::object head_json(const T& x) {
    return json::object{{"id", x.id}, {"kind", x.kind}, {"summary", x.summary}, {"status", x.status}};
}

// o[key]: each of `items` as `item` renders it, left out when there are none (Pebble's omitempty).
template <class Items, class Item>
void put_list(json::object& o, const char* key, const Items& items, Item item) {
    if (items.empty()) return;
    json::array a;
    for (const auto& i : items) a.push_back(item(i));
    o[key] = std::move(a);
}

json::object task_json(const task_t& t) {
    json::object o = head_json(t);
    put_list(o, "log", t.log, [](const std::string& l) { return json::string(l); });
    o["progress"] = json::object{{"label", ""}, {"done", 1}, {"total", 1}};
    o["spawn-time"] = t.spawn_time;
    if (!t.ready_time.empty()) o["ready-time"] = t.ready_time;
    if (!t.data.empty()) o["data"] = t.data;
    return o;
}

json::object change_json(const change_t& c) {
    json::object o = head_json(c);
    put_list(o, "tasks", c.tasks, task_json);
    o["ready"] = c.ready;
    if (!c.err.empty()) o["err"] = c.err;
    o["spawn-time"] = c.spawn_time;
    if (!c.ready_time.empty()) o["ready-time"] = c.ready_time;
    return o;
}

} // namespace

reply pebble_server::impl::list_changes(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    const std::string select = t.get("select").empty() ? "in-progress" : t.get("select");
    const std::string for_service = t.get("for");
    json::array a;
    for (const auto& c : changes.sorted_locked()) {
        if (select == "in-progress" && c->ready) continue;
        if (select == "ready" && !c->ready) continue;
        if (!for_service.empty() &&
            std::none_of(c->tasks.begin(), c->tasks.end(), [&](const task_t& tk) { return tk.service == for_service; }))
            continue;
        a.push_back(change_json(*c));
    }
    return sync(std::move(a));
}

reply pebble_server::impl::change_endpoint(const http::request<http::string_body>& req, const target_t& t) {
    std::string rest = t.path.substr(std::string("/v1/changes/").size());
    const bool wait = rest.size() > 5 && rest.compare(rest.size() - 5, 5, "/wait") == 0;
    if (wait) rest.resize(rest.size() - 5);
    std::lock_guard<std::mutex> lock(m);
    auto c = changes.find_locked(rest);
    if (!c) return error(404, fmt::format("cannot find change with id \"{}\"", rest), "");
    if (req.method() == http::verb::post && !wait) {
        reply err;
        auto v = decode_object(req.body(), err);
        if (!v) return err;
        if (str_of(*v, "action") != "abort")
            return error(400, "change action must be \"abort\"");
        if (c->ready)
            return error(400, fmt::format("cannot abort change {} with nothing pending", rest));
        return sync(change_json(*c));
    }
    return sync(change_json(*c));
}

// /wait needs to suspend: handled by the connection with this coroutine.
awaitable<reply> pebble_server::impl::wait_change(const target_t& t) {
    std::string id = t.path.substr(std::string("/v1/changes/").size());
    id.resize(id.size() - 5);
    std::optional<std::chrono::nanoseconds> timeout;
    if (!t.get("timeout").empty()) {
        auto d = parse_go_duration(t.get("timeout"));
        if (!d) co_return error(400, fmt::format("invalid timeout: \"{}\"", t.get("timeout")));
        timeout = std::chrono::nanoseconds(*d);
    }
    auto timer = std::make_shared<asio::steady_timer>(io);
    std::shared_ptr<change_t> c;
    {
        std::lock_guard<std::mutex> lock(m);
        c = changes.find_locked(id);
        if (!c) co_return error(404, fmt::format("cannot find change with id \"{}\"", id));
        if (c->ready) co_return sync(change_json(*c));
        if (timeout) timer->expires_after(*timeout);
        else timer->expires_at(std::chrono::steady_clock::time_point::max());
        c->waiters.push_back(timer);
    }
    error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    std::lock_guard<std::mutex> lock(m);
    if (c->ready) co_return sync(change_json(*c));
    co_return error(504, fmt::format("timed out waiting for change after {}", t.get("timeout")));
}

} // namespace redispebble::testing
