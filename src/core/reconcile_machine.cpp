// The sans-io reconcile machine (include/redispebble/reconcile_machine.hpp): the requests it asks
// the driver for, phase by phase, and what it makes of each reply; and the redaction of Redis's
// output it reports (passwords in every form Go's %q or redis-cli could print them).
#include <redispebble/reconcile_machine.hpp>

#include <redispebble/shlex.hpp>
#include <redispebble/utf8.hpp>

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
    case k_t::stat_path: return "stat path";
    case k_t::make_dirs: return "make directories";
    case k_t::exec: return "exec";
    case k_t::get_logs: return "get logs";
    case k_t::pause: return "pause";
    case k_t::get_checks: return "get checks";
    case k_t::stop_checks: return "stop checks";
    case k_t::stop: return "stop";
    case k_t::remove_files: return "remove files";
    }
    return "unknown";
}

pebble_request pebble_request::pause_for(std::chrono::milliseconds delay) {
    pebble_request r;
    r.what = kind::pause;
    r.timeout = delay;
    return r;
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
        return starts_with(a, "pushed ") || starts_with(a, "added layer ") || starts_with(a, "made directory ") ||
               starts_with(a, "changed owner of ") || starts_with(a, "removed ") || starts_with(a, "stopped ");
    }));
}

namespace {

// Every form the password can take in Redis's or Pebble's output: as is, as the secrets file
// writes it (redis.conf escapes, which Redis echoes in its "Bad directive" errors), as Go quotes
// it, as Pebble's command syntax quotes it.
std::vector<std::string> password_forms(const secret& password) {
    const std::string& p = password.reveal();
    std::vector<std::string> forms{p};
    const std::string conf = redis_conf_quote(p);
    forms.push_back(conf.substr(1, conf.size() - 2));
    const std::string go = go_quote(p);  // as Pebble's %q writes it in its messages
    forms.push_back(go.substr(1, go.size() - 2));
    if (valid_utf8(p)) forms.push_back(shlex_quote(p));
    std::sort(forms.begin(), forms.end());
    forms.erase(std::unique(forms.begin(), forms.end()), forms.end());
    return forms;
}

// Replaces every byte covered by any occurrence of any form (overlapping and repeated ones
// included) with one `<redacted>` per covered run. Works on the whole text, not line by line, so a
// password holding a newline or any other byte is redacted whole.
std::string redact_forms(const std::string& text, const std::vector<std::string>& forms) {
    std::vector<bool> covered(text.size(), false);
    bool any = false;
    for (const auto& f : forms) {
        if (f.empty()) continue;
        for (std::size_t pos = text.find(f); pos != std::string::npos; pos = text.find(f, pos + 1)) {
            std::fill(covered.begin() + static_cast<std::ptrdiff_t>(pos),
                      covered.begin() + static_cast<std::ptrdiff_t>(pos + f.size()), true);
            any = true;
        }
    }
    if (!any) return text;
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (!covered[i]) {
            out += text[i++];
            continue;
        }
        out += redacted;
        while (i < text.size() && covered[i]) ++i;
    }
    return out;
}

} // namespace

