// The check manager (Pebble's checkstate): running http, tcp and exec checks on the checker thread,
// thresholds, the perform-check and recover-check changes and their task logs, and what a plan
// change does to them (PlanChanged). Its state and dependencies: class check_manager in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

std::int64_t threshold_of(const redispebble::check& c) {
    // The combined plan's default: a threshold of 0 (or none) is 3.
    return c.threshold.value_or(0) == 0 ? 3 : *c.threshold;
}

std::chrono::nanoseconds period_of(const redispebble::check& c) {
    return std::chrono::nanoseconds(parse_go_duration(c.period.value_or("10s")).value_or(10000000000));
}

} // namespace

const char* check_manager::check_type(const redispebble::check& c) {
    return c.http ? "HTTP" : c.tcp ? "TCP" : "exec";
}

void check_manager::update_data(check_state& st, const redispebble::check& config, const std::string& change_id,
                                int successes, int failures) {
    st.threshold = threshold_of(config);
    st.status = change_id.empty() ? "inactive" : failures >= st.threshold ? "down" : "up";
    st.level = config.level.value_or("");
    st.startup = config.startup.value_or("").empty() ? "enabled" : *config.startup;
    st.successes = successes;
    st.failures = failures;
    st.change_id = change_id;
}

/// Pebble runs each check inside a change: "perform-check" while up, "recover-check" once down
/// (checkstate's performCheckChange and recoverCheckChange): one task, the check's details
/// {successes, failures} in it, the config cached for the change, notice data {"check-name"}.
void check_manager::begin_change_locked(const std::string& name, const redispebble::check& config, bool merged,
                                        const std::string& kind, int successes, int failures) {
    const std::string summary =
        fmt::format("{} {} check \"{}\"", kind == "perform-check" ? "Perform" : "Recover", check_type(config), name);
    auto ch = changes_.new_change_locked(kind, summary);
    ch->notice_data = {{"check-name", name}};
    task_t& t = changes_.add_task_locked(*ch, kind, summary, "");
    t.status = "Doing";
    ch->status = "Doing";
    changes_.notify_locked(*ch);
    check_state& st = checks_[name];
    st.change_id = ch->id;
    st.change_kind = kind;
    st.run_successes = successes;
    st.run_failures = failures;
    st.config = config;
    st.config_merged = merged;
    st.next_run = {};  // Pebble's ticker: the first run is one period after the change starts
}

/// Ends a check's running change. Its task is Done (the handler returned nil, or an aborted task
/// that cannot be undone: the task runner sets it Undo, then Done), or Error with `why` in its
/// log. The check is then not running: the caller says what comes next.
void check_manager::end_change_locked(check_state& st, change_end how, const std::string& why) {
    auto c = changes_.find_locked(st.change_id);
    st.change_id.clear();
    st.change_kind.clear();
    st.config.reset();
    if (!c || c->ready) return;
    change_t& ch = *c;
    if (how == change_end::aborted) {
        // Each status the change goes through is a change-update notice, as Pebble records them.
        for (const char* status : {"Abort", "Undo"}) {
            ch.status = status;
            for (auto& t : ch.tasks) t.status = status;
            changes_.notify_locked(ch);
        }
    }
    for (auto& t : ch.tasks) {
        t.status = how == change_end::error ? "Error" : "Done";
        t.ready_time = now_rfc3339();
        if (!why.empty()) t.log.push_back(log_prefix("ERROR") + why);
    }
    changes_.finish_change_locked(ch);
}

/// The check as it runs: an exec check with its service-context merged in (Pebble's
/// mergeServiceContext: the service's environment, user, group and working-dir, overridden by
/// the check's own).
redispebble::check check_manager::merged_check_locked(const layer& plan, const redispebble::check& c) {
    if (!c.exec || !c.exec->service_context || c.exec->service_context->empty()) return c;
    auto it = plan.services.find(*c.exec->service_context);
    if (it == plan.services.end()) return c;
    const redispebble::service& svc = it->second;
    redispebble::check out = c;
    exec_check& e = *out.exec;
    std::map<std::string, std::string> env = svc.environment;
    for (const auto& [k, v] : c.exec->environment) env[k] = v;
    e.environment = std::move(env);
    if (!e.user_id) e.user_id = svc.user_id;
    if (!e.user || e.user->empty()) e.user = svc.user;
    if (!e.group_id) e.group_id = svc.group_id;
    if (!e.group || e.group->empty()) e.group = svc.group;
    if (!e.working_dir || e.working_dir->empty()) e.working_dir = svc.working_dir;
    return out;
}

