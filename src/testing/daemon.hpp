// The test server's daemon, shared by its files (private: not installed). Laid out as Pebble's
// internals/daemon: one file per API area (api_*.cpp, as api_*.go), the state split by job: the
// service manager is a class of its own (service_manager below, as servstate), which
// pebble_server::impl holds as `svc`; the plan, changes, checks, notices and logs are still bases
// of impl whose methods are impl's. The routing and connections are in server.cpp. One io_context thread serves HTTP and runs changes;
// blocking work (stopping a process within its kill-delay, running exec checks) runs on helper
// threads and reports back through the io_context. All state is guarded by daemon_core::m.
#ifndef REDISPEBBLE_SRC_TESTING_DAEMON_HPP
#define REDISPEBBLE_SRC_TESTING_DAEMON_HPP

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
// "n must be -1, 0, or a positive integer" (not a number, or below -1). In server_exec.cpp.
std::optional<int> logs_n(const std::string& text);
// Exec, logs follow and the notices long-poll: server_exec.cpp. 0: not ours; 1: answered;
// 2: answered and the connection taken over (websocket) or finished.
awaitable<int> serve_streaming(server_host& host, beast::basic_stream<local, asio::any_io_executor>& stream,
                               http::request<http::string_body>& req, const std::string& path,
                               const std::multimap<std::string, std::string>& query);
} // namespace detail

// The daemon's shared values and helpers (response.cpp): Pebble's response envelopes, the request
// target, the state records.
namespace detail {

struct reply; struct target_t; struct task_t; struct change_t; struct service_t; struct check_state; struct log_line; struct notice_t; struct stacked_layer;

std::string now_rfc3339(bool nanos = true);
const char* status_text(unsigned code);
// An HTTP Date header's value (RFC 7231 IMF-fixdate, GMT).
std::string http_date();
reply sync(json::value result, unsigned status = 200);
reply error(unsigned status, const std::string& message, const std::string& kind = "");
// Go's json.Decoder error for a body that ends early.
std::optional<json::value> decode_body(const std::string& body, reply& err);
// A request body that must be a JSON object, as Pebble decodes it into a Go struct: null reads as
// {} (Go leaves the struct zero), any other non-object is 400 "cannot decode request body: json:
// cannot unmarshal <kind> into ..." (Go's json.Unmarshal error). Used by every JSON handler.
std::optional<json::object> decode_object(const std::string& body, reply& err);
// o[key] as a list of strings: absent or null is empty; anything else but an array of strings is
// 400 (Go's unmarshal error for a []string field), before the handler acts on any of it.
std::optional<std::vector<std::string>> string_list(const json::object& o, const char* key, reply& err);
std::string str_of(const json::object& o, const char* key);
bool bool_of(const json::object& o, const char* key);

struct reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    bool chunked = false;
};

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


// The daemon's core: its options, the io_context every other part posts to, and the one mutex
// that guards all the state below. The first base, so it outlives the state (timers of changes
// and services are destroyed before their io_context).
struct daemon_core {
    server_options opts;
    asio::io_context io;
    mutable std::mutex m;
};

// The plan manager's state (Pebble's planstate): the stacked layers, lowest first. api_plan.cpp.
struct plan_state {
    std::vector<stacked_layer> layers;
    // The combined plan of the layers (planstate's Plan()).
    layer plan_locked() const;
};


// The state engine's changes and tasks (Pebble's overlord/state). changes.cpp.
struct change_state {
    std::map<std::string, std::shared_ptr<change_t>> changes;
    int next_change = 1, next_task = 1;
};

// The check manager's state (Pebble's checkstate). check_manager.cpp.
struct check_manager_state {
    std::map<std::string, check_state> checks;
};

// The notices (Pebble's state notices). api_notices.cpp.
struct notice_state {
    std::vector<notice_t> notices;
    int next_notice = 1;
};

// The service log buffer (Pebble's servicelog). api_logs.cpp.
struct log_state {
    std::vector<log_line> logs;
};

// What the fake endpoints and the public inject() drive: the record and the armed fault.
// api_fake.cpp, server.cpp.
struct fault_state {
    server_record rec;
    fault next_fault = fault::none;
    int fault_count = 0;
    std::chrono::milliseconds fault_delay{0};
    fault_target fault_at;  // which requests the fault waits for (at: matching ones still to pass + 1)
};

