// redispebble — the reconcile loop as a sans-io state machine: observe, decide, act, report.
// Standard library only. A driver (redispebble::reconcile over the Pebble client, or your own)
// performs each request and feeds the reply back; the machine never does I/O itself.
#ifndef REDISPEBBLE_RECONCILE_MACHINE_HPP
#define REDISPEBBLE_RECONCILE_MACHINE_HPP

#include <redispebble/reconcile.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redispebble {

/// One operation the machine asks its driver to perform against Pebble.
struct pebble_request {
    enum class kind {
        get_plan,     ///< GET /v1/plan?format=yaml
        get_service,  ///< GET /v1/services?names=<service>
        read_files,   ///< GET /v1/files?action=read for `paths`: reply with their SHA-256
        push_files,   ///< POST /v1/files (write) of `files`
        add_layer,    ///< POST /v1/layers {action: add, combine: true, label, layer}
        restart,      ///< POST /v1/services {action: restart, services: [service]}
        start,        ///< POST /v1/services {action: start, services: [service]}
        wait_change,  ///< GET /v1/changes/<change_id>/wait until ready or the deadline
    };
    kind what = kind::get_plan;
    std::vector<std::string> paths;
    std::vector<file_spec> files;
    std::optional<layer> layer_to_add;
    std::string label;
    std::string service;
    std::string change_id;
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
    std::map<std::string, std::optional<std::string>> file_sha256; ///< read_files: nullopt = missing
    std::map<std::string, std::string> file_errors; ///< push_files: path -> Pebble's per-file error
    std::string change_id;                   ///< restart/start
    bool change_failed = false;              ///< wait_change: the change ended in Error
    std::string change_error;                ///< wait_change: Pebble's err and the failing tasks' logs
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
    [[nodiscard]] int writes() const noexcept;    ///< files pushed plus layers added
};

/// Observe (plan, service, files), decide, act (push, add layer, restart or start, wait), report.
/// Any failure ends the run with a report that says what was done before it; nothing throws.
class reconcile_machine {
public:
    /// With `dry_run`, the machine observes and decides, then stops: report().decided says what it
    /// would do and actions_done stays empty.
    explicit reconcile_machine(desired_state desired, bool dry_run = false);

    /// The first request.
    [[nodiscard]] pebble_request start();
    /// The reply to the last request; the next request, or nullopt when the run is over.
    [[nodiscard]] std::optional<pebble_request> resume(const pebble_reply& reply);
    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] const reconcile_report& report() const noexcept { return report_; }

private:
    std::optional<pebble_request> finish(unit_status status, std::string message, bool retry);
    std::optional<pebble_request> fail(const pebble_reply& reply, std::string step);
    std::optional<pebble_request> next_action();

    enum class phase { plan, service, files, push, layer, restart, start, wait, finished };
    desired_state desired_;
    prepared_desired prepared_;  // computed once: the layer's digest is deliberately slow
    observed_state observed_;
    decision decision_;
    reconcile_report report_;
    phase phase_ = phase::plan;
    std::string change_service_;
    bool pushed_ = false, layered_ = false, restarted_ = false;
    bool done_ = false;
    bool dry_run_ = false;
};

/// Redacts Redis's and Pebble's output before it goes into a status: command lines and every
/// occurrence of `password` become `<redacted>`; at most `max_lines` last lines are kept.
[[nodiscard]] std::string redact_output(const std::string& text, const secret& password, std::size_t max_lines = 10);

} // namespace redispebble

#endif