/// reflect.DeepEqual of two plan.Check values of combined plans: Go's zero string is an unset
/// one, a period or timeout compares its value (the default filled in, a timeout above the period
/// capped to it) and whether it was set, a threshold of 0 is the default 3. An exec check's
/// environment map is nil unless it has entries or was made by mergeServiceContext (the one
/// difference std::map cannot hold: a layer's `environment: {}`, a non-nil empty map, reads here
/// as an absent one).
bool check_manager::same_config(const redispebble::check& a, bool a_merged, const redispebble::check& b, bool b_merged) {
    const auto str = [](const std::optional<std::string>& v) { return v.value_or(""); };
    const auto num = [](const std::optional<std::int64_t>& v) { return v.value_or(0); };
    const auto durations = [](const redispebble::check& c) {
        const std::int64_t period = parse_go_duration(c.period.value_or("10s")).value_or(0);
        std::int64_t timeout = parse_go_duration(c.timeout.value_or("3s")).value_or(0);
        if (timeout > period) timeout = period;
        return std::make_tuple(c.period.has_value(), period, c.timeout.has_value(), timeout);
    };
    if (a.override != b.override || str(a.level) != str(b.level) || str(a.startup) != str(b.startup) ||
        durations(a) != durations(b) || threshold_of(a) != threshold_of(b))
        return false;
    if (a.http.has_value() != b.http.has_value() || a.tcp.has_value() != b.tcp.has_value() ||
        a.exec.has_value() != b.exec.has_value())
        return false;
    if (a.http && (str(a.http->url) != str(b.http->url) || a.http->headers != b.http->headers)) return false;
    if (a.tcp && (num(a.tcp->port) != num(b.tcp->port) || str(a.tcp->host) != str(b.tcp->host))) return false;
    if (a.exec) {
        const exec_check& x = *a.exec;
        const exec_check& y = *b.exec;
        const auto nil_env = [](const exec_check& e, bool merged) {
            return e.environment.empty() && !(merged && !e.service_context.value_or("").empty());
        };
        if (str(x.command) != str(y.command) || str(x.service_context) != str(y.service_context) ||
            x.environment != y.environment || nil_env(x, a_merged) != nil_env(y, b_merged) ||
            x.user_id != y.user_id || str(x.user) != str(y.user) || x.group_id != y.group_id ||
            str(x.group) != str(y.group) || str(x.working_dir) != str(y.working_dir))
            return false;
    }
    return true;
}

void check_manager::task_log_locked(const check_state& st, const std::string& level, const std::string& text) {
    auto c = changes_.find_locked(st.change_id);
    if (!c || c->ready || c->tasks.empty()) return;
    c->tasks.front().log.push_back(log_prefix(level.c_str()) + text);
}

/// One result of a running check, as Pebble's doPerformCheck / doRecoverCheck count it with the
/// change's config and its task's details. perform-check: a failure below the threshold is
/// logged in the task; at the threshold the change ends in Error with the error, the services'
/// on-check-failure actions run and a recover-check change begins with the counters; a success
/// after failures logs "succeeded after N failures". recover-check: every failure is logged; a
/// success ends it (Done) with successes 1 and failures 0, and a new perform-check begins
/// (its own counters from 0, so the next success still says 1).
void check_manager::record_result_locked(const std::string& name, const std::optional<check_error>& err) {
    check_state& st = checks_[name];
    if (st.change_id.empty() || !st.config) return;
    const redispebble::check config = *st.config;
    const bool merged = st.config_merged;
    if (st.change_kind == "recover-check") {
        if (err) {
            ++st.run_failures;
            update_data(st, config, st.change_id, st.run_successes, st.run_failures);
            task_log_locked(st, "ERROR", err->full());
            return;
        }
        update_data(st, config, st.change_id, 1, 0);
        end_change_locked(st, change_end::done);
        begin_change_locked(name, config, merged, "perform-check", 0, 0);
        update_data(st, config, st.change_id, 1, 0);
        return;
    }
    if (!err) {
        ++st.run_successes;
        if (st.run_failures > 0)
            task_log_locked(st, "INFO", fmt::format("succeeded after {} {}", st.run_failures,
                                                    st.run_failures == 1 ? "failure" : "failures"));
        st.run_failures = 0;
        update_data(st, config, st.change_id, st.run_successes, st.run_failures);
        return;
    }
    ++st.run_failures;
    update_data(st, config, st.change_id, st.run_successes, st.run_failures);
    if (st.run_failures < threshold_of(config)) {
        task_log_locked(st, "ERROR", err->full());
        return;
    }
    const int successes = st.run_successes, failures = st.run_failures;
    svc_.check_failed_locked(name);
    end_change_locked(st, change_end::error, err->message);
    begin_change_locked(name, config, merged, "recover-check", successes, failures);
    update_data(st, config, st.change_id, successes, failures);
}

