// What both containers' machines do alike (detail::service_machine, include/redispebble/
// reconcile_machine.hpp), written once for reconcile_machine and sentinel_machine: adding the
// layer, the service change and its wait, the probe's settle and second look, the watch of Pebble's
// backoff (backoff_watch, also here), the service's last log lines for a reason, the end of a run.
#include <redispebble/reconcile_machine.hpp>
#include <redispebble/sentinel.hpp>

#include <algorithm>

namespace redispebble {

backoff_watch::backoff_watch(std::chrono::milliseconds first_delay, std::chrono::milliseconds budget,
                             std::chrono::milliseconds step)
    : first_delay_(first_delay), budget_(budget), step_(std::max(step, std::chrono::milliseconds(1))) {}

backoff_watch::verdict backoff_watch::see(const std::optional<std::string>& current) {
    spent_ += step_;
    if (current == "backoff") {
        if (left_) return verdict::failed_again;
        in_backoff_ += step_;
        if (in_backoff_ > 2 * first_delay_ + std::chrono::seconds(1)) return verdict::long_backoff;
    } else if (current == "error") {
        return verdict::failed_again;  // Pebble gave up on it
    } else if (current == "active" || current == "starting") {
        if (left_) active_ += step_;
        left_ = true;
        if (active_ >= okay_delay) return verdict::started;
    } else {
        return verdict::out_of_time;  // stopped or gone meanwhile: nothing more to learn here
    }
    return spent_ + step_ > budget_ ? verdict::out_of_time : verdict::again;
}

std::pair<unit_status, std::string> backoff_watch::outcome(verdict v, const std::string& service) {
    const std::string svc = "Service \"" + service + "\"";
    switch (v) {
    case verdict::failed_again:
        return {unit_status::blocked, svc + " keeps failing (Pebble backoff: it failed again when Pebble restarted it)"};
    case verdict::long_backoff:
        return {unit_status::blocked,
                svc + " keeps failing (Pebble backoff: longer than its first backoff, so it failed more than once)"};
    default: return {unit_status::waiting, svc + " is restarting after a failure (Pebble backoff)"};
    }
}

std::chrono::milliseconds backoff_watch::first_delay_of(const layer& plan, const std::string& service) {
    auto it = plan.services.find(service);
    if (it == plan.services.end() || !it->second.backoff_delay) return default_first_delay;
    const auto ns = parse_go_duration(*it->second.backoff_delay);
    if (!ns || *ns <= 0) return default_first_delay;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(*ns));
}

