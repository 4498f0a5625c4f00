#include <redispebble/probe.hpp>

#include <charconv>
#include <sstream>

namespace redispebble {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::optional<long long> to_number(std::string_view s) {
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string probe_host(const redis_config& cfg) {
    if (cfg.bind_address == "0.0.0.0") return "127.0.0.1";
    if (cfg.bind_address == "::") return "::1";
    return cfg.bind_address;
}

std::string host_port(const std::string& host, const std::string& port) {
    return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

// redis-cli's own errors, and Redis's error replies as redis-cli prints them in raw mode.
bool is_error_line(std::string_view l) {
    for (std::string_view p : {"ERR", "WRONGPASS", "NOAUTH", "LOADING", "BUSY", "MASTERDOWN", "NOPERM", "MISCONF"})
        if (starts_with(l, p)) return true;
    return false;
}

} // namespace

std::vector<std::string> probe_command(const redis_config& cfg) {
    std::vector<std::string> argv{"redis-cli", "-h", probe_host(cfg), "-p", std::to_string(cfg.port)};
    if (cfg.enable_tls) {
        const std::string s = cfg.storage_path == "/" ? "" : cfg.storage_path;
        argv.insert(argv.end(), {"--tls", "--cacert", s + "/ca.crt"});
        // The unit's certificate only when Redis asks for one (tls-auth-clients yes): under
        // optional Redis verifies a presented certificate, and a server-only one is refused.
        if (cfg.tls_auth_clients == tls_client_auth::yes)
            argv.insert(argv.end(), {"--cert", s + "/redis.crt", "--key", s + "/redis.key"});
    }
    return argv;
}

secret probe_input(const secret& password) {
    static constexpr char hex[] = "0123456789abcdef";
    if (password.empty()) return secret(std::string("PING\nINFO replication\nINFO server\n"));
    std::string in = "AUTH \"";
    for (unsigned char c : password.reveal()) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            in += static_cast<char>(c);
        } else {
            in += "\\x";
            in += hex[c >> 4];
            in += hex[c & 0xf];
        }
    }
    in += "\"\nPING\nINFO replication\nINFO server\n";
    return secret(std::move(in));
}

probe_result parse_probe(const std::string& output, bool auth_sent) {
    probe_result p;
    std::istringstream in(output);
    int answers = auth_sent ? 0 : 1;  // non-INFO answer lines seen: AUTH's (when sent), then PING's
    p.authenticated = !auth_sent;
    bool in_info = false;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // redis-cli's own failures to reach Redis: "Could not connect to Redis at ...", "Could not
        // negotiate a TLS connection: ...", "Error: Connection reset by peer" (no reply came).
        if (starts_with(line, "Could not ") || starts_with(line, "Error: ")) {
            if (p.error.empty()) p.error = line;
            continue;
        }
        if (line.empty()) {
            in_info = false;  // a blank line ends an INFO section (and follows an error reply)
            continue;
        }
        if (starts_with(line, "# ")) {
            in_info = true;
            continue;
        }
        const auto colon = line.find(':');
        if (in_info && colon != std::string::npos) {
            const std::string key = line.substr(0, colon), value = line.substr(colon + 1);
            if (key == "role") p.role = value;
            else if (key == "master_host") p.master_host = value;
            else if (key == "master_port") p.master_port = value;
            else if (key == "master_link_status") p.master_link_status = value;
            else if (key == "master_link_down_since_seconds") p.link_down_since_seconds = to_number(value);
            else if (key == "uptime_in_seconds") p.uptime_seconds = to_number(value);
            continue;
        }
        p.connected = true;
        const bool error = is_error_line(line);
        if (error && p.error.empty()) p.error = line;
        ++answers;
        if (answers == 1) p.authenticated = line == "OK";
        else if (answers == 2) {
            p.pong = line == "PONG";
            if (!auth_sent && starts_with(line, "NOAUTH")) p.authenticated = false;
        }
    }
    return p;
}

std::optional<long long> link_down_seconds(const probe_result& p) {
    if (p.link_down_since_seconds && *p.link_down_since_seconds >= 0) return p.link_down_since_seconds;
    return p.uptime_seconds;
}

probe_verdict assess_probe(const probe_result& p, const redis_config& cfg, const peer_data& peer,
                           std::chrono::seconds link_bound) {
    using k = probe_verdict::kind;
    const std::string here = host_port(probe_host(cfg), std::to_string(cfg.port));
    if (!p.connected)
        return {k::starting, "Redis is not answering on " + here + (p.error.empty() ? "" : ": " + p.error)};
    if (!p.authenticated && !peer.enable_password)
        return {k::refused, "Redis wants a password but peer data has enable-password false: " + p.error};
    if (!p.authenticated)
        return {k::refused, "Redis refused the admin password: " + (p.error.empty() ? "no answer to AUTH" : p.error)};
    if (!p.pong) return {k::starting, "Redis is not ready: " + (p.error.empty() ? "no answer to PING" : p.error)};
    const std::string expected = peer.is_master() ? "master" : "slave";
    if (p.role != expected)
        return {k::starting, "Redis reports role " + (p.role.empty() ? "<none>" : p.role) + ", expected " + expected};
    if (peer.is_master() || p.master_link_status == "up") return {k::healthy, ""};
    const std::string master = host_port(p.master_host.empty() ? peer.current_master : p.master_host,
                                         p.master_port.empty() ? std::to_string(cfg.port) : p.master_port);
    const auto down = link_down_seconds(p);
    if (down && *down >= link_bound.count())
        return {k::link_failed, "Replica of " + master + " cannot sync with its master (link down " +
                                    std::to_string(*down) + " s)"};
    return {k::starting, "Replica of " + master + ": link to the master is down" +
                             (down ? " (" + std::to_string(*down) + " s)" : std::string())};
}

std::vector<std::string> replication_log_lines(const std::vector<std::string>& lines, std::size_t max_lines) {
    // Redis's log line: "PID:R DD Mon YYYY HH:MM:SS.mmm # message"; '#' marks a warning.
    auto warning = [](const std::string& l) { return starts_with(l, "# ") || contains(l, " # "); };
    auto about_master = [](const std::string& l) {
        return contains(l, "MASTER") || contains(l, "SYNC") || contains(l, "replication") || contains(l, "master");
    };
    std::vector<std::string> warnings, related;
    for (const auto& l : lines) {
        if (!about_master(l)) continue;
        related.push_back(l);
        if (warning(l)) warnings.push_back(l);
    }
    std::vector<std::string> picked = !warnings.empty() ? warnings : !related.empty() ? related : lines;
    if (picked.size() > max_lines) picked.erase(picked.begin(), picked.end() - static_cast<std::ptrdiff_t>(max_lines));
    return picked;
}

} // namespace redispebble