void check_manager::plan_changed_locked(const layer& plan) {
    // The checker sleeps while no layer has a check: wake it only when there is one now (a plan
    // without checks woke it for nothing, a thread switch per layer added).
    if (!plan.checks.empty()) wake_.notify_all();
    std::set<std::string> new_or_modified, existing;
    std::vector<std::string> running;
    for (const auto& [name, st] : checks_)
        if (!st.change_id.empty()) running.push_back(name);
    for (const auto& name : running) {
        check_state& st = checks_[name];
        existing.insert(name);
        if (auto it = plan.checks.find(name); it != plan.checks.end()) {
            const redispebble::check& now = it->second;
            if (st.config && same_config(*st.config, st.config_merged, merged_check_locked(plan, now), true))
                continue;  // unchanged: it keeps its change
            const std::string old_startup = st.config ? st.config->startup.value_or("") : "";
            // Turned from enabled (or unset) to disabled: it runs on, with its old config, until stopped.
            if (now.startup.value_or("") == "disabled" && old_startup != "disabled") continue;
            new_or_modified.insert(name);
        }
        end_change_locked(st, change_end::aborted);
        checks_.erase(name);
    }
    for (const auto& [name, c] : plan.checks) {
        if (existing.count(name)) continue;
        if (c.startup.value_or("") != "disabled") new_or_modified.insert(name);
        else update_data(checks_[name], c, "", 0, 0);  // inactive, its counters reset
    }
    for (const auto& [name, c] : plan.checks) {
        if (!new_or_modified.count(name)) continue;
        begin_change_locked(name, merged_check_locked(plan, c), true, "perform-check", 0, 0);
        update_data(checks_[name], c, checks_[name].change_id, 0, 0);
    }
}

// As Pebble's StartChecks and StopChecks: a check runs while it has a perform-check change, so a
// check whose startup is disabled and that was never started is started by "start" and left
// alone (not changed) by "stop". A check the manager does not know is skipped (Pebble logs "check
// N is in the plan but not known to the manager").
bool check_manager::start_check_locked(const std::string& name, const redispebble::check& c) {
    auto it = checks_.find(name);
    if (it == checks_.end() || !it->second.change_id.empty()) return false;
    begin_change_locked(name, c, false, "perform-check", 0, 0);
    update_data(it->second, c, it->second.change_id, 0, 0);
    return true;
}

void check_manager::replan_locked(const layer& plan) {
    for (const auto& [name, c] : plan.checks)
        if (c.startup.value_or("") != "disabled") start_check_locked(name, c);
}

bool check_manager::stop_check_locked(const std::string& name, const redispebble::check& c) {
    auto it = checks_.find(name);
    if (it == checks_.end() || it->second.change_id.empty()) return false;
    check_state& st = it->second;
    end_change_locked(st, change_end::aborted);
    // Counters kept, so the state it was stopped in can be read; level, startup and threshold
    // from the plan's check.
    update_data(st, c, "", st.successes, st.failures);
    return true;
}

std::pair<redispebble::check, std::string> check_manager::refresh_config_locked(const std::string& name,
                                                                              const redispebble::check& c) const {
    const check_state* st = find_locked(name);
    if (st && !st->change_id.empty() && st->config) return {*st->config, st->change_id};
    return {c, ""};
}

void check_manager::refreshed_locked(const std::string& name, const std::string& change_id,
                                     const std::optional<check_error>& err) {
    auto it = checks_.find(name);
    if (change_id.empty() || it == checks_.end() || it->second.change_id != change_id) return;
    const auto period = period_of(*it->second.config);
    record_result_locked(name, err);
    // The period starts again (Pebble resets the ticker), in whichever change now runs the check.
    it->second.next_run = std::chrono::steady_clock::now() + period;
}

