// The Pebble-compatible test server. One io_context thread serves HTTP and runs changes; blocking
// work (stopping a process within its kill-delay, running exec checks) runs on helper threads and
// reports back through the io_context. State is guarded by one mutex.
#include <redispebble/testing/server.hpp>

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/shlex.hpp>
#include <redispebble/utf8.hpp>
#include <redispebble/testing/process.hpp>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fmt/core.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <cstring>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include "accounts.hpp"

#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace redispebble::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;
using error_code = boost::system::error_code;
using local = asio::local::stream_protocol;

namespace detail {
// Go's strconv.Atoi for `?n=` of /v1/logs, clamped to int; nullopt when Pebble answers 400
// "n must be -1, 0, or a positive integer" (not a number, or below -1). In testing_server_exec.cpp.
std::optional<int> logs_n(const std::string& text);
// Exec, logs follow and the notices long-poll: src/testing_server_exec.cpp. 0: not ours; 1: answered;
// 2: answered and the connection taken over (websocket) or finished.
awaitable<int> serve_streaming(server_host& host, beast::basic_stream<local, asio::any_io_executor>& stream,
                               http::request<http::string_body>& req, const std::string& path,
                               const std::multimap<std::string, std::string>& query);
} // namespace detail

namespace {

std::string now_rfc3339(bool nanos = true) {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count();
    const std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    if (nanos && ns) {
        std::string frac = fmt::format("{:09d}", ns);
        while (!frac.empty() && frac.back() == '0') frac.pop_back();
        out += "." + frac;
    }
    return out + "Z";
}

const char* status_text(unsigned code) {
    switch (code) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    }
    return "Unknown";
}

struct reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    bool chunked = false;
};

reply sync(json::value result, unsigned status = 200) {
    json::object o;
    o["type"] = "sync";
    o["status-code"] = status;
    o["status"] = status_text(status);
    o["result"] = std::move(result);
    return {status, "application/json", json::serialize(o)};
}

reply async_reply(const std::string& change) {
    json::object o;
    o["type"] = "async";
    o["status-code"] = 202;
    o["status"] = "Accepted";
    o["change"] = change;
    o["result"] = nullptr;
    return {202, "application/json", json::serialize(o)};
}

reply error(unsigned status, const std::string& message, const std::string& kind = "") {
    json::object r;
    r["message"] = message;
    if (!kind.empty()) r["kind"] = kind;
    json::object o;
    o["type"] = "error";
    o["status-code"] = status;
    o["status"] = status_text(status);
    o["result"] = std::move(r);
    return {status, "application/json", json::serialize(o)};
}

// Parsed request target.
struct target_t {
    std::string path;
    std::multimap<std::string, std::string> query;
    std::string get(const std::string& k) const {
        auto it = query.find(k);
        return it == query.end() ? "" : it->second;
    }
    std::vector<std::string> all(const std::string& k) const {
        std::vector<std::string> out;
        for (auto [a, b] = query.equal_range(k); a != b; ++a) out.push_back(a->second);
        return out;
    }
    std::vector<std::string> list(const std::string& k) const {  // "a,b" style
        std::vector<std::string> out;
        for (const auto& v : all(k)) {
            std::stringstream ss(v);
            for (std::string item; std::getline(ss, item, ',');)
                if (!item.empty()) out.push_back(item);
        }
        return out;
    }
};

// Go's url.QueryUnescape: %XX (two hex digits) and '+' for a space; nullopt for a malformed escape.
std::optional<std::string> url_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+') {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

// Go's url.ParseQuery as Request.URL.Query() uses it: pairs split on '&', a pair whose key or
// value has a malformed escape is dropped (Query() ignores the error), the rest kept. Pebble
// answers `?names=%zz` as if no names were given.
target_t parse_target(std::string_view t) {
    target_t out;
    auto q = t.find('?');
    out.path = std::string(t.substr(0, q));
    if (q == std::string_view::npos) return out;
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view kv = rest.substr(0, amp);
        auto eq = kv.find('=');
        auto key = url_decode(kv.substr(0, eq));
        auto value = eq == std::string_view::npos ? std::optional<std::string>("") : url_decode(kv.substr(eq + 1));
        // (Go 1.17 on also drops a pair holding a ';'.)
        if (key && value && !kv.empty() && kv.find(';') == std::string_view::npos) out.query.emplace(std::move(*key), std::move(*value));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

// Go's json.Decoder error for a body that ends early.
std::optional<json::value> decode_body(const std::string& body, reply& err) {
    error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        err = error(400, body.empty() || ec == json::error::incomplete || ec == json::error::syntax
                             ? "cannot decode data from request body: unexpected EOF"
                             : "cannot decode data from request body: " + ec.message());
        return std::nullopt;
    }
    return v;
}

std::string str_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}
bool bool_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_bool() && it->value().as_bool();
}
std::optional<std::int64_t> int_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::nullopt;
    return it->value().to_number<std::int64_t>();
}

std::string random_hex(std::size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out;
    while (out.size() < n) out += fmt::format("{:016x}", rng());
    return out.substr(0, n);
}

struct task_t {
    std::string id, kind, summary, status = "Do", service;
    std::vector<std::string> log;
    std::string spawn_time, ready_time;
    json::object data;  // exec: {"exit-code": N}
};

struct change_t {
    std::string id, kind, summary, status = "Do";
    std::vector<task_t> tasks;
    bool ready = false;
    std::string err, spawn_time, ready_time;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

json::object task_json(const task_t& t) {
    json::object o;
    o["id"] = t.id;
    o["kind"] = t.kind;
    o["summary"] = t.summary;
    o["status"] = t.status;
    if (!t.log.empty()) {
        json::array a;
        for (const auto& l : t.log) a.push_back(json::string(l));
        o["log"] = std::move(a);
    }
    o["progress"] = json::object{{"label", ""}, {"done", 1}, {"total", 1}};
    o["spawn-time"] = t.spawn_time;
    if (!t.ready_time.empty()) o["ready-time"] = t.ready_time;
    if (!t.data.empty()) o["data"] = t.data;
    return o;
}

json::object change_json(const change_t& c) {
    json::object o;
    o["id"] = c.id;
    o["kind"] = c.kind;
    o["summary"] = c.summary;
    o["status"] = c.status;
    if (!c.tasks.empty()) {
        json::array a;
        for (const auto& t : c.tasks) a.push_back(task_json(t));
        o["tasks"] = std::move(a);
    }
    o["ready"] = c.ready;
    if (!c.err.empty()) o["err"] = c.err;
    o["spawn-time"] = c.spawn_time;
    if (!c.ready_time.empty()) o["ready-time"] = c.ready_time;
    return o;
}

struct service_t {
    std::string current = "inactive";
    std::string since = now_rfc3339();
    bool ever_started = false;
    bool stopping = false;
    std::shared_ptr<child_process> process;
    std::optional<redispebble::service> started_with;  // config at start (for replan)
    std::size_t output_seen = 0;
    int backoff_attempts = 0;
};

struct check_state {
    bool stopped = false;
    int successes = 0, failures = 0;
    std::string status = "up";
    std::chrono::steady_clock::time_point next_run{};
    std::string change_id;  ///< the running perform-check or recover-check change
};

struct log_line {
    std::string time, service, message;
};

struct notice_t {
    std::string id, type, key, first, last, repeated;
    std::optional<std::int64_t> user_id;
    int occurrences = 1;
    json::object last_data;
};

// One stacked layer: its label and order as Pebble's plan manager keeps them (planstate).
struct stacked_layer {
    std::string label;
    int order = 0;
    layer content;
};

// Pebble's configEntryRegexp (internals/plan/plan.go): "NNN-label.yaml" or "NNN-label.d".
const std::regex& config_entry_regexp() {
    static const std::regex re(R"(^([0-9]{3})-([a-z](?:-?[a-z0-9]){2,})(.yaml|.d)$)");
    return re;
}

struct config_entry {
    std::string name;
    int order = 0;
    std::string label;
};

// configLayerEntries: the valid entries of one level, sorted by name (os.ReadDir's order).
std::vector<config_entry> config_layer_entries(const fs::path& dir, bool dir_ok) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
    if (ec) throw std::runtime_error(fmt::format("cannot read layers directory: open {}: {}", dir.string(), ec.message()));
    std::sort(names.begin(), names.end());
    std::vector<config_entry> out;
    std::map<int, std::string> orders;
    std::map<std::string, int> labels;
    auto ends_with = [](const std::string& s, std::string_view suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (const auto& name : names) {
        // Unrelated files do not stop the daemon from starting.
        if (!ends_with(name, ".yaml") && !ends_with(name, ".d")) continue;
        const bool is_dir = fs::is_directory(dir / name, ec);  // follows symlinks, as os.Stat
        std::smatch m;
        if (!std::regex_match(name, m, config_entry_regexp())) {
            if (is_dir)
                throw std::runtime_error(fmt::format(
                    "invalid layer sub-directory name: \"{}\" (must look like \"123-some-label.d\")", name));
            throw std::runtime_error(
                fmt::format("invalid layer filename: \"{}\" (must look like \"123-some-label.yaml\")", name));
        }
        if (is_dir && !dir_ok) throw std::runtime_error("cannot have a layers sub-directory at this level");
        const std::string label = m[2];
        const int order = std::stoi(m[1]);
        auto dup_order = orders.find(order);
        auto dup_label = labels.find(label);
        if (dup_order != orders.end() || dup_label != labels.end()) {
            const int old_order = dup_order != orders.end() ? order : dup_label->second;
            const std::string old_label = dup_order != orders.end() ? dup_order->second : label;
            throw std::runtime_error(fmt::format("invalid layer filename: \"{}\" not unique (have \"{:03}-{}.yaml\" already)",
                                                 name, old_order, old_label));
        }
        orders[order] = label;
        labels[label] = order;
        out.push_back({name, order, label});
    }
    return out;
}

// Pebble's ParseLayer for a layer file: YAML errors as "cannot parse layer <label>: ...", then
// Layer.Validate.
layer load_config_layer(const fs::path& path, const std::string& label) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read layer file: open {}: {}", path.string(), std::strerror(errno)));
    std::stringstream buf;
    buf << in.rdbuf();
    layer l;
    try {
        l = parse_layer(buf.str(), label);
    } catch (const input_error& e) {
        throw std::runtime_error(fmt::format("cannot parse layer \"{}\": {}", label, e.message()));
    }
    try {
        validate_layer(l, label);
    } catch (const input_error& e) {
        throw std::runtime_error(e.message());
    }
    return l;
}

