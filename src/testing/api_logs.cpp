// GET /v1/logs (Pebble's api_logs.go); follow=true is in server_exec.cpp.
#include "daemon.hpp"

namespace redispebble::testing {

std::string pebble_server::impl::logs_after(std::size_t& pos, const std::vector<std::string>& names, int n) {
    std::lock_guard<std::mutex> lock(m);
    svc.capture_output_locked();
    return logs.ndjson_locked(pos, names, n);
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
    std::size_t from_start = std::string::npos;  // the last n of all
    return {200, "application/x-ndjson", logs.ndjson_locked(from_start, names, n), true};
}

} // namespace redispebble::testing
