// redispebble — the reconcile loop as a sans-io state machine: observe, decide, act, report.
// Standard library only (CMake target redispebble::core). A driver (redispebble::reconcile,
// observe and apply over the Pebble client in <redispebble/reconciler.hpp>, or your own) performs
// each request and feeds the reply back; the machine never does I/O itself.
#ifndef REDISPEBBLE_RECONCILE_MACHINE_HPP
#define REDISPEBBLE_RECONCILE_MACHINE_HPP

#include <redispebble/probe.hpp>
#include <redispebble/decide.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redispebble {

/// One operation the machine asks its driver to perform against Pebble.
struct pebble_request {
    enum class kind {
        get_plan,     ///< GET /v1/plan?format=yaml (also after add_layer: did our layer take effect?)
        get_service,  ///< GET /v1/services?names=<service>
        read_files,   ///< GET /v1/files?action=read for `paths`: reply with their SHA-256
        push_files,   ///< POST /v1/files (write) of `files`
        add_layer,    ///< POST /v1/layers {action: add, combine: true, label, layer}
        restart,      ///< POST /v1/services {action: restart, services: [service]}
        start,        ///< POST /v1/services {action: start, services: [service]}
        wait_change,  ///< GET /v1/changes/<change_id>/wait until ready or the deadline
        stat_path,    ///< GET /v1/files?action=list&path=<paths[0]>&itself=true: reply path_info
        make_dirs,    ///< POST /v1/files {action: make-dirs} of `dirs` (make-parents, owner, permissions)
        exec,         ///< POST /v1/exec of `command` (stdin `stdin_data`, Pebble timeout `timeout`),
                      ///< stdout and stderr merged: reply exit_code and output
        get_logs,     ///< GET /v1/logs?services=<service>&n=<log_lines>: reply log_lines
        pause,        ///< wait `timeout` (no I/O), then reply ok: the gap between two probes
        get_checks,   ///< GET /v1/checks?names=<services...>: reply checks_status
        stop_checks,  ///< POST /v1/checks {action: stop, checks: services}
        stop,         ///< POST /v1/services {action: stop, services}: reply change_id
        remove_files, ///< POST /v1/files {action: remove} of `paths`: reply file_errors (not-found is no error)
    };
    kind what = kind::get_plan;
    std::vector<std::string> paths;
    /// read_files: the secrets file among `paths` (or ""): reply with the key it holds in
    /// pebble_reply::secrets_key (parse_secrets_key of its first line).
    std::string key_path;
    /// read_files: also reply with the whole content of these paths in pebble_reply::file_content
    /// (sentinel.conf, which the Sentinel machine merges). Secret: it may hold passwords.
    std::vector<std::string> content_paths;
    std::vector<file_spec> files;
    std::optional<layer> layer_to_add;
    std::string label;
    std::string service;
    std::string change_id;
    std::vector<storage_fix> dirs;           ///< make_dirs: path, user, group, permissions
    std::vector<std::string> command;        ///< exec: argv, never a secret
    secret stdin_data;                       ///< exec: standard input (the probe's AUTH line)
    std::chrono::milliseconds timeout{0};    ///< exec: Pebble kills the command after it; pause: the delay
    int log_lines = 0;                       ///< get_logs: how many of the last lines
    /// restart/start/stop: every service to act on in one change (`service` is the first); the
    /// exporter goes with Redis when both changed. get_service: the services whose state to read
    /// (`service` and the retired ones). get_checks, stop_checks: the checks.
    std::vector<std::string> services;
    /// get_plan: the plan the machine expects Pebble to hold (after add_layer: the observed plan
    /// with our layer merged in, as when ours is the top layer). When to_plan_yaml() of it is
    /// byte for byte Pebble's answer, the driver may reply with it instead of parsing the answer:
    /// the same text is the same plan (Pebble renders a plan one way, and to_plan_yaml renders as
    /// Pebble does), and parsing a one-service plan with yaml-cpp takes about 70 us. Any other
    /// answer (a layer above ours, another rendering) is parsed.
    std::optional<layer> expected_plan;

    /// A `pause` of `delay` (the gap between two probes or two looks at a service in backoff).
    [[nodiscard]] static pebble_request pause_for(std::chrono::milliseconds delay);
};
[[nodiscard]] std::string_view to_string(pebble_request::kind k) noexcept;

