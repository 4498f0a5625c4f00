// redispebble::testing — a Pebble-compatible server on a Unix socket, for tests (yours and ours).
//
// It speaks Pebble v1.26's REST API with the same envelopes, status codes, messages and error kinds
// as the recorded transcripts; layers combine with Pebble's rules and the plan renders as Pebble
// renders it; services really run (or are simulated) with Pebble's "exited quickly" start window;
// changes have Pebble's tasks, logs and errors; files live in the real filesystem. Faults can be
// injected and everything that happened is recorded, so a test can assert that no restart happened.
#ifndef REDISPEBBLE_TESTING_SERVER_HPP
#define REDISPEBBLE_TESTING_SERVER_HPP

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace redispebble::testing {

struct server_options {
    /// Socket path; empty: `<fresh temp dir>/.pebble.socket`.
    std::string socket_path;
    /// Pebble's one-second "did it exit quickly" window after starting a service.
    std::chrono::milliseconds start_window{1000};
    /// Run service commands for real (fork/exec, user/group when root). When false, services are
    /// simulated: they become active after the start window unless named in failing_services.
    bool run_processes = true;
    /// Simulated services that exit quickly (code 1) when started.
    std::set<std::string> failing_services;
    /// Reported by /v1/system-info.
    std::string version = "v1.26.0";
    /// Pebble's `$PEBBLE/layers`: read at start-up (and by restart_daemon) as Pebble's plan.ReadDir
    /// does: files `NNN-label.yaml` and directories `NNN-label.d/NNN-label.yaml` (label "dir/label")
    /// in name order, other names refused, other suffixes ignored, orders and labels unique, the
    /// combined plan validated. A bad directory throws std::runtime_error with Pebble's message
    /// (where `pebble run` exits). Empty or missing: no layers. Layers added through the API stack
    /// above these; combining into one of these labels merges at its place.
    std::string layers_dir;
    /// `pebble run --hold`: do not start the services whose startup is enabled at start-up.
    bool hold = false;
    /// Serve the test endpoints under `/v1/fake/` (docs/testing-server.md, "The program"): `GET
    /// /v1/fake/record` answers record_json() in Pebble's sync envelope, `POST /v1/fake/faults`
    /// calls inject() or clear_faults() from a JSON body. These requests are neither recorded nor
    /// given a fault. Off (the default): `/v1/fake/...` is 404 as on Pebble.
    /// `redispebble-pebble-fake` turns this on.
    bool fake_endpoints = false;
};

/// What the server saw, for assertions.
struct server_record {
    struct request {
        std::string method;
        std::string target;
        std::string body;  ///< the first 256 bytes of the body, with "... (N bytes)" when longer
    };
    std::vector<request> requests;
    std::map<std::string, int> starts;    ///< service -> processes started (restarts included)
    std::map<std::string, int> stops;     ///< service -> stops
    std::map<std::string, int> restarts;  ///< service -> restarts (restart action, or replan of a changed config)
    int layers_added = 0;
    int files_written = 0;
    /// service -> restarts made by its `on-check-failure: restart` when a check reached its threshold
    std::map<std::string, int> check_restarts;
    /// "" until a check's `on-check-failure` asked for a shutdown: then "failure" (shutdown,
    /// failure-shutdown) or "success" (success-shutdown). Pebble would exit; the server stops
    /// every service and keeps answering.
    std::string shutdown;
};

/// The record as one JSON object, the `result` of `GET /v1/fake/record`:
/// `{"requests": [{"method", "target", "body"}...], "starts": {service: n}, "stops": {...},
/// "restarts": {...}, "check-restarts": {...}, "layers-added": n, "files-written": n,
/// "shutdown": ""|"failure"|"success"}` (server_record's fields, Pebble's kebab-case keys). A byte
/// that is not UTF-8 (a body cut at 256 bytes, a binary file push) is written as U+FFFD.
std::string record_json(const server_record& r);

/// Which requests a fault waits for (pebble_server::inject): those whose method and path match
/// (empty: any), starting with the `at`-th matching one (1: the next).
struct fault_target {
    std::string method;  ///< "GET", "POST", ...; empty: any method
    std::string path;    ///< the request's path without its query, e.g. "/v1/layers"; empty: any
    int at = 1;          ///< the fault starts at the at-th matching request (1-1000000)
};

/// A fault the next requests get.
enum class fault {
    none,
    close_mid_response,  ///< send half the response, then close the connection
    delay,               ///< wait `fault_delay` before answering
    garbage,             ///< answer with bytes that are not HTTP
    refuse,              ///< close the listener: the socket file stays, connections are refused
};

namespace detail {
/// What the streaming endpoints (exec, logs follow, notices long-poll; src/testing/server_exec.cpp)
/// need from the server. Not public API.
struct server_host {
    virtual ~server_host() = default;
    /// A new "exec" change with one running task: {change id, task id}.
    virtual std::pair<std::string, std::string> begin_exec(const std::string& summary) = 0;
    /// Finishes it with task data {"exit-code": code}; a non-empty `err` fails the task with it.
    virtual void finish_exec(const std::string& change_id, int exit_code, const std::string& err) = 0;
    /// The ndjson log lines written since `pos` (npos: the last `n`, all when n < 0), advancing pos.
    virtual std::string logs_after(std::size_t& pos, const std::vector<std::string>& services, int n) = 0;
    /// Routes a GET like any other request: the response body, and its status in `status`.
    virtual std::string get_json(const std::string& target, unsigned& status) = 0;
};
} // namespace detail

class pebble_server {
public:
    /// Listens at once and serves on its own threads (one io_context thread, one checks thread).
    explicit pebble_server(server_options opts = {});
    /// The same, on the heap: `auto pebble = pebble_server::start({.start_window = 200ms});`.
    static std::unique_ptr<pebble_server> start(server_options opts = {});
    /// Stops the server and every service process it started.
    ~pebble_server();
    /// Closes the listener and every connection, stops every service (SIGTERM, then SIGKILL after
    /// the kill-delay) and removes the socket and temporary directory. Idempotent.
    void stop();
    pebble_server(const pebble_server&) = delete;
    pebble_server& operator=(const pebble_server&) = delete;

    const std::string& socket_path() const noexcept;

    /// The next `count` requests get `f` (refuse: until clear_faults()).
    void inject(fault f, int count = 1, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
    /// `count` requests matching `target` get `f`, from the target.at-th matching one on (e.g. the
    /// 2nd POST /v1/layers); other requests pass. Replaces any fault injected before. Throws
    /// std::invalid_argument for `refuse` (it closes the listener: no request to match), a count or
    /// `at` outside 1-1000000.
    void inject(fault f, const fault_target& target, int count = 1,
                std::chrono::milliseconds delay = std::chrono::milliseconds(0));
    void clear_faults();

    /// Simulated services only: from now on, starts of `service` exit quickly (code 1) when
    /// `failing`, or succeed again when not (server_options::failing_services at run time).
    void set_failing(const std::string& service, bool failing);

    /// What a container restart (a graceful stop of `pebble run`) does to Pebble: every running
    /// check change ends Done, every service is stopped and every layer added through the API is
    /// forgotten (the plan back to layers_dir's, {} without one, whose checks start in new
    /// changes); changes and their ids are kept.
    void restart_daemon();

    /// A copy of the record so far.
    server_record record() const;
    /// Current state of a service ("active", "inactive", "backoff", "error"), "" when unknown.
    std::string service_state(const std::string& name) const;
    /// The plan as GET /v1/plan renders it.
    std::string plan_yaml() const;

private:
    friend class server_fleet;
    struct impl;
    pebble_server(server_options opts, void* shared_io);  // a server_fleet's (a boost::asio::io_context)
    std::unique_ptr<impl> impl_;
};

/// Many Pebble-compatible servers in one process on one thread: a bench or test that stands in for
/// hundreds of units' Pebbles (`redispebble_bench_units` runs 1000). Each is a whole pebble_server
/// with its own socket, plan, changes and record, but they all serve on one io_context run by the
/// fleet's one thread, instead of one io_context thread each: 1000 servers do not make 1000
/// threads wake one another, and an idle fleet sleeps. Each server still has its checks thread
/// (it sleeps until a layer has a check). Servers live as long as the fleet; `stop()` on one closes
/// its listener and stops its services, and the fleet's destructor stops its thread, then every
/// server.
class server_fleet {
public:
    /// `count` servers made with `opts` (each with its own temporary directory and socket), serving
    /// at once. Throws std::invalid_argument when opts.socket_path is set (the servers would share
    /// it), and what pebble_server's constructor throws.
    server_fleet(std::size_t count, const server_options& opts);
    ~server_fleet();
    server_fleet(const server_fleet&) = delete;
    server_fleet& operator=(const server_fleet&) = delete;

    std::size_t size() const noexcept { return servers_.size(); }
    pebble_server& operator[](std::size_t i) { return *servers_.at(i); }

private:
    struct impl;
    std::unique_ptr<impl> impl_;  // the io_context and its thread: made before the servers, gone after
    std::vector<std::unique_ptr<pebble_server>> servers_;
};

} // namespace redispebble::testing

#endif