// ReadDir + ReadLayersDir: the layers of `dir` in order (none when it does not exist), the combined
// plan validated. Throws std::runtime_error with Pebble's message, as `pebble run` fails.
std::vector<stacked_layer> read_layers_dir(const std::string& dir) {
    std::vector<stacked_layer> out;
    std::error_code ec;
    if (dir.empty() || !fs::exists(dir, ec)) return out;
    for (const auto& l1 : config_layer_entries(dir, true)) {
        const fs::path l1_path = fs::path(dir) / l1.name;
        if (fs::is_directory(l1_path, ec)) {
            for (const auto& l2 : config_layer_entries(l1_path, false))
                out.push_back({l1.label + "/" + l2.label, 1000 * l1.order + l2.order,
                               load_config_layer(l1_path / l2.name, l1.label + "/" + l2.label)});
        } else {
            out.push_back({l1.label, 1000 * l1.order, load_config_layer(l1_path, l1.label)});
        }
    }
    std::vector<layer> ls;
    for (const auto& l : out) ls.push_back(l.content);
    try {
        validate_plan(combine(ls));
    } catch (const input_error& e) {
        throw std::runtime_error(e.message());
    }
    return out;
}

} // namespace

struct pebble_server::impl : detail::server_host {
    server_options opts;
    std::string temp_dir;  // owned when we made one
    std::string socket;
    asio::io_context io;
    std::optional<local::acceptor> acceptor;
    std::thread thread;
    std::atomic<bool> stopping{false};
    std::thread checker;

    mutable std::mutex m;
    std::vector<stacked_layer> layers;  // lowest first, as Pebble's plan manager keeps them
    std::map<std::string, service_t> services;
    std::map<std::string, std::shared_ptr<change_t>> changes;
    std::map<std::string, check_state> checks;
    std::vector<log_line> logs;
    std::vector<notice_t> notices;
    int next_change = 1, next_task = 1, next_notice = 1;
    server_record rec;
    fault next_fault = fault::none;
    int fault_count = 0;
    std::chrono::milliseconds fault_delay{0};
    fault_target fault_at;  // which requests the fault waits for (at: matching ones still to pass + 1)
    std::optional<asio::steady_timer> monitor_timer;

    layer plan_locked() const {
        std::vector<layer> ls;
        for (const auto& l : layers) ls.push_back(l.content);
        return combine(ls);
    }

    // What `pebble run` does at start-up: read $PEBBLE/layers, then (without --hold) start the
    // services whose startup is enabled, as the "autostart" action does.
    void load_layers_dir_locked() {
        layers = read_layers_dir(opts.layers_dir);
    }
    void autostart_locked() {
        if (opts.hold) return;
        std::vector<std::string> names;
        for (const auto& [n, cfg] : plan_locked().services)
            if (cfg.startup == "enabled") names.push_back(n);
        if (names.empty()) return;  // Pebble logs "no default services" and carries on
        reply err;
        auto c = plan_services_change_locked("autostart", names, err);
        if (!c) return;
        if (c->tasks.empty()) finish_change_locked(*c);
        if (!c->ready) asio::co_spawn(io, run_change(c), asio::detached);
    }

    // ---- notices -------------------------------------------------------------------------------

