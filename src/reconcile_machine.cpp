#include <redispebble/reconcile_machine.hpp>

#include <algorithm>
#include <sstream>

namespace redispebble {

std::string_view to_string(pebble_request::kind k) noexcept {
    using k_t = pebble_request::kind;
    switch (k) {
    case k_t::get_plan: return "get plan";
    case k_t::get_service: return "get service";
    case k_t::read_files: return "read files";
    case k_t::push_files: return "push files";
    case k_t::add_layer: return "add layer";
    case k_t::restart: return "restart";
    case k_t::start: return "start";
    case k_t::wait_change: return "wait for change";
    }
    return "unknown";
}

namespace {
bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }
} // namespace

int reconcile_report::restarts() const noexcept {
    return static_cast<int>(std::count_if(actions_done.begin(), actions_done.end(), [](const std::string& a) {
        return starts_with(a, "restarted ") || starts_with(a, "started ");
    }));
}

int reconcile_report::writes() const noexcept {
    return static_cast<int>(std::count_if(actions_done.begin(), actions_done.end(), [](const std::string& a) {
        return starts_with(a, "pushed ") || starts_with(a, "added layer ");
    }));
}

std::string redact_output(const std::string& text, const secret& password, std::size_t max_lines) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!password.empty())
            for (std::size_t pos = line.find(password.reveal()); pos != std::string::npos;
                 pos = line.find(password.reveal(), pos + redacted.size()))
                line.replace(pos, password.reveal().size(), redacted);
        for (std::string_view opt : {"--requirepass", "--masterauth"}) {
            auto pos = line.find(opt);
            if (pos == std::string::npos) continue;
            auto value_start = line.find_first_not_of(' ', pos + opt.size());
            if (value_start == std::string::npos) continue;
            auto value_end = line.find(' ', value_start);
            line.replace(value_start, value_end == std::string::npos ? std::string::npos : value_end - value_start,
                         redacted);
        }
        lines.push_back(std::move(line));
    }
    std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
    std::string out;
    for (std::size_t i = first; i < lines.size(); ++i) out += (out.empty() ? "" : "\n") + lines[i];
    return out;
}

reconcile_machine::reconcile_machine(desired_state desired, bool dry_run)
    : desired_(std::move(desired)), prepared_(prepare(desired_)), dry_run_(dry_run) {}

pebble_request reconcile_machine::start() {
    phase_ = phase::plan;
    done_ = false;
    report_ = {};
    pebble_request r;
    r.what = pebble_request::kind::get_plan;
    return r;
}

std::optional<pebble_request> reconcile_machine::finish(unit_status status, std::string message, bool retry) {
    report_.status = status;
    report_.message = std::move(message);
    report_.retry_later = retry;
    phase_ = phase::finished;
    done_ = true;
    return std::nullopt;
}

std::optional<pebble_request> reconcile_machine::fail(const pebble_reply& reply, std::string step) {
    report_.failed_step = step;
    const std::string error = redact_output(reply.error, desired_.peer.admin_password, 20);
    switch (reply.result) {
    case pebble_reply::outcome::unreachable:
        return finish(unit_status::waiting, std::string(msg_waiting_for_pebble), true);
    case pebble_reply::outcome::timed_out:
        return finish(unit_status::waiting, "Pebble did not answer in time (" + step + ")", true);
    case pebble_reply::outcome::cancelled:
        return finish(unit_status::waiting, "Reconcile cancelled before it could " + step, true);
    default:
        return finish(unit_status::blocked, "Cannot " + step + ": " + error, true);
    }
}

std::optional<pebble_request> reconcile_machine::next_action() {
    const decision& d = decision_;
    pebble_request r;
    if (!d.push.empty() && !pushed_) {
        phase_ = phase::push;
        r.what = pebble_request::kind::push_files;
        r.files = d.push;
        return r;
    }
    if (d.add_layer && !layered_) {
        phase_ = phase::layer;
        r.what = pebble_request::kind::add_layer;
        r.layer_to_add = d.add_layer;
        r.label = d.layer_label;
        return r;
    }
    if (!restarted_ && (!d.restart.empty() || !d.start.empty())) {
        const bool restart = !d.restart.empty();
        phase_ = restart ? phase::restart : phase::start;
        r.what = restart ? pebble_request::kind::restart : pebble_request::kind::start;
        r.service = restart ? d.restart.front() : d.start.front();
        change_service_ = r.service;
        return r;
    }
    return finish(d.status, d.message, d.retry_later);
}

