// GET /v1/logs (Pebble's api_logs.go); follow=true is in server_exec.cpp.
#include "daemon.hpp"

namespace redispebble::testing {

std::string pebble_server::impl::logs_after(std::size_t& pos, const std::vector<std::string>& names, int n) {
    std::lock_guard<std::mutex> lock(m);
    svc.capture_output_locked();
    std::vector<const log_line*> picked;
    const std::size_t from = pos == std::string::npos ? 0 : std::min(pos, logs.size());
    for (std::size_t i = from; i < logs.size(); ++i)
        if (names.empty() || std::find(names.begin(), names.end(), logs[i].service) != names.end()) picked.push_back(&logs[i]);
    if (pos == std::string::npos && n >= 0 && picked.size() > static_cast<std::size_t>(n))
        picked.erase(picked.begin(), picked.end() - n);
    pos = logs.size();
    std::string body;
    for (const auto* l : picked)
        body += json::serialize(json::object{{"time", l->time}, {"service", l->service}, {"message", l->message}}) + "\n";
    return body;
}

reply pebble_server::impl::get_logs(const target_t& t) {
    std::lock_guard<std::mutex> lock(m);
    svc.capture_output_locked();
    const auto names = t.list("services");
    int n = 30;
    if (!t.get("n").empty()) {
        const auto parsed = detail::logs_n(t.get("n"));
        if (!parsed) return error(400, "n must be -1, 0, or a positive integer");
        n = *parsed;
    }
    std::vector<const log_line*> picked;
    for (const auto& l : logs)
        if (names.empty() || std::find(names.begin(), names.end(), l.service) != names.end()) picked.push_back(&l);
    if (n >= 0 && picked.size() > static_cast<std::size_t>(n)) picked.erase(picked.begin(), picked.end() - n);
    std::string body;
    for (const auto* l : picked)
        body += json::serialize(json::object{{"time", l->time}, {"service", l->service}, {"message", l->message}}) + "\n";
    return {200, "application/x-ndjson", std::move(body), true};
}

} // namespace redispebble::testing
