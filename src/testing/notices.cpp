// The notices (Pebble's overlord/state notices.go): the change-update notices the change manager
// reports and the custom ones POST /v1/notices adds. class notice_manager in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

void notice_manager::change_updated_locked(const change_t& c) {
    const std::string t = now_rfc3339();
    // {"kind": K} and the change's notice-data, keys in order as Go's encoding/json writes a map.
    std::map<std::string, std::string> data = c.notice_data;
    data["kind"] = c.kind;
    json::object last_data;
    for (const auto& [k, v] : data) last_data[k] = v;
    for (auto& n : notices_)
        if (n.type == "change-update" && n.key == c.id) {
            n.last = n.repeated = t;
            ++n.occurrences;
            n.last_data = last_data;
            return;
        }
    notice_t n;
    n.id = std::to_string(next_notice_++);
    n.type = "change-update";
    n.key = c.id;
    n.first = n.last = n.repeated = t;
    n.last_data = last_data;
    notices_.push_back(std::move(n));
}

std::string notice_manager::add_custom_locked(const std::string& key, const json::object& data) {
    const std::string now = now_rfc3339();
    for (auto& n : notices_)
        if (n.type == "custom" && n.key == key) {
            ++n.occurrences;
            n.last = n.repeated = now;
            n.last_data = data;
            return n.id;
        }
    notice_t n;
    n.id = std::to_string(next_notice_++);
    n.type = "custom";
    n.key = key;
    n.user_id = 0;
    n.first = n.last = n.repeated = now;
    n.last_data = data;
    notices_.push_back(std::move(n));
    return notices_.back().id;
}

const notice_t* notice_manager::find_locked(const std::string& id) const {
    for (const auto& n : notices_)
        if (n.id == id) return &n;
    return nullptr;
}

std::vector<const notice_t*> notice_manager::select_locked(const std::vector<std::string>& types,
                                                           const std::vector<std::string>& keys) const {
    std::vector<const notice_t*> out;
    for (const auto& n : notices_) {
        if (!types.empty() && std::find(types.begin(), types.end(), n.type) == types.end()) continue;
        if (!keys.empty() && std::find(keys.begin(), keys.end(), n.key) == keys.end()) continue;
        out.push_back(&n);
    }
    return out;
}

} // namespace redispebble::testing