std::optional<pebble_request> reconcile_machine::resume(const pebble_reply& reply) {
    using k = pebble_request::kind;
    using o = pebble_reply::outcome;
    pebble_request r;
    switch (phase_) {
    case phase::plan: {
        if (reply.result == o::timed_out) {
            report_.failed_step = "read the Pebble plan";
            return finish(unit_status::waiting, std::string(msg_waiting_for_pebble), true);
        }
        if (reply.result != o::ok) return fail(reply, "read the Pebble plan");
        observed_.pebble_reachable = true;
        observed_.plan = reply.plan.value_or(layer{});
        // Decide once with what is known: a Waiting or Blocked unit needs no further look.
        decision first = decide(observed_, desired_, prepared_);
        if (first.status != unit_status::active && first.no_op()) {
            report_.decided = first;
            return finish(first.status, first.message, first.retry_later);
        }
        phase_ = phase::service;
        r.what = k::get_service;
        r.service = desired_.config.service_name;
        return r;
    }
    case phase::service: {
        if (reply.result == o::unreachable || reply.result == o::cancelled) return fail(reply, "list services");
        if (reply.result == o::ok) observed_.service_current = reply.service_current;
        decision first = decide(observed_, desired_, prepared_);
        std::vector<std::string> paths;
        for (const auto& f : first.push) paths.push_back(f.path);
        if (paths.empty()) break;  // nothing to read: decide now
        phase_ = phase::files;
        r.what = k::read_files;
        r.paths = std::move(paths);
        return r;
    }
    case phase::files:
        if (reply.result == o::unreachable || reply.result == o::cancelled) return fail(reply, "read files");
        // A file that cannot be read is treated as different: it will be pushed.
        if (reply.result == o::ok) observed_.file_sha256 = reply.file_sha256;
        break;
    case phase::push: {
        for (const auto& f : decision_.push)
            if (reply.result == o::ok && !reply.file_errors.count(f.path)) report_.actions_done.push_back("pushed " + f.path);
        if (reply.result != o::ok) return fail(reply, "push files");
        if (!reply.file_errors.empty()) {
            const auto& [path, err] = *reply.file_errors.begin();
            report_.failed_step = "push files";
            return finish(unit_status::blocked, "Cannot write " + path + ": " + err, true);
        }
        pushed_ = true;
        return next_action();
    }
    case phase::layer:
        if (reply.result != o::ok) return fail(reply, "add layer \"" + decision_.layer_label + "\"");
        report_.actions_done.push_back("added layer \"" + decision_.layer_label + "\"");
        layered_ = true;
        return next_action();
    case phase::restart:
    case phase::start:
        if (reply.result != o::ok)
            return fail(reply, std::string(phase_ == phase::restart ? "restart" : "start") + " service \"" +
                                   change_service_ + "\"");
        restarted_ = true;
        report_.actions_done.push_back(std::string(phase_ == phase::restart ? "requested restart of " : "requested start of ") +
                                       "\"" + change_service_ + "\" (change " + reply.change_id + ")");
        phase_ = phase::wait;
        r.what = k::wait_change;
        r.change_id = reply.change_id;
        r.service = change_service_;
        return r;
    case phase::wait:
        if (reply.result == o::timed_out) {
            report_.failed_step = "wait for change";
            return finish(unit_status::waiting, "Service \"" + change_service_ + "\" is still starting", true);
        }
        if (reply.result != o::ok) return fail(reply, "wait for the service change");
        if (reply.change_failed) {
            report_.failed_step = "start service";
            return finish(unit_status::blocked,
                          "Service \"" + change_service_ + "\" failed to start: " +
                              redact_output(reply.change_error, desired_.peer.admin_password, 10),
                          true);
        }
        report_.actions_done.push_back((decision_.restart.empty() ? "started \"" : "restarted \"") + change_service_ + "\"");
        return finish(decision_.status, decision_.message, decision_.retry_later);
    case phase::finished:
        return std::nullopt;
    }
    // Observation complete: decide and act.
    decision_ = decide(observed_, desired_, prepared_);
    report_.decided = decision_;
    if (decision_.status != unit_status::active || decision_.no_op() || dry_run_)
        return finish(decision_.status, decision_.message, decision_.retry_later);
    return next_action();
}

} // namespace redispebble
