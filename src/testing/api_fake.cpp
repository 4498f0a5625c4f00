// server_options::fake_endpoints: GET /v1/fake/record and POST /v1/fake/faults (not Pebble's).
#include "daemon.hpp"

namespace redispebble::testing {

// server_options::fake_endpoints: GET /v1/fake/record, POST /v1/fake/faults. Runs on the io
// thread, so the listener is closed and reopened here directly (inject() and clear_faults()
// post to this thread and wait).
reply pebble_server::impl::fake_endpoint(const http::request<http::string_body>& req, const target_t& t) {
    auto not_allowed = [&] {
        return error(405, fmt::format(FMT_STRING("method \"{}\" not allowed"), std::string(req.method_string())));
    };
    if (t.path == "/v1/fake/record") {
        if (req.method() != http::verb::get) return not_allowed();
        server_record copy;
        {
            std::lock_guard<std::mutex> lock(m);
            copy = rec;
        }
        return sync(json::parse(record_json(copy)));
    }
    if (t.path != "/v1/fake/faults") return error(404, "invalid API endpoint requested");
    if (req.method() != http::verb::post) return not_allowed();
    reply err;
    auto v = decode_object(req.body(), err);
    if (!v) return err;
    const json::object& o = *v;
    const std::string name = str_of(o, "fault");
    static const std::map<std::string, fault> kinds{{"none", fault::none},
                                                    {"close-mid-response", fault::close_mid_response},
                                                    {"delay", fault::delay},
                                                    {"garbage", fault::garbage},
                                                    {"refuse", fault::refuse}};
    auto kind = kinds.find(name);
    if (kind == kinds.end())
        return error(400, fmt::format(FMT_STRING("invalid fault \"{}\" (want none, close-mid-response, delay, garbage or refuse)"), name));
    std::int64_t count = 1;
    if (auto it = o.find("count"); it != o.end()) {
        if (!it->value().is_int64() || it->value().as_int64() < 1 || it->value().as_int64() > 1000000)
            return error(400, fmt::format(FMT_STRING("invalid count {} (want an integer from 1 to 1000000)"), json::serialize(it->value())));
        count = it->value().as_int64();
    }
    std::chrono::milliseconds delay{0};
    if (auto it = o.find("delay"); it != o.end()) {
        // A plain integer, -1 when absent or unparsable: GCC 12 at -Os reports a false
        // maybe-uninitialized on the std::optional form (found by scripts/build-matrix.sh).
        std::int64_t ns = -1;
        if (it->value().is_string())
            if (const auto parsed = parse_go_duration(std::string(it->value().as_string()))) ns = *parsed;
        if (ns < 0 || ns > std::int64_t(3600) * 1000000000)
            return error(400, fmt::format(FMT_STRING("invalid delay {} (want a Go duration up to 1h, such as \"500ms\")"), json::serialize(it->value())));
        delay = std::chrono::milliseconds(ns / 1000000);
    } else if (kind->second == fault::delay) {
        return error(400, "fault \"delay\" needs a \"delay\" (a Go duration, such as \"500ms\")");
    }
    fault_target target;
    for (const char* key : {"method", "path"}) {
        auto it = o.find(key);
        if (it == o.end()) continue;
        if (!it->value().is_string())
            return error(400, fmt::format(FMT_STRING("invalid {} {} (want a string)"), key, json::serialize(it->value())));
        (std::string_view(key) == "method" ? target.method : target.path) = std::string(it->value().as_string());
    }
    if (auto it = o.find("at"); it != o.end()) {
        if (!it->value().is_int64() || it->value().as_int64() < 1 || it->value().as_int64() > 1000000)
            return error(400, fmt::format(FMT_STRING("invalid at {} (want an integer from 1 to 1000000)"), json::serialize(it->value())));
        target.at = static_cast<int>(it->value().as_int64());
    }
    if (kind->second == fault::refuse && (!target.method.empty() || !target.path.empty() || target.at != 1))
        return error(400, "fault \"refuse\" closes the listener: it takes no method, path or at");
    json::object result{{"fault", name}};
    error_code ec;
    if (kind->second == fault::refuse) {
        acceptor->close(ec);  // the socket file stays: connecting is refused until "none"
    } else if (kind->second == fault::none) {
        {
            std::lock_guard<std::mutex> lock(m);
            next_fault = fault::none;
            fault_count = 0;
            fault_at = {};
        }
        if (!acceptor->is_open()) listen();
    } else {
        std::lock_guard<std::mutex> lock(m);
        next_fault = kind->second;
        fault_count = static_cast<int>(count);
        fault_delay = delay;
        fault_at = target;
        result["count"] = count;
        if (!target.method.empty()) result["method"] = target.method;
        if (!target.path.empty()) result["path"] = target.path;
        if (!target.method.empty() || !target.path.empty() || target.at != 1) result["at"] = target.at;
        if (kind->second == fault::delay) result["delay"] = format_go_duration(delay.count() * 1000000);
    }
    return sync(std::move(result));
}

} // namespace redispebble::testing