std::string redact_output(const std::string& text, const secret& password, std::size_t max_lines) {
    const std::vector<std::string> forms = password.empty() ? std::vector<std::string>{} : password_forms(password);
    const std::string whole = redact_forms(text, forms);
    std::vector<std::string> lines;
    std::istringstream in(whole);
    for (std::string line; std::getline(in, line);) {
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
    // The markers themselves could, next to what is left, spell a form again ("d>" + "x" for a
    // password "d>x"): then nothing of the output is shown.
    for (const auto& f : forms)
        if (out.find(f) != std::string::npos) return "<output withheld: it contains the password>";
    return out;
}

reconcile_machine::reconcile_machine(desired_state desired, bool dry_run, probe_options probe)
    : reconcile_machine(mode::whole, std::move(desired), dry_run, probe) {}

reconcile_machine::reconcile_machine(mode m, desired_state desired, bool dry_run, probe_options probe)
    : service_machine(probe, ": "), mode_(m), desired_(std::move(desired)),
      prepared_(m == mode::apply ? prepared_desired{} : prepare(desired_)), dry_run_(dry_run) {}

decision reconcile_machine::decide_observed() const { return decide(observed_, desired_, prepared_); }

reconcile_machine reconcile_machine::observe_only(desired_state desired, probe_options probe) {
    return reconcile_machine(mode::observe, std::move(desired), false, probe);
}

reconcile_machine reconcile_machine::apply_decision(desired_state desired, decision d, probe_options probe) {
    reconcile_machine m(mode::apply, std::move(desired), false, probe);
    m.given_ = std::move(d);
    return m;
}

std::optional<pebble_request> reconcile_machine::start() {
    done_ = false;
    report_ = {};
    if (mode_ == mode::apply) {
        decision_ = given_;
        report_.decided = decision_;
        return begin_apply();
    }
    phase_ = phase::plan;
    observed_all_ = false;
    pebble_request r;
    r.what = pebble_request::kind::get_plan;
    return r;
}

std::optional<pebble_request> reconcile_machine::fail(const pebble_reply& reply, std::string step) {
    report_.failed_step = step;
    const std::string error = redact(reply.error, 20);
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

std::string reconcile_machine::redact(const std::string& text, std::size_t max_lines) const {
    return redact_output(text, desired_.peer.admin_password, max_lines);
}

std::optional<pebble_request> reconcile_machine::next_action() {
    using kind = pebble_request::kind;
    const decision& d = decision_;
    pebble_request r;
    // The first action not yet done, in this order: it enters phase `p` and asks Pebble for `k`.
    const auto ask = [&](phase p, kind k) {
        phase_ = p;
        r.what = k;
        return std::move(r);  // r is done with: its layer is not copied
    };
    if (d.storage && d.storage->make && !made_) {
        r.dirs.push_back(*d.storage);
        return ask(phase::make_dirs, kind::make_dirs);
    }
    if (d.storage && d.storage->chown && !chowned_) {
        r.command = d.storage->command;
        r.timeout = probe_.timeout * 12;  // a recursive chown of a large volume takes a while
        return ask(phase::chown, kind::exec);
    }
    if (!d.push.empty() && !pushed_) {
        r.files = d.push;
        return ask(phase::push, kind::push_files);
    }
    if (d.add_layer && !layered_) {
        r.layer_to_add = d.add_layer;
        r.label = d.layer_label;
        return ask(phase::layer, kind::add_layer);
    }
    // Did it take effect? A layer above ours may replace the service (issue 8).
    if (d.add_layer && !verified_) {
        // combine({plan, ours}) without copying both layers into a vector first.
        layer expected;
        if (observed_.plan) merge_into(expected, *observed_.plan);
        merge_into(expected, *d.add_layer);
        expected.summary.reset();
        expected.description.reset();
        r.expected_plan = std::move(expected);
        return ask(phase::verify, kind::get_plan);
    }
    if (!d.stop_checks.empty() && !checks_stopped_) {
        r.services = d.stop_checks;
        return ask(phase::stop_checks, kind::stop_checks);
    }
    if (!d.stop.empty() && !stopped_) {
        r.service = d.stop.front();
        r.services = d.stop;
        return ask(phase::stop, kind::stop);
    }
    if (!d.remove.empty() && !removed_) {
        r.paths = d.remove;
        return ask(phase::remove, kind::remove_files);
    }
    if (!restarted_ && (!d.restart.empty() || !d.start.empty())) {
        const bool restart = !d.restart.empty();
        r.service = restart ? d.restart.front() : d.start.front();
        r.services = restart ? d.restart : d.start;
        change_service_ = r.service;
        return restart ? ask(phase::restart, kind::restart) : ask(phase::start, kind::start);
    }
    return after_actions();
}

std::optional<pebble_request> reconcile_machine::probe_request() {
    phase_ = phase::probe;
    pebble_request r;
    r.what = pebble_request::kind::exec;
    r.command = probe_command(desired_.config);
    r.stdin_data = probe_input(desired_.peer.enable_password ? desired_.peer.admin_password : secret());
    r.timeout = probe_.timeout;
    return r;
}

std::optional<pebble_request> reconcile_machine::on_probe(const pebble_reply& reply) {
    using o = pebble_reply::outcome;
    probe_verdict v;
    if (reply.result == o::unreachable) return fail(reply, "probe Redis");
    if (reply.result == o::failed) {
        // Pebble could not run redis-cli at all (not in the container, ...): nothing says Redis is well.
        report_.failed_step = "probe Redis";
        return finish(unit_status::blocked,
                      "Cannot ask Redis (redis-cli through Pebble exec): " + redact(reply.error, 5), true);
    }
    if (reply.result == o::timed_out) {
        v = {probe_verdict::kind::starting,
             "Redis did not answer within " + std::to_string(probe_.timeout.count()) + " ms"};
    } else {
        const probe_result p = parse_probe(reply.output, desired_.peer.enable_password);
        v = assess_probe(p, desired_.config, desired_.peer,
                         std::chrono::duration_cast<std::chrono::seconds>(probe_.link_bound));
        if (!p.role.empty()) {
            report_.redis_state = "role " + p.role;
            if (!p.master_link_status.empty()) {
                report_.redis_state += ", master " + p.master_host + ":" + p.master_port + " link " + p.master_link_status;
                if (auto down = link_down_seconds(p); down && p.master_link_status != "up")
                    report_.redis_state += " (" + std::to_string(*down) + " s)";
            }
        }
    }
    v.message = redact(v.message, 5);
    using vk = probe_verdict::kind;
    switch (v.what) {
    case vk::healthy: return finish(unit_status::active, "", false);
    case vk::refused: return finish(unit_status::blocked, v.message, true);
    case vk::link_failed: logs_replication_ = true; return logs_request(unit_status::blocked, v.message);
    case vk::starting: break;
    }
    // Just (re)started: Redis may still be binding, loading or syncing. Look again shortly.
    if (auto pause = settle_pause()) return pause;
    // Not answering, and not started by us: Pebble's "active" may be a moment old (a kill -9 it has
    // just seen). Read the state once more: in backoff, its restart is watched (backoff_watch).
    if (auto look = recheck_request(v.message)) return look;
    return finish(unit_status::waiting, v.message, true);
}

std::string reconcile_machine::step_name() const {
    switch (phase_) {
    case phase::plan: return "read the Pebble plan";
    case phase::service: return "list services";
    case phase::storage: return "stat storage-path";
    case phase::checks: return "list checks";
    case phase::stop_checks: return "stop retired checks";
    case phase::stop:
    case phase::stop_wait: return "stop retired services";
    case phase::remove: return "remove files";
    case phase::files: return "read files";
    case phase::make_dirs: return "make directory " + (decision_.storage ? decision_.storage->path : std::string());
    case phase::chown: return "change owner of " + (decision_.storage ? decision_.storage->path : std::string());
    case phase::push: return "push files";
    case phase::layer: return "add layer \"" + decision_.layer_label + "\"";
    case phase::verify: return "read the Pebble plan";
    case phase::restart: return "restart service \"" + change_service_ + "\"";
    case phase::start: return "start service \"" + change_service_ + "\"";
    case phase::wait: return "wait for the service change";
    case phase::probe:
    case phase::pause: return "probe Redis";
    case phase::logs: return "read the service's logs";
    case phase::watch_pause:
    case phase::watch_service:
    case phase::recheck: return "watch the service restart";
    case phase::finished: break;
    }
    return "finish";
}

std::optional<pebble_request> reconcile_machine::resume(const pebble_reply& reply) {
    using k = pebble_request::kind;
    // The driver was cancelled: whatever the step, the run ends here, saying which step it was.
    if (reply.result == pebble_reply::outcome::cancelled && phase_ != phase::finished)
        return fail(reply, step_name());
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
        // When the inputs alone decide (invalid configuration, incomplete peer data, missing
        // certificates: prepared_.verdict), the unit is Waiting or Blocked and needs no further
        // look. Without a verdict, decide() on the plan alone is Active or has actions to do (the
        // storage, the files and the service are not observed yet), so it is not asked.
        if (prepared_.verdict) {
            decision first = decide(observed_, desired_, prepared_);
            observed_all_ = true;
            if (mode_ != mode::observe) report_.decided = first;
            return finish(first.status_after, first.message, first.retry_later);
        }
        retired_ = entries_to_retire(*observed_.plan, prepared_.wanted, desired_.config);
        // Pebble lists only the plan's services (ServiceManager.Services ranges over the plan):
        // for a service the plan lacks, with nothing to retire, the answer is known to be empty.
        // A first deployment skips the request.
        if (!observed_.plan->services.count(service()) && retired_.services.empty()) return after_service();
        phase_ = phase::service;
        r.what = k::get_service;
        r.service = desired_.config.service_name;
        r.services = {r.service};
        r.services.insert(r.services.end(), retired_.services.begin(), retired_.services.end());
        return r;
    }
    case phase::service: {
        if (reply.result == o::unreachable) return fail(reply, "list services");
        if (reply.result == o::ok) {
            observed_.service_current = reply.service_current;
            for (const auto& n : retired_.services)
                if (auto it = reply.services_current.find(n); it != reply.services_current.end())
                    observed_.retired_services_current[n] = it->second;
        }
        return after_service();
    }
    case phase::checks: {
        if (reply.result == o::unreachable) return fail(reply, "list checks");
        // Not observed: the retired checks are stopped (again).
        if (reply.result == o::ok)
            for (const auto& [n, st] : reply.checks_status) observed_.retired_checks_status[n] = st;
        phase_ = phase::storage;
        r.what = k::stat_path;
        r.paths = {desired_.config.storage_path};
        return r;
    }
    case phase::storage: {
        if (reply.result == o::unreachable || reply.result == o::timed_out) return fail(reply, "stat storage-path");
        // Not observed (an error other than not-found) is treated as not in order: made and re-owned.
        if (reply.result == o::ok) observed_.storage = reply.path_info;
        decision first = decide(observed_, desired_, prepared_);
        std::vector<std::string> paths;
        for (const auto& f : first.push) paths.push_back(f.path);
        // Files we no longer want: observed, so that they are removed when the container holds them.
        if (observed_.storage && observed_.storage->exists)
            paths.insert(paths.end(), prepared_.retire_files.begin(), prepared_.retire_files.end());
        if (paths.empty()) break;  // nothing to read: decide now
        phase_ = phase::files;
        r.what = k::read_files;
        r.paths = std::move(paths);
        if (desired_.config.secrets == secret_mode::config_file) r.key_path = secrets_file_path(desired_.config);
        return r;
    }
    case phase::make_dirs: {
        const std::string path = decision_.storage->path;
        if (reply.result != o::ok) return fail(reply, "make directory " + path);
        if (auto it = reply.file_errors.find(path); it != reply.file_errors.end()) {
            report_.failed_step = "make directory " + path;
            return finish(unit_status::blocked, "Cannot make storage-path " + path + ": " + it->second, true);
        }
        report_.actions_done.push_back("made directory " + path + " (" + decision_.storage->user + ":" +
                                       decision_.storage->group + ", " + decision_.storage->permissions + ")");
        made_ = true;
        return next_action();
    }
    case phase::chown: {
        const storage_fix& f = *decision_.storage;
        if (reply.result != o::ok || reply.exit_code != 0) {
            report_.failed_step = "change owner of " + f.path;
            if (reply.result == o::unreachable) return fail(reply, "change owner of " + f.path);
            const std::string why = reply.result == o::ok ? reply.output : reply.error;
            return finish(unit_status::blocked, "Cannot change the owner of storage-path " + f.path + " to " + f.user +
                                                    ":" + f.group + ": " + redact(why, 3), true);
        }
        report_.actions_done.push_back("changed owner of " + f.path + " to " + f.user + ":" + f.group + " (recursive)");
        chowned_ = true;
        return next_action();
    }
    case phase::probe: return on_probe(reply);
    case phase::pause: return probe_request();
    case phase::logs: return on_logs(reply);
    case phase::watch_pause: return watch_request();
    case phase::watch_service: return on_watch(reply);
    case phase::recheck:
        // Redis did not answer and Pebble had said it runs: crashed just now, Pebble restarting it?
        if (reply.result == o::ok && reply.service_current == "backoff")
            return watch_backoff(observed_.plan.value_or(layer{}));
        return finish(unit_status::waiting, not_answering_, true);
    case phase::files:
        if (reply.result == o::unreachable) return fail(reply, "read files");
        // A file that cannot be read is treated as different: it will be pushed.
        if (reply.result == o::ok) {
            observed_.file_sha256 = reply.file_sha256;
            observed_.secrets_key = reply.secrets_key;
        }
        // The container's key, when it has one, is kept: then unchanged inputs give the same
        // file and the same layer digest. Otherwise the new key made at construction stays.
        if (observed_.secrets_key && !(*observed_.secrets_key == prepared_.secrets_key))
            prepared_ = rekey(std::move(prepared_), desired_, *observed_.secrets_key);
        break;
    case phase::push: return on_pushed(reply);
    case phase::layer: return on_layer_added(reply);
    case phase::verify: {
        if (reply.result != o::ok) return fail(reply, "read the Pebble plan");
        const layer_standing standing = compare_layer(reply.plan.value_or(layer{}), decision_.add_layer.value_or(layer{}),
                                                      desired_.config.service_name, desired_.peer.admin_password);
        if (!standing.differences.empty()) {
            decision_.overridden = standing.differences;
            decision_.status_after = unit_status::blocked;
            decision_.message = overridden_message(decision_.overridden, decision_.layer_label);
            decision_.retry_later = true;
            if (!standing.applied) {
                // Replaced above ours: a restart would run the other layer's service, and again on
                // every run. Restart nothing.
                decision_.message += " (a layer above it replaces service \"" + desired_.config.service_name + "\")";
                decision_.restart.clear();
                decision_.start.clear();
            }
            report_.decided = decision_;
        }
        verified_ = true;
        return next_action();
    }
    case phase::stop_checks:
        if (reply.result != o::ok) return fail(reply, "stop retired checks");
        for (const auto& n : decision_.stop_checks) report_.actions_done.push_back("stopped check \"" + n + "\"");
        checks_stopped_ = true;
        return next_action();
    case phase::stop:
        if (reply.result != o::ok) return fail(reply, "stop retired services");
        report_.actions_done.push_back("requested stop of \"" + decision_.stop.front() + "\" (change " + reply.change_id + ")");
        phase_ = phase::stop_wait;
        r.what = k::wait_change;
        r.change_id = reply.change_id;
        r.service = decision_.stop.front();
        return r;
    case phase::stop_wait:
        if (reply.result == o::timed_out) {
            report_.failed_step = "stop retired services";
            return finish(unit_status::waiting, "Service \"" + decision_.stop.front() + "\" is still stopping", true);
        }
        if (reply.result != o::ok) return fail(reply, "stop retired services");
        if (reply.change_failed) {
            report_.failed_step = "stop retired services";
            return finish(unit_status::blocked, "Cannot stop retired service \"" + decision_.stop.front() + "\": " +
                                                    redact(reply.change_error, 10), true);
        }
        for (const auto& n : decision_.stop) report_.actions_done.push_back("stopped \"" + n + "\"");
        stopped_ = true;
        return next_action();
    case phase::remove: return on_removed(reply);
    case phase::restart:
    case phase::start: return on_change_requested(reply, change_service_);
    case phase::wait: return on_change_waited(reply, change_service_);
    case phase::finished:
        return std::nullopt;
    }
    // Observation complete: decide and act.
    return after_observe();
}