    void notify_change_locked(const change_t& c) {
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

    // ---- changes -------------------------------------------------------------------------------

    std::shared_ptr<change_t> new_change_locked(const std::string& kind, const std::string& summary) {
        auto c = std::make_shared<change_t>();
        c->id = std::to_string(next_change++);
        c->kind = kind;
        c->summary = summary;
        c->spawn_time = now_rfc3339();
        changes[c->id] = c;
        notify_change_locked(*c);
        return c;
    }

    task_t& add_task_locked(change_t& c, const std::string& kind, const std::string& service) {
        task_t t;
        t.id = std::to_string(next_task++);
        t.kind = kind;
        t.service = service;
        t.summary = fmt::format("{} service \"{}\"", kind == "start" ? "Start" : "Stop", service);
        t.spawn_time = now_rfc3339();
        c.tasks.push_back(std::move(t));
        return c.tasks.back();
    }

    void finish_change_locked(change_t& c) {
        bool failed = false;
        std::string err = "cannot perform the following tasks:";
        for (const auto& t : c.tasks)
            if (t.status == "Error") {
                failed = true;
                for (auto it = t.log.rbegin(); it != t.log.rend(); ++it)
                    if (it->find(" ERROR ") != std::string::npos) {
                        err += fmt::format("\n- {} ({})", t.summary, it->substr(it->find(" ERROR ") + 7));
                        break;
                    }
            }
        c.status = failed ? "Error" : "Done";
        if (failed) c.err = err;
        c.ready = true;
        c.ready_time = now_rfc3339();
        notify_change_locked(c);
        // Waiters live on the io_context; this may run on the checker thread.
        asio::post(io, [ws = std::move(c.waiters)] {
            for (auto& w : ws) w->cancel();
        });
        c.waiters.clear();
    }

    awaitable<void> run_change(std::shared_ptr<change_t> c) {
        for (std::size_t i = 0;; ++i) {
            std::string kind, service;
            {
                std::lock_guard<std::mutex> lock(m);
                if (i >= c->tasks.size()) {
                    finish_change_locked(*c);
                    co_return;
                }
                if (c->status != "Doing") {
                    c->status = "Doing";
                    notify_change_locked(*c);  // Pebble records each status change of a change
                }
                c->tasks[i].status = "Doing";
                kind = c->tasks[i].kind;
                service = c->tasks[i].service;
            }
            std::vector<std::string> log;
            bool ok = kind == "start" ? co_await start_service(service, log) : co_await stop_service(service, log);
            std::lock_guard<std::mutex> lock(m);
            task_t& t = c->tasks[i];
            t.log = std::move(log);
            t.status = ok ? "Done" : "Error";
            t.ready_time = now_rfc3339();
            if (!ok) {
                // Later tasks of a failed change do not run (Pebble holds them).
                for (std::size_t k = i + 1; k < c->tasks.size(); ++k) c->tasks[k].status = "Hold";
                finish_change_locked(*c);
                co_return;
            }
        }
    }

    // ---- services ------------------------------------------------------------------------------

    std::optional<redispebble::service> config_locked(const std::string& name) const {
        layer p = plan_locked();
        auto it = p.services.find(name);
        if (it == p.services.end()) return std::nullopt;
        return it->second;
    }

    std::string log_prefix(const char* level) const { return now_rfc3339(false) + " " + level + " "; }

    bool spawn_locked(const std::string& name, const redispebble::service& cfg, std::vector<std::string>& log) {
        service_t& s = services[name];
        s.started_with = cfg;
        s.ever_started = true;
        s.output_seen = 0;
        ++rec.starts[name];
        if (!opts.run_processes) {
            s.process.reset();
            return true;
        }
        try {
            parsed_command cmd = parse_service_command(cfg.command.value_or(""));
            process_options po;
            po.argv = cmd.base;
            po.argv.insert(po.argv.end(), cmd.extra.begin(), cmd.extra.end());
            po.environment = cfg.environment;
            po.working_dir = cfg.working_dir.value_or("");
            if (cfg.user) po.user = cfg.user;
            if (cfg.group) po.group = cfg.group;
            if (po.argv.empty()) throw std::runtime_error("empty command");
            s.process = std::make_shared<child_process>(po);
            return true;
        } catch (const std::exception& e) {
            log.push_back(log_prefix("ERROR") + fmt::format("cannot start service: {}", e.what()));
            s.current = "error";
            s.since = now_rfc3339();
            return false;
        }
    }

    awaitable<bool> start_service(const std::string& name, std::vector<std::string>& log) {
        {
            std::lock_guard<std::mutex> lock(m);
            service_t& s = services[name];
            if (s.current == "active" || s.current == "starting") {
                log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" already started.", name));
                co_return true;
            }
            auto cfg = config_locked(name);
            if (!cfg) {
                log.push_back(log_prefix("ERROR") + fmt::format("service \"{}\" does not exist", name));
                co_return false;
            }
            if (!spawn_locked(name, *cfg, log)) co_return false;
            s.current = "starting";
        }
        asio::steady_timer timer(io, opts.start_window);
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        std::lock_guard<std::mutex> lock(m);
        service_t& s = services[name];
        std::optional<int> exited;
        if (s.process && !s.process->running()) exited = s.process->wait_for(std::chrono::milliseconds(0));
        if (!opts.run_processes && opts.failing_services.count(name)) exited = 1;
        if (!exited) {
            s.current = "active";
            s.since = now_rfc3339();
            s.backoff_attempts = 0;
            co_return true;
        }
        std::string output = s.process ? s.process->output() : std::string();
        capture_output_locked(name, s);
        std::string recent;
        std::istringstream in(output);
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        for (std::size_t i = lines.size() > 10 ? lines.size() - 10 : 0; i < lines.size(); ++i)
            recent += (recent.empty() ? "" : "\n") + std::string("    ") + lines[i];
        if (!recent.empty()) log.push_back(log_prefix("INFO") + "Most recent service output:\n" + recent);
        log.push_back(log_prefix("ERROR") +
                      fmt::format("service start attempt: exited quickly with code {}, will restart", *exited));
        s.current = "backoff";
        s.since = now_rfc3339();
        schedule_backoff_locked(name);
        co_return false;
    }

    void schedule_backoff_locked(const std::string& name) {
        service_t& s = services[name];
        const int attempt = s.backoff_attempts++;
        auto delay = std::chrono::milliseconds(std::min<long long>(500LL << std::min(attempt, 6), 30000));
        auto timer = std::make_shared<asio::steady_timer>(io, delay);
        timer->async_wait([this, timer, name](error_code ec) {
            if (ec || stopping) return;
            std::lock_guard<std::mutex> lock(m);
            service_t& sv = services[name];
            if (sv.current != "backoff") return;  // stopped meanwhile
            auto cfg = config_locked(name);
            std::vector<std::string> ignored;
            if (!cfg || !spawn_locked(name, *cfg, ignored)) return;
            sv.current = "starting";
            auto check = std::make_shared<asio::steady_timer>(io, opts.start_window);
            check->async_wait([this, check, name](error_code e2) {
                if (e2 || stopping) return;
                std::lock_guard<std::mutex> l2(m);
                service_t& sv2 = services[name];
                if (sv2.current != "starting") return;
                const bool failed = (sv2.process && !sv2.process->running()) ||
                                    (!opts.run_processes && opts.failing_services.count(name));
                sv2.current = failed ? "backoff" : "active";
                sv2.since = now_rfc3339();
                if (failed) schedule_backoff_locked(name);
                else sv2.backoff_attempts = 0;
            });
        });
    }

    awaitable<bool> stop_service(const std::string& name, std::vector<std::string>& log) {
        std::shared_ptr<child_process> proc;
        std::chrono::milliseconds kill_delay{5000};
        {
            std::lock_guard<std::mutex> lock(m);
            service_t& s = services[name];
            if (!s.ever_started) {
                log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" has never been started.", name));
                co_return true;
            }
            if (s.current == "inactive") {
                log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" already stopped.", name));
                co_return true;
            }
            if (auto cfg = config_locked(name); cfg && cfg->kill_delay)
                kill_delay = std::chrono::milliseconds(parse_go_duration(*cfg->kill_delay).value_or(5000000000) / 1000000);
            proc = s.process;
            s.stopping = true;
            ++rec.stops[name];
        }
        if (proc) {
            // terminate() blocks up to kill_delay: run it on a helper thread.
            asio::steady_timer done(io, std::chrono::steady_clock::time_point::max());
            std::thread([proc, kill_delay, &done, this] {
                proc->terminate(kill_delay);
                asio::post(io, [&done] { done.cancel(); });
            }).detach();
            error_code ec;
            co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        std::lock_guard<std::mutex> lock(m);
        service_t& s = services[name];
        capture_output_locked(name, s);
        s.process.reset();
        s.stopping = false;
        s.current = "inactive";
        s.since = now_rfc3339();
        co_return true;
    }

    void capture_output_locked(const std::string& name, service_t& s) {
        if (!s.process) return;
        const std::string out = s.process->output();
        if (out.size() <= s.output_seen) return;
        std::string fresh = out.substr(s.output_seen);
        const auto cut = fresh.rfind('\n');
        if (cut == std::string::npos) return;
        fresh.resize(cut + 1);
        s.output_seen += fresh.size();
        std::istringstream in(fresh);
        for (std::string l; std::getline(in, l);) logs.push_back({now_rfc3339(), name, l});
        if (logs.size() > 10000) logs.erase(logs.begin(), logs.begin() + 5000);
    }

    // A service that exits after it became active goes to backoff and is restarted, as Pebble does.
    void monitor() {
        monitor_timer->expires_after(std::chrono::milliseconds(100));
        monitor_timer->async_wait([this](error_code ec) {
            if (ec || stopping) return;
            {
                std::lock_guard<std::mutex> lock(m);
                for (auto& [name, s] : services) {
                    capture_output_locked(name, s);
                    if (s.current == "active" && !s.stopping && s.process && !s.process->running()) {
                        s.current = "backoff";
                        s.since = now_rfc3339();
                        schedule_backoff_locked(name);
                    }
                }
            }
            monitor();
        });
    }

    std::shared_ptr<change_t> plan_services_change_locked(const std::string& action, const std::vector<std::string>& names,
                                                          reply& err) {
        layer p = plan_locked();
        for (const auto& n : names)
            if (!p.services.count(n)) {
                err = error(400, fmt::format("cannot {} services: service \"{}\" does not exist", action, n));
                return nullptr;
            }
        std::vector<std::pair<std::string, std::string>> tasks;  // kind, service
        if (action == "start" || action == "autostart")
            for (const auto& n : names) tasks.emplace_back("start", n);
        else if (action == "stop")
            for (const auto& n : names) tasks.emplace_back("stop", n);
        else if (action == "restart") {
            for (const auto& n : names) tasks.emplace_back("stop", n);
            for (const auto& n : names) tasks.emplace_back("start", n);
            for (const auto& n : names) ++rec.restarts[n];
        }
        std::vector<std::string> summary_names = names;
        if (action == "replan") {
            std::set<std::string> touched;
            for (const auto& [n, cfg] : p.services) {
                auto it = services.find(n);
                const bool running = it != services.end() && (it->second.current == "active" || it->second.current == "backoff" ||
                                                              it->second.current == "starting");
                if (running && it->second.started_with && !(*it->second.started_with == cfg)) {
                    tasks.emplace_back("stop", n);
                    touched.insert(n);
                    ++rec.restarts[n];
                }
            }
            for (const auto& [n, cfg] : p.services)
                if (cfg.startup == "enabled" || touched.count(n)) {
                    tasks.emplace_back("start", n);
                    touched.insert(n);
                }
            std::stable_sort(tasks.begin(), tasks.end(), [](auto& a, auto& b) { return a.first == "stop" && b.first == "start"; });
            summary_names.assign(touched.begin(), touched.end());
        }
        const std::string title = std::string(1, static_cast<char>(std::toupper(action[0]))) + action.substr(1);
        std::string summary;
        if (tasks.empty()) summary = title + " - no services";
        else if (summary_names.size() == 1) summary = fmt::format("{} service \"{}\"", title, summary_names[0]);
        else summary = fmt::format("{} service \"{}\" and {} more", title, summary_names[0], summary_names.size() - 1);
        auto c = new_change_locked(action, summary);
        for (const auto& [kind, n] : tasks) add_task_locked(*c, kind, n);
        return c;
    }

    // ---- HTTP ----------------------------------------------------------------------------------

    reply route(const http::request<http::string_body>& req) {
        const target_t t = parse_target(req.target());
        const std::string& p = t.path;
        const auto method = req.method();
        auto only = [&](std::initializer_list<http::verb> allowed) -> std::optional<reply> {
            if (std::find(allowed.begin(), allowed.end(), method) != allowed.end()) return std::nullopt;
            return error(405, fmt::format("method \"{}\" not allowed", std::string(req.method_string())));
        };
        if (p == "/v1/system-info") {
            if (auto r = only({http::verb::get})) return *r;
            return sync(json::object{{"boot-id", boot_id()}, {"version", opts.version}});
        }
        if (p == "/v1/health") return health(t);
        if (p == "/v1/plan") {
            if (auto r = only({http::verb::get})) return *r;
            const std::string f = t.get("format");
            if (f != "yaml") return error(400, fmt::format("invalid format \"{}\"", f));
            std::lock_guard<std::mutex> lock(m);
            return sync(json::string(to_plan_yaml(plan_locked())));
        }
        if (p == "/v1/layers") {
            if (auto r = only({http::verb::post})) return *r;
            return add_layer(req.body());
        }
        if (p == "/v1/services") {
            if (auto r = only({http::verb::get, http::verb::post})) return *r;
            return method == http::verb::get ? list_services(t) : post_services(req.body());
        }
        if (p == "/v1/changes") {
            if (auto r = only({http::verb::get})) return *r;
            return list_changes(t);
        }
        if (p.rfind("/v1/changes/", 0) == 0) return change_endpoint(req, t);
        if (p == "/v1/files") {
            if (auto r = only({http::verb::get, http::verb::post})) return *r;
            return method == http::verb::get ? get_files(req, t) : post_files(req);
        }
        if (p == "/v1/checks") {
            if (auto r = only({http::verb::get, http::verb::post})) return *r;
            return method == http::verb::get ? list_checks(t) : post_checks(req.body());
        }
        if (p == "/v1/checks/refresh") {
            if (auto r = only({http::verb::post})) return *r;
            return error(500, "internal error: refresh is served asynchronously");
        }
        if (p == "/v1/signals") {
            if (auto r = only({http::verb::post})) return *r;
            return signals(req.body());
        }
        if (p == "/v1/notices" || p.rfind("/v1/notices/", 0) == 0) return notices_endpoint(req, t);
        if (p == "/v1/logs") {
            if (auto r = only({http::verb::get})) return *r;
            return get_logs(t);
        }
        if (p == "/v1/identities") {
            if (auto r = only({http::verb::get, http::verb::post})) return *r;
            return sync(json::object{});
        }
        return error(404, "invalid API endpoint requested");
    }

    std::string boot_id() const {
        static const std::string id = [] {
            std::ifstream in("/proc/sys/kernel/random/boot_id");
            std::string s;
            std::getline(in, s);
            return s;
        }();
        return id;
    }

    reply health(const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        const std::string level = t.get("level");
        const auto names = t.list("names");
        layer plan = plan_locked();
        bool healthy = true;
        for (const auto& [name, c] : plan.checks) {
            if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
            if (level == "alive" && c.level.value_or("") != "alive") continue;
            if (level == "ready" && c.level.value_or("") == "") { /* unset level counts for ready */ }
            auto it = checks.find(name);
            if (it != checks.end() && it->second.status == "down") healthy = false;
        }
        return sync(json::object{{"healthy", healthy}}, healthy ? 200 : 502);
    }

    reply add_layer(const std::string& body) {
        reply err;
        auto v = decode_body(body, err);
        if (!v) return err;
        if (!v->is_object()) return error(400, "cannot decode data from request body: expected an object");
        const json::object& o = v->as_object();
        if (str_of(o, "action") != "add") return error(400, fmt::format("invalid action \"{}\"", str_of(o, "action")));
        const std::string label = str_of(o, "label");
        if (label.empty()) return error(400, "label must be set");
        if (str_of(o, "format") != "yaml") return error(400, fmt::format("invalid format \"{}\"", str_of(o, "format")));
        // Pebble checks the label while parsing, so its error carries the parse prefix.
        if (label.rfind("pebble-", 0) == 0)
            return error(400, "cannot parse layer YAML: cannot use reserved label prefix \"pebble-\"");
        layer l;
        const std::string text = str_of(o, "layer");
        try {
            l = parse_layer(text, "layer");
        } catch (const input_error& e) {
            std::string msg = e.message();
            const std::string syntax = "cannot parse YAML: ";
            if (msg.rfind(syntax, 0) == 0) {
                // A YAML syntax error: go-yaml's words and line (the last line at end of input).
                msg = msg.substr(syntax.size());
                if (msg.find("flow not found") != std::string::npos) msg = "did not find expected node content";
                int lines = int(std::count(text.begin(), text.end(), '\n'));
                if (!text.empty() && text.back() != '\n') ++lines;
                const int line = std::max(1, std::min(e.line() > 0 ? e.line() : lines, std::max(lines, 1)));
                return error(400, fmt::format("cannot parse layer YAML: cannot parse layer \"{}\": yaml: line {}: {}",
                                              label, line, msg));
            }
            return error(400, "cannot parse layer YAML: " + msg);
        }
        try {
            validate_layer(l, label);
        } catch (const input_error& e) {
            // Layer.Validate runs inside ParseLayer (its errors carry the parse prefix); the
            // override check is CombineLayers' and the check-type one Plan.Validate's (no prefix).
            const bool combine_or_plan = e.message().rfind("plan must", 0) == 0 ||
                                         (e.key().size() >= 9 && e.key().compare(e.key().size() - 9, 9, ".override") == 0);
            return error(400, (combine_or_plan ? "" : "cannot parse layer YAML: ") + e.message());
        }
        std::lock_guard<std::mutex> lock(m);
        // planstate's CombineLayer / AppendLayer: combining into an existing label merges into that
        // layer at its place (layers above it still win); a new label is appended, or inserted
        // after its sub-directory's last layer ("dir/label", only with inner).
        std::vector<stacked_layer> next = layers;
        auto it = std::find_if(next.begin(), next.end(), [&](auto& x) { return x.label == label; });
        if (it != next.end()) {
            if (!bool_of(o, "combine")) return error(400, fmt::format("layer \"{}\" already exists", label));
            merge_into(it->content, l);
        } else {
            std::size_t index = 0;
            int order = 1000;
            if (!next.empty()) {
                const std::string sub = label.substr(0, label.find('/'));
                const bool has_sub = label.find('/') != std::string::npos;
                bool found = false;
                for (std::size_t i = next.size(); i-- > 0;)
                    if (next[i].label.substr(0, next[i].label.find('/')) == sub) {
                        order = next[i].order + 1;
                        index = i + 1;
                        found = true;
                        break;
                    }
                if (!found) {
                    index = next.size();
                    order = (next.back().order / 1000 + 1) * 1000 + (has_sub ? 1 : 0);
                }
                // Not a FormatError: Pebble answers it as an internal error.
                if (index != next.size() && !bool_of(o, "inner"))
                    return error(500, "cannot insert sub-directory layer without 'inner' attribute set");
            }
            next.insert(next.begin() + static_cast<std::ptrdiff_t>(index), stacked_layer{label, order, l});
        }
        {
            std::vector<layer> ls;
            for (const auto& x : next) ls.push_back(x.content);
            try {
                validate_plan(combine(ls));  // Plan.Validate: the layer is refused, the plan kept
            } catch (const input_error& e) {
                return error(400, e.message());
            }
        }
        layers = std::move(next);
        // As Pebble's CheckManager.PlanChanged: every check of the new plan without a running
        // change (new, or stopped through the API) starts at once inside its perform-check change
        // unless its startup is disabled; a running check whose startup became disabled keeps its
        // change until it is stopped (POST /v1/checks stop).
        const layer p = plan_locked();
        for (const auto& [name, c] : p.checks) {
            check_state& st = checks[name];
            if (!st.change_id.empty() || c.startup.value_or("enabled") == "disabled") continue;
            st.stopped = false;
            st.successes = st.failures = 0;
            st.status = "up";
            st.next_run = {};
            begin_check_change_locked(name, c, "perform-check");
        }
        ++rec.layers_added;
        return sync(true);
    }

    reply list_services(const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        const auto names = t.list("names");
        layer p = plan_locked();
        json::array a;
        for (const auto& [name, cfg] : p.services) {
            if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
            service_t& s = services[name];
            json::object o;
            o["name"] = name;
            o["startup"] = cfg.startup.value_or("disabled") == "enabled" ? "enabled" : "disabled";
            o["current"] = s.current == "starting" ? "active" : s.current;
            o["current-since"] = s.since;
            a.push_back(std::move(o));
        }
        return sync(std::move(a));
    }

    reply post_services(const std::string& body) {
        reply err;
        auto v = decode_body(body, err);
        if (!v) return err;
        if (!v->is_object()) return error(400, "cannot decode data from request body: expected an object");
        const json::object& o = v->as_object();
        const std::string action = str_of(o, "action");
        std::vector<std::string> names;
        if (auto it = o.find("services"); it != o.end() && it->value().is_array())
            for (const auto& n : it->value().as_array())
                if (n.is_string()) names.emplace_back(n.as_string());
        std::shared_ptr<change_t> c;
        {
            std::lock_guard<std::mutex> lock(m);
            if (action == "replan" || action == "autostart") {
                if (!names.empty()) return error(400, fmt::format("{} accepts no service names", action));
                if (action == "autostart") {
                    for (const auto& [n, cfg] : plan_locked().services)
                        if (cfg.startup == "enabled") names.push_back(n);
                    if (names.empty()) return error(400, "no default services", "no-default-services");
                }
            } else if (action == "start" || action == "stop" || action == "restart") {
                if (names.empty()) return error(400, fmt::format("must specify services for {} action", action));
            } else {
                return error(400, fmt::format("invalid action \"{}\"", action));
            }
            c = plan_services_change_locked(action, names, err);
            if (!c) return err;
            if (c->tasks.empty()) finish_change_locked(*c);
        }
        if (!c->ready) asio::co_spawn(io, run_change(c), asio::detached);
        return async_reply(c->id);
    }

    reply list_changes(const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        const std::string select = t.get("select").empty() ? "in-progress" : t.get("select");
        const std::string for_service = t.get("for");
        json::array a;
        std::vector<std::shared_ptr<change_t>> sorted;
        for (const auto& [id, c] : changes) sorted.push_back(c);
        std::sort(sorted.begin(), sorted.end(), [](auto& x, auto& y) { return std::stoi(x->id) < std::stoi(y->id); });
        for (const auto& c : sorted) {
            if (select == "in-progress" && c->ready) continue;
            if (select == "ready" && !c->ready) continue;
            if (!for_service.empty() &&
                std::none_of(c->tasks.begin(), c->tasks.end(), [&](const task_t& tk) { return tk.service == for_service; }))
                continue;
            a.push_back(change_json(*c));
        }
        return sync(std::move(a));
    }

    reply change_endpoint(const http::request<http::string_body>& req, const target_t& t) {
        std::string rest = t.path.substr(std::string("/v1/changes/").size());
        const bool wait = rest.size() > 5 && rest.compare(rest.size() - 5, 5, "/wait") == 0;
        if (wait) rest.resize(rest.size() - 5);
        std::lock_guard<std::mutex> lock(m);
        auto it = changes.find(rest);
        if (it == changes.end()) return error(404, fmt::format("cannot find change with id \"{}\"", rest), "");
        if (req.method() == http::verb::post && !wait) {
            reply err;
            auto v = decode_body(req.body(), err);
            if (!v) return err;
            if (!v->is_object() || str_of(v->as_object(), "action") != "abort")
                return error(400, "change action must be \"abort\"");
            if (it->second->ready)
                return error(400, fmt::format("cannot abort change {} with nothing pending", rest));
            return sync(change_json(*it->second));
        }
        return sync(change_json(*it->second));
    }

    // /wait needs to suspend: handled by the connection with this coroutine.
    awaitable<reply> wait_change(const target_t& t) {
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
            auto it = changes.find(id);
            if (it == changes.end()) co_return error(404, fmt::format("cannot find change with id \"{}\"", id));
            c = it->second;
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

    // ---- files ---------------------------------------------------------------------------------

    static std::optional<unsigned> parse_perm(const std::string& s, unsigned dflt) {
        if (s.empty()) return dflt;
        if (s.size() < 3 || s.size() > 4) return std::nullopt;
        unsigned v = 0;
        for (char c : s) {
            if (c < '0' || c > '7') return std::nullopt;
            v = v * 8 + static_cast<unsigned>(c - '0');
        }
        return v;
    }

    static std::optional<std::pair<uid_t, gid_t>> owner_of(const json::object& o, std::string& err) {
        auto uid = int_of(o, "user-id");
        auto gid = int_of(o, "group-id");
        const std::string user = str_of(o, "user"), group = str_of(o, "group");
        if (!uid && !gid && user.empty() && group.empty()) return std::nullopt;
        uid_t u = static_cast<uid_t>(-1);
        gid_t g = static_cast<gid_t>(-1);
        if (uid) u = static_cast<uid_t>(*uid);
        if (!user.empty()) {
            const auto pw = accounts::user(user);
            if (!pw) {
                err = fmt::format("user: unknown user {}", user);
                return std::nullopt;
            }
            u = pw->first;
            if (group.empty() && !gid) g = pw->second;
        }
        if (gid) g = static_cast<gid_t>(*gid);
        if (!group.empty()) {
            const auto gr = accounts::group(group);
            if (!gr) {
                err = fmt::format("group: unknown group {}", group);
                return std::nullopt;
            }
            g = *gr;
        }
        return std::pair{u, g};
    }

    // Go's syscall.Errno text: strerror's words in lower case ("file exists").
    static std::string go_errno_text(int err) {
        std::string t = std::strerror(err);
        if (!t.empty()) t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
        return t;
    }

    static void make_parents(const fs::path& dir, unsigned perm, const std::optional<std::pair<uid_t, gid_t>>& owner) {
        std::vector<fs::path> created;
        for (fs::path p = dir; !p.empty() && !fs::exists(p); p = p.parent_path()) created.push_back(p);
        for (auto it = created.rbegin(); it != created.rend(); ++it) {
            if (::mkdir(it->c_str(), perm) != 0 && errno != EEXIST)
                throw std::runtime_error(fmt::format("mkdir {}: {}", it->string(), std::strerror(errno)));
            ::chmod(it->c_str(), perm);
            if (owner) (void)!::chown(it->c_str(), owner->first, owner->second);
        }
    }

    struct part {
        std::string name, filename, body;
    };

    static std::optional<std::vector<part>> parse_multipart(const std::string& body, const std::string& boundary) {
        std::vector<part> parts;
        const std::string delim = "--" + boundary;
        std::size_t pos = body.find(delim);
        if (pos == std::string::npos) return std::nullopt;
        for (;;) {
            pos += delim.size();
            if (body.compare(pos, 2, "--") == 0) break;
            if (body.compare(pos, 2, "\r\n") != 0) return std::nullopt;
            pos += 2;
            const std::size_t head_end = body.find("\r\n\r\n", pos);
            if (head_end == std::string::npos) return std::nullopt;
            const std::string head = body.substr(pos, head_end - pos);
            const std::size_t next = body.find("\r\n" + delim, head_end + 4);
            if (next == std::string::npos) return std::nullopt;
            part pt;
            pt.body = body.substr(head_end + 4, next - head_end - 4);
            auto field = [&](const std::string& key) -> std::string {
                const auto k = head.find(key + "=\"");
                if (k == std::string::npos) return "";
                const auto start = k + key.size() + 2;
                return head.substr(start, head.find('"', start) - start);
            };
            pt.name = field("name");
            pt.filename = field("filename");
            parts.push_back(std::move(pt));
            pos = next + 2;
        }
        return parts;
    }

    reply post_files(const http::request<http::string_body>& req) {
        const std::string ctype = std::string(req[http::field::content_type]);
        if (ctype.rfind("multipart/form-data", 0) == 0) return write_files(req.body(), ctype);
        reply err;
        auto v = decode_body(req.body(), err);
        if (!v) return err;
        if (!v->is_object()) return error(400, "cannot decode request body: expected an object");
        const json::object& o = v->as_object();
        const std::string action = str_of(o, "action");
        json::array results;
        if (action == "make-dirs") {
            auto it = o.find("dirs");
            if (it == o.end() || !it->value().is_array()) return error(400, "must specify one or more directories");
            for (const auto& d : it->value().as_array()) {
                const json::object& dir = d.as_object();
                const std::string path = str_of(dir, "path");
                json::object r{{"path", path}};
                std::string owner_err;
                auto owner = owner_of(dir, owner_err);
                auto perm = parse_perm(str_of(dir, "permissions"), 0755);
                try {
                    if (!owner_err.empty()) throw std::runtime_error(owner_err);
                    if (!perm) throw std::runtime_error(fmt::format("permissions must be a 3-digit octal string, got \"{}\"", str_of(dir, "permissions")));
                    if (bool_of(dir, "make-parents")) make_parents(path, *perm, owner);
                    else if (::mkdir(path.c_str(), *perm) != 0)
                        throw std::runtime_error(fmt::format("mkdir {}: {}", path, go_errno_text(errno)));
                    else if (owner) (void)!::chown(path.c_str(), owner->first, owner->second);
                } catch (const std::exception& e) {
                    r["error"] = json::object{{"message", e.what()}, {"kind", "generic-file-error"}};
                }
                results.push_back(std::move(r));
            }
            return sync(std::move(results));
        }
        if (action == "remove") {
            auto it = o.find("paths");
            if (it == o.end() || !it->value().is_array()) return error(400, "must specify one or more paths");
            for (const auto& d : it->value().as_array()) {
                const json::object& item = d.as_object();
                const std::string path = str_of(item, "path");
                json::object r{{"path", path}};
                std::error_code ec;
                if (!fs::exists(fs::symlink_status(path, ec)))
                    r["error"] = json::object{{"message", fmt::format("remove {}: no such file or directory", path)}, {"kind", "not-found"}};
                else if (bool_of(item, "recursive")) fs::remove_all(path, ec);
                else fs::remove(path, ec);
                if (ec && !r.contains("error"))
                    r["error"] = json::object{{"message", fmt::format("remove {}: {}", path, ec.message())}, {"kind", "generic-file-error"}};
                results.push_back(std::move(r));
            }
            return sync(std::move(results));
        }
        return error(400, fmt::format("invalid action \"{}\"", action));
    }

    reply write_files(const std::string& body, const std::string& ctype) {
        std::string boundary;
        if (auto b = ctype.find("boundary="); b != std::string::npos) {
            boundary = ctype.substr(b + 9);
            if (!boundary.empty() && boundary.front() == '"') boundary = boundary.substr(1, boundary.find('"', 1) - 1);
        }
        if (boundary.size() < 32) return error(400, fmt::format("invalid boundary \"{}\"", boundary));
        auto parts = parse_multipart(body, boundary);
        if (!parts || parts->empty() || (*parts)[0].name != "request")
            return error(400, "must specify request metadata as the first part");
        reply err;
        auto meta = decode_body((*parts)[0].body, err);
        if (!meta) return err;
        const json::object& mo = meta->as_object();
        if (str_of(mo, "action") != "write") return error(400, fmt::format("invalid action \"{}\"", str_of(mo, "action")));
        json::array results;
        auto files_it = mo.find("files");
        if (files_it == mo.end() || !files_it->value().is_array()) return error(400, "must specify one or more files");
        for (const auto& f : files_it->value().as_array()) {
            const json::object& fo = f.as_object();
            const std::string path = str_of(fo, "path");
            json::object r{{"path", path}};
            auto content = std::find_if(parts->begin() + 1, parts->end(), [&](const part& pt) { return pt.filename == path; });
            auto perm = parse_perm(str_of(fo, "permissions"), 0644);
            std::string owner_err;
            auto owner = owner_of(fo, owner_err);
            if (content == parts->end()) {
                r["error"] = json::object{{"message", fmt::format("no file content for path \"{}\"", path)}, {"kind", "generic-file-error"}};
            } else if (!perm) {
                r["error"] = json::object{{"message", fmt::format("permissions must be a 3-digit octal string, got \"{}\"", str_of(fo, "permissions"))},
                                          {"kind", "generic-file-error"}};
            } else if (!owner_err.empty()) {
                r["error"] = json::object{{"message", owner_err}, {"kind", "generic-file-error"}};
            } else {
                try {
                    const fs::path target(path);
                    if (bool_of(fo, "make-dirs")) make_parents(target.parent_path(), 0755, owner);
                    const std::string tmp = path + "." + random_hex(12) + "~";
                    {
                        std::ofstream out(tmp, std::ios::binary);
                        if (!out) {
                            const bool missing = !fs::exists(target.parent_path());
                            r["error"] = json::object{{"message", fmt::format("open {}: {}", tmp, missing ? "no such file or directory" : std::strerror(errno))},
                                                      {"kind", missing ? "not-found" : "generic-file-error"}};
                            results.push_back(std::move(r));
                            continue;
                        }
                        out << content->body;
                    }
                    ::chmod(tmp.c_str(), *perm);
                    if (owner) (void)!::chown(tmp.c_str(), owner->first, owner->second);
                    fs::rename(tmp, target);
                    std::lock_guard<std::mutex> lock(m);
                    ++rec.files_written;
                } catch (const std::exception& e) {
                    r["error"] = json::object{{"message", e.what()}, {"kind", "generic-file-error"}};
                }
            }
            results.push_back(std::move(r));
        }
        return sync(std::move(results));
    }

    reply get_files(const http::request<http::string_body>& req, const target_t& t) {
        const std::string action = t.get("action");
        if (action == "read") {
            if (std::string(req[http::field::accept]) != "multipart/form-data")
                return error(400, "must accept multipart/form-data");
            const std::string boundary = random_hex(60);
            std::string body;
            json::array results;
            for (const auto& path : t.all("path")) {
                json::object r{{"path", path}};
                std::ifstream in(path, std::ios::binary);
                std::error_code ec;
                if (!fs::exists(path, ec)) {
                    r["error"] = json::object{{"message", fmt::format("stat {}: no such file or directory", path)}, {"kind", "not-found"}};
                } else if (fs::is_directory(path, ec)) {
                    r["error"] = json::object{{"message", fmt::format("can only read a regular file: \"{}\"", path)}, {"kind", "generic-file-error"}};
                } else if (!in) {
                    r["error"] = json::object{{"message", fmt::format("open {}: permission denied", path)}, {"kind", "permission-denied"}};
                } else {
                    std::ostringstream ss;
                    ss << in.rdbuf();
                    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + path +
                            "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + ss.str() + "\r\n";
                }
                results.push_back(std::move(r));
            }
            body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n" +
                    sync(std::move(results)).body + "\r\n--" + boundary + "--\r\n";
            return {200, "multipart/form-data; boundary=" + boundary, std::move(body)};
        }
        if (action == "list") {
            const std::string path = t.get("path");
            const std::string pattern = t.get("pattern");
            std::error_code ec;
            if (!fs::exists(fs::status(path, ec)))  // os.Stat: a dangling symlink is not found
                return error(404, fmt::format("stat {}: no such file or directory", path), "not-found");
            std::vector<fs::path> entries;
            // As Pebble's listFiles: the path itself (itself=true, or not a directory) is stat'ed
            // through a symlink (os.Stat); a directory's entries are not (os.ReadDir).
            const bool single = t.get("itself") == "true" || !fs::is_directory(path, ec);
            if (single) entries.push_back(path);
            else
                for (const auto& e : fs::directory_iterator(path, ec)) entries.push_back(e.path());
            std::sort(entries.begin(), entries.end());
            json::array a;
            for (const auto& e : entries) {
                if (!pattern.empty() && ::fnmatch(pattern.c_str(), e.filename().c_str(), 0) != 0) continue;
                struct stat st {};
                if ((single ? ::stat(e.c_str(), &st) : ::lstat(e.c_str(), &st)) != 0) continue;
                json::object o;
                o["path"] = e.string();
                o["name"] = e.filename().string();
                const char* type = S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "symlink"
                                 : S_ISSOCK(st.st_mode) ? "socket" : S_ISFIFO(st.st_mode) ? "named-pipe" : "device";
                o["type"] = type;
                if (S_ISREG(st.st_mode)) o["size"] = static_cast<std::int64_t>(st.st_size);
                o["permissions"] = fmt::format("{:03o}", st.st_mode & 0777);  // Go's mode.Perm()
                std::time_t mt = st.st_mtime;
                std::tm tm{};
                ::gmtime_r(&mt, &tm);
                char buf[32];
                std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
                o["last-modified"] = buf;
                o["user-id"] = st.st_uid;
                if (auto name = accounts::user_name(st.st_uid)) o["user"] = *name;
                o["group-id"] = st.st_gid;
                if (auto name = accounts::group_name(st.st_gid)) o["group"] = *name;
                a.push_back(std::move(o));
            }
            return sync(std::move(a));
        }
        return error(400, fmt::format("invalid action \"{}\"", action));
    }

    // ---- checks, signals, notices, logs ----------------------------------------------------------

    static const char* check_type(const redispebble::check& c) {
        return c.http ? "HTTP" : c.tcp ? "TCP" : "exec";
    }

    /// Pebble runs each check inside a change: "perform-check" while up, "recover-check" once down.
    void begin_check_change_locked(const std::string& name, const redispebble::check& c, const std::string& kind) {
        const std::string summary =
            fmt::format("{} {} check \"{}\"", kind == "perform-check" ? "Perform" : "Recover", check_type(c), name);
        auto ch = new_change_locked(kind, summary);
        task_t& t = add_task_locked(*ch, kind, "");
        t.summary = summary;
        t.status = "Doing";
        ch->status = "Doing";
        notify_change_locked(*ch);
        checks[name].change_id = ch->id;
    }

    /// Ends a check's change: "Error" with `why` in its log, "Done", or "Undone" when stopped.
    void end_check_change_locked(const std::string& name, const std::string& status, const std::string& why = "") {
        check_state& st = checks[name];
        auto it = changes.find(st.change_id);
        st.change_id.clear();
        if (it == changes.end() || it->second->ready) return;
        change_t& ch = *it->second;
        for (auto& t : ch.tasks) {
            t.status = status;
            t.ready_time = now_rfc3339();
            if (!why.empty()) t.log.push_back(log_prefix("ERROR") + why);
        }
        if (status == "Undone") {
            ch.status = "Undone";
            ch.ready = true;
            ch.ready_time = now_rfc3339();
            notify_change_locked(ch);
            asio::post(io, [ws = std::move(ch.waiters)] {
                for (auto& w : ws) w->cancel();
            });
            ch.waiters.clear();
            return;
        }
        finish_change_locked(ch);
    }

    reply list_checks(const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        const std::string level = t.get("level");
        const auto names = t.list("names");
        json::array a;
        for (const auto& [name, c] : plan_locked().checks) {
            if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
            if (!level.empty() && c.level.value_or("") != level) continue;
            a.push_back(check_info_locked(name, c));
        }
        return sync(std::move(a));
    }

    reply post_checks(const std::string& body) {
        reply err;
        auto v = decode_body(body, err);
        if (!v) return err;
        const json::object& o = v->as_object();
        const std::string action = str_of(o, "action");
        if (action != "start" && action != "stop") return error(400, fmt::format("invalid action \"{}\"", action));
        std::lock_guard<std::mutex> lock(m);
        json::array changed;
        const layer p = plan_locked();
        if (auto it = o.find("checks"); it != o.end() && it->value().is_array())
            for (const auto& n : it->value().as_array()) {
                const std::string name(n.as_string());
                if (!p.checks.count(name)) return error(400, fmt::format("cannot find check with name \"{}\"", name));
                check_state& st = checks[name];
                if (st.stopped == (action == "stop")) continue;
                st.stopped = action == "stop";
                if (st.stopped) {
                    end_check_change_locked(name, "Undone");  // counters are kept while stopped
                } else {
                    st.successes = st.failures = 0;
                    st.status = "up";
                    st.next_run = {};
                    begin_check_change_locked(name, p.checks.at(name), "perform-check");
                }
                changed.push_back(json::string(name));
            }
        return sync(json::object{{"changed", std::move(changed)}});
    }

    /// The check as it runs: an exec check with its service-context merged in (Pebble's
    /// mergeServiceContext: the service's environment, user, group and working-dir, overridden by
    /// the check's own).
    static redispebble::check merged_check_locked(const layer& plan, const redispebble::check& c) {
        if (!c.exec || !c.exec->service_context || c.exec->service_context->empty()) return c;
        auto it = plan.services.find(*c.exec->service_context);
        if (it == plan.services.end()) return c;
        const redispebble::service& svc = it->second;
        redispebble::check out = c;
        exec_check& e = *out.exec;
        std::map<std::string, std::string> env = svc.environment;
        for (const auto& [k, v] : c.exec->environment) env[k] = v;
        e.environment = std::move(env);
        if (!e.user_id) e.user_id = svc.user_id;
        if (!e.user || e.user->empty()) e.user = svc.user;
        if (!e.group_id) e.group_id = svc.group_id;
        if (!e.group || e.group->empty()) e.group = svc.group;
        if (!e.working_dir || e.working_dir->empty()) e.working_dir = svc.working_dir;
        return out;
    }

    /// The task log line Pebble writes for a check's error (errorDetails: the message, then
    /// "; " and the details when there are any).
    struct check_error {
        std::string message;  ///< err.Error(): "exit status 1", "non-2xx status code 500", ...
        std::string details;  ///< the last lines of output or of the response body
        std::string full() const { return details.empty() ? message : message + "; " + details; }
    };

    void check_task_log_locked(const std::string& name, const std::string& level, const std::string& text) {
        auto it = changes.find(checks[name].change_id);
        if (it == changes.end() || it->second->ready || it->second->tasks.empty()) return;
        it->second->tasks.front().log.push_back(log_prefix(level.c_str()) + text);
    }

    /// One result of a running check, as Pebble's doPerformCheck / doRecoverCheck count it: a
    /// failure below the threshold is logged in the task; at the threshold the perform-check
    /// change ends in Error with the error, the services' on-check-failure actions run and a
    /// recover-check change begins; a success in recover-check ends it (Done) and a new
    /// perform-check begins.
    void record_check_result_locked(const std::string& name, const redispebble::check& c,
                                    const std::optional<check_error>& err) {
        check_state& st = checks[name];
        const std::int64_t threshold = c.threshold.value_or(3);
        if (!err) {
            if (st.status == "down") {
                st.successes = 1;
                st.failures = 0;
                end_check_change_locked(name, "Done");
                begin_check_change_locked(name, c, "perform-check");
            } else {
                ++st.successes;
                if (st.failures > 0)
                    check_task_log_locked(name, "INFO", fmt::format("succeeded after {} {}", st.failures,
                                                                    st.failures == 1 ? "failure" : "failures"));
                st.failures = 0;
            }
            st.status = "up";
            return;
        }
        ++st.failures;
        if (st.status == "down") {  // recover-check: every failure is logged
            check_task_log_locked(name, "ERROR", err->full());
            return;
        }
        if (st.failures < threshold) {
            check_task_log_locked(name, "ERROR", err->full());
            return;
        }
        st.status = "down";
        end_check_change_locked(name, "Error", err->message);
        check_failed_locked(name);
        begin_check_change_locked(name, c, "recover-check");
    }

    /// What Pebble's ServiceManager.CheckFailed does: every service whose on-check-failure names
    /// the check gets its action (servstate's checkFailed). restart: a running service's process
    /// group gets SIGTERM (SIGKILL after its kill-delay) and, once it has exited, the service is
    /// started again after its backoff; a service in backoff keeps waiting for it. shutdown,
    /// failure-shutdown, success-shutdown: Pebble would exit; here every service is stopped and
    /// record().shutdown says which. ignore: nothing.
    void check_failed_locked(const std::string& check_name) {
        const layer p = plan_locked();
        for (const auto& [svc_name, cfg] : p.services) {
            auto a = cfg.on_check_failure.find(check_name);
            if (a == cfg.on_check_failure.end()) continue;
            const std::string& action = a->second;
            auto sit = services.find(svc_name);
            if (sit == services.end()) continue;
            service_t& s = sit->second;
            const bool running = s.current == "active" || s.current == "starting";
            if (!running && s.current != "backoff") continue;  // stopped, error: ignored, as Pebble does
            if (action == "ignore") continue;
            if (action == "shutdown" || action == "failure-shutdown" || action == "success-shutdown") {
                rec.shutdown = action == "success-shutdown" ? "success" : "failure";
                std::vector<std::shared_ptr<child_process>> procs;
                for (auto& [n, sv] : services) {
                    if (sv.process) procs.push_back(sv.process);
                    sv.process.reset();
                    if (sv.current != "inactive") sv.since = now_rfc3339();
                    sv.current = "inactive";
                }
                std::thread([procs] {
                    for (auto& proc : procs) proc->terminate(std::chrono::seconds(5));
                }).detach();
                return;
            }
            if (action != "restart" || !running || s.stopping || !s.process) continue;
            ++rec.check_restarts[svc_name];
            std::chrono::milliseconds kill_delay{5000};
            if (cfg.kill_delay) kill_delay = std::chrono::milliseconds(parse_go_duration(*cfg.kill_delay).value_or(5000000000) / 1000000);
            // The monitor sees the process gone and restarts the service after its backoff.
            std::thread([proc = s.process, kill_delay] { proc->terminate(kill_delay); }).detach();
        }
    }

    // Runs due checks (http, tcp, exec) on the checker thread.
    void run_checks() {
        while (!stopping) {
            std::vector<std::pair<std::string, redispebble::check>> due;
            {
                std::lock_guard<std::mutex> lock(m);
                const auto now = std::chrono::steady_clock::now();
                const layer plan = plan_locked();
                for (const auto& [name, c] : plan.checks) {
                    check_state& st = checks[name];
                    if (st.stopped || c.startup == "disabled" || st.next_run > now) continue;
                    const auto period = std::chrono::nanoseconds(parse_go_duration(c.period.value_or("10s")).value_or(10000000000));
                    // Pebble's ticker: the first run is one period after the check starts.
                    if (st.next_run == std::chrono::steady_clock::time_point{}) {
                        st.next_run = now + period;
                        continue;
                    }
                    st.next_run = now + period;
                    due.emplace_back(name, merged_check_locked(plan, c));
                }
            }
            for (const auto& [name, c] : due) {
                auto err = run_check(c, stopping);
                std::lock_guard<std::mutex> lock(m);
                check_state& st = checks[name];
                if (st.stopped || stopping) continue;
                record_check_result_locked(name, c, err);
            }
            for (int i = 0; i < 5 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    /// POST /v1/checks/refresh (Pebble's v1PostChecksRefresh): {"name": N} runs the check now. A
    /// running check counts the result as a periodic run does and its period starts again; a
    /// stopped one is run directly and nothing is recorded. {"info": <check info>, "error": E}
    /// with E omitted on success. 400 "must specify check name", 404 "cannot find check with name".
    awaitable<reply> refresh_check(const std::string& body) {
        reply err;
        auto v = decode_body(body, err);
        if (!v) co_return err;
        if (!v->is_object()) co_return error(400, "cannot decode data from request body: expected an object");
        const std::string name = str_of(v->as_object(), "name");
        if (name.empty()) co_return error(400, "must specify check name");
        redispebble::check c;
        {
            std::lock_guard<std::mutex> lock(m);
            const layer plan = plan_locked();
            auto it = plan.checks.find(name);
            if (it == plan.checks.end()) co_return error(404, fmt::format("cannot find check with name \"{}\"", name));
            c = merged_check_locked(plan, it->second);
        }
        // Run it on a helper thread: an exec check can take up to its timeout.
        auto result = std::make_shared<std::optional<check_error>>();
        asio::steady_timer done(io, std::chrono::steady_clock::time_point::max());
        std::thread([this, c, result, &done] {
            *result = run_check(c, stopping);
            asio::post(io, [&done] { done.cancel(); });
        }).detach();
        error_code ec;
        co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
        std::lock_guard<std::mutex> lock(m);
        check_state& st = checks[name];
        if (!st.stopped && !st.change_id.empty()) {
            record_check_result_locked(name, c, *result);
            st.next_run = std::chrono::steady_clock::now() +
                          std::chrono::nanoseconds(parse_go_duration(c.period.value_or("10s")).value_or(10000000000));
        }
        json::object out{{"info", check_info_locked(name, c)}};
        if (*result) out["error"] = (*result)->full();
        co_return sync(std::move(out));
    }

    /// One entry of GET /v1/checks (Pebble's checkInfo).
    json::object check_info_locked(const std::string& name, const redispebble::check& c) {
        const check_state& st = checks[name];
        json::object o;
        o["name"] = name;
        if (c.level) o["level"] = *c.level;
        o["startup"] = c.startup.value_or("enabled");
        // Inactive: stopped, or never started because its startup is disabled.
        const bool inactive = st.stopped || (st.change_id.empty() && c.startup.value_or("enabled") == "disabled");
        o["status"] = inactive ? "inactive" : st.status;
        o["successes"] = st.successes;
        if (st.failures) o["failures"] = st.failures;
        o["threshold"] = c.threshold.value_or(3);
        if (!st.stopped && !st.change_id.empty()) o["change-id"] = st.change_id;
        return o;
    }

    /// The last `n` lines of `text` (Pebble's servicelog.LastLines for check errors).
    static std::string last_lines(const std::string& text, std::size_t n) {
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        while (!lines.empty() && lines.back().empty()) lines.pop_back();
        std::string out;
        for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
            out += (out.empty() ? "" : "\n") + lines[i];
        return out;
    }

    /// Runs one check the way Pebble's checkers do (internals/overlord/checkstate/checkers.go);
    /// nullopt on success. http: GET the URL (http:// only here), 2xx passes, otherwise
    /// "non-2xx status code N" with the first lines of the body. tcp: connect to host (default
    /// localhost) and port. exec: the command split like Pebble (shlex), with the check's
    /// environment, user, group and working-dir; exit 0 passes, otherwise "exit status N" with
    /// the last 5 lines of output. Every kind ends with "check timed out after <timeout>".
    static std::optional<check_error> run_check(const redispebble::check& c, const std::atomic<bool>& stopping) {
        const auto timeout_ns = parse_go_duration(c.timeout.value_or("3s")).value_or(3000000000);
        const auto timeout = std::chrono::milliseconds(timeout_ns / 1000000);
        const check_error timed_out{fmt::format("check timed out after {}", format_go_duration(timeout_ns)), ""};
        if (c.tcp) {
            const std::string host = c.tcp->host.value_or("localhost");
            const auto port = static_cast<std::uint16_t>(c.tcp->port.value_or(0));
            asio::io_context ctx;
            beast::tcp_stream stream(ctx);
            error_code ec;
            asio::ip::tcp::resolver resolver(ctx);
            auto results = resolver.resolve(host, std::to_string(port), ec);
            if (ec) return check_error{fmt::format("dial tcp: lookup {}: {}", host, ec.message()), ""};
            stream.expires_after(timeout);
            stream.async_connect(results, [&](error_code e, const auto&) { ec = e; });
            ctx.run();
            if (ec == beast::error::timeout) return timed_out;
            if (ec) return check_error{fmt::format("dial tcp {}:{}: connect: {}", host, port, ec.message()), ""};
            return std::nullopt;
        }
        if (c.http) {
            const std::string url = c.http->url.value_or("");
            const std::string scheme = "http://";
            if (url.rfind(scheme, 0) != 0)
                return check_error{fmt::format("Get \"{}\": unsupported protocol scheme (the test server runs http:// only)", url), ""};
            std::string rest = url.substr(scheme.size());
            const auto slash = rest.find('/');
            std::string hostport = rest.substr(0, slash);
            std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
            std::string host = hostport, port = "80";
            if (auto colon = hostport.rfind(':'); colon != std::string::npos && hostport.find(']', colon) == std::string::npos) {
                host = hostport.substr(0, colon);
                port = hostport.substr(colon + 1);
            }
            if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
            asio::io_context ctx;
            beast::tcp_stream stream(ctx);
            beast::flat_buffer buf;
            http::response_parser<http::string_body> parser;
            parser.body_limit(1 << 20);
            http::request<http::empty_body> req{http::verb::get, target, 11};
            req.set(http::field::host, hostport);
            req.set(http::field::user_agent, "Go-http-client/1.1");
            for (const auto& [k, v] : c.http->headers) req.set(k, v);
            error_code ec;
            asio::ip::tcp::resolver resolver(ctx);
            auto results = resolver.resolve(host, port, ec);
            if (ec) return check_error{fmt::format("Get \"{}\": dial tcp: lookup {}: {}", url, host, ec.message()), ""};
            stream.expires_after(timeout);
            stream.async_connect(results, [&](error_code e, const auto&) {
                if (e) {
                    ec = e;
                    return;
                }
                http::async_write(stream, req, [&](error_code e2, std::size_t) {
                    if (e2) {
                        ec = e2;
                        return;
                    }
                    http::async_read(stream, buf, parser, [&](error_code e3, std::size_t) { ec = e3; });
                });
            });
            ctx.run();
            if (ec == beast::error::timeout) return timed_out;
            if (ec) return check_error{fmt::format("Get \"{}\": {}", url, ec.message()), ""};
            const unsigned status = parser.get().result_int();
            if (status < 200 || status > 299)
                return check_error{fmt::format("non-2xx status code {}", status), last_lines(parser.get().body().substr(0, 1024), 5)};
            return std::nullopt;
        }
        if (c.exec && c.exec->command) {
            try {
                process_options po;
                po.argv = shlex_split(*c.exec->command);
                if (po.argv.empty()) return check_error{"cannot parse command: empty command", ""};
                po.environment = c.exec->environment;
                po.working_dir = c.exec->working_dir.value_or("");
                if (c.exec->user && !c.exec->user->empty()) po.user = c.exec->user;
                if (c.exec->group && !c.exec->group->empty()) po.group = c.exec->group;
                if (po.user && !po.group) {
                    // Pebble's NormalizeUidGid: a user without a group runs with the user's primary group.
                    // getpwnam_r/getgrgid_r: the check runners of several servers share this process.
                    if (const auto u = accounts::user(*po.user))
                        if (auto g = accounts::group_name(u->second)) po.group = std::move(*g);
                }
                if (::geteuid() != 0) {
                    po.user.reset();
                    po.group.reset();
                }
                child_process p(po);
                std::optional<int> code;
                for (auto waited = std::chrono::milliseconds(0); !code && waited < timeout && !stopping;
                     waited += std::chrono::milliseconds(20))
                    code = p.wait_for(std::min(std::chrono::milliseconds(20), timeout - waited));
                if (!code) {
                    p.terminate(std::chrono::milliseconds(1000));
                    return timed_out;
                }
                if (*code == 0) return std::nullopt;
                if (*code > 128) return check_error{fmt::format("signal: {}", ::strsignal(*code - 128)), last_lines(p.output(), 5)};
                return check_error{fmt::format("exit status {}", *code), last_lines(p.output(), 5)};
            } catch (const std::exception& e) {
                return check_error{e.what(), ""};
            }
        }
        return std::nullopt;
    }

    reply signals(const std::string& body) {
        reply err;
        auto v = decode_body(body, err);
        if (!v) return err;
        const json::object& o = v->as_object();
        const std::string sig = str_of(o, "signal");
        static const std::map<std::string, int> known{{"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT},
                                                      {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                                      {"SIGTERM", SIGTERM}, {"SIGSTOP", SIGSTOP}, {"SIGCONT", SIGCONT}};
        auto k = known.find(sig);
        if (k == known.end()) return error(400, fmt::format("invalid signal name \"{}\"", sig));
        std::lock_guard<std::mutex> lock(m);
        if (auto it = o.find("services"); it != o.end() && it->value().is_array())
            for (const auto& n : it->value().as_array()) {
                const std::string name(n.as_string());
                auto s = services.find(name);
                if (s == services.end() || s->second.current != "active")
                    return error(500, fmt::format("cannot send signal to \"{}\": service is not running", name));
                if (s->second.process) s->second.process->signal(k->second);
            }
        return sync(true);
    }

    static json::object notice_json(const notice_t& n) {
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

    reply notices_endpoint(const http::request<http::string_body>& req, const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        if (t.path != "/v1/notices") {
            const std::string id = t.path.substr(std::string("/v1/notices/").size());
            for (const auto& n : notices)
                if (n.id == id) return sync(notice_json(n));
            return error(404, fmt::format("cannot find notice with ID \"{}\"", id), "not-found");
        }
        if (req.method() == http::verb::post) {
            reply err;
            auto v = decode_body(req.body(), err);
            if (!v) return err;
            const json::object& o = v->as_object();
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

    // ---- the streaming endpoints' view of the server (detail::server_host) -----------------------
    std::pair<std::string, std::string> begin_exec(const std::string& summary) override {
        std::lock_guard<std::mutex> lock(m);
        auto c = new_change_locked("exec", summary);
        c->status = "Doing";
        task_t t;
        t.id = std::to_string(next_task++);
        t.kind = "exec";
        t.summary = summary;
        t.status = "Doing";
        t.spawn_time = now_rfc3339();
        c->tasks.push_back(std::move(t));
        return {c->id, c->tasks.back().id};
    }
    void finish_exec(const std::string& change_id, int exit_code, const std::string& err) override {
        std::lock_guard<std::mutex> lock(m);
        auto it = changes.find(change_id);
        if (it == changes.end() || it->second->tasks.empty()) return;
        task_t& t = it->second->tasks.front();
        t.data = json::object{{"exit-code", exit_code}};
        t.status = err.empty() ? "Done" : "Error";
        t.ready_time = now_rfc3339();
        if (!err.empty()) t.log.push_back(now_rfc3339(false) + " ERROR " + err);
        finish_change_locked(*it->second);
    }
    std::string logs_after(std::size_t& pos, const std::vector<std::string>& names, int n) override {
        std::lock_guard<std::mutex> lock(m);
        for (auto& [name, s] : services) capture_output_locked(name, s);
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
    std::string get_json(const std::string& target, unsigned& status) override {
        http::request<http::string_body> req{http::verb::get, target, 11};
        reply r = route(req);
        status = r.status;
        return r.body;
    }

    reply get_logs(const target_t& t) {
        std::lock_guard<std::mutex> lock(m);
        for (auto& [name, s] : services) capture_output_locked(name, s);
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

    // ---- connections ---------------------------------------------------------------------------

    awaitable<void> serve(local::socket sock) {
        beast::basic_stream<local, asio::any_io_executor> stream(std::move(sock));
        beast::flat_buffer buf;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(std::uint64_t(4) << 30);
            error_code ec;
            stream.expires_never();
            co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (ec == http::error::partial_message || ec == http::error::bad_content_length) {
                    // A truncated JSON body, as in the transcripts, is still decoded (and refused).
                }
                co_return;
            }
            http::request<http::string_body> req = parser.release();
            const target_t t = parse_target(req.target());
            if (opts.fake_endpoints && t.path.rfind("/v1/fake/", 0) == 0) {
                // Out of band: neither recorded nor faulted.
                const std::string wire = wire_of(fake_endpoint(req, t));
                co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
                if (ec) co_return;
                continue;
            }
            fault f = fault::none;
            std::chrono::milliseconds delay{0};
            {
                std::lock_guard<std::mutex> lock(m);
                std::string summary = req.body().substr(0, 256);
                if (req.body().size() > 256) summary += fmt::format("... ({} bytes)", req.body().size());
                rec.requests.push_back({std::string(req.method_string()), std::string(req.target()), std::move(summary)});
                const bool matches = (fault_at.method.empty() || fault_at.method == req.method_string()) &&
                                     (fault_at.path.empty() || fault_at.path == t.path);
                if (next_fault != fault::none && fault_count > 0 && matches && --fault_at.at <= 0) {
                    fault_at.at = 1;
                    f = next_fault;
                    delay = fault_delay;
                    if (--fault_count == 0) next_fault = fault::none;
                }
            }
            if (f == fault::delay) {
                asio::steady_timer timer(io, delay);
                co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
            }
            if (int streamed = co_await detail::serve_streaming(*this, stream, req, t.path, t.query)) {
                if (streamed == 2) co_return;
                continue;
            }
            reply r;
            if (req.method() == http::verb::get && t.path.rfind("/v1/changes/", 0) == 0 && t.path.size() > 5 &&
                t.path.compare(t.path.size() - 5, 5, "/wait") == 0)
                r = co_await wait_change(t);
            else if (req.method() == http::verb::post && t.path == "/v1/checks/refresh")
                r = co_await refresh_check(req.body());
            else
                r = route(req);
            std::string wire = wire_of(r);
            if (f == fault::garbage) wire = "this is not HTTP at all\r\n\r\n";
            if (f == fault::close_mid_response) wire.resize(wire.size() / 2);
            co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
            if (ec || f == fault::close_mid_response || f == fault::garbage) {
                stream.socket().shutdown(local::socket::shutdown_both, ec);
                co_return;
            }
        }
    }

    static std::string wire_of(const reply& r) {
        std::string wire = fmt::format(FMT_STRING("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nDate: {}\r\n"), r.status,
                                       status_text(r.status), r.content_type, http_date());
        if (r.chunked) {
            wire += "Transfer-Encoding: chunked\r\n\r\n";
            if (!r.body.empty()) wire += fmt::format(FMT_STRING("{:x}\r\n{}\r\n"), r.body.size(), r.body);
            wire += "0\r\n\r\n";
        } else {
            wire += fmt::format(FMT_STRING("Content-Length: {}\r\n\r\n{}"), r.body.size(), r.body);
        }
        return wire;
    }

    // server_options::fake_endpoints: GET /v1/fake/record, POST /v1/fake/faults. Runs on the io
    // thread, so the listener is closed and reopened here directly (inject() and clear_faults()
    // post to this thread and wait).
    reply fake_endpoint(const http::request<http::string_body>& req, const target_t& t) {
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
        auto v = decode_body(req.body(), err);
        if (!v) return err;
        if (!v->is_object()) return error(400, "cannot decode data from request body: expected an object");
        const json::object& o = v->as_object();
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
            const auto ns = it->value().is_string() ? parse_go_duration(std::string(it->value().as_string())) : std::nullopt;
            if (!ns || *ns < 0 || *ns > std::int64_t(3600) * 1000000000)
                return error(400, fmt::format(FMT_STRING("invalid delay {} (want a Go duration up to 1h, such as \"500ms\")"), json::serialize(it->value())));
            delay = std::chrono::milliseconds(*ns / 1000000);
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

    static std::string http_date() {
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        return buf;
    }

    awaitable<void> accept_loop() {
        for (;;) {
            error_code ec;
            local::socket sock = co_await acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (ec == asio::error::operation_aborted || stopping) co_return;
                continue;
            }
            asio::co_spawn(io, serve(std::move(sock)), asio::detached);
        }
    }

    void listen() {
        std::error_code ec;
        fs::remove(socket, ec);
        acceptor.emplace(io);
        acceptor->open();
        acceptor->bind(local::endpoint(socket));
        acceptor->listen();
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    void stop_all_services() {
        std::vector<std::shared_ptr<child_process>> procs;
        {
            std::lock_guard<std::mutex> lock(m);
            for (auto& [name, s] : services) {
                if (s.process) procs.push_back(s.process);
                s.process.reset();
                if (s.current != "inactive") s.since = now_rfc3339();
                s.current = "inactive";
            }
        }
        for (auto& p : procs) p->terminate(std::chrono::seconds(5));
    }
};

pebble_server::pebble_server(server_options opts) : impl_(std::make_unique<impl>()) {
    impl_->opts = std::move(opts);
    if (impl_->opts.socket_path.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "redispebble-server-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        ::chmod(tmpl.c_str(), 0755);
        impl_->temp_dir = tmpl;
        impl_->socket = tmpl + "/.pebble.socket";
    } else {
        impl_->socket = impl_->opts.socket_path;
    }
    {
        std::lock_guard<std::mutex> lock(impl_->m);
        impl_->load_layers_dir_locked();  // throws std::runtime_error as `pebble run` fails
        impl_->autostart_locked();
    }
    impl_->listen();
    impl_->monitor_timer.emplace(impl_->io);
    impl_->monitor();
    impl_->thread = std::thread([this] { impl_->io.run(); });
    impl_->checker = std::thread([this] { impl_->run_checks(); });
}

std::unique_ptr<pebble_server> pebble_server::start(server_options opts) {
    return std::make_unique<pebble_server>(std::move(opts));
}

pebble_server::~pebble_server() { stop(); }

void pebble_server::stop() {
    if (impl_->stopping.exchange(true)) return;
    asio::post(impl_->io, [this] {
        error_code ec;
        if (impl_->acceptor) impl_->acceptor->close(ec);
        if (impl_->monitor_timer) impl_->monitor_timer->cancel();
    });
    impl_->stop_all_services();
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    if (impl_->checker.joinable()) impl_->checker.join();
    std::error_code ec;
    fs::remove(impl_->socket, ec);
    if (!impl_->temp_dir.empty()) fs::remove_all(impl_->temp_dir, ec);
}

const std::string& pebble_server::socket_path() const noexcept { return impl_->socket; }

void pebble_server::inject(fault f, int count, std::chrono::milliseconds delay) {
    if (f == fault::refuse) {
        std::promise<void> done;
        asio::post(impl_->io, [this, &done] {
            error_code ec;
            impl_->acceptor->close(ec);
            // The socket file stays: connecting to it is refused.
            done.set_value();
        });
        done.get_future().wait();
        return;
    }
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->next_fault = f;
    impl_->fault_count = count;
    impl_->fault_delay = delay;
    impl_->fault_at = {};
}

void pebble_server::inject(fault f, const fault_target& target, int count, std::chrono::milliseconds delay) {
    if (f == fault::refuse)
        throw std::invalid_argument("inject: fault refuse closes the listener: it cannot wait for a request");
    if (count < 1 || count > 1000000 || target.at < 1 || target.at > 1000000)
        throw std::invalid_argument("inject: count and at must be from 1 to 1000000");
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->next_fault = f;
    impl_->fault_count = count;
    impl_->fault_delay = delay;
    impl_->fault_at = target;
}

void pebble_server::clear_faults() {
    {
        std::lock_guard<std::mutex> lock(impl_->m);
        impl_->next_fault = fault::none;
        impl_->fault_count = 0;
        impl_->fault_at = {};
    }
    std::promise<void> done;
    asio::post(impl_->io, [this, &done] {
        if (!impl_->acceptor->is_open()) impl_->listen();
        done.set_value();
    });
    done.get_future().wait();
}

void pebble_server::set_failing(const std::string& service, bool failing) {
    std::lock_guard<std::mutex> lock(impl_->m);
    if (failing) impl_->opts.failing_services.insert(service);
    else impl_->opts.failing_services.erase(service);
}

void pebble_server::restart_daemon() {
    impl_->stop_all_services();
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->layers.clear();
    impl_->checks.clear();
    for (auto& [name, s] : impl_->services) {
        s.ever_started = false;
        s.started_with.reset();
    }
    // The new daemon reads $PEBBLE/layers again and starts the enabled services.
    impl_->load_layers_dir_locked();
    impl_->autostart_locked();
}

std::string record_json(const server_record& r) {
    // A body cut at 256 bytes (or a binary file push) is not always UTF-8: each offending byte
    // becomes U+FFFD, so the document parses in any language.
    auto text = [](std::string_view v) {
        std::string out;
        for (std::size_t bad; (bad = invalid_utf8_at(v)) != std::string_view::npos; v.remove_prefix(bad + 1))
            out.append(v.substr(0, bad)).append("\xEF\xBF\xBD");
        return out.append(v);
    };
    json::array requests;
    for (const auto& q : r.requests)
        requests.push_back(json::object{{"method", text(q.method)}, {"target", text(q.target)}, {"body", text(q.body)}});
    auto counts = [](const std::map<std::string, int>& m) {
        json::object o;
        for (const auto& [k, n] : m) o[k] = n;
        return o;
    };
    json::object o{{"requests", std::move(requests)},
                   {"starts", counts(r.starts)},
                   {"stops", counts(r.stops)},
                   {"restarts", counts(r.restarts)},
                   {"check-restarts", counts(r.check_restarts)},
                   {"layers-added", r.layers_added},
                   {"files-written", r.files_written},
                   {"shutdown", r.shutdown}};
    return json::serialize(o);
}

server_record pebble_server::record() const {
    std::lock_guard<std::mutex> lock(impl_->m);
    return impl_->rec;
}

std::string pebble_server::service_state(const std::string& name) const {
    std::lock_guard<std::mutex> lock(impl_->m);
    auto it = impl_->services.find(name);
    if (it == impl_->services.end()) return impl_->plan_locked().services.count(name) ? "inactive" : "";
    return it->second.current == "starting" ? "active" : it->second.current;
}

std::string pebble_server::plan_yaml() const {
    std::lock_guard<std::mutex> lock(impl_->m);
    return to_plan_yaml(impl_->plan_locked());
}

} // namespace redispebble::testing