/// The driver's answer to a request.
struct pebble_reply {
    enum class outcome {
        ok,           ///< done; the fields for the request's kind are set
        unreachable,  ///< no Pebble: socket missing, refused, connection lost (a container restart)
        timed_out,    ///< the request, or the wait, ran past its deadline
        failed,       ///< Pebble answered with an error (error holds its message), or bad input
        cancelled,    ///< the driver was cancelled (client::cancel(), client destroyed): the run ends
    };
    outcome result = outcome::ok;
    std::string error;                       ///< for failed/timed_out/unreachable: no secrets
    std::optional<layer> plan;               ///< get_plan
    std::optional<std::string> service_current; ///< get_service: nullopt when not in the plan
    /// get_service: the current state of every service of the request's `services` in the plan
    std::map<std::string, std::string> services_current;
    std::map<std::string, std::string> checks_status; ///< get_checks: name -> up, down, inactive
    std::map<std::string, std::optional<std::string>> file_sha256; ///< read_files: nullopt = missing
    std::optional<secret> secrets_key;       ///< read_files: the key in the request's key_path file
    std::map<std::string, secret> file_content; ///< read_files: the content of content_paths that were read
    std::map<std::string, std::string> file_errors; ///< push_files: path -> Pebble's per-file error
    std::string change_id;                   ///< restart/start
    bool change_failed = false;              ///< wait_change: the change ended in Error
    std::string change_error;                ///< wait_change: Pebble's err and the failing tasks' logs
    std::optional<path_state> path_info;     ///< stat_path: exists=false when Pebble says not-found
    int exit_code = -1;                      ///< exec: the command's exit code
    std::string output;                      ///< exec: stdout and stderr as the command wrote them
    std::vector<std::string> log_lines;      ///< get_logs: the service's lines, oldest first (messages only)
};

/// How the machine asks Redis itself (docs/reconcile.md, "Status from Redis").
struct probe_options {
    /// Probe at all. Off: Active as soon as Pebble's change is Done (the old behaviour).
    bool enabled = true;
    /// Pebble kills redis-cli after this (exec timeout); the probe then counts as not answering.
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
    /// A replica whose link to the master has been down this long (Redis's own
    /// master_link_down_since_seconds, or its uptime when the link was never up) is Blocked with
    /// Redis's reason; before that, Waiting.
    std::chrono::seconds link_bound{std::chrono::seconds(60)};
    /// After a (re)start, a probe that is not yet healthy is repeated every `settle_step` until it
    /// is, or this much time has been spent pausing; then the last verdict stands.
    std::chrono::milliseconds settle{std::chrono::seconds(10)};
    std::chrono::milliseconds settle_step{std::chrono::milliseconds(250)};
    /// How many of the service's last log lines are read for a reason (Pebble's n).
    int log_lines = 50;
};

/// Watching a service Pebble is restarting after a failure (`backoff`) while the inputs ask
/// nothing of it, to tell one crash from a service that keeps failing (found from outside, issue
/// 12: one `kill -9` followed at once by apply was Blocked "keeps failing", and Waiting or Blocked
/// depended on the instant). Pebble exposes no backoff count, so the machine (both containers')
/// pauses `probe.settle_step` at a time, at most `probe.settle` in all, reads the service state
/// after each pause and gives it to see():
/// - `failed_again`: it left backoff (Pebble restarted it) and is back in backoff, or Pebble gave
///   up (`error`): a second failure seen -> Blocked "keeps failing" with its last log lines;
/// - `long_backoff`: in backoff longer than Pebble's first backoff could last (2 x the service's
///   backoff-delay, default 500 ms, plus 1 s for the jitter and a loaded machine): Pebble's
///   backoff has grown, so it has failed more than once in a row -> Blocked, as above;
/// - `started`: out of backoff and active for Pebble's okay delay (1 s: a start that lasts that
///   long is running) -> asked as after a start (the probe, with its settle), so one crash that
///   Pebble restarted is Active once the service answers;
/// - `out_of_time`: the settle spent first -> Waiting "restarting after a failure" with its last
///   log lines; `again`: pause and look again.
class backoff_watch {
public:
    enum class verdict { again, started, failed_again, long_backoff, out_of_time };
    /// Pebble's default backoff-delay (plan.go defaultBackoffDelay) and okay delay (servstate's
    /// okayDelay).
    static constexpr std::chrono::milliseconds default_first_delay{500}, okay_delay{1000};
    /// `first_delay`: the service's backoff-delay (plan); `budget`, `step`: probe.settle, settle_step.
    backoff_watch(std::chrono::milliseconds first_delay, std::chrono::milliseconds budget, std::chrono::milliseconds step);
    /// The state (`current` of /v1/services; nullopt: not in the plan) after one more step.
    [[nodiscard]] verdict see(const std::optional<std::string>& current);
    [[nodiscard]] std::chrono::milliseconds spent() const noexcept { return spent_; }
    /// The status and message for an end of the watch other than `started` and `again`: Blocked
    /// `Service "S" keeps failing (Pebble backoff: ...)` for failed_again and long_backoff,
    /// Waiting `Service "S" is restarting after a failure (Pebble backoff)` for out_of_time. The
    /// machines add the service's last log lines.
    [[nodiscard]] static std::pair<unit_status, std::string> outcome(verdict v, const std::string& service);
    /// Pebble's first backoff delay for `service` in `plan` (its backoff-delay, else the default).
    [[nodiscard]] static std::chrono::milliseconds first_delay_of(const layer& plan, const std::string& service);

private:
    std::chrono::milliseconds first_delay_, budget_, step_;
    std::chrono::milliseconds spent_{0}, in_backoff_{0}, active_{0};
    bool left_ = false;
};

