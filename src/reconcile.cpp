#include <redispebble/reconcile.hpp>

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

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

decision blocked(decision d, std::string message) {
    d.status = unit_status::blocked;
    d.message = std::move(message);
    d.retry_later = false;
    return d;
}

} // namespace

prepared_desired prepare(const desired_state& desired) {
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
        d.status = unit_status::waiting;
        d.message = std::string(msg_waiting_for_peer_data);
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
        certificates = std::move(plan.files);
    }
    try {
        p.flags = describe(redis_flags(cfg, desired.peer));
        p.wanted = make_layer(cfg, desired.peer, certificates);
        if (auto secrets = secrets_file(cfg, desired.peer)) p.files.push_back(std::move(*secrets));
        for (auto& f : companion_files(cfg, desired.peer)) p.files.push_back(std::move(f));
    } catch (const input_error& e) {
        p.verdict = blocked(std::move(d), e.what());
        return p;
    }
    p.files.insert(p.files.end(), certificates.begin(), certificates.end());
    return p;
}

decision decide(const observed_state& observed, const desired_state& desired) {
    if (!observed.pebble_reachable) return decide(observed, desired, prepared_desired{});
    return decide(observed, desired, prepare(desired));
}

decision decide(const observed_state& observed, const desired_state& desired, const prepared_desired& prepared) {
    decision d;
    const redis_config& cfg = desired.config;
    d.layer_label = cfg.layer_label;

    if (!observed.pebble_reachable) {
        d.status = unit_status::waiting;
        d.message = std::string(msg_waiting_for_pebble);
        d.retry_later = true;
        return d;
    }
    if (prepared.verdict) return *prepared.verdict;
    d.flags = prepared.flags;

    for (const auto& f : prepared.files) {
        auto it = observed.file_sha256.find(f.path);
        if (it == observed.file_sha256.end() || !it->second || *it->second != f.sha256) d.push.push_back(f);
    }

    const layer current = observed.plan.value_or(layer{});
    d.differences = plan_differences(current, prepared.wanted);
    for (auto& diff : d.differences) redact(diff, desired.peer.admin_password);

    // The exporter (metrics): restarted with Redis when its own entry changed (it reads its
    // password file only when it starts), started when it is in the layer but not running.
    const std::string exporter = exporter_service_name(cfg);
    const bool exporter_changed =
        cfg.metrics && std::any_of(d.differences.begin(), d.differences.end(), [&](const difference& x) {
            return x.path == "services." + exporter || x.path.rfind("services." + exporter + ".", 0) == 0;
        });
    if (!d.differences.empty()) {
        d.add_layer = prepared.wanted;
        d.restart.push_back(cfg.service_name);
        if (exporter_changed) d.restart.push_back(exporter);
    } else if (!d.push.empty()) {
        // Redis reads its certificates and configuration file only when it starts.
        d.restart.push_back(cfg.service_name);
    } else if (observed.service_current &&
               (*observed.service_current == "inactive" || *observed.service_current == "error")) {
        d.start.push_back(cfg.service_name);
    } else if (observed.service_current && *observed.service_current == "backoff") {
        // Pebble is already restarting it after a failure; restarting it ourselves would not help.
        d.status = unit_status::waiting;
        d.message = "Service " + cfg.service_name + " is restarting after a failure (Pebble backoff)";
        d.retry_later = true;
        return d;
    }
    d.status = unit_status::active;
    d.message.clear();
    d.retry_later = false;
    return d;
}

} // namespace redispebble
