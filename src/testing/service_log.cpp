// The service log buffer (Pebble's servicelog): the services' output as lines, and the ndjson of
// GET /v1/logs. class log_buffer in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

void log_buffer::append_output_locked(const std::string& service, const std::string& text) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines_.push_back({now_rfc3339(), service, l});
    if (lines_.size() > 10000) {
        lines_.erase(lines_.begin(), lines_.begin() + 5000);
        first_ += 5000;
    }
}

std::string log_buffer::ndjson_locked(std::size_t& pos, const std::vector<std::string>& services, int n) const {
    std::vector<const log_line*> picked;
    // pos counts every line ever appended; lines trimmed before a follower read them are lost to it,
    // and it goes on from the oldest line kept (as a reader of Pebble's ring buffer that the writer
    // overtook).
    const std::size_t from = pos == std::string::npos ? 0 : std::min(pos - std::min(pos, first_), lines_.size());
    for (std::size_t i = from; i < lines_.size(); ++i)
        if (services.empty() || std::find(services.begin(), services.end(), lines_[i].service) != services.end())
            picked.push_back(&lines_[i]);
    if (pos == std::string::npos && n >= 0 && picked.size() > static_cast<std::size_t>(n))
        picked.erase(picked.begin(), picked.end() - n);
    pos = first_ + lines_.size();
    std::string body;
    for (const auto* l : picked)
        body += json::serialize(json::object{{"time", l->time}, {"service", l->service}, {"message", l->message}}) + "\n";
    return body;
}

} // namespace redispebble::testing