/// What a reconcile did and the status to report.
struct reconcile_report {
    unit_status status = unit_status::waiting;
    std::string message;
    bool retry_later = true;
    decision decided;                         ///< the decision the actions came from
    std::vector<std::string> actions_done;    ///< in order: "pushed /var/lib/redis/redis.crt", ...
    /// The step that failed or was cancelled, when one was ("read the Pebble plan", "push files",
    /// ...): set whenever a request did not succeed, Pebble absent at the start included.
    std::optional<std::string> failed_step;
    int attempts = 1;                         ///< runs made (more than one with retry_backoff)
    [[nodiscard]] int restarts() const noexcept;  ///< restart/start actions carried out
    /// Files pushed or removed, layers added, directories made or re-owned, retired services and
    /// checks stopped.
    [[nodiscard]] int writes() const noexcept;
    /// The probe's findings when Redis was asked (role, link), e.g. "role master" or
    /// "role slave, master 10.0.0.1:6379 link down (12 s)"; empty when not probed.
    std::string redis_state;
};

namespace detail {

/// Not API: the steps both containers' machines take alike, written once (src/core/
/// service_machine.cpp) for reconcile_machine and sentinel_machine (<redispebble/sentinel.hpp>),
/// which derive from it privately: adding the layer, the service change and its wait, then the probe
/// (the settle after a start, a second look at a service that does not answer), the watch of
/// Pebble's backoff (backoff_watch), reading the service's last log lines for a reason, the end of
/// the run. `Machine` gives its phase enum `phase` (the phases both have carry the same names:
/// wait, pause, logs, watch_pause, watch_service, recheck, finished) and `phase_`, and the hooks
/// fail(reply, step), next_action(), probe_request(), redact(text, max_lines), service() (the
/// service watched, probed and whose logs are read); it may hide finish() to add to it.
template <class Machine>
class service_machine {
protected:
    /// `logs_lead`: what goes between the message and the service's log lines.
    service_machine(probe_options probe, std::string_view logs_lead) : probe_(probe), logs_lead_(logs_lead) {}

