// The Sentinel container's reconcile machine (sentinel_machine, include/redispebble/sentinel.hpp):
// observe (plan, service, sentinel.conf, certificates, Sentinel's answer), decide, act, probe,
// watch Pebble's backoff. The pure functions it calls are sentinel.cpp's.
#include <redispebble/sentinel.hpp>

#include "sentinel_detail.hpp"

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>

#include <algorithm>
#include <set>

namespace redispebble {

using detail::config_dir;
using detail::in_sentinel_dir;

sentinel_machine::sentinel_machine(desired_state desired, bool dry_run, probe_options probe)
    : service_machine(probe, "; its last log lines: "), desired_(std::move(desired)), dry_run_(dry_run) {
    decision_.layer_label = desired_.config.sentinel_layer_label;
}

std::string sentinel_machine::redact(const std::string& text) const {
    std::string out = redact_output(text, desired_.peer.sentinel_password, 5);
    return redact_output(out, desired_.peer.admin_password, 5);
}

std::optional<pebble_request> sentinel_machine::finish(unit_status status, std::string message, bool retry) {
    report_.decided = decision_;
    return service_machine::finish(status, std::move(message), retry);
}

std::optional<pebble_request> sentinel_machine::fail(const pebble_reply& reply, const std::string& step) {
    report_.failed_step = step;
    using o = pebble_reply::outcome;
    if (reply.result == o::cancelled) return finish(unit_status::waiting, "Reconcile cancelled before it could " + step, true);
    if (reply.result == o::unreachable) return finish(unit_status::waiting, std::string(msg_waiting_for_sentinel_pebble), true);
    if (reply.result == o::timed_out)
        return finish(unit_status::waiting, "Pebble in the sentinel container did not answer in time (" + step + ")", true);
    return finish(unit_status::blocked, "Cannot " + step + " (sentinel container): " + redact(reply.error), true);
}

std::optional<pebble_request> sentinel_machine::start() {
    pebble_request r;
    r.what = pebble_request::kind::get_plan;
    return r;
}

// The Sentinel configuration file (whole) and, with TLS, the certificates to compare; without TLS,
// the certificate files to remove when they are there.
pebble_request sentinel_machine::files_request() {
    const redis_config& cfg = desired_.config;
    phase_ = phase::files;
    pebble_request r;
    r.what = pebble_request::kind::read_files;
    r.paths = {cfg.sentinel_config_path};
    for (const auto& path : certificate_paths(in_sentinel_dir(cfg))) r.paths.push_back(path);
    r.content_paths = {cfg.sentinel_config_path};
    return r;
}

std::optional<pebble_request> sentinel_machine::resume(const pebble_reply& reply) {
    using k = pebble_request::kind;
    using o = pebble_reply::outcome;
    const redis_config& cfg = desired_.config;
    if (reply.result == o::cancelled && phase_ != phase::finished) return fail(reply, "reconcile Sentinel");
    pebble_request r;
    switch (phase_) {
    case phase::plan: {
        if (reply.result == o::timed_out || reply.result == o::unreachable) {
            report_.failed_step = "read the Pebble plan";
            return finish(unit_status::waiting, std::string(msg_waiting_for_sentinel_pebble), true);
        }
        if (reply.result != o::ok) return fail(reply, "read the Pebble plan");
        plan_ = reply.plan.value_or(layer{});
        if (auto v = sentinel_verdict(desired_)) {
            decision_ = std::move(*v);
            return finish(decision_.status_after, decision_.message, decision_.retry_later);
        }
        if (cfg.enable_tls) certificates_ = sentinel_certificate_plan(cfg, desired_.resources).files;
        // Pebble lists only the plan's services (ServiceManager.Services ranges over the plan): for
        // a service the plan lacks the answer is known to be empty, and a first deployment skips it.
        if (!plan_.services.count(cfg.sentinel_service_name)) return files_request();
        phase_ = phase::service;
        r.what = k::get_service;
        r.service = cfg.sentinel_service_name;
        return r;
    }
    case phase::service:
        if (reply.result != o::ok) return fail(reply, "list services");
        service_current_ = reply.service_current;
        return files_request();
    case phase::files:
        if (reply.result == o::unreachable || reply.result == o::timed_out) return fail(reply, "read files");
        if (reply.result == o::ok) {
            file_sha256_ = reply.file_sha256;
            if (auto it = reply.file_content.find(cfg.sentinel_config_path); it != reply.file_content.end())
                current_file_ = it->second.reveal();
        }
        if (service_current_ == "active" && probe_.enabled) {
            phase_ = phase::ask;
            r.what = k::exec;
            r.command = sentinel_query_command(cfg);
            r.stdin_data = sentinel_query_input(cfg, desired_.peer);
            r.timeout = probe_.timeout;
            return r;
        }
        return decide_and_act();
    case phase::ask:
        if (reply.result == o::unreachable) return fail(reply, "ask Sentinel");
        if (reply.result == o::ok) {
            const sentinel_answer a =
                parse_sentinel_answer(reply.output, desired_.peer.enable_password && !desired_.peer.sentinel_password.empty());
            if (a.master_host) {
                sentinel_master_ = *a.master_host;
                report_.redis_state = "sentinel master " + *a.master_host + ":" + a.master_port.value_or("");
            } else if (!a.error.empty()) {
                report_.redis_state = "sentinel did not answer: " + redact(a.error);
            }
            asked_ = assess_sentinel_answer(a, cfg, desired_.peer);
        } else if (reply.result == o::timed_out) {
            asked_ = probe_verdict{probe_verdict::kind::starting,
                                   "Sentinel did not answer within " + std::to_string(probe_.timeout.count()) + " ms"};
        } else {
            asked_ = probe_verdict{probe_verdict::kind::refused,
                                   "Cannot ask Sentinel (redis-cli through Pebble exec): " + redact(reply.error)};
        }
        return decide_and_act();
    case phase::make_dir: {
        const std::string dir = config_dir(cfg);
        if (reply.result != o::ok) return fail(reply, "make directory " + dir);
        if (auto it = reply.file_errors.find(dir); it != reply.file_errors.end()) {
            report_.failed_step = "make directory " + dir;
            return finish(unit_status::blocked, "Cannot make directory " + dir + ": " + redact(it->second), true);
        }
        made_ = true;
        return next_action();
    }
    case phase::push: return on_pushed(reply);
    case phase::layer: return on_layer_added(reply);
    case phase::remove: return on_removed(reply);
    case phase::restart: return on_change_requested(reply, cfg.sentinel_service_name);
    case phase::wait: return on_change_waited(reply, cfg.sentinel_service_name);
    case phase::probe: return on_probe(reply);
    case phase::pause: return probe_request();
    case phase::watch_pause: return watch_request();
    case phase::watch_service: return on_watch(reply);
    case phase::recheck:
        // Sentinel did not answer and Pebble had said it runs: crashed just now, Pebble restarting it?
        if (reply.result == o::ok && reply.service_current == "backoff") return watch_backoff(plan_);
        return logs_request(unit_status::waiting, not_answering_);
    case phase::logs: return on_logs(reply);
    case phase::finished: return std::nullopt;
    }
    return std::nullopt;
}

std::optional<pebble_request> sentinel_machine::probe_request() {
    phase_ = phase::probe;
    pebble_request r;
    r.what = pebble_request::kind::exec;
    r.command = sentinel_query_command(desired_.config);
    r.stdin_data = sentinel_query_input(desired_.config, desired_.peer);
    r.timeout = probe_.timeout;
    return r;
}

std::optional<pebble_request> sentinel_machine::on_probe(const pebble_reply& reply) {
    using o = pebble_reply::outcome;
    if (reply.result == o::unreachable) return fail(reply, "probe Sentinel");
    if (reply.result == o::failed) {
        report_.failed_step = "probe Sentinel";
        return finish(unit_status::blocked, "Cannot ask Sentinel (redis-cli through Pebble exec): " + redact(reply.error), true);
    }
    if (reply.result == o::timed_out)
        return on_verdict({probe_verdict::kind::starting,
                           "Sentinel did not answer within " + std::to_string(probe_.timeout.count()) + " ms"});
    const sentinel_answer a =
        parse_sentinel_answer(reply.output, desired_.peer.enable_password && !desired_.peer.sentinel_password.empty());
    if (a.master_host) report_.redis_state = "sentinel master " + *a.master_host + ":" + a.master_port.value_or("");
    return on_verdict(assess_sentinel_answer(a, desired_.config, desired_.peer));
}

std::optional<pebble_request> sentinel_machine::on_verdict(const probe_verdict& v) {
    using vk = probe_verdict::kind;
    if (v.what == vk::healthy) return finish(decision_.status_after, decision_.message, decision_.retry_later);
    if (v.what != vk::starting) {
        report_.failed_step = "probe Sentinel";
        return finish(unit_status::blocked, v.message, true);
    }
    // Just (re)started: Sentinel may still be binding. Ask again shortly, then say why with its logs.
    if (auto pause = settle_pause()) return pause;
    report_.failed_step = "probe Sentinel";
    // Not answering, and not started by us: Pebble's "active" may be a moment old (a kill -9 it has
    // just seen). Read the state once more: in backoff, its restart is watched (backoff_watch).
    if (auto look = recheck_request(v.message)) return look;
    return logs_request(unit_status::waiting, v.message);
}

std::optional<pebble_request> sentinel_machine::decide_and_act() {
    const redis_config& cfg = desired_.config;
    const peer_data& peer = desired_.peer;
    // Which master: Sentinel's own answer, else what its file monitors (Sentinel rewrote it after a
    // failover it saw), else peer data (the first master the leader chose).
    if (sentinel_master_) master_ = {*sentinel_master_, "sentinel"};
    else if (auto m = current_file_ ? monitored_master(*current_file_, cfg) : std::nullopt) master_ = {*m, "sentinel.conf"};
    else master_ = {peer.current_master, "peer data"};

    std::vector<sentinel_directive> wanted;
    try {
        wanted = sentinel_directives(cfg, peer, master_.host);
    } catch (const input_error& e) {
        return finish(unit_status::blocked, e.what(), false);
    }
    const sentinel_conf_merge merged = merge_sentinel_conf(current_file_, wanted, cfg.sentinel_master_name);
    decision_ = decision{};
    decision_.layer_label = cfg.sentinel_layer_label;
    decision_.warnings = merged.warnings;
    // Values as the plan's differences show them: "" when unset, passwords never.
    auto shown = [](const std::vector<std::string>& words, bool secret_value) {
        if (secret_value) return std::string(redacted);
        std::string out;
        for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
        return out;
    };
    for (const auto& key : merged.changed) {
        std::string current, desired;
        if (auto it = merged.file_values.find(key); it != merged.file_values.end()) current = shown(it->second, false);
        for (const auto& d : wanted)
            if (d.key == key) desired = shown(d.words, d.is_secret);
        decision_.differences.push_back({"sentinel.conf: " + key, current, desired});
    }
    bool files_changed = false;
    if (!merged.changed.empty()) {
        file_spec f;
        f.path = cfg.sentinel_config_path;
        f.content = merged.content;
        f.sha256 = merged.sha256;
        f.permissions = "600";
        f.user = cfg.user;
        f.group = cfg.group;
        f.make_dirs = true;
        f.origin = "sentinel.conf";
        decision_.push.push_back(std::move(f));
        files_changed = true;
    }
    for (const auto& c : certificates_) {
        auto it = file_sha256_.find(c.path);
        if (it == file_sha256_.end() || !it->second || *it->second != c.sha256) {
            decision_.push.push_back(c);
            files_changed = true;
        }
    }
    decision_.remove = files_to_remove(certificate_paths(in_sentinel_dir(cfg)), certificates_, file_sha256_);
    const layer wanted_layer = make_sentinel_layer(cfg);
    const layer_standing standing = compare_layer(plan_, wanted_layer, cfg.sentinel_service_name, peer.sentinel_password);
    if (!standing.applied) {
        decision_.add_layer = wanted_layer;
        for (const auto& d : standing.differences) decision_.differences.push_back(d);
    } else {
        decision_.overridden = standing.differences;
    }
    if (decision_.add_layer || files_changed) decision_.restart.push_back(cfg.sentinel_service_name);
    else if (service_current_ && *service_current_ != "active" && *service_current_ != "backoff")
        decision_.start.push_back(cfg.sentinel_service_name);
    decision_.status_after = unit_status::active;
    decision_.retry_later = false;
    if (!decision_.overridden.empty()) {
        decision_.status_after = unit_status::blocked;
        decision_.message = overridden_message(decision_.overridden, cfg.sentinel_layer_label);
        decision_.retry_later = true;
    } else if (service_current_ == "backoff" && decision_.no_op()) {
        decision_.status_after = unit_status::waiting;
        decision_.message = "Service " + cfg.sentinel_service_name + " is restarting after a failure (Pebble backoff)";
        decision_.retry_later = true;
    }
    report_.decided = decision_;
    // Pebble is restarting Sentinel after a failure and nothing here would change: watch the
    // restart (backoff_watch) to tell one crash from a Sentinel that keeps failing, as for Redis;
    // Sentinel's own words (its last log lines) say why.
    if (probe_.enabled && decision_.no_op() && service_current_ == "backoff" && decision_.overridden.empty())
        return watch_backoff(plan_);
    // Nothing to do (or a dry run of it) and the decision Active: Sentinel's own answer, asked
    // while observing, says whether it is well (as the Redis probe does for Redis).
    if (decision_.no_op() && decision_.status_after == unit_status::active && asked_) return on_verdict(*asked_);
    if (dry_run_ || decision_.no_op()) return finish(decision_.status_after, decision_.message, decision_.retry_later);
    return next_action();
}

std::optional<pebble_request> sentinel_machine::next_action() {
    using k = pebble_request::kind;
    // The next action's request, its phase entered.
    const auto step = [this](phase p, k what) {
        phase_ = p;
        pebble_request r;
        r.what = what;
        return r;
    };
    if (!decision_.push.empty() && !made_) {
        // Sentinel rewrites its file through a temporary file in the same directory: the
        // directory must be its user's (redis-k8s makes CONFIG_DIR redis:redis 0750). Pebble leaves
        // an existing directory as it is.
        storage_fix dir;
        dir.path = config_dir(desired_.config);
        dir.user = desired_.config.user;
        dir.group = desired_.config.group;
        dir.permissions = "750";
        dir.make = true;
        auto r = step(phase::make_dir, k::make_dirs);
        r.dirs = {dir};
        return r;
    }
    if (!decision_.push.empty() && !pushed_) {
        auto r = step(phase::push, k::push_files);
        r.files = decision_.push;
        return r;
    }
    if (decision_.add_layer && !layered_) {
        auto r = step(phase::layer, k::add_layer);
        r.layer_to_add = decision_.add_layer;
        r.label = decision_.layer_label;
        return r;
    }
    if (!decision_.remove.empty() && !removed_) {
        auto r = step(phase::remove, k::remove_files);
        r.paths = decision_.remove;
        return r;
    }
    if (!decision_.restart.empty() || !decision_.start.empty()) {
        auto r = step(phase::restart, decision_.restart.empty() ? k::start : k::restart);
        r.service = desired_.config.sentinel_service_name;
        r.services = {r.service};
        return r;
    }
    return finish(decision_.status_after, decision_.message, decision_.retry_later);
}

} // namespace redispebble
