// The check manager (Pebble's checkstate): running http, tcp and exec checks on the checker thread,
// thresholds, the perform-check and recover-check changes and their task logs. Its state and
// dependencies: class check_manager in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

const char* check_manager::check_type(const redispebble::check& c) {
    return c.http ? "HTTP" : c.tcp ? "TCP" : "exec";
}

/// Pebble runs each check inside a change: "perform-check" while up, "recover-check" once down.
void check_manager::begin_change_locked(const std::string& name, const redispebble::check& c, const std::string& kind) {
    const std::string summary =
        fmt::format("{} {} check \"{}\"", kind == "perform-check" ? "Perform" : "Recover", check_type(c), name);
    auto ch = changes_.new_change_locked(kind, summary);
    task_t& t = changes_.add_task_locked(*ch, kind, summary, "");
    t.status = "Doing";
    ch->status = "Doing";
    changes_.notify_locked(*ch);
    checks_[name].change_id = ch->id;
}

/// Ends a check's change: "Error" with `why` in its log, "Done", or "Undone" when stopped.
void check_manager::end_change_locked(const std::string& name, const std::string& status, const std::string& why) {
    check_state& st = checks_[name];
    auto c = changes_.find_locked(st.change_id);
    st.change_id.clear();
    if (!c || c->ready) return;
    change_t& ch = *c;
    for (auto& t : ch.tasks) {
        t.status = status;
        t.ready_time = now_rfc3339();
        if (!why.empty()) t.log.push_back(log_prefix("ERROR") + why);
    }
    if (status == "Undone") changes_.undo_change_locked(ch);
    else changes_.finish_change_locked(ch);
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

void check_manager::task_log_locked(const std::string& name, const std::string& level, const std::string& text) {
    auto c = changes_.find_locked(checks_[name].change_id);
    if (!c || c->ready || c->tasks.empty()) return;
    c->tasks.front().log.push_back(log_prefix(level.c_str()) + text);
}

/// One result of a running check, as Pebble's doPerformCheck / doRecoverCheck count it: a
/// failure below the threshold is logged in the task; at the threshold the perform-check
/// change ends in Error with the error, the services' on-check-failure actions run and a
/// recover-check change begins; a success in recover-check ends it (Done) and a new
/// perform-check begins.
void check_manager::record_result_locked(const std::string& name, const redispebble::check& c,
                                         const std::optional<check_error>& err) {
    check_state& st = checks_[name];
    const std::int64_t threshold = c.threshold.value_or(3);
    if (!err) {
        if (st.status == "down") {
            st.successes = 1;
            st.failures = 0;
            end_change_locked(name, "Done");
            begin_change_locked(name, c, "perform-check");
        } else {
            ++st.successes;
            if (st.failures > 0)
                task_log_locked(name, "INFO", fmt::format("succeeded after {} {}", st.failures,
                                                                st.failures == 1 ? "failure" : "failures"));
            st.failures = 0;
        }
        st.status = "up";
        return;
    }
    ++st.failures;
    if (st.status == "down") {  // recover-check: every failure is logged
        task_log_locked(name, "ERROR", err->full());
        return;
    }
    if (st.failures < threshold) {
        task_log_locked(name, "ERROR", err->full());
        return;
    }
    st.status = "down";
    end_change_locked(name, "Error", err->message);
    svc_.check_failed_locked(name);
    begin_change_locked(name, c, "recover-check");
}

void check_manager::start_locked(const std::string& name, const redispebble::check& c) {
    check_state& st = checks_[name];
    st.stopped = false;
    st.successes = st.failures = 0;
    st.status = "up";
    st.next_run = {};
    begin_change_locked(name, c, "perform-check");
}

void check_manager::plan_changed_locked(const layer& plan) {
    // The checker sleeps while no layer has a check: wake it only when there is one now (a plan
    // without checks woke it for nothing, a thread switch per layer added).
    if (!plan.checks.empty()) wake_.notify_all();
    for (const auto& [name, c] : plan.checks) {
        const check_state& st = checks_[name];
        if (!st.change_id.empty() || c.startup.value_or("enabled") == "disabled") continue;
        start_locked(name, c);
    }
}

// As Pebble's StartChecks and StopChecks: a check runs while it has a perform-check change, so a
// check whose startup is disabled and that was never started is started by "start" and left
// alone (not changed) by "stop".
bool check_manager::start_check_locked(const std::string& name, const redispebble::check& c) {
    if (!checks_[name].change_id.empty()) return false;
    start_locked(name, c);
    return true;
}

bool check_manager::stop_check_locked(const std::string& name) {
    check_state& st = checks_[name];
    if (st.change_id.empty()) return false;
    st.stopped = true;
    end_change_locked(name, "Undone");  // counters are kept while stopped
    return true;
}

void check_manager::refreshed_locked(const std::string& name, const redispebble::check& c,
                                     const std::optional<check_error>& err) {
    check_state& st = checks_[name];
    if (st.change_id.empty()) return;  // stopped, or not started
    record_result_locked(name, c, err);
    st.next_run = std::chrono::steady_clock::now() +
                  std::chrono::nanoseconds(parse_go_duration(c.period.value_or("10s")).value_or(10000000000));
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

// Runs due checks (http, tcp, exec) on the checker thread.
void check_manager::run() {
    while (!stopping_) {
        std::vector<std::pair<std::string, redispebble::check>> due;
        {
            std::unique_lock<std::mutex> lock(core_.m);
            // Every 100 ms, or at once when stopping. (It slept 5 x 20 ms and combined the plan each
            // time: 1000 idle servers in one process took 1.4 cores of 2, docs/performance.md.)
            // Without a check in any layer there is nothing to run: it sleeps until a layer is added
            // (plan_changed_locked, clear_locked) or the daemon stops.
            const auto has_checks = [this] {
                return std::any_of(plan_.layers.begin(), plan_.layers.end(),
                                   [](const stacked_layer& l) { return !l.content.checks.empty(); });
            };
            wake_.wait(lock, [&] { return stopping_.load() || has_checks(); });
            if (stopping_) break;
            wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_.load(); });
            if (stopping_ || !has_checks()) continue;
            const auto now = std::chrono::steady_clock::now();
            const layer plan = plan_.plan_locked();
            for (const auto& [name, c] : plan.checks) {
                check_state& st = checks_[name];
                // A check runs while it has a change (Pebble's checkers run inside perform-check and
                // recover-check): a startup-disabled check started through POST /v1/checks runs too.
                // (A stopped check has none: stop ends it.)
                if (st.change_id.empty() || st.next_run > now) continue;
                const auto period = std::chrono::nanoseconds(parse_go_duration(c.period.value_or("10s")).value_or(10000000000));
                // Pebble's ticker: the first run is one period after the check starts.
                if (st.next_run == std::chrono::steady_clock::time_point{}) {
                    st.next_run = now + period;
                    continue;
                }
                st.next_run = now + period;
                due.emplace_back(name, merged_check_locked(plan, c));
            }
        }
        for (const auto& [name, c] : due) {
            auto err = run_check(c, stopping_);
            std::lock_guard<std::mutex> lock(core_.m);
            check_state& st = checks_[name];
            if (st.stopped || stopping_) continue;
            record_result_locked(name, c, err);
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
