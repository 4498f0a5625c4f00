// `redispebble plan`: the dry run on files. No I/O beyond reading the inputs.
#include "cli.hpp"

#include <fmt/core.h>

namespace redispebble::cli {

namespace {
void print_differences(const std::vector<difference>& diffs) {
    if (diffs.empty()) {
        fmt::print("Differences against the current plan: none\n");
        return;
    }
    fmt::print("Differences against the current plan:\n");
    for (const auto& d : diffs) {
        fmt::print("  {}\n", d.path);
        fmt::print("    current: {}\n", d.current.empty() ? "<unset>" : d.current);
        fmt::print("    desired: {}\n", d.desired.empty() ? "<unset>" : d.desired);
    }
}
// With `sentinel: true`, what apply would say of the unit from the inputs alone (as
// reconcile_unit: Sentinel's verdict first; inputs Sentinel refuses leave Redis unchanged; the
// worse of the two statuses, each container's words, the same words once).
struct unit_plan {
    decision sentinel;  ///< the Sentinel container's verdict, or Active
    unit_status status = unit_status::active;
    std::string message;
};
unit_plan plan_unit(const desired_state& desired, const decision& redis) {
    unit_plan u;
    if (auto v = sentinel_verdict(desired)) u.sentinel = std::move(*v);
    else u.sentinel.status_after = unit_status::active;
    const decision& s = u.sentinel;
    if (s.status_after == unit_status::blocked) {
        u.status = unit_status::blocked;
        u.message = "Sentinel: " + s.message + "; left unchanged while the Sentinel container refuses the inputs";
        return u;
    }
    u.status = worse(redis.status_after, s.status_after);
    const bool s_ok = s.status_after == unit_status::active, r_ok = redis.status_after == unit_status::active;
    if (!s_ok && !r_ok && s.message == redis.message) u.message = redis.message + " (both containers)";
    else {
        if (!s_ok) u.message = "Sentinel: " + s.message;
        if (!r_ok) u.message += (u.message.empty() ? "" : "; ") + redis.message;
    }
    return u;
}

} // namespace

int cmd_plan(const std::vector<std::string>& args) {
    options opts = parse_options("plan", args, {"--config", "--peer", "--plan", "--resource", "--hostname", "--format"});
    if (!opts.positional.empty()) throw usage_error(fmt::format("plan: unexpected argument \"{}\"", opts.positional[0]));
    const bool text = opts.format == output_format::text;
    if (args.empty()) {
        const std::string dir = examples_dir();
        opts.config_file = dir + "/config.yaml";
        opts.peer_file = dir + "/peer.yaml";
        opts.plan_file = dir + "/plan.yaml";
        fmt::print("# No arguments: using the example inputs in {}\n", dir);
    }
    desired_state desired = load_desired(opts);
    observed_state observed;
    observed.pebble_reachable = true;  // a dry run reads the current plan from a file
    observed.plan = opts.plan_file ? parse_plan(read_text_file(*opts.plan_file, "plan file"), *opts.plan_file)
                                   : layer{};

    const redis_config& cfg = desired.config;
    decision d = decide(observed, desired);
    if (!text) {
        boost::json::object doc = report_document("plan", d, nullptr);
        doc["layer"] = nullptr;
        boost::json::array files;
        if (desired.peer.complete()) {
            try {
                certificate_plan_result certs = certificate_plan(cfg, desired.resources);
                doc["layer"] = layer_value(make_layer(cfg, desired.peer, cfg.enable_tls ? certs.files : std::vector<file_spec>{}));
                // The files the unit holds (never their content nor a digest of it).
                for (const auto& f : prepare(desired).files)
                    files.push_back(boost::json::object{{"path", f.path}, {"permissions", f.permissions},
                                                        {"user", f.user}, {"group", f.group}, {"origin", f.origin}});
            } catch (const input_error& e) {
                doc["layer-error"] = e.what();
            }
        }
        doc["sentinel-layer"] = nullptr;
        int code = exit_for(d.status_after);
        if (cfg.sentinel) {
            doc["sentinel-layer"] = layer_value(make_sentinel_layer(cfg));
            files.push_back(boost::json::object{{"path", cfg.sentinel_config_path}, {"permissions", "600"},
                                                {"user", cfg.user}, {"group", cfg.group}, {"origin", "sentinel.conf"}});
            const unit_plan u = plan_unit(desired, d);
            doc["sentinel"] = report_document("plan", u.sentinel, nullptr);
            doc["status"] = std::string(to_string(u.status));
            doc["message"] = u.message;
            code = exit_for(u.status);
        }
        doc["files"] = std::move(files);
        doc["exit-code"] = code;
        print_document(doc, opts.format);
        return code;
    }
    fmt::print("# redispebble plan: a dry run, nothing is applied\n");
    fmt::print("# config: {}, peer data: {}, current plan: {}\n", opts.config_file.value_or("<defaults>"),
               opts.peer_file.value_or("<none>"), opts.plan_file.value_or("<empty>"));

    if (desired.peer.complete()) {
        try {
            certificate_plan_result certs = certificate_plan(cfg, desired.resources);
            layer l = make_layer(cfg, desired.peer, cfg.enable_tls ? certs.files : std::vector<file_spec>{});
            fmt::print("\nLayer \"{}\" (added with combine):\n{}", cfg.layer_label, to_yaml(redact(l)));
            fmt::print("\nFlags: {}\n", d.flags.empty() ? describe(redis_flags(cfg, desired.peer)) : d.flags);
            fmt::print("Secrets: {}\n", cfg.secrets == secret_mode::config_file
                                            ? "in " + secrets_file_path(cfg) + " (mode 600), not in argv or the plan"
                                            : std::string("ON THE COMMAND LINE (secrets: command-line): visible in argv and the plan"));
            fmt::print("\nCertificate plan{}:\n", cfg.enable_tls ? "" : " (TLS is off: not pushed)");
            for (const auto& f : certs.files)
                fmt::print("  {} -> {} (mode {}, owner {}:{}, make-dirs)\n", f.origin, f.path, f.permissions, f.user, f.group);
            for (const auto& m : certs.missing) fmt::print("  {}: missing\n", m);
        } catch (const input_error& e) {
            fmt::print("\nThe layer cannot be made: {}\n", e.what());
        }
    } else {
        fmt::print("\nPeer data incomplete (admin-password, current-master and hostname are all needed): no layer yet.\n");
    }
    if (cfg.sentinel) {
        fmt::print("\nLayer \"{}\" in container {} (added with combine):\n{}", cfg.sentinel_layer_label,
                   cfg.sentinel_container_name, to_yaml(make_sentinel_layer(cfg)));
        fmt::print("Sentinel: {} (mode 600) holds sentinel-password and admin-password; only our directives in it are "
                   "compared (docs/sentinel.md)\n", cfg.sentinel_config_path);
        try {
            peer_data p = desired.peer;
            const std::string master = p.current_master;
            for (const auto& dir : sentinel_directives(cfg, p, master))
                if (!dir.is_secret) {
                    std::string line = dir.key;
                    for (const auto& w : dir.words) line += " " + w;
                    fmt::print("  {}\n", line);
                } else {
                    fmt::print("  {} <redacted>\n", dir.key);
                }
        } catch (const input_error& e) {
            fmt::print("  sentinel.conf cannot be made: {}\n", e.what());
        }
    }
    fmt::print("\n");
    print_differences(d.differences);
    fmt::print("\n");
    print_decision(d);
    if (!cfg.sentinel) return exit_for(d.status_after);
    // apply reconciles both containers: say what it would say of the unit, not of Redis's alone.
    const unit_plan u = plan_unit(desired, d);
    fmt::print("Sentinel container: {}{}{}\n", to_string(u.sentinel.status_after),
               u.sentinel.message.empty() ? "" : ": ", u.sentinel.message);
    if (!u.sentinel.missing_resources.empty()) {
        std::string names;
        for (const auto& m : u.sentinel.missing_resources) names += (names.empty() ? "" : ", ") + m;
        fmt::print("Sentinel missing resources: {}\n", names);
    }
    fmt::print("Unit status: {}{}{}\n", to_string(u.status), u.message.empty() ? "" : ": ", u.message);
    return exit_for(u.status);
}

} // namespace redispebble::cli
