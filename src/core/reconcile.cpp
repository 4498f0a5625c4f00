#include <redispebble/decide.hpp>

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include "redis_detail.hpp"

#include <algorithm>

namespace redispebble {

std::string_view to_string(unit_status s) noexcept {
    switch (s) {
    case unit_status::active: return "active";
    case unit_status::waiting: return "waiting";
    case unit_status::blocked: return "blocked";
    case unit_status::maintenance: return "maintenance";
    }
    return "unknown";
}

unit_status worse(unit_status a, unit_status b) noexcept {
    auto rank = [](unit_status s) {
        switch (s) {
        case unit_status::blocked: return 3;
        case unit_status::waiting: return 2;
        case unit_status::maintenance: return 1;
        case unit_status::active: return 0;
        }
        return 2;
    };
    return rank(b) > rank(a) ? b : a;
}

std::string waiting_for_peer_data(const std::vector<std::string>& missing_keys) {
    std::string out(msg_waiting_for_peer_data);
    if (missing_keys.empty()) return out;
    out += " (not set yet: ";
    for (std::size_t i = 0; i < missing_keys.size(); ++i) out += (i ? ", " : "") + missing_keys[i];
    return out + ")";
}

namespace {

// Options whose next word is a password, in any Redis command line we may meet in a plan (ours in
// command_line mode, or the original design's).
bool is_secret_option(std::string_view word) {
    return word == "--requirepass" || word == "--masterauth" || word == "-a" || word == "--pass";
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
    if (what.empty()) return;
    for (std::size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
}

void redact(difference& d, const secret& password);

} // namespace

std::string redact_command(const std::string& command) {
    if (command.empty() || command == "<absent>") return command;
    std::vector<std::string> words;
    try {
        words = shlex_split(command);
    } catch (const input_error&) {
        return "<unparsable command withheld>";
    }
    bool changed = false;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        if (is_secret_option(words[i])) {
            words[i + 1] = std::string(redacted);
            changed = true;
        }
    }
    return changed ? shlex_join(words) : command;
}

layer redact(layer l) {
    for (auto& [name, svc] : l.services)
        if (svc.command) svc.command = redact_command(*svc.command);
    for (auto& [name, chk] : l.checks)
        if (chk.exec && chk.exec->command) chk.exec->command = redact_command(*chk.exec->command);
    return l;
}

namespace {

void redact(difference& d, const secret& password) {
    const bool command = d.path.size() >= 8 && d.path.compare(d.path.size() - 8, 8, ".command") == 0;
    for (std::string* v : {&d.current, &d.desired}) {
        if (command) *v = redact_command(*v);
        replace_all(*v, password.reveal(), redacted);
    }
    // A whole entry rendered as text may hold a command line too.
    if (!command) {
        for (std::string* v : {&d.current, &d.desired})
            if (v->find("--requirepass") != std::string::npos || v->find("--masterauth") != std::string::npos)
                *v = "<withheld: contains a password>";
    }
}

// The storage rule of decide(): see storage_fix.
std::optional<storage_fix> storage_fix_for(const std::optional<path_state>& seen, const redis_config& cfg) {
    storage_fix f;
    f.path = cfg.storage_path;
    f.user = cfg.user;
    f.group = cfg.group;
    // -H: a storage path that is a symbolic link (a volume mounted elsewhere and linked) is followed;
    // with -R alone chown does not follow it (-P) and re-owns the link, never the directory.
    f.command = {"chown", "-R", "-H", "--", cfg.user + ":" + cfg.group, cfg.storage_path};
    if (!seen) {
        f.make = f.chown = true;
    } else if (!seen->exists) {
        f.make = true;  // made with the owner: nothing to chown
    } else if (seen->type != "directory") {
        return std::nullopt;  // decide() reports it
    } else if (seen->user != cfg.user || seen->group != cfg.group) {
        f.chown = true;
    } else {
        return std::nullopt;
    }
    return f;
}

// Each optional field `want` sets takes `cur`'s value in `p` (the projections below).
template <class T, class... F>
void keep(T& p, const T& cur, const T& want, F T::*... fields) {
    ((want.*fields ? void(p.*fields = cur.*fields) : void()), ...);
}

// The fields of a check we set (in `want`), as they are in `cur`; the rest as in `want`.
check project(const check& cur, const check& want) {
    check p = want;
    keep(p, cur, want, &check::level, &check::startup, &check::period, &check::timeout, &check::threshold);
    // The kind of check is ours whichever it is: another kind above ours is an override too.
    p.http = cur.http;
    p.tcp = cur.tcp;
    p.exec = cur.exec;
    return p;
}

// The plan's service seen only through the fields `want` sets: every other field is taken from
// `want`, so it cannot differ. Environment and on-check-failure keep only want's keys.
service project(const service& cur, const service& want) {
    service p = want;
    keep(p, cur, want, &service::summary, &service::description, &service::startup, &service::command,
         &service::workload, &service::user_id, &service::user, &service::group_id, &service::group,
         &service::working_dir, &service::on_success, &service::on_failure, &service::backoff_delay,
         &service::backoff_factor, &service::backoff_limit, &service::kill_delay);
    if (!want.after.empty()) p.after = cur.after;
    if (!want.before.empty()) p.before = cur.before;
    if (!want.requires_.empty()) p.requires_ = cur.requires_;
    for (auto* m : {&p.environment, &p.on_check_failure}) m->clear();
    for (const auto& [k, v] : want.environment)
        if (auto it = cur.environment.find(k); it != cur.environment.end()) p.environment[k] = it->second;
    for (const auto& [k, v] : want.on_check_failure)
        if (auto it = cur.on_check_failure.find(k); it != cur.on_check_failure.end()) p.on_check_failure[k] = it->second;
    return p;
}

// Whether the Redis service's entry in `wanted` differs from the plan's, the layer fingerprint key
// of its environment aside. An entry absent from the plan differs.
bool redis_entry_changed(const layer& current, const layer& wanted, const std::string& name) {
    auto it = current.services.find(name);
    if (it == current.services.end()) return true;
    layer cur, want;
    cur.services[name] = it->second;
    want.services[name] = wanted.services.at(name);
    cur.services[name].environment.erase(std::string(layer_fingerprint_key));
    want.services[name].environment.erase(std::string(layer_fingerprint_key));
    return !plan_differences(cur, want).empty();
}

// Whether a file Redis reads when it starts is pushed: the secrets file and the certificates, not
// the checks' client-auth file (read by each check run) nor the exporter's password file.
bool pushes_redis_file(const std::vector<file_spec>& push) {
    return std::any_of(push.begin(), push.end(), [](const file_spec& f) {
        return f.origin != "client-auth" && f.origin != "exporter-passwords";
    });
}

decision blocked(decision d, std::string message) {
    d.status_after = unit_status::blocked;
    d.message = std::move(message);
    d.retry_later = false;
    return d;
}

} // namespace

layer_standing compare_layer(const layer& plan, const layer& wanted, const std::string& name, const secret& password) {
    layer_standing st;
    auto wit = wanted.services.find(name);
    if (wit == wanted.services.end()) return st;
    const service& want = wit->second;
    layer want_only;
    want_only.services[name] = want;
    auto pit = plan.services.find(name);
    if (pit == plan.services.end()) {
        st.differences = plan_differences(plan, want_only);
    } else {
        const service& cur = pit->second;
        const std::string key(layer_fingerprint_key);
        auto fw = want.environment.find(key), fc = cur.environment.find(key);
        st.applied = fw != want.environment.end() && fc != cur.environment.end() && fc->second == fw->second;
        layer projected;
        projected.services[name] = project(cur, want);
        st.differences = plan_differences(projected, want_only);
    }
    if (pit != plan.services.end()) {
        // Applied: our layer is in the plan, so every other entry it sets (the exporter, the
        // checks; all override: replace) is ours too, and a difference there is a layer above ours
        // overriding it. Not applied: the differences say why the layer is added again; without
        // these, a change of the exporter or a check showed only the fingerprint's difference.
        layer want_rest, cur_rest;
        for (const auto& [n, w] : wanted.services) {
            if (n == name) continue;
            want_rest.services[n] = w;
            if (auto it = plan.services.find(n); it != plan.services.end()) cur_rest.services[n] = project(it->second, w);
        }
        for (const auto& [n, w] : wanted.checks) {
            want_rest.checks[n] = w;
            if (auto it = plan.checks.find(n); it != plan.checks.end()) cur_rest.checks[n] = project(it->second, w);
        }
        auto rest = plan_differences(cur_rest, want_rest);
        st.differences.insert(st.differences.end(), rest.begin(), rest.end());
    }
    for (auto& diff : st.differences) redact(diff, password);
    return st;
}

retired_entries entries_to_retire(const layer& plan, const layer& wanted, const redis_config& cfg) {
    retired_entries out;
    auto service_named = [&](const std::string& n) {
        if (plan.services.count(n) && !wanted.services.count(n) &&
            std::find(out.services.begin(), out.services.end(), n) == out.services.end())
            out.services.push_back(n);
    };
    auto check_named = [&](const std::string& n) {
        if (plan.checks.count(n) && !wanted.checks.count(n) &&
            std::find(out.checks.begin(), out.checks.end(), n) == out.checks.end())
            out.checks.push_back(n);
    };
    // Every name our layer uses for a Redis service named `s`, whatever the options.
    auto family = [&](const std::string& s) {
        service_named(s);
        service_named(s + "-exporter");
        check_named(s + "-alive");
        check_named(s + "-ready");
        check_named(s + "-exporter-alive");
    };
    for (const auto& [name, svc] : plan.services) {
        if (name == cfg.service_name || wanted.services.count(name)) continue;
        const bool marked = svc.environment.count(std::string(layer_fingerprint_key)) ||
                            svc.environment.count(std::string(retired_marker_key));
        // A retired exporter is marked too, but is no Redis: its own family is not ours to guess.
        const bool exporter = name.size() > 9 && name.compare(name.size() - 9, 9, "-exporter") == 0 &&
                              svc.environment.count(std::string(retired_marker_key));
        if (marked && !exporter && svc.working_dir == cfg.storage_path) family(name);
    }
    family(cfg.service_name);  // the exporter and checks our options turned off
    return out;
}

layer with_retired(layer wanted, const retired_entries& retired, const redis_config& cfg) {
    if (retired.services.empty() && retired.checks.empty()) return wanted;
    const std::string key(layer_fingerprint_key);
    auto it = wanted.services.find(cfg.service_name);
    if (it != wanted.services.end()) it->second.environment.erase(key);
    for (const auto& n : retired.services) {
        service& s = wanted.services[n];
        s = service{};
        s.override = override_kind::replace;
        s.summary = "Retired by redispebble";
        s.startup = "disabled";
        s.command = "/bin/true";
        s.working_dir = cfg.storage_path;
        s.environment[std::string(retired_marker_key)] = cfg.layer_label;
    }
    for (const auto& n : retired.checks) {
        check& c = wanted.checks[n];
        c = check{};
        c.override = override_kind::replace;
        c.startup = "disabled";
        c.exec = exec_check{};
        c.exec->command = "/bin/true";
    }
    if (it != wanted.services.end()) it->second.environment[key] = "sha256:" + sha256_hex(to_yaml(wanted));
    return wanted;
}

std::string overridden_message(const std::vector<difference>& overridden, const std::string& label) {
    std::string paths;
    for (const auto& d : overridden) paths += (paths.empty() ? "" : ", ") + d.path;
    return "Another Pebble layer overrides what layer \"" + label + "\" sets: " + paths;
}

prepared_desired prepare(const desired_state& desired, const secret& secrets_key) {
    prepared_desired p;
    const redis_config& cfg = desired.config;
    decision d;
    d.layer_label = cfg.layer_label;
    try {
        validate(cfg);
    } catch (const input_error& e) {
        p.verdict = blocked(std::move(d), e.what());
        return p;
    }
    if (!desired.peer.complete()) {
        d.status_after = unit_status::waiting;
        d.message = waiting_for_peer_data(desired.peer.missing());
        d.retry_later = true;
        p.verdict = std::move(d);
        return p;
    }
    std::vector<file_spec> certificates;
    if (cfg.enable_tls) {
        auto plan = certificate_plan(cfg, desired.resources);
        if (!plan.complete()) {
            d.missing_resources = plan.missing;
            p.verdict = blocked(std::move(d), std::string(msg_not_enough_certificates));
            return p;
        }
        try {
            check_certificates(desired.resources);
        } catch (const input_error& e) {
            p.verdict = blocked(std::move(d), e.what());
            return p;
        }
        certificates = std::move(plan.files);
    }
    try {
        const detail::redis_inputs in = detail::redis_inputs_of(cfg, desired.peer);  // once for all below
        p.flags = describe(in.flags);
        if (cfg.secrets == secret_mode::config_file) p.secrets_key = secrets_key.empty() ? new_secrets_key() : secrets_key;
        p.wanted = detail::make_layer(cfg, desired.peer, in, certificates, p.secrets_key);
        if (auto secrets = detail::secrets_file(cfg, desired.peer, in.password_lines, p.secrets_key))
            p.files.push_back(std::move(*secrets));
        for (auto& f : companion_files(cfg, desired.peer)) p.files.push_back(std::move(f));
    } catch (const input_error& e) {
        p.verdict = blocked(std::move(d), e.what());
        return p;
    }
    p.files.insert(p.files.end(), certificates.begin(), certificates.end());
    // Every file this unit pushes under some inputs, at this storage path: those not wanted now.
    std::vector<std::string> ours{secrets_file_path(cfg), client_auth_file_path(cfg), exporter_password_file_path(cfg)};
    for (auto& path : certificate_paths(cfg)) ours.push_back(std::move(path));
    for (const auto& path : ours)
        if (std::none_of(p.files.begin(), p.files.end(), [&](const file_spec& f) { return f.path == path; }) &&
            std::find(p.retire_files.begin(), p.retire_files.end(), path) == p.retire_files.end())
            p.retire_files.push_back(path);
    return p;
}

std::vector<std::string> files_to_remove(const std::vector<std::string>& candidates, const std::vector<file_spec>& wanted,
                                         const std::map<std::string, std::optional<std::string>>& observed_sha256) {
    std::vector<std::string> out;
    for (const auto& path : candidates) {
        if (std::any_of(wanted.begin(), wanted.end(), [&](const file_spec& f) { return f.path == path; })) continue;
        if (auto it = observed_sha256.find(path); it != observed_sha256.end() && it->second) out.push_back(path);
    }
    return out;
}

prepared_desired rekey(prepared_desired p, const desired_state& desired, const secret& secrets_key) {
    const redis_config& cfg = desired.config;
    // Without a key in them (a verdict, command-line secrets), the prepared inputs do not change.
    if (p.verdict || cfg.secrets != secret_mode::config_file) return p;
    p.secrets_key = secrets_key.empty() ? new_secrets_key() : secrets_key;
    const detail::redis_inputs in = detail::redis_inputs_of(cfg, desired.peer);
    detail::rekey_layer(p.wanted, cfg, desired.peer, in.password_lines, p.secrets_key);
    for (auto& f : p.files)
        if (f.origin == "secrets") f = *detail::secrets_file(cfg, desired.peer, in.password_lines, p.secrets_key);
    return p;
}

decision decide(const observed_state& observed, const desired_state& desired) {
    if (!observed.pebble_reachable) return decide(observed, desired, prepared_desired{});
    return decide(observed, desired, prepare(desired, observed.secrets_key.value_or(secret{})));
}

decision decide(const observed_state& observed, const desired_state& desired, const prepared_desired& prepared) {
    decision d;
    const redis_config& cfg = desired.config;
    d.layer_label = cfg.layer_label;

    if (!observed.pebble_reachable) {
        d.status_after = unit_status::waiting;
        d.message = std::string(msg_waiting_for_pebble);
        d.retry_later = true;
        return d;
    }
    if (prepared.verdict) return *prepared.verdict;
    d.flags = prepared.flags;
    d.service_current = observed.service_current;

    if (observed.storage && observed.storage->exists && observed.storage->type != "directory")
        return blocked(std::move(d), "storage-path " + cfg.storage_path + " exists and is not a directory (" +
                                         observed.storage->type + ")");
    d.storage = storage_fix_for(observed.storage, cfg);

    for (const auto& f : prepared.files) {
        auto it = observed.file_sha256.find(f.path);
        if (it == observed.file_sha256.end() || !it->second || *it->second != f.sha256) d.push.push_back(f);
    }

    // Our layer is recognised by its fingerprint, not by comparing the combined plan with it:
    // other layers (from $PEBBLE/layers, added by others, below or above ours) merge into the
    // service, and combining into our label keeps its place under them (docs/reconcile.md).
    d.remove = files_to_remove(prepared.retire_files, prepared.files, observed.file_sha256);

    const layer no_plan;
    const layer& current = observed.plan ? *observed.plan : no_plan;
    // What an earlier layer of ours left that these inputs do not want: retired in our layer,
    // stopped while it runs (docs/reconcile.md, "Retiring what we no longer want").
    const retired_entries retired = entries_to_retire(current, prepared.wanted, cfg);
    for (const auto& n : retired.services) {
        d.retired.push_back("services." + n);
        auto it = observed.retired_services_current.find(n);
        if (it == observed.retired_services_current.end() || (it->second != "inactive" && it->second != "error"))
            d.stop.push_back(n);
    }
    for (const auto& n : retired.checks) {
        d.retired.push_back("checks." + n);
        auto it = observed.retired_checks_status.find(n);
        if (it == observed.retired_checks_status.end() || it->second != "inactive") d.stop_checks.push_back(n);
    }
    layer wanted = with_retired(prepared.wanted, retired, cfg);
    layer_standing standing = compare_layer(current, wanted, cfg.service_name, desired.peer.admin_password);
    if (standing.applied) d.overridden = std::move(standing.differences);
    else d.differences = std::move(standing.differences);

    // The exporter (metrics): restarted with Redis when its own entry changed (it reads its
    // password file only when it starts). Our layer not applied is when it can have changed; its
    // entry is compared on its own (compare_layer looks at the Redis service only).
    const std::string exporter = exporter_service_name(cfg);
    bool exporter_changed = false;
    if (cfg.metrics && !standing.applied) {
        layer cur_x, want_x;
        if (auto it = current.services.find(exporter); it != current.services.end()) cur_x.services[exporter] = it->second;
        want_x.services[exporter] = wanted.services.at(exporter);
        exporter_changed = !plan_differences(cur_x, want_x).empty();
    }
    if (!standing.applied) {
        // Redis restarts only when what it runs with changes: its own entry (the fingerprint aside:
        // it names the whole layer, so turning metrics on or off changes it) or a file it reads at
        // start. The exporter and the checks alone never restart it.
        const bool service_backoff = observed.service_current && *observed.service_current == "backoff";
        const bool service_stopped = observed.service_current && (*observed.service_current == "inactive" ||
                                                                  *observed.service_current == "error");
        if (redis_entry_changed(current, wanted, cfg.service_name) || pushes_redis_file(d.push) || service_backoff)
            d.restart.push_back(cfg.service_name);
        else if (service_stopped)
            d.start.push_back(cfg.service_name);
        if (exporter_changed) d.restart.push_back(exporter);
        d.add_layer = std::move(wanted);
    } else if (!d.push.empty()) {
        // Redis reads its certificates and configuration file only when it starts.
        d.restart.push_back(cfg.service_name);
    } else if (observed.service_current &&
               (*observed.service_current == "inactive" || *observed.service_current == "error")) {
        d.start.push_back(cfg.service_name);
    } else if (observed.service_current && *observed.service_current == "backoff" && d.storage) {
        // It may be failing for want of its directory: start it afresh once the storage is fixed.
        d.restart.push_back(cfg.service_name);
    } else if (!d.overridden.empty()) {
        // Nothing we can write would change these: say so, never loop.
    } else if (observed.service_current && *observed.service_current == "backoff") {
        // Pebble is already restarting it after a failure; restarting it ourselves would not help.
        // (reconcile_machine then reads the service's logs and reports Blocked with them.)
        d.status_after = unit_status::waiting;
        d.message = "Service " + cfg.service_name + " is restarting after a failure (Pebble backoff)";
        d.retry_later = true;
        return d;
    }
    if (!d.overridden.empty()) {
        d.status_after = unit_status::blocked;
        d.message = overridden_message(d.overridden, cfg.layer_label);
        d.retry_later = true;
        return d;
    }
    d.status_after = unit_status::active;
    d.message.clear();
    d.retry_later = false;
    return d;
}

} // namespace redispebble
