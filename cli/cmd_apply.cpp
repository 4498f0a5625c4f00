// `redispebble apply | status | diff`: reconcile one unit through its Pebble socket.
#include "cli.hpp"

#include <redispebble/reconciler.hpp>
#include <redispebble/unit_reconciler.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>

namespace redispebble::cli {

namespace {

const std::vector<std::string> unit_options{"--config", "--peer", "--resource", "--hostname", "--socket",
                                            "--sentinel-socket", "--timeout", "--verbose", "--dry-run", "--retry", "--format"};
const std::vector<std::string> apply_options{"--config", "--peer", "--resource", "--hostname", "--socket",
                                             "--sentinel-socket", "--timeout", "--verbose", "--dry-run", "--retry",
                                             "--format"};

struct unit_context {
    options opts;
    desired_state desired;
    std::string socket;
    std::chrono::milliseconds deadline;
};

unit_context load_unit(const std::vector<std::string>& args, const char* name) {
    unit_context u;
    u.opts = parse_options(name, args, std::string_view(name) == "apply" ? apply_options : unit_options);
    if (!u.opts.positional.empty())
        throw usage_error(fmt::format("{}: unexpected argument \"{}\"", name, u.opts.positional[0]));
    u.desired = load_desired(u.opts);
    u.socket = socket_path(u.opts, u.desired.config);
    u.deadline = std::chrono::milliseconds(static_cast<long long>(u.opts.timeout_seconds * 1000));
    return u;
}

pebble::client_options client_for(const unit_context& u) {
    pebble::client_options c;
    c.socket_path = u.socket;
    c.request_timeout = std::min<std::chrono::milliseconds>(u.deadline, std::chrono::seconds(15));
    c.connect_timeout = std::min<std::chrono::milliseconds>(u.deadline, std::chrono::seconds(5));
    c.wait_slice = std::min<std::chrono::milliseconds>(c.request_timeout / 2, std::chrono::seconds(5));
    if (c.wait_slice.count() < 1) c.wait_slice = std::chrono::milliseconds(1);
    if (u.opts.verbose)
        c.logger = [](pebble::log_level, std::string_view line) { fmt::print(stderr, "pebble: {}\n", line); };
    return c;
}

reconcile_options run_options(const unit_context& u, bool dry_run) {
    reconcile_options ro;
    ro.deadline = u.deadline;
    ro.change_timeout = u.deadline;
    ro.dry_run = dry_run;
    if (u.opts.retry) ro.retry_backoff = std::chrono::milliseconds(500);
    if (u.opts.verbose) ro.log = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    return ro;
}

reconcile_report run(const unit_context& u, bool dry_run) {
    pebble::client c(client_for(u));
    return reconcile(c, u.desired, run_options(u, dry_run));
}

// `apply` with `sentinel: true`: both containers (docs/sentinel.md).
unit_report run_unit(const unit_context& u, bool dry_run) {
    pebble::client redis(client_for(u));
    unit_context s = u;
    s.socket = sentinel_socket_path(u.opts, u.desired.config);
    pebble::client sentinel(client_for(s));
    return reconcile_unit(redis, &sentinel, u.desired, run_options(u, dry_run));
}

void print_differences(const reconcile_report& r) {
    for (const auto& d : r.decided.differences) {
        fmt::print("  {}\n", d.path);
        fmt::print("    current: {}\n", d.current.empty() ? "<unset>" : d.current);
        fmt::print("    desired: {}\n", d.desired.empty() ? "<unset>" : d.desired);
    }
    if (const auto& st = r.decided.storage) {
        if (st->make) fmt::print("  storage-path {} is missing: make it ({}:{}, {})\n", st->path, st->user, st->group, st->permissions);
        if (st->chown) fmt::print("  storage-path {} is not owned by {}:{}: change its owner (recursive)\n", st->path, st->user, st->group);
    }
    for (const auto& f : r.decided.push) fmt::print("  file {} differs (from {})\n", f.path, f.origin);
    for (const auto& s : r.decided.start) fmt::print("  service {} is not running: start it\n", s);
    for (const auto& s : r.decided.restart) fmt::print("  service {}: restart it\n", s);
    for (const auto& c : r.decided.stop_checks) fmt::print("  check {} is retired but running: stop it\n", c);
    for (const auto& s : r.decided.stop) fmt::print("  service {} is retired but running: stop it\n", s);
    for (const auto& f : r.decided.remove) fmt::print("  file {} is no longer wanted: remove it\n", f);
}

// What the decision warns about (a sentinel.conf line that is neither ours nor Sentinel's).
void print_warnings(const reconcile_report& r) {
    for (const auto& w : r.decided.warnings) fmt::print("Warning: {}\n", w);
}

// Fields our layer sets that another layer overrides (no write, no restart: see docs/reconcile.md).
void print_overridden(const reconcile_report& r) {
    if (r.decided.overridden.empty()) return;
    fmt::print("Overridden by another Pebble layer (not ours to change):\n");
    for (const auto& d : r.decided.overridden) {
        fmt::print("  {}\n", d.path);
        fmt::print("    current: {}\n", d.current.empty() ? "<unset>" : d.current);
        fmt::print("    ours:    {}\n", d.desired.empty() ? "<unset>" : d.desired);
    }
}

// `who`: whose answer redis_state is ("Redis", or "Sentinel" for the Sentinel container).
void print_report(const reconcile_report& r, const char* who = "Redis") {
    fmt::print("Status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
    print_warnings(r);
    print_overridden(r);
    if (r.actions_done.empty()) fmt::print("Actions done: none\n");
    else {
        fmt::print("Actions done:\n");
        for (const auto& a : r.actions_done) fmt::print("  {}\n", a);
    }
    if (!r.redis_state.empty()) fmt::print("{}: {}\n", who, r.redis_state);
    if (r.failed_step) fmt::print("Failed step: {}\n", *r.failed_step);
    if (r.attempts > 1) fmt::print("Attempts: {}\n", r.attempts);
    if (!r.decided.missing_resources.empty()) {
        std::string names;
        for (const auto& m : r.decided.missing_resources) names += (names.empty() ? "" : ", ") + m;
        fmt::print("Missing resources: {}\n", names);
    }
    fmt::print("Retry later: {}\n", r.retry_later ? "yes" : "no");
}

// The inputs could be compared with the container: the decision (before Redis was asked) is
// Active, only overridden, or Waiting on a service in Pebble's backoff with nothing to change (the
// one Waiting decide() makes after comparing). Redis's own answer (r.status) may differ.
bool compared(const reconcile_report& r) {
    const decision& d = r.decided;
    return d.status_after == unit_status::active || !d.overridden.empty() ||
           (d.status_after == unit_status::waiting && d.service_current == "backoff" && d.no_op());
}

// `status` says the unit's status now. A dry run's report carries the status apply would reach
// (decision::status_after); while apply still has work to do the unit is not there yet, so status
// says maintenance, as a charm does while it changes its workload (Juju's MaintenanceStatus).
inline constexpr std::string_view msg_out_of_sync = "out of sync with the inputs: `redispebble apply` would make it active";
bool status_now(reconcile_report& r) {
    if (!compared(r) || r.decided.no_op() || r.status != unit_status::active) return false;
    r.status = unit_status::maintenance;
    r.message = std::string(msg_out_of_sync);
    return true;
}

// Nothing for apply to do: the plan, the files and the storage match, and no service is waiting
// to be started, restarted or stopped (a stopped service is out of sync: apply would start it).
bool in_sync(const reconcile_report& r) { return r.decided.differences.empty() && r.decided.no_op(); }

int emit(std::string_view command, const unit_context& u, const reconcile_report& r, int code,
         boost::json::object extra = {}) {
    boost::json::object doc = report_document(command, r.decided, &r);
    doc["socket"] = u.socket;
    doc["dry-run"] = command == "apply" ? u.opts.dry_run : true;
    for (auto& kv : extra) doc[kv.key()] = std::move(kv.value());
    doc["exit-code"] = code;
    print_document(doc, u.opts.format);
    return code;
}

// With `sentinel: true`, the unit's document (docs/cli.md): the Redis container's keys, the unit's
// status and message, `sentinel` (the Sentinel container's document, with `extra_sentinel`), the
// master and where it came from.
boost::json::object unit_document(std::string_view command, const unit_context& u, const unit_report& r,
                                  boost::json::object extra_sentinel = {}) {
    boost::json::object doc = report_document(command, r.redis.decided, &r.redis);
    doc["socket"] = u.socket;
    doc["dry-run"] = command == "apply" ? u.opts.dry_run : true;
    doc["status"] = std::string(to_string(r.status));
    doc["message"] = r.message;
    boost::json::object s = report_document(command, r.sentinel->decided, &*r.sentinel);
    for (auto& kv : extra_sentinel) s[kv.key()] = std::move(kv.value());
    doc["sentinel"] = std::move(s);
    doc["sentinel-socket"] = sentinel_socket_path(u.opts, u.desired.config);
    doc["master"] = r.master.host;
    doc["master-source"] = r.master.source;
    doc["peer-data-update"] = r.peer_data_update ? boost::json::value(boost::json::object{{"current-master", *r.peer_data_update}})
                                                 : boost::json::value(nullptr);
    return doc;
}

int emit_unit(boost::json::object doc, const unit_context& u, int code) {
    doc["exit-code"] = code;
    print_document(doc, u.opts.format);
    return code;
}

void print_master(const unit_report& r) {
    fmt::print("Master: {} (from {})\n", r.master.host, r.master.source);
    if (r.peer_data_update) fmt::print("Peer data is stale: the leader should set current-master: {}\n", *r.peer_data_update);
}

// `diff` with `sentinel: true`: both containers compared; 0 when both are in sync, 5 when either
// differs, 3/4 (the unit's status) when either cannot be compared.
int diff_unit(const unit_context& u) {
    const unit_report r = run_unit(u, true);
    const reconcile_report& s = *r.sentinel;
    const bool s_synced = compared(s) && in_sync(s) && s.decided.overridden.empty();
    const bool r_synced = compared(r.redis) && in_sync(r.redis) && r.redis.decided.overridden.empty();
    const bool both_compared = compared(s) && compared(r.redis);
    const int code = !both_compared ? exit_for(r.status) : s_synced && r_synced ? exit_ok : exit_differs;
    if (u.opts.format != output_format::text) {
        boost::json::object doc =
            unit_document("diff", u, r, {{"compared", compared(s)}, {"in-sync", s_synced}});
        doc["compared"] = both_compared;
        doc["in-sync"] = s_synced && r_synced;
        doc["redis-compared"] = compared(r.redis);
        doc["redis-in-sync"] = r_synced;
        return emit_unit(std::move(doc), u, code);
    }
    print_master(r);
    auto section = [](const std::string& title, const reconcile_report& c, bool synced) {
        fmt::print("\n## Container {}\n", title);
        print_warnings(c);
        if (!compared(c)) {
            fmt::print("Cannot compare: {}: {}\n", to_string(c.status), c.message);
            return;
        }
        print_overridden(c);
        if (synced) fmt::print("In sync: the plan and the files match the inputs\n");
        else if (in_sync(c)) fmt::print("Our layer is applied and the files match; apply cannot change what another layer overrides\n");
        else {
            fmt::print("Out of sync:\n");
            print_differences(c);
        }
        if (!c.redis_state.empty()) fmt::print("State: {}\n", c.redis_state);
    };
    section(u.desired.config.sentinel_container_name + " (Sentinel)", s, s_synced);
    section(u.desired.config.container_name + " (Redis)", r.redis, r_synced);
    fmt::print("\nUnit status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
    return code;
}

struct pebble_look {
    std::string socket;
    std::optional<std::string> version;
    std::string error;
    std::vector<pebble::service_info> services;
};

pebble_look look_at(const unit_context& u, const std::string& socket) {
    unit_context c = u;
    c.socket = socket;
    pebble::client client(client_for(c));
    pebble_look l;
    l.socket = socket;
    pebble::error_code ec;
    pebble::diagnostics diag;
    auto info = client.system_info(ec, &diag);
    if (ec) {
        l.error = diag.message.empty() ? ec.message() : diag.message;
        return l;
    }
    l.version = info.version;
    auto services = client.list_services({}, ec, &diag);
    if (!ec) l.services = std::move(services);
    return l;
}

boost::json::array services_value(const pebble_look& l) {
    boost::json::array svcs;
    for (const auto& s : l.services)
        svcs.push_back(boost::json::object{{"name", s.name}, {"current", s.current}, {"startup", s.startup},
                                           {"since", s.current_since}});
    return svcs;
}

void print_look(const std::string& what, const pebble_look& l) {
    if (!l.version) {
        fmt::print("{}: not reachable at {} ({})\n", what, l.socket, l.error);
        return;
    }
    fmt::print("{}: {} at {}\n", what, *l.version, l.socket);
    if (l.services.empty()) fmt::print("Services: none\n");
    for (const auto& s : l.services)
        fmt::print("Service {}: {} (startup {}{}{})\n", s.name, s.current, s.startup,
                   s.current_since.empty() ? "" : ", since ", s.current_since);
}

const char* sync_words(const reconcile_report& r) {
    return !compared(r)        ? "not compared"
           : r.decided.no_op() ? (r.decided.overridden.empty() ? "in sync" : "applied, overridden by another layer")
                               : "out of sync (run `redispebble diff`)";
}

// `status` with `sentinel: true`: both Pebbles, both containers (a Pebble that cannot be reached
// is reported as such by the unit's dry run: Waiting, exit 3).
int status_unit(const unit_context& u) {
    const std::string ssock = sentinel_socket_path(u.opts, u.desired.config);
    const pebble_look redis = look_at(u, u.socket), sentinel = look_at(u, ssock);
    unit_report r = run_unit(u, true);
    const bool redis_pending = status_now(r.redis);  // each container's own status, both asked
    const bool sentinel_pending = status_now(*r.sentinel);
    const bool pending = redis_pending || sentinel_pending;
    if (pending && r.status == unit_status::active) {
        r.status = unit_status::maintenance;
        r.message = std::string(msg_out_of_sync);
    }
    const reconcile_report& s = *r.sentinel;
    const int code = exit_for(r.status);
    auto synced = [](const reconcile_report& c) { return compared(c) && c.decided.no_op() && c.decided.overridden.empty(); };
    if (u.opts.format != output_format::text) {
        boost::json::object extra{{"pebble-version", sentinel.version ? boost::json::value(*sentinel.version) : nullptr},
                                  {"services", services_value(sentinel)},
                                  {"compared", compared(s)},
                                  {"in-sync", synced(s)}};
        if (!sentinel.version) extra["pebble-error"] = sentinel.error;
        boost::json::object doc = unit_document("status", u, r, std::move(extra));
        doc["pebble-version"] = redis.version ? boost::json::value(*redis.version) : nullptr;
        if (!redis.version) doc["pebble-error"] = redis.error;
        doc["services"] = services_value(redis);
        doc["compared"] = compared(s) && compared(r.redis);
        doc["in-sync"] = synced(s) && synced(r.redis);
        doc["redis-compared"] = compared(r.redis);
        doc["redis-in-sync"] = synced(r.redis);
        return emit_unit(std::move(doc), u, code);
    }
    print_master(r);
    fmt::print("\n## Container {} (Sentinel)\n", u.desired.config.sentinel_container_name);
    print_look("Pebble", sentinel);
    fmt::print("Layer and file: {}\n", sync_words(s));
    if (!s.redis_state.empty()) fmt::print("Sentinel: {}\n", s.redis_state);
    fmt::print("Status: {}{}{}\n", to_string(s.status), s.message.empty() ? "" : ": ", s.message);
    print_warnings(s);
    print_overridden(s);
    fmt::print("\n## Container {} (Redis)\n", u.desired.config.container_name);
    print_look("Pebble", redis);
    fmt::print("Layer and files: {}\n", sync_words(r.redis));
    if (!r.redis.redis_state.empty()) fmt::print("Redis: {}\n", r.redis.redis_state);
    fmt::print("Status: {}{}{}\n", to_string(r.redis.status), r.redis.message.empty() ? "" : ": ", r.redis.message);
    print_overridden(r.redis);
    fmt::print("\nUnit status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
    return code;
}

} // namespace

int apply_unit(const unit_context& u) {
    const unit_report r = run_unit(u, u.opts.dry_run);
    const int code = exit_for(r.status);
    if (u.opts.format != output_format::text) return emit_unit(unit_document("apply", u, r), u, code);
    fmt::print("# redispebble apply{}: unit {} via {} and {}\n", u.opts.dry_run ? " --dry-run" : "", u.desired.peer.hostname,
               u.socket, sentinel_socket_path(u.opts, u.desired.config));
    print_master(r);
    fmt::print("\n## Container {} (Sentinel)\n", u.desired.config.sentinel_container_name);
    if (u.opts.dry_run) {
        print_differences(*r.sentinel);
        print_decision(r.sentinel->decided);
    }
    print_report(*r.sentinel, "Sentinel");
    fmt::print("\n## Container {} (Redis)\n", u.desired.config.container_name);
    if (u.opts.dry_run) {
        print_differences(r.redis);
        print_decision(r.redis.decided);
    }
    print_report(r.redis);
    fmt::print("\nUnit status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
    return code;
}

int cmd_apply(const std::vector<std::string>& args) {
    unit_context u = load_unit(args, "apply");
    if (u.desired.config.sentinel) return apply_unit(u);
    if (u.opts.format != output_format::text) {
        reconcile_report r = run(u, u.opts.dry_run);
        return emit("apply", u, r, exit_for(r.status));
    }
    fmt::print("# redispebble apply{}: unit {} via {}\n", u.opts.dry_run ? " --dry-run" : "", u.desired.peer.hostname,
               u.socket);
    reconcile_report r = run(u, u.opts.dry_run);
    if (u.opts.dry_run) {
        fmt::print("Differences:{}\n",
                   r.decided.differences.empty() && r.decided.push.empty() && !r.decided.storage ? " none" : "");
        print_differences(r);
        print_decision(r.decided);
    }
    print_report(r);
    return exit_for(r.status);
}

int cmd_diff(const std::vector<std::string>& args) {
    unit_context u = load_unit(args, "diff");
    if (u.desired.config.sentinel) return diff_unit(u);
    reconcile_report r = run(u, true);
    // The exit code is about the comparison (0 in sync, 5 out of sync, 3/4 when it cannot compare);
    // the status printed is what Redis says when nothing differs, as apply's for the same unit.
    const bool synced = compared(r) && in_sync(r) && r.decided.overridden.empty();
    if (u.opts.format != output_format::text) {
        int code = !compared(r) ? exit_for(r.status) : synced ? exit_ok : exit_differs;
        return emit("diff", u, r, code, {{"compared", compared(r)}, {"in-sync", synced}});
    }
    if (!compared(r)) {
        fmt::print("Cannot compare: {}: {}\n", to_string(r.status), r.message);
        return exit_for(r.status);
    }
    print_overridden(r);
    if (r.decided.differences.empty() && r.decided.push.empty() && !r.decided.storage && !r.decided.overridden.empty()) {
        fmt::print("Our layer is applied and the files match; apply cannot change what another layer overrides\n");
        return exit_differs;
    }
    if (synced) {
        fmt::print("In sync: the plan, the files and the storage directory match the inputs\n");
        if (!r.redis_state.empty()) fmt::print("Redis: {}\n", r.redis_state);
        fmt::print("Status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
        return exit_ok;
    }
    fmt::print("Out of sync:\n");
    print_differences(r);
    return exit_differs;
}

int cmd_status(const std::vector<std::string>& args) {
    unit_context u = load_unit(args, "status");
    if (u.desired.config.sentinel) return status_unit(u);
    pebble::client c(client_for(u));
    pebble::error_code ec;
    pebble::diagnostics diag;
    auto info = c.system_info(ec, &diag);
    const bool text = u.opts.format == output_format::text;
    if (ec && !text) {
        reconcile_report r;
        r.status = unit_status::waiting;
        r.message = std::string(msg_waiting_for_pebble);
        r.retry_later = true;
        r.decided.status_after = r.status;
        r.decided.message = r.message;
        r.decided.retry_later = true;
        r.failed_step = "read Pebble's system info";
        return emit("status", u, r, exit_waiting,
                    {{"pebble-version", nullptr},
                     {"pebble-error", diag.message.empty() ? ec.message() : diag.message},
                     {"services", boost::json::array{}}, {"compared", false}, {"in-sync", false}});
    }
    if (ec) {
        fmt::print("Pebble: not reachable at {} ({})\n", u.socket, diag.message.empty() ? ec.message() : diag.message);
        fmt::print("Status: waiting: {}\n", msg_waiting_for_pebble);
        return exit_waiting;
    }
    if (text) fmt::print("Pebble: {} at {}\n", info.version, u.socket);
    auto services = c.list_services({}, ec, &diag);
    if (!text) {
        boost::json::array svcs;
        if (!ec)
            for (const auto& s : services)
                svcs.push_back(boost::json::object{{"name", s.name}, {"current", s.current}, {"startup", s.startup},
                                                   {"since", s.current_since}});
        reconcile_report r = run(u, true);
        status_now(r);
        return emit("status", u, r, exit_for(r.status),
                    {{"pebble-version", info.version}, {"services", std::move(svcs)}, {"compared", compared(r)},
                     {"in-sync", compared(r) && r.decided.no_op() && r.decided.overridden.empty()}});
    }
    if (!ec) {
        if (services.empty()) fmt::print("Services: none\n");
        for (const auto& s : services)
            fmt::print("Service {}: {} (startup {}{}{})\n", s.name, s.current, s.startup,
                       s.current_since.empty() ? "" : ", since ", s.current_since);
    }
    reconcile_report r = run(u, true);
    status_now(r);
    fmt::print("Layer and files: {}\n",
               !compared(r)        ? "not compared"
               : r.decided.no_op() ? (r.decided.overridden.empty() ? "in sync" : "applied, overridden by another layer")
                                   : "out of sync (run `redispebble diff`)");
    if (!r.redis_state.empty()) fmt::print("Redis: {}\n", r.redis_state);
    fmt::print("Status: {}{}{}\n", to_string(r.status), r.message.empty() ? "" : ": ", r.message);
    print_overridden(r);
    return exit_for(r.status);
}

} // namespace redispebble::cli
