// The service log buffer (Pebble's servicelog): the services' output as lines, and the ndjson of
// GET /v1/logs. class log_buffer in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

std::size_t log_buffer::stored_bytes(const log_line& line) {
    // "2006-01-02T15:04:05.000Z" + " [" + service + "] " + message + "\n" (servicelog's formatter)
    return 24 + 2 + line.service.size() + 2 + line.message.size() + 1;
}

void log_buffer::append_output_locked(const std::string& service, const std::string& text) {
    service_lines& s = services_[service];
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        entry e{appended_++, {now_rfc3339_millis(), service, std::move(l)}};
        s.bytes += stored_bytes(e.line);
        s.lines.push_back(std::move(e));
    }
    // Pebble's ring buffer discards the oldest bytes to make room; a line whose first byte is gone
    // is no longer read (its remainder does not parse as a log line).
    while (s.bytes > max_bytes) {
        s.bytes -= stored_bytes(s.lines.front().line);
        s.lines.pop_front();
    }
}

std::vector<std::string> log_buffer::entry_messages(const log_line& line) {
    // api_logs.go parses a service's buffer with a 4096-byte bufio.Reader (logReaderSize): a stored
    // line longer than that comes out in 4096-byte pieces, the first after the "<time> [<service>] "
    // prefix, each later one an entry of its own with the same time and service; the newline ends
    // the last piece and is dropped (a piece that is only the newline is an empty message).
    constexpr std::size_t reader_size = 4096;
    const std::size_t prefix = 24 + 2 + line.service.size() + 2;
    const std::string stored = line.message + "\n";
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t piece = reader_size - std::min(prefix, reader_size); at < stored.size(); piece = reader_size) {
        std::string m = stored.substr(at, piece);
        at += m.size();
        if (!m.empty() && m.back() == '\n' && at == stored.size()) m.pop_back();
        out.push_back(std::move(m));
    }
    return out;
}

std::string log_buffer::ndjson_locked(std::size_t& pos, const std::vector<std::string>& services, int n) const {
    std::vector<const entry*> picked;
    // pos counts every line ever appended; lines dropped before a follower read them are lost to
    // it, and it goes on from the oldest line kept (as a reader of Pebble's ring buffer that the
    // writer overtook).
    const std::size_t from = pos == std::string::npos ? 0 : pos;
    for (const auto& [name, s] : services_) {
        if (!services.empty() && std::find(services.begin(), services.end(), name) == services.end()) continue;
        // The lines of a service are in seq order: skip to the first at or after `from`.
        auto it = std::lower_bound(s.lines.begin(), s.lines.end(), from,
                                   [](const entry& e, std::size_t v) { return e.seq < v; });
        for (; it != s.lines.end(); ++it) picked.push_back(&*it);
    }
    std::sort(picked.begin(), picked.end(), [](const entry* a, const entry* b) { return a->seq < b->seq; });
    const bool last_n = pos == std::string::npos && n >= 0;
    pos = appended_;
    // n counts entries, each piece of a long line one (api_logs.go keeps the last n in a FIFO).
    std::vector<json::object> entries;
    for (const auto* e : picked)
        for (auto& m : entry_messages(e->line))
            entries.push_back(json::object{{"time", e->line.time}, {"service", e->line.service}, {"message", std::move(m)}});
    const std::size_t skip = last_n && entries.size() > static_cast<std::size_t>(n) ? entries.size() - n : 0;
    std::string body;
    for (std::size_t i = skip; i < entries.size(); ++i) body += json::serialize(entries[i]) + "\n";
    return body;
}

} // namespace redispebble::testing