// After the service state: the retired checks' status when there are any, then storage-path.
std::optional<pebble_request> reconcile_machine::after_service() {
    pebble_request r;
    if (!retired_.checks.empty()) {
        phase_ = phase::checks;
        r.what = pebble_request::kind::get_checks;
        r.services = retired_.checks;
        return r;
    }
    phase_ = phase::storage;
    r.what = pebble_request::kind::stat_path;
    r.paths = {desired_.config.storage_path};
    return r;
}

std::optional<pebble_request> reconcile_machine::after_observe() {
    observed_all_ = true;
    if (mode_ == mode::observe) {
        phase_ = phase::finished;
        done_ = true;
        return std::nullopt;
    }
    decision_ = decide(observed_, desired_, prepared_);
    report_.decided = decision_;
    // A dry run (status, diff, apply --dry-run) with nothing to do still asks Redis, read-only, as
    // apply would: the probe, or the logs of a service in Pebble's backoff. Otherwise it reported
    // Active for a replica whose link is down and Waiting without Redis's reason for a Redis that
    // exits at once, where apply reports Waiting or Blocked with Redis's words.
    if (dry_run_ && !decision_.no_op()) return finish(decision_.status_after, decision_.message, decision_.retry_later);
    return begin_apply();
}

// The act phases, from decision_ (decided above, or the caller's with apply_decision()).
std::optional<pebble_request> reconcile_machine::begin_apply() {
    // Pebble keeps restarting a service that fails, and nothing here would change: Redis's own
    // words (its last log lines) say why, until the inputs change. (decide() sets service_current
    // only when the inputs did not decide alone.)
    // One crash that Pebble is restarting is not that: watch the restart (backoff_watch) before
    // saying Blocked.
    if (probe_.enabled && decision_.no_op() && decision_.service_current == "backoff" &&
        decision_.overridden.empty())
        return watch_backoff(observed_.plan.value_or(layer{}));
    // A decision with actions acts whatever its status (Blocked by an overridden field still pushes
    // files and starts a stopped service); Waiting and Blocked verdicts carry none. Only an Active
    // unit is probed (after_actions).
    if (decision_.no_op())
        return decision_.status_after == unit_status::active
                   ? after_actions()
                   : finish(decision_.status_after, decision_.message, decision_.retry_later);
    return next_action();
}

} // namespace redispebble