    /// Ends the run with this status, message and retry; nullopt.
    std::optional<pebble_request> finish(unit_status status, std::string message, bool retry);
    /// Every action done (or none needed): the probe for an Active decision (probe.enabled), else
    /// the decision's status.
    std::optional<pebble_request> after_actions();
    /// The reply to add_layer: the action recorded, then the next action.
    std::optional<pebble_request> on_layer_added(const pebble_reply& reply);
    /// The reply to push_files: every file written is recorded ("pushed P"; Pebble writes each
    /// file of a push on its own, so one without an error was written even when another failed);
    /// the first per-file error ends the run Blocked "Cannot write P: <Pebble's words, redacted>";
    /// else the next action.
    std::optional<pebble_request> on_pushed(const pebble_reply& reply);
    /// The reply to remove_files, the same way ("removed P", Blocked "Cannot remove P: ...").
    std::optional<pebble_request> on_removed(const pebble_reply& reply);
    std::optional<pebble_request> on_files_changed(const pebble_reply& reply, const std::vector<std::string>& paths,
                                                   const char* step, const char* done, const char* cannot,
                                                   bool& finished);
    /// The reply to restart or start of `service`: the wait for its change.
    std::optional<pebble_request> on_change_requested(const pebble_reply& reply, const std::string& service);
    /// The reply to that wait: Waiting when it timed out, Blocked when the change failed, else
    /// after_actions().
    std::optional<pebble_request> on_change_waited(const pebble_reply& reply, const std::string& service);
    /// Just (re)started and not healthy yet: the pause before the next probe while probe.settle
    /// lasts; nullopt when the settle is over or this run did not start the service.
    std::optional<pebble_request> settle_pause();
    /// Not answering and not started by this run: the service state read once more (Pebble's
    /// "active" may be a moment old), `why` kept in not_answering_; nullopt when already read or
    /// this run started the service.
    std::optional<pebble_request> recheck_request(std::string why);
    /// The service is in Pebble's backoff: watch its restart (backoff_watch, its first delay from
    /// `plan`).
    std::optional<pebble_request> watch_backoff(const layer& plan);
    std::optional<pebble_request> watch_pause();
    std::optional<pebble_request> watch_request();  ///< after watch_pause: read the service state
    std::optional<pebble_request> on_watch(const pebble_reply& reply);
    /// Reads the service's last log lines to end the run with `status` and `why` and them.
    std::optional<pebble_request> logs_request(unit_status status, std::string why);
    std::optional<pebble_request> on_logs(const pebble_reply& reply);

    probe_options probe_;
    decision decision_;
    reconcile_report report_;
    bool layered_ = false;
    bool pushed_ = false;
    bool removed_ = false;
    bool restarted_ = false;  // this run started the service (or saw Pebble restart it): settle the probe
    bool rechecked_ = false;  // the service state read again after the service did not answer
    bool done_ = false;
    std::chrono::milliseconds settle_spent_{0};
    std::optional<backoff_watch> watch_;  // a service in Pebble's backoff with nothing to change
    std::string not_answering_;  // the probe's words, while the service state is read again
    std::string logs_for_;  // the message the logs are read for (message + lead + log lines)
    unit_status logs_status_ = unit_status::blocked;  // the status the logs' message goes with
    bool logs_replication_ = false;  // pick the replication lines (else the last lines)

private:
    Machine& machine() noexcept { return static_cast<Machine&>(*this); }
    pebble_request state_request();  // get_service of service()
    std::string_view logs_lead_;
};

} // namespace detail

/// Observe (plan, service, storage directory, files), decide, act (make or re-own the storage
/// directory, push, add layer, read the plan again, restart or start, wait), ask Redis (probe),
/// report. Any failure ends the run with a report that says what was done before it; nothing throws.
///
/// Other layers: after adding the layer the plan is read again; when it does not carry our layer's
/// fingerprint a layer above ours replaces the service (Pebble combines into an existing label at
/// its place), so restarting would not run our configuration: the run ends Blocked with the
/// overridden fields and no restart.
///
/// Status from Redis: an Active decision ends with the probe (exec of redis-cli, probe.hpp):
/// healthy -> Active; Waiting or Blocked as assess_probe says; a replica past the link bound, and a
/// service in Pebble's backoff with nothing to change, read the service's logs (get_logs) and are
/// Blocked with Redis's words (redacted), so the reason of a failed start stays in the report
/// until the inputs change.
class reconcile_machine : private detail::service_machine<reconcile_machine> {
public:
    /// The whole loop: observe, decide, act, probe. With `dry_run`, the machine observes and
    /// decides, then stops: report().decided says what it would do and actions_done stays empty.
    /// A dry run whose decision has nothing to do still asks Redis as the whole loop does (the
    /// probe, or the logs of a service in Pebble's backoff: reads only), so its status is the one
    /// apply reports for the same unit.
    explicit reconcile_machine(desired_state desired, bool dry_run = false, probe_options probe = {});

