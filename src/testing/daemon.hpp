// The test server's daemon, shared by its files (private: not installed). Laid out as Pebble's
// internals/daemon: one file per API area (api_*.cpp, as api_*.go; HTTP handlers, methods of
// pebble_server::impl) over the state split by job as Pebble's overlord splits it, one class a
// job, each held by impl: notice_manager (overlord/state's notices), log_buffer (servicelog),
// service_manager (servstate), change_manager (the state engine: changes and tasks) and
// check_manager (checkstate); the plan (planstate) and the fault record stay bases of impl. The
// routing and connections are in server.cpp. One io_context thread serves HTTP and runs changes;
// the checker thread runs the checks; blocking work (stopping a process within its kill-delay,
// running a refreshed check) runs on helper threads and reports back through the io_context.
// All state is guarded by daemon_core::m.
#ifndef REDISPEBBLE_SRC_TESTING_DAEMON_HPP
#define REDISPEBBLE_SRC_TESTING_DAEMON_HPP

#include <redispebble/testing/server.hpp>

#include "accounts.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/shlex.hpp>
#include <redispebble/testing/process.hpp>
#include <redispebble/utf8.hpp>

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
#include <fnmatch.h>
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
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

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
// Now with millisecond precision, as Go writes a time stamped by Pebble's logger.AppendTimestamp
// ("…T15:04:05.07Z": trailing zeros dropped): a service log line's time in GET /v1/logs.
std::string now_rfc3339_millis();
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
// The kind of a JSON value in Go's "json: cannot unmarshal <kind> into ..." (UnmarshalTypeError):
// "array", "object", "string", "bool", "null" or "number".
const char* json_kind(const json::value& v);
// handler(the body as decode_object reads it), or decode_object's 400 when it is not an object:
// how the router hands a JSON body to a POST handler that takes the object (defined after reply).
template <class Handler>
reply with_object(const std::string& body, Handler&& handler);
// o[key] as a list of strings: absent or null is empty, a null entry is "" (Go's json leaves a
// string zero); anything else but an array of strings is 400 "<prefix>: json: cannot unmarshal
// ..." (Go's unmarshal error for a []string field), before the handler acts on any of it. The
// prefix is the handler's: "cannot decode data from request body" in v1PostServices and
// v1PostChecks, "cannot decode request body" in the others (Pebble v1.26's api_*.go).
std::optional<std::vector<std::string>> string_list(const json::object& o, const char* key, reply& err,
                                                    const char* prefix = "cannot decode request body");
// o[key] as a string field of the handler's Go struct: absent or null is "", a non-string is 400
// "<prefix>: json: cannot unmarshal <kind> into Go struct field .<key> of type string".
std::optional<std::string> string_field(const json::object& o, const char* key, reply& err, const char* prefix);
std::string str_of(const json::object& o, const char* key);
bool bool_of(const json::object& o, const char* key);

struct reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    bool chunked = false;
};