namespace detail {

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::finish(unit_status status, std::string message, bool retry) {
    report_.status = status;
    report_.message = std::move(message);
    report_.retry_later = retry;
    machine().phase_ = Machine::phase::finished;
    done_ = true;
    return std::nullopt;
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::after_actions() {
    if (!probe_.enabled || decision_.status_after != unit_status::active)
        return machine().finish(decision_.status_after, decision_.message, decision_.retry_later);
    return machine().probe_request();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_layer_added(const pebble_reply& reply) {
    const std::string label = "layer \"" + decision_.layer_label + "\"";
    if (reply.result != pebble_reply::outcome::ok) return machine().fail(reply, "add " + label);
    report_.actions_done.push_back("added " + label);
    layered_ = true;
    return machine().next_action();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_pushed(const pebble_reply& reply) {
    std::vector<std::string> paths;
    for (const auto& f : decision_.push) paths.push_back(f.path);
    return on_files_changed(reply, paths, "push files", "pushed ", "Cannot write ", pushed_);
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_removed(const pebble_reply& reply) {
    return on_files_changed(reply, decision_.remove, "remove files", "removed ", "Cannot remove ", removed_);
}

// Pebble acts on each path of a push or remove on its own: a path without an error was acted on
// (recorded as `done` + path); the first error ends the run Blocked (`cannot` + path + ": " + its
// words, redacted). An error for a path not asked for is a failure too.
template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_files_changed(const pebble_reply& reply,
                                                                         const std::vector<std::string>& paths,
                                                                         const char* step, const char* done,
                                                                         const char* cannot, bool& finished) {
    if (reply.result != pebble_reply::outcome::ok) return machine().fail(reply, step);
    std::optional<std::string> failed;
    for (const auto& path : paths) {
        auto it = reply.file_errors.find(path);
        if (it == reply.file_errors.end()) report_.actions_done.push_back(done + path);
        else if (!failed) failed = cannot + path + ": " + machine().redact(it->second, 3);
    }
    if (!failed && !reply.file_errors.empty())
        failed = cannot + reply.file_errors.begin()->first + ": " + machine().redact(reply.file_errors.begin()->second, 3);
    if (failed) {
        report_.failed_step = step;
        return machine().finish(unit_status::blocked, std::move(*failed), true);
    }
    finished = true;
    return machine().next_action();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_change_requested(const pebble_reply& reply,
                                                                            const std::string& service) {
    const bool restart = !decision_.restart.empty();
    if (reply.result != pebble_reply::outcome::ok)
        return machine().fail(reply, std::string(restart ? "restart" : "start") + " service \"" + service + "\"");
    restarted_ = true;
    report_.actions_done.push_back(std::string(restart ? "requested restart of " : "requested start of ") + "\"" +
                                   service + "\" (change " + reply.change_id + ")");
    machine().phase_ = Machine::phase::wait;
    pebble_request r;
    r.what = pebble_request::kind::wait_change;
    r.change_id = reply.change_id;
    r.service = service;
    return r;
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_change_waited(const pebble_reply& reply,
                                                                         const std::string& service) {
    using o = pebble_reply::outcome;
    if (reply.result == o::timed_out) {
        report_.failed_step = "wait for change";
        return machine().finish(unit_status::waiting, "Service \"" + service + "\" is still starting", true);
    }
    if (reply.result != o::ok) return machine().fail(reply, "wait for the service change");
    if (reply.change_failed) {
        report_.failed_step = "start service";
        const std::string why = machine().redact(reply.change_error, 10);
        return machine().finish(unit_status::blocked, "Service \"" + service + "\" failed to start: " + why, true);
    }
    report_.actions_done.push_back((decision_.restart.empty() ? "started \"" : "restarted \"") + service + "\"");
    return after_actions();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::settle_pause() {
    if (!restarted_ || settle_spent_ + probe_.settle_step > probe_.settle) return std::nullopt;
    settle_spent_ += probe_.settle_step;
    machine().phase_ = Machine::phase::pause;
    return pebble_request::pause_for(probe_.settle_step);
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::recheck_request(std::string why) {
    if (restarted_ || rechecked_) return std::nullopt;
    rechecked_ = true;
    not_answering_ = std::move(why);
    machine().phase_ = Machine::phase::recheck;
    return state_request();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::watch_backoff(const layer& plan) {
    watch_.emplace(backoff_watch::first_delay_of(plan, machine().service()), probe_.settle, probe_.settle_step);
    return watch_pause();
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::watch_pause() {
    machine().phase_ = Machine::phase::watch_pause;
    return pebble_request::pause_for(probe_.settle_step);
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::watch_request() {
    machine().phase_ = Machine::phase::watch_service;
    return state_request();
}

template <class Machine>
pebble_request service_machine<Machine>::state_request() {
    pebble_request r;
    r.what = pebble_request::kind::get_service;
    r.service = machine().service();
    return r;
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_watch(const pebble_reply& reply) {
    if (reply.result != pebble_reply::outcome::ok) return machine().fail(reply, "list services");
    using v = backoff_watch::verdict;
    const v seen = watch_->see(reply.service_current);
    if (seen == v::again) return watch_pause();
    if (seen == v::started) {
        // Pebble restarted it after one failure and it runs: asked as after our own start; the
        // backoff that made the decision Waiting is over.
        decision_.status_after = unit_status::active;
        decision_.message.clear();
        decision_.retry_later = false;
        report_.failed_step.reset();
        restarted_ = true;
        settle_spent_ = watch_->spent();
        return machine().probe_request();
    }
    auto [status, why] = backoff_watch::outcome(seen, machine().service());
    if (status == unit_status::blocked) report_.failed_step = "start service";
    return logs_request(status, std::move(why));
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::logs_request(unit_status status, std::string why) {
    machine().phase_ = Machine::phase::logs;
    logs_status_ = status;
    logs_for_ = std::move(why);
    pebble_request r;
    r.what = pebble_request::kind::get_logs;
    r.service = machine().service();
    r.log_lines = probe_.log_lines;
    return r;
}

template <class Machine>
std::optional<pebble_request> service_machine<Machine>::on_logs(const pebble_reply& reply) {
    std::string message = logs_for_;
    if (reply.result == pebble_reply::outcome::ok && !reply.log_lines.empty()) {
        std::vector<std::string> lines = reply.log_lines;
        if (logs_replication_) lines = replication_log_lines(lines, 3);
        else if (lines.size() > 3) lines.erase(lines.begin(), lines.end() - 3);
        std::string reason;
        for (const auto& l : lines) reason += (reason.empty() ? "" : "; ") + l;
        message += std::string(logs_lead_) + machine().redact(reason, 3);
    } else if (reply.result != pebble_reply::outcome::ok) {
        message += " (its logs could not be read: " + machine().redact(reply.error, 2) + ")";
    }
    return machine().finish(logs_status_, message, true);
}

// The two machines: compiled once, here.
template class service_machine<reconcile_machine>;
template class service_machine<sentinel_machine>;

} // namespace detail

} // namespace redispebble