    /// Only the observe phases (plan, service, storage directory, files), then done: observed()
    /// holds what decide() needs. When the inputs alone decide (invalid configuration,
    /// incomplete peer data, missing certificates) only the plan is read, as the whole loop does.
    /// observed_all() tells a complete observation from one that ended at a failed step (then
    /// report() is what the whole loop reports for it: status, message, failed_step).
    [[nodiscard]] static reconcile_machine observe_only(desired_state desired, probe_options probe = {});
    /// Only the act and probe phases, for a decision the caller made (decide() of an
    /// observe_only() machine's observed(), possibly changed): make or re-own the storage
    /// directory, push, add the layer and read the plan again, restart or start and wait, then
    /// the probe as the whole loop does it (probe.enabled) for an Active decision. Exactly the
    /// decision's actions are done, nothing else. `desired` gives the probe its address and
    /// password and redacts Pebble's and Redis's words. start() may then end the run at once
    /// (nothing to do, probe off): it returns nullopt. A no-op decision for a service in Pebble's
    /// backoff (decision::service_current) reads the service state again while it watches the
    /// restart (backoff_watch), and nothing else.
    [[nodiscard]] static reconcile_machine apply_decision(desired_state desired, decision d, probe_options probe = {});

    /// The first request; nullopt when there is nothing to ask (only apply_decision()).
    [[nodiscard]] std::optional<pebble_request> start();
    /// The reply to the last request; the next request, or nullopt when the run is over.
    [[nodiscard]] std::optional<pebble_request> resume(const pebble_reply& reply);
    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] const reconcile_report& report() const noexcept { return report_; }
    /// What was seen so far (complete when observed_all()).
    [[nodiscard]] const observed_state& observed() const noexcept { return observed_; }
    /// Every observe phase ran (or the inputs decided after the plan): observed() is what decide() needs.
    [[nodiscard]] bool observed_all() const noexcept { return observed_all_; }
    /// What decide(observed(), desired) decides, from the inputs this machine already prepared
    /// (with the container's secrets key once read, as decide() prepares them), so an
    /// observe_only() run followed by apply_decision() prepares them once, not twice. For an
    /// observe_only() or whole machine whose observed_all() holds.
    [[nodiscard]] decision decide_observed() const;

private:
    friend class detail::service_machine<reconcile_machine>;
    enum class mode { whole, observe, apply };
    reconcile_machine(mode m, desired_state desired, bool dry_run, probe_options probe);
    std::optional<pebble_request> fail(const pebble_reply& reply, std::string step);
    std::optional<pebble_request> after_service();
    std::optional<pebble_request> after_observe();
    std::optional<pebble_request> begin_apply();
    std::optional<pebble_request> next_action();
    std::string step_name() const;  // the step of the current phase, as failed_step names it
    std::optional<pebble_request> probe_request();
    std::optional<pebble_request> on_probe(const pebble_reply& reply);
    std::string redact(const std::string& text, std::size_t max_lines) const;
    const std::string& service() const noexcept { return desired_.config.service_name; }

    enum class phase {
        plan, service, storage, checks, files, make_dirs, chown, push, layer, verify, stop_checks, stop, stop_wait,
        remove, restart, start, wait, probe, pause, logs, watch_pause, watch_service, recheck, finished
    };
    mode mode_ = mode::whole;
    desired_state desired_;
    prepared_desired prepared_;  // made with a new key, made again with the container's key once read
    observed_state observed_;
    decision given_;  // apply_decision(): the caller's decision, as start() begins with it
    phase phase_ = phase::plan;
    std::string change_service_;
    bool verified_ = false, made_ = false, chowned_ = false;
    bool checks_stopped_ = false, stopped_ = false;
    retired_entries retired_;  // what the plan holds that our layer retires (after get_plan)
    bool dry_run_ = false;
    bool observed_all_ = false;
};

/// Redacts Redis's and Pebble's output before it goes into a status: every occurrence of
/// `password` in the whole text (not line by line: a password may hold a newline or any other
/// byte), overlapping and repeated ones included, and of the forms it takes in output (redis.conf
/// `\xHH` escapes, Go's quoting, Pebble's command quoting) becomes one `<redacted>` per run; then the
/// value after `--requirepass`/`--masterauth` on each line; then at most the last `max_lines`
/// lines are kept. Should what is left spell a form of the password again, the whole output is
/// withheld.
[[nodiscard]] std::string redact_output(const std::string& text, const secret& password, std::size_t max_lines = 10);

} // namespace redispebble

#endif