template <class Handler>
reply with_object(const std::string& body, Handler&& handler) {
    reply err;
    auto v = decode_object(body, err);
    if (!v) return err;
    return std::forward<Handler>(handler)(static_cast<const json::object&>(*v));
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

struct task_t {
    std::string id, kind, summary, status = "Do", service;
    std::vector<std::string> log;
    std::string spawn_time, ready_time;
    json::object data;  // exec: {"exit-code": N}
};

struct change_t {
    std::string id, kind, summary, status = "Do";
    std::vector<task_t> tasks;
    // Pebble's "notice-data": more last-data of its change-update notices beside "kind" (a check's
    // change: {"check-name": N}, as checkstate's NewChangeWithNoticeData gives).
    std::map<std::string, std::string> notice_data;
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

// One check as Pebble's check manager holds it (checkstate's checkData, what GET /v1/checks and
// /v1/health answer), with its running change: the change's kind, its task's check details (the
// counters the change counts with: a new perform-check starts from 0 even after a recovery) and
// the config the change runs with (Pebble caches it per change when the change is made; a later
// plan does not change it).
struct check_state {
    std::string level, startup = "enabled", status = "up";  ///< status: up, down or inactive
    int successes = 0, failures = 0;
    std::int64_t threshold = 3;
    std::string change_id;  ///< the running perform-check or recover-check change; "" inactive
    std::string change_kind;
    int run_successes = 0, run_failures = 0;
    std::optional<redispebble::check> config;
    // The config had the service-context merged in (a change made by a plan change or a
    // recovery); a change made by POST /v1/checks runs the plan's check as it is (StartChecks).
    bool config_merged = false;
    std::chrono::steady_clock::time_point next_run{};
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
    // `shared`: a server_fleet's io_context, run by the fleet's one thread for all its servers;
    // null: the daemon's own.
    explicit daemon_core(asio::io_context* shared)
        : own_io(shared ? nullptr : std::make_unique<asio::io_context>()), io(shared ? *shared : *own_io) {}
    server_options opts;
    std::unique_ptr<asio::io_context> own_io;  // before `io`: made first, destroyed last
    asio::io_context& io;
    mutable std::mutex m;

    // Runs `work` on a helper thread (blocking work: stopping a process within its kill-delay,
    // running a refreshed check). Every helper is joined by join_helpers() once the io thread has
    // ended, so none outlives the daemon: a detached one that finished after the server was
    // destroyed posted to a dead io_context (a crash, 9 runs in 30 of "following logs receives
    // lines..." under load).
    // Finished helpers are joined at the next run_helper (a long-lived server keeps no threads).
    void run_helper(std::function<void()> work) {
        std::lock_guard<std::mutex> lock(helpers_m_);
        for (auto it = helpers_.begin(); it != helpers_.end();) {
            if (*it->finished) {
                it->thread.join();
                it = helpers_.erase(it);
            } else {
                ++it;
            }
        }
        auto finished = std::make_shared<std::atomic<bool>>(false);
        helpers_.push_back({std::thread([work = std::move(work), finished] {
                                work();
                                *finished = true;
                            }),
                            finished});
    }
    void join_helpers() {
        std::vector<helper> all;
        {
            std::lock_guard<std::mutex> lock(helpers_m_);
            all.swap(helpers_);
        }
        for (auto& h : all) h.thread.join();
    }

private:
    struct helper {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> finished;
    };
    std::mutex helpers_m_;
    std::vector<helper> helpers_;
};

// The plan manager's state (Pebble's planstate): the stacked layers, lowest first. api_plan.cpp.
struct plan_state {
    std::vector<stacked_layer> layers;
    // The combined plan of the layers (planstate's Plan()).
    layer plan_locked() const;
};


// The notices (Pebble's overlord/state notices.go): change-update notices (one per change,
// repeated at each status change) and custom ones (one per key, user 0). Ids from 1.
// notices.cpp.
class notice_manager {
public:
    // The change-update notice of c: a new one, or c's one repeated with c's kind as last-data.
    void change_updated_locked(const change_t& c);
    // A custom notice with `key` and `data` (POST /v1/notices): a new one, or the key's one
    // repeated with the new data; its id.
    std::string add_custom_locked(const std::string& key, const json::object& data);
    // The notice with this id, or nullptr.
    const notice_t* find_locked(const std::string& id) const;
    // The notices of the listed types and keys (an empty list: any), oldest first.
    std::vector<const notice_t*> select_locked(const std::vector<std::string>& types,
                                               const std::vector<std::string>& keys) const;

private:
    std::vector<notice_t> notices_;
    int next_notice_ = 1;
};

// The service log buffer (Pebble's servicelog): each service's output as lines with their times,
// bounded as Pebble bounds a service's ring buffer (servstate's maxLogBytes, 100 KiB a service):
// a service keeps its newest lines whose bytes as Pebble stores them ("<time> [<service>]
// <message>\n", the time 24 bytes) add up to at most max_bytes; an older line, which Pebble would
// have overwritten at least in part, is dropped. service_log.cpp.
class log_buffer {
public:
    static constexpr std::size_t max_bytes = 100 * 1024;  ///< servstate's maxLogBytes, per service
    /// The bytes `line` takes in Pebble's ring buffer: "<24-byte time> [<service>] <message>\n".
    static std::size_t stored_bytes(const log_line& line);
    /// The messages GET /v1/logs gives for `line`: one, or for a line longer than Pebble's 4096-byte
    /// log reader (api_logs.go's logReaderSize) as stored, one a 4096-byte piece.
    static std::vector<std::string> entry_messages(const log_line& line);
    // Appends each line of `text` (output of `service`, ending in a newline) stamped now, then drops
    // that service's oldest lines until it is within max_bytes again.
    void append_output_locked(const std::string& service, const std::string& text);
    // The ndjson (Pebble's {"time", "service", "message"}) of the lines after pos of the listed
    // services (none listed: all), in the order written; pos npos: from each service's oldest kept
    // line, only the last n (n < 0: all). pos counts lines since the start (not an index: old
    // lines are dropped) and is set past the last line; a follower whose lines were dropped before
    // it read them goes on from the oldest kept line.
    std::string ndjson_locked(std::size_t& pos, const std::vector<std::string>& services, int n) const;

private:
    struct entry {
        std::size_t seq;  // how many lines (of every service) were appended before this one
        log_line line;
    };
    struct service_lines {
        std::deque<entry> lines;
        std::size_t bytes = 0;  // stored_bytes of `lines`, at most max_bytes
    };
    std::map<std::string, service_lines> services_;
    std::size_t appended_ = 0;  // lines appended since the start
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
    service_manager(daemon_core& core, const plan_state& plan, log_buffer& logs, server_record& rec,
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
    log_buffer& logs_;
    server_record& rec_;
    const std::atomic<bool>& stopping_;
    std::optional<asio::steady_timer> monitor_timer_;
};

// The change manager (Pebble's state engine, overlord/state, with the task handlers servstate
// registers): each change and its tasks, their ids (one counter each, from 1), running a
// services change's start and stop tasks through the service manager, finishing a change (its
// status and err from its tasks) and waking those who wait on it (change_t::waiters). Every
// status change of a change goes to the notify hook (the change-update notices). Methods ending
// in _locked expect daemon_core::m held; run_change takes it. changes.cpp.
class change_manager {
public:
    using notify_hook = std::function<void(const change_t&)>;
    change_manager(daemon_core& core, const plan_state& plan, service_manager& svc, notify_hook notify)
        : core_(core), plan_(plan), svc_(svc), notify_(std::move(notify)) {}

    // The change with this id, or nullptr.
    std::shared_ptr<change_t> find_locked(const std::string& id) const;
    // Every change, by id (numerically).
    std::vector<std::shared_ptr<change_t>> sorted_locked() const;

    // A new change (status Do, no tasks), announced to the notify hook.
    std::shared_ptr<change_t> new_change_locked(const std::string& kind, const std::string& summary);
    // A new task (status Do) at the end of c's tasks; `service` empty for a task on none.
    task_t& add_task_locked(change_t& c, const std::string& kind, const std::string& summary,
                            const std::string& service);
    // Announces a status change of c the caller made (Pebble's Change.SetStatus adds the notice).
    void notify_locked(const change_t& c) { notify_(c); }
    // Ready: Error (err lists each failed task with its last ERROR log line) when a task is in
    // Error, otherwise Done; announced, and its waiters woken.
    void finish_change_locked(change_t& c);

    // A services change (start, stop, restart, replan, autostart) with the tasks the service
    // manager plans; nullptr and Pebble's 400 in err when a named service does not exist.
    std::shared_ptr<change_t> services_change_locked(const std::string& action, const std::vector<std::string>& names,
                                                     reply& err);
    // What `pebble run` does at start and the autostart action: a change starting the services
    // whose startup is enabled (none: nothing, as Pebble logs "no default services" and carries
    // on), run on the io_context. Nothing when server_options::hold.
    void autostart_locked();
    // Runs a services change's tasks in order on the io_context, then finishes it; a failed task
    // holds the ones after it.
    awaitable<void> run_change(std::shared_ptr<change_t> c);

    // An "exec" change with one running task: {change id, task id}.
    std::pair<std::string, std::string> begin_exec_locked(const std::string& summary);
    // Finishes it with task data {"exit-code": code}; a non-empty err fails the task with it.
    void finish_exec_locked(const std::string& change_id, int exit_code, const std::string& err);

private:
    void ready_locked(change_t& c);

    daemon_core& core_;
    const plan_state& plan_;
    service_manager& svc_;
    notify_hook notify_;
    std::map<std::string, std::shared_ptr<change_t>> changes_;
    int next_change_ = 1, next_task_ = 1;
};

// The check manager (Pebble's checkstate): each check's state (successes, failures, up or down,
// its next run, its running change), the checker thread that runs the due checks (http, tcp,
// exec) and counts their results against the threshold, the perform-check and recover-check
// changes it makes through the change manager, with their task logs, and the services'
// on-check-failure actions through the service manager. Methods ending in _locked expect
// daemon_core::m held. check_manager.cpp.
class check_manager {
public:
    check_manager(daemon_core& core, const plan_state& plan, change_manager& changes, service_manager& svc,
                  const std::atomic<bool>& stopping)
        : core_(core), plan_(plan), changes_(changes), svc_(svc), stopping_(stopping) {}

    /// The task log line Pebble writes for a check's error (errorDetails: the message, then
    /// "; " and the details when there are any).
    struct check_error {
        std::string message;  ///< err.Error(): "exit status 1", "non-2xx status code 500", ...
        std::string details;  ///< the last lines of output or of the response body
        std::string full() const { return details.empty() ? message : message + "; " + details; }
    };

    // Every check the manager knows, by name (GET /v1/checks and /v1/health answer these, not the
    // plan: a running check whose startup became disabled still says "enabled").
    const std::map<std::string, check_state>& all_locked() const { return checks_; }
    // A check's state, or nullptr when the manager has not seen it.
    const check_state* find_locked(const std::string& name) const;
    // What a graceful stop of `pebble run` does to the checks (a container restart, then the new
    // daemon reads its layers again): the task runner stops, each check's handler returns, so
    // every running perform-check and recover-check change ends Done; the new daemon knows no
    // check until its plan is read (plan_changed_locked). The checker is woken.
    void daemon_restarted_locked();

    // checkstate's PlanChanged (Pebble v1.26 internals/overlord/checkstate/manager.go). Each
    // running check change: kept when its config (with service-context merged, defaults filled,
    // as reflect.DeepEqual compares plan.Check) is the new plan's, or when the new plan turns a
    // check started as enabled (or unset) to `startup: disabled` (it runs on with its old config);
    // otherwise aborted (ends Done) and the check forgotten; then restarted in a new
    // perform-check change, counters 0, when still in the plan. Every other check of the plan
    // starts in a new perform-check change unless its startup is disabled (a stopped one too);
    // a disabled one that is not running is inactive with its counters reset to 0.
    void plan_changed_locked(const layer& plan);
    // StartChecks and StopChecks for one check of the plan (`c` as the plan has it): true when it
    // changed. Start: a new perform-check change running `c` as it is (no service-context
    // merged: Pebble's StartChecks), counters 0; stop: its change aborted (ends Done), counters kept.
    bool start_check_locked(const std::string& name, const redispebble::check& c);
    bool stop_check_locked(const std::string& name, const redispebble::check& c);
    // checkstate's Replan (Pebble v1.26 internals/overlord/checkstate/manager.go), which the
    // replan of POST /v1/services calls: every check of `plan` the manager knows whose startup is
    // not disabled and that is not running (a stopped one too) is started as start_check_locked
    // starts it (the plan's check without its service-context, counters 0).
    void replan_locked(const layer& plan);
    // POST /v1/checks/refresh (RefreshCheck): the config to run for the plan's check `c` and the
    // change that runs it ("" when the check is not running: then `c` as the plan has it runs
    // directly, and nothing is counted).
    std::pair<redispebble::check, std::string> refresh_config_locked(const std::string& name,
                                                                    const redispebble::check& c) const;
    // Its result, counted by change `change_id` as a periodic run's (and its period starts again)
    // when that change still runs the check; nothing otherwise.
    void refreshed_locked(const std::string& name, const std::string& change_id, const std::optional<check_error>& err);

    // The check as it runs: an exec check with its service-context merged in.
    static redispebble::check merged_check_locked(const layer& plan, const redispebble::check& c);
    // Runs one check as Pebble's checkers do; nullopt on success. Blocks up to its timeout.
    static std::optional<check_error> run_check(const redispebble::check& c, const std::atomic<bool>& stopping);

    // The checker thread: start() once the daemon is set up, join() after stopping is set (it
    // wakes the thread, which waits up to 100 ms between rounds).
    void start();
    void join();

private:
    static const char* check_type(const redispebble::check& c);
    static std::string last_lines(const std::string& text, std::size_t n);
    // Pebble's reflect.DeepEqual of two plan.Check values, `merged` telling whether each had its
    // service-context merged in (mergeServiceContext always makes a non-nil environment map).
    static bool same_config(const redispebble::check& a, bool a_merged, const redispebble::check& b, bool b_merged);
    // A new change of `kind` running `config` with task details {successes, failures}.
    void begin_change_locked(const std::string& name, const redispebble::check& config, bool merged,
                             const std::string& kind, int successes, int failures);
    // How a check's running change ends.
    enum class change_end {
        done,      ///< the handler returned nil: Done
        error,     ///< the threshold was hit: Error, the error in its task log
        aborted,   ///< Change.Abort of the running task (no undo handler): Abort, Undo, then Done
    };
    void end_change_locked(check_state& st, change_end how, const std::string& why = "");
    // checkstate's updateCheckData: level, startup and threshold from `config`, the change and
    // the counters; status inactive without a change, down at the threshold, up otherwise.
    static void update_data(check_state& st, const redispebble::check& config, const std::string& change_id,
                            int successes, int failures);
    void task_log_locked(const check_state& st, const std::string& level, const std::string& text);
    void record_result_locked(const std::string& name, const std::optional<check_error>& err);
    void run();

    std::map<std::string, check_state> checks_;
    std::thread thread_;
    std::condition_variable wake_;  // with daemon_core::m: the checker's wait between rounds
    daemon_core& core_;
    const plan_state& plan_;
    // What a check's result acts through: its change's status and task log, and on-check-failure's
    // restart or shutdown of the services.
    change_manager& changes_;
    service_manager& svc_;
    const std::atomic<bool>& stopping_;
};

} // namespace detail
using namespace detail;  // the daemon's own names, in its files only

// daemon_core first: it is constructed first and destroyed last.
struct pebble_server::impl : server_host, daemon_core, plan_state, fault_state {
    explicit impl(asio::io_context* shared) : daemon_core(shared) {}
    std::string temp_dir;  // owned when we made one
    std::string socket;
    std::optional<local::acceptor> acceptor;
    std::thread thread;
    // Keeps io.run() running while nothing is pending (a refused listener, no process to watch):
    // clear_faults() and the other posts from outside need the thread there. Reset by stop().
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::atomic<bool> stopping{false};
    // The state by job, as Pebble's overlord holds its managers; each after the bases, `stopping`
    // and the managers it refers to.
    notice_manager notices;
    log_buffer logs;
    service_manager svc{*this, *this, logs, rec, stopping};
    change_manager changes{*this, *this, svc, [this](const change_t& c) { notices.change_updated_locked(c); }};
    check_manager checks{*this, *this, changes, svc, stopping};

    struct part {
        std::string name, filename, body;
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
    reply add_layer(const json::object& o);  // the body, decoded by the router (with_object)


    // api_services.cpp
    reply list_services(const target_t& t);
    reply post_services(const json::object& o);  // the body, decoded by the router (with_object)

    // api_signals.cpp
    reply signals(const json::object& o);  // the body, decoded by the router (with_object)

    // api_changes.cpp
    reply list_changes(const target_t& t);
    reply change_endpoint(const http::request<http::string_body>& req, const target_t& t);
    awaitable<reply> wait_change(const target_t& t);

    // api_notices.cpp
    reply notices_endpoint(const http::request<http::string_body>& req, const target_t& t);

    // api_files.cpp
    static std::optional<unsigned> parse_perm(const std::string& s, unsigned dflt);
    static std::optional<std::pair<uid_t, gid_t>> owner_of(const json::object& o, std::string& err);
    static std::string go_errno_text(int err);
    static void make_parents(const fs::path& dir, unsigned perm, const std::optional<std::pair<uid_t, gid_t>>& owner);
    static std::optional<std::vector<part>> parse_multipart(const std::string& body, const std::string& boundary);
    reply post_files(const http::request<http::string_body>& req);
    reply write_files(const std::string& body, const std::string& boundary);
    void write_file(const json::object& fo, const std::string& path, const std::string& content, json::object& r);
    reply get_files(const http::request<http::string_body>& req, const target_t& t);

    // api_checks.cpp
    reply list_checks(const target_t& t);
    reply post_checks(const json::object& o);  // the body, decoded by the router (with_object)
    awaitable<reply> refresh_check(const std::string& body);
    static json::object check_info(const std::string& name, const check_state& st);
    static std::optional<reply> bad_check_level(const std::string& level);

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