// The line prefix of a task log entry: "<time> <LEVEL> ".
std::string log_prefix(const char* level);

// The service manager (Pebble's servstate): each service's state and process, start within the
// start window, stop within the kill-delay, backoff and restart (the monitor), the output into the
// log buffer, the tasks of a services change, and the on-check-failure actions. It reads the plan
// and writes the record and the log buffer it is given; it does not create or run changes (the
// daemon does, with the tasks it plans). Methods ending in _locked expect daemon_core::m held; the
// others take it. service_manager.cpp.
class service_manager {
public:
    service_manager(daemon_core& core, const plan_state& plan, log_state& logs, server_record& rec,
                    const std::atomic<bool>& stopping)
        : core_(core), plan_(plan), logs_(logs), rec_(rec), stopping_(stopping) {}

    // Each service the daemon has seen, by name (a service of the plan that is not here is
    // inactive and was never started).
    std::map<std::string, service_t> services;

    // One task of a services change: "start" or "stop", and the service.
    struct task_plan {
        std::string kind, service;
    };
    // The tasks and the summary of a change for `action` (start, stop, restart, replan,
    // autostart) on `names` (replan: the plan decides). Nothing, with Pebble's 400 in err, when a
    // named service is not in the plan.
    std::optional<std::pair<std::vector<task_plan>, std::string>> plan_change_locked(
        const std::string& action, const std::vector<std::string>& names, reply& err);

    // A start or stop task: true when it succeeded; its log lines are appended to log.
    awaitable<bool> start(const std::string& name, std::vector<std::string>& log);
    awaitable<bool> stop(const std::string& name, std::vector<std::string>& log);

    // servstate's CheckFailed: the on-check-failure actions of the services for the check.
    void check_failed_locked(const std::string& check_name);

    // Moves what the services wrote, up to their last full line, into the log buffer.
    void capture_output_locked();

    // A service that exited after it became active goes to backoff, and its restart is
    // scheduled, as servstate's exited handler does. Pebble sees an exit when the kernel reports
    // it (a goroutine waits on each process), so every read of a service's state calls this
    // first: a GET /v1/services right after a kill -9 says backoff, not a stale active.
    void notice_exits_locked();

    // The monitor: every 100 ms, notice_exits_locked() and the output into the log buffer, for a
    // service nobody asks about. start_monitor() on the io_context's thread or before it runs;
    // cancel_monitor() on the io_context's thread.
    void start_monitor();
    void cancel_monitor();

    // Stops every process (within 5 s each) and marks every service inactive. Takes the lock.
    void stop_all();

private:
    std::optional<redispebble::service> config_locked(const std::string& name) const;
    bool spawn_locked(const std::string& name, const redispebble::service& cfg, std::vector<std::string>& log);
    void schedule_backoff_locked(const std::string& name);
    void capture_output_locked(const std::string& name, service_t& s);
    void monitor();

    daemon_core& core_;
    const plan_state& plan_;
    log_state& logs_;
    server_record& rec_;
    const std::atomic<bool>& stopping_;
    std::optional<asio::steady_timer> monitor_timer_;
};

} // namespace detail
using namespace detail;  // the daemon's own names, in its files only