void check_manager::daemon_restarted_locked() {
    for (auto& [name, st] : checks_)
        if (!st.change_id.empty()) end_change_locked(st, change_end::done);
    checks_.clear();
    wake_.notify_all();
}

const check_state* check_manager::find_locked(const std::string& name) const {
    auto it = checks_.find(name);
    return it == checks_.end() ? nullptr : &it->second;
}

void check_manager::start() {
    thread_ = std::thread([this] { run(); });
}

void check_manager::join() {
    {
        // Taken and released after `stopping` is set: the checker is either before its wait's
        // predicate (and sees it) or waiting (and is woken).
        std::lock_guard<std::mutex> lock(core_.m);
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

// Runs due checks (http, tcp, exec) on the checker thread, each with its change's config.
void check_manager::run() {
    while (!stopping_) {
        struct due_check {
            std::string name, change_id;
            redispebble::check config;
        };
        std::vector<due_check> due;
        {
            std::unique_lock<std::mutex> lock(core_.m);
            // Every 100 ms, or at once when stopping. (It slept 5 x 20 ms and combined the plan each
            // time: 1000 idle servers in one process took 1.4 cores of 2, docs/performance.md.)
            // Without a running check there is nothing to run: it sleeps until a plan change or a
            // start makes one (plan_changed_locked wakes it when the plan has checks) or the daemon
            // stops.
            const auto has_checks = [this] {
                return std::any_of(plan_.layers.begin(), plan_.layers.end(),
                                   [](const stacked_layer& l) { return !l.content.checks.empty(); });
            };
            wake_.wait(lock, [&] { return stopping_.load() || has_checks(); });
            if (stopping_) break;
            wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_.load(); });
            if (stopping_) continue;
            const auto now = std::chrono::steady_clock::now();
            for (auto& [name, st] : checks_) {
                // A check runs while it has a change (Pebble's checkers run inside perform-check and
                // recover-check), with the config the change was made with, whatever its startup.
                if (st.change_id.empty() || !st.config || st.next_run > now) continue;
                const auto period = period_of(*st.config);
                // Pebble's ticker: the first run is one period after the change starts.
                if (st.next_run == std::chrono::steady_clock::time_point{}) {
                    st.next_run = now + period;
                    continue;
                }
                st.next_run = now + period;
                due.push_back({name, st.change_id, *st.config});
            }
        }
        for (const auto& d : due) {
            auto err = run_check(d.config, stopping_);
            std::lock_guard<std::mutex> lock(core_.m);
            // Dropped when the change no longer runs the check (stopped, aborted by a plan change).
            auto it = checks_.find(d.name);
            if (stopping_ || it == checks_.end() || it->second.change_id != d.change_id) continue;
            record_result_locked(d.name, err);
        }
    }
}

/// The last `n` lines of `text` (Pebble's servicelog.LastLines for check errors).
std::string check_manager::last_lines(const std::string& text, std::size_t n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::string out;
    for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : "\n") + lines[i];
    return out;
}

/// Runs one check the way Pebble's checkers do (internals/overlord/checkstate/checkers.go);
/// nullopt on success. http: GET the URL (http:// only here), 2xx passes, otherwise
/// "non-2xx status code N" with the first lines of the body. tcp: connect to host (default
/// localhost) and port. exec: the command split like Pebble (shlex), with the check's
/// environment, user, group and working-dir; exit 0 passes, otherwise "exit status N" with
/// the last 5 lines of output. Every kind ends with "check timed out after <timeout>".
std::optional<check_manager::check_error> check_manager::run_check(const redispebble::check& c, const std::atomic<bool>& stopping) {
    const auto timeout_ns = parse_go_duration(c.timeout.value_or("3s")).value_or(3000000000);
    const auto timeout = std::chrono::milliseconds(timeout_ns / 1000000);
    const check_error timed_out{fmt::format("check timed out after {}", format_go_duration(timeout_ns)), ""};
    if (c.tcp) {
        const std::string host = c.tcp->host.value_or("localhost");
        const auto port = static_cast<std::uint16_t>(c.tcp->port.value_or(0));
        asio::io_context ctx;
        beast::tcp_stream stream(ctx);
        error_code ec;
        asio::ip::tcp::resolver resolver(ctx);
        auto results = resolver.resolve(host, std::to_string(port), ec);
        if (ec) return check_error{fmt::format("dial tcp: lookup {}: {}", host, ec.message()), ""};
        stream.expires_after(timeout);
        stream.async_connect(results, [&](error_code e, const auto&) { ec = e; });
        ctx.run();
        if (ec == beast::error::timeout) return timed_out;
        if (ec) return check_error{fmt::format("dial tcp {}:{}: connect: {}", host, port, ec.message()), ""};
        return std::nullopt;
    }
    if (c.http) {
        const std::string url = c.http->url.value_or("");
        const std::string scheme = "http://";
        if (url.rfind(scheme, 0) != 0)
            return check_error{fmt::format("Get \"{}\": unsupported protocol scheme (the test server runs http:// only)", url), ""};
        std::string rest = url.substr(scheme.size());
        const auto slash = rest.find('/');
        std::string hostport = rest.substr(0, slash);
        std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
        std::string host = hostport, port = "80";
        if (auto colon = hostport.rfind(':'); colon != std::string::npos && hostport.find(']', colon) == std::string::npos) {
            host = hostport.substr(0, colon);
            port = hostport.substr(colon + 1);
        }
        if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
        asio::io_context ctx;
        beast::tcp_stream stream(ctx);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, hostport);
        req.set(http::field::user_agent, "Go-http-client/1.1");
        for (const auto& [k, v] : c.http->headers) req.set(k, v);
        error_code ec;
        asio::ip::tcp::resolver resolver(ctx);
        auto results = resolver.resolve(host, port, ec);
        if (ec) return check_error{fmt::format("Get \"{}\": dial tcp: lookup {}: {}", url, host, ec.message()), ""};
        stream.expires_after(timeout);
        stream.async_connect(results, [&](error_code e, const auto&) {
            if (e) {
                ec = e;
                return;
            }
            http::async_write(stream, req, [&](error_code e2, std::size_t) {
                if (e2) {
                    ec = e2;
                    return;
                }
                http::async_read(stream, buf, parser, [&](error_code e3, std::size_t) { ec = e3; });
            });
        });
        ctx.run();
        if (ec == beast::error::timeout) return timed_out;
        if (ec) return check_error{fmt::format("Get \"{}\": {}", url, ec.message()), ""};
        const unsigned status = parser.get().result_int();
        if (status < 200 || status > 299)
            return check_error{fmt::format("non-2xx status code {}", status), last_lines(parser.get().body().substr(0, 1024), 5)};
        return std::nullopt;
    }
    if (c.exec && c.exec->command) {
        try {
            process_options po;
            po.argv = shlex_split(*c.exec->command);
            if (po.argv.empty()) return check_error{"cannot parse command: empty command", ""};
            po.environment = c.exec->environment;
            po.working_dir = c.exec->working_dir.value_or("");
            if (c.exec->user && !c.exec->user->empty()) po.user = c.exec->user;
            if (c.exec->group && !c.exec->group->empty()) po.group = c.exec->group;
            if (po.user && !po.group) {
                // Pebble's NormalizeUidGid: a user without a group runs with the user's primary group.
                // getpwnam_r/getgrgid_r: the check runners of several servers share this process.
                if (const auto u = accounts::user(*po.user))
                    if (auto g = accounts::group_name(u->second)) po.group = std::move(*g);
            }
            if (::geteuid() != 0) {
                po.user.reset();
                po.group.reset();
            }
            child_process p(po);
            std::optional<int> code;
            for (auto waited = std::chrono::milliseconds(0); !code && waited < timeout && !stopping;
                 waited += std::chrono::milliseconds(20))
                code = p.wait_for(std::min(std::chrono::milliseconds(20), timeout - waited));
            if (!code) {
                p.terminate(std::chrono::milliseconds(1000));
                return timed_out;
            }
            if (*code == 0) return std::nullopt;
            if (*code > 128) return check_error{fmt::format("signal: {}", ::strsignal(*code - 128)), last_lines(p.output(), 5)};
            return check_error{fmt::format("exit status {}", *code), last_lines(p.output(), 5)};
        } catch (const std::exception& e) {
            return check_error{e.what(), ""};
        }
    }
    return std::nullopt;
}

} // namespace redispebble::testing