// daemon_core first: it is constructed first and destroyed last.
struct pebble_server::impl : server_host, daemon_core, plan_state, change_state, check_manager_state, notice_state,
                             log_state, fault_state {
    std::string temp_dir;  // owned when we made one
    std::string socket;
    std::optional<local::acceptor> acceptor;
    std::thread thread;
    std::atomic<bool> stopping{false};
    std::thread checker;
    // After the bases and `stopping`, which it refers to.
    service_manager svc{*this, *this, *this, rec, stopping};

    struct part {
        std::string name, filename, body;
    };

    /// The task log line Pebble writes for a check's error (errorDetails: the message, then
    /// "; " and the details when there are any).
    struct check_error {
        std::string message;  ///< err.Error(): "exit status 1", "non-2xx status code 500", ...
        std::string details;  ///< the last lines of output or of the response body
        std::string full() const { return details.empty() ? message : message + "; " + details; }
    };

    // server.cpp
    reply route(const http::request<http::string_body>& req);
    reply route_or_500(const http::request<http::string_body>& req);  // route, a thrown error as 500
    std::pair<std::string, std::string> begin_exec(const std::string& summary) override;
    void finish_exec(const std::string& change_id, int exit_code, const std::string& err) override;
    std::string get_json(const std::string& target, unsigned& status) override;
    awaitable<void> serve(local::socket sock);
    static std::string wire_of(const reply& r);
    awaitable<void> accept_loop();
    void listen();

    // api_fake.cpp
    reply fake_endpoint(const http::request<http::string_body>& req, const target_t& t);

    // api_plan.cpp
    void load_layers_dir_locked();
    reply add_layer(const std::string& body);


    // api_services.cpp
    reply list_services(const target_t& t);
    reply post_services(const std::string& body);

    // api_signals.cpp
    reply signals(const std::string& body);

    // changes.cpp
    // A services change (start, stop, restart, replan, autostart) with the tasks the service
    // manager plans; nullptr and Pebble's 400 in err when a named service does not exist.
    std::shared_ptr<change_t> services_change_locked(const std::string& action, const std::vector<std::string>& names,
                                                     reply& err);
    // What `pebble run` does at start and the autostart action: a change starting the services
    // whose startup is enabled (none: nothing, as Pebble logs "no default services" and carries on).
    void autostart_locked();
    std::shared_ptr<change_t> new_change_locked(const std::string& kind, const std::string& summary);
    task_t& add_task_locked(change_t& c, const std::string& kind, const std::string& service);
    void finish_change_locked(change_t& c);
    awaitable<void> run_change(std::shared_ptr<change_t> c);

    // api_changes.cpp
    reply list_changes(const target_t& t);
    reply change_endpoint(const http::request<http::string_body>& req, const target_t& t);
    awaitable<reply> wait_change(const target_t& t);

    // api_notices.cpp
    void notify_change_locked(const change_t& c);
    static json::object notice_json(const notice_t& n);
    reply notices_endpoint(const http::request<http::string_body>& req, const target_t& t);

    // api_files.cpp
    static std::optional<unsigned> parse_perm(const std::string& s, unsigned dflt);
    static std::optional<std::pair<uid_t, gid_t>> owner_of(const json::object& o, std::string& err);
    static std::string go_errno_text(int err);
    static void make_parents(const fs::path& dir, unsigned perm, const std::optional<std::pair<uid_t, gid_t>>& owner);
    static std::optional<std::vector<part>> parse_multipart(const std::string& body, const std::string& boundary);
    reply post_files(const http::request<http::string_body>& req);
    reply write_files(const std::string& body, const std::string& ctype);
    reply get_files(const http::request<http::string_body>& req, const target_t& t);

    // check_manager.cpp
    static const char* check_type(const redispebble::check& c);
    void begin_check_change_locked(const std::string& name, const redispebble::check& c, const std::string& kind);
    void end_check_change_locked(const std::string& name, const std::string& status, const std::string& why = "");
    static redispebble::check merged_check_locked(const layer& plan, const redispebble::check& c);
    void check_task_log_locked(const std::string& name, const std::string& level, const std::string& text);
    void record_check_result_locked(const std::string& name, const redispebble::check& c, const std::optional<check_error>& err);
    void run_checks();
    static std::string last_lines(const std::string& text, std::size_t n);
    static std::optional<check_error> run_check(const redispebble::check& c, const std::atomic<bool>& stopping);

    // api_checks.cpp
    reply list_checks(const target_t& t);
    reply post_checks(const std::string& body);
    awaitable<reply> refresh_check(const std::string& body);
    json::object check_info_locked(const std::string& name, const redispebble::check& c);

    // api_health.cpp
    reply health(const target_t& t);

    // api_system_info.cpp
    std::string boot_id() const;

    // api_logs.cpp
    std::string logs_after(std::size_t& pos, const std::vector<std::string>& names, int n) override;
    reply get_logs(const target_t& t);
};

} // namespace redispebble::testing

#endif
