// The service manager (Pebble's servstate): start within the start window, stop within the
// kill-delay, backoff and restart (the monitor), output capture, the tasks of a services change
// and the on-check-failure actions. Its state and dependencies: class service_manager in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

std::string detail::log_prefix(const char* level) { return now_rfc3339(false) + " " + level + " "; }

std::optional<redispebble::service> service_manager::config_locked(const std::string& name) const {
    layer p = plan_.plan_locked();
    auto it = p.services.find(name);
    if (it == p.services.end()) return std::nullopt;
    return it->second;
}

bool service_manager::spawn_locked(const std::string& name, const redispebble::service& cfg, std::vector<std::string>& log) {
    service_t& s = services[name];
    s.started_with = cfg;
    s.ever_started = true;
    s.output_seen = 0;
    ++rec_.starts[name];
    if (!core_.opts.run_processes) {
        s.process.reset();
        return true;
    }
    try {
        parsed_command cmd = parse_service_command(cfg.command.value_or(""));
        process_options po;
        po.argv = cmd.base;
        po.argv.insert(po.argv.end(), cmd.extra.begin(), cmd.extra.end());
        po.environment = cfg.environment;
        po.working_dir = cfg.working_dir.value_or("");
        if (cfg.user) po.user = cfg.user;
        if (cfg.group) po.group = cfg.group;
        if (po.argv.empty()) throw std::runtime_error("empty command");
        s.process = std::make_shared<child_process>(po);
        return true;
    } catch (const std::exception& e) {
        log.push_back(log_prefix("ERROR") + fmt::format("cannot start service: {}", e.what()));
        s.current = "error";
        s.since = now_rfc3339();
        return false;
    }
}

awaitable<bool> service_manager::start(const std::string& name, std::vector<std::string>& log) {
    {
        std::lock_guard<std::mutex> lock(core_.m);
        service_t& s = services[name];
        if (s.current == "active" || s.current == "starting") {
            log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" already started.", name));
            co_return true;
        }
        auto cfg = config_locked(name);
        if (!cfg) {
            log.push_back(log_prefix("ERROR") + fmt::format("service \"{}\" does not exist", name));
            co_return false;
        }
        if (!spawn_locked(name, *cfg, log)) co_return false;
        s.current = "starting";
    }
    asio::steady_timer timer(core_.io, core_.opts.start_window);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    std::lock_guard<std::mutex> lock(core_.m);
    service_t& s = services[name];
    std::optional<int> exited;
    if (s.process && !s.process->running()) exited = s.process->wait_for(std::chrono::milliseconds(0));
    if (!core_.opts.run_processes && core_.opts.failing_services.count(name)) exited = 1;
    if (!exited) {
        s.current = "active";
        s.since = now_rfc3339();
        s.backoff_attempts = 0;
        co_return true;
    }
    std::string output = s.process ? s.process->output() : std::string();
    capture_output_locked(name, s);
    std::string recent;
    std::istringstream in(output);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    for (std::size_t i = lines.size() > 10 ? lines.size() - 10 : 0; i < lines.size(); ++i)
        recent += (recent.empty() ? "" : "\n") + std::string("    ") + lines[i];
    if (!recent.empty()) log.push_back(log_prefix("INFO") + "Most recent service output:\n" + recent);
    log.push_back(log_prefix("ERROR") +
                  fmt::format("service start attempt: exited quickly with code {}, will restart", *exited));
    s.current = "backoff";
    s.since = now_rfc3339();
    schedule_backoff_locked(name);
    co_return false;
}

void service_manager::schedule_backoff_locked(const std::string& name) {
    service_t& s = services[name];
    const int attempt = s.backoff_attempts++;
    auto delay = std::chrono::milliseconds(std::min<long long>(500LL << std::min(attempt, 6), 30000));
    auto timer = std::make_shared<asio::steady_timer>(core_.io, delay);
    timer->async_wait([this, timer, name](error_code ec) {
        if (ec || stopping_) return;
        std::lock_guard<std::mutex> lock(core_.m);
        service_t& sv = services[name];
        if (sv.current != "backoff") return;  // stopped meanwhile
        auto cfg = config_locked(name);
        std::vector<std::string> ignored;
        if (!cfg || !spawn_locked(name, *cfg, ignored)) return;
        sv.current = "starting";
        auto check = std::make_shared<asio::steady_timer>(core_.io, core_.opts.start_window);
        check->async_wait([this, check, name](error_code e2) {
            if (e2 || stopping_) return;
            std::lock_guard<std::mutex> l2(core_.m);
            service_t& sv2 = services[name];
            if (sv2.current != "starting") return;
            const bool failed = (sv2.process && !sv2.process->running()) ||
                                (!core_.opts.run_processes && core_.opts.failing_services.count(name));
            sv2.current = failed ? "backoff" : "active";
            sv2.since = now_rfc3339();
            if (failed) schedule_backoff_locked(name);
            else sv2.backoff_attempts = 0;
        });
    });
}

awaitable<bool> service_manager::stop(const std::string& name, std::vector<std::string>& log) {
    std::shared_ptr<child_process> proc;
    std::chrono::milliseconds kill_delay{5000};
    {
        std::lock_guard<std::mutex> lock(core_.m);
        service_t& s = services[name];
        if (!s.ever_started) {
            log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" has never been started.", name));
            co_return true;
        }
        if (s.current == "inactive") {
            log.push_back(log_prefix("INFO") + fmt::format("Service \"{}\" already stopped.", name));
            co_return true;
        }
        if (auto cfg = config_locked(name); cfg && cfg->kill_delay)
            kill_delay = std::chrono::milliseconds(parse_go_duration(*cfg->kill_delay).value_or(5000000000) / 1000000);
        proc = s.process;
        s.stopping = true;
        ++rec_.stops[name];
    }
    if (proc) {
        // terminate() blocks up to kill_delay: run it on a helper thread.
        asio::steady_timer done(core_.io, std::chrono::steady_clock::time_point::max());
        core_.run_helper([proc, kill_delay, &done, this] {
            proc->terminate(kill_delay);
            asio::post(core_.io, [&done] { done.cancel(); });
        });
        error_code ec;
        co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    std::lock_guard<std::mutex> lock(core_.m);
    service_t& s = services[name];
    capture_output_locked(name, s);
    s.process.reset();
    s.stopping = false;
    s.current = "inactive";
    s.since = now_rfc3339();
    co_return true;
}

void service_manager::capture_output_locked(const std::string& name, service_t& s) {
    if (!s.process) return;
    const std::string out = s.process->output();
    if (out.size() <= s.output_seen) return;
    std::string fresh = out.substr(s.output_seen);
    const auto cut = fresh.rfind('\n');
    if (cut == std::string::npos) return;
    fresh.resize(cut + 1);
    s.output_seen += fresh.size();
    logs_.append_output_locked(name, fresh);
}

void service_manager::capture_output_locked() {
    for (auto& [name, s] : services) capture_output_locked(name, s);
}

void service_manager::start_monitor() {
    monitor_timer_.emplace(core_.io);
    // The monitor watches processes; simulated services have none (spawn_locked), and waking every
    // 100 ms for nothing cost 1000 idle servers in one process most of a 2-core machine
    // (docs/performance.md).
    if (core_.opts.run_processes) monitor();
}

void service_manager::cancel_monitor() {
    if (monitor_timer_) monitor_timer_->cancel();
}

void service_manager::notice_exits_locked() {
    for (auto& [name, s] : services) {
        if (s.current == "active" && !s.stopping && s.process && !s.process->running()) {
            capture_output_locked(name, s);  // its last words, before the restart's
            s.current = "backoff";
            s.since = now_rfc3339();
            schedule_backoff_locked(name);
        }
    }
}

void service_manager::monitor() {
    monitor_timer_->expires_after(std::chrono::milliseconds(100));
    monitor_timer_->async_wait([this](error_code ec) {
        if (ec || stopping_) return;
        {
            std::lock_guard<std::mutex> lock(core_.m);
            capture_output_locked();
            notice_exits_locked();
        }
        monitor();
    });
}

std::optional<std::pair<std::vector<service_manager::task_plan>, std::string>> service_manager::plan_change_locked(
    const std::string& action, const std::vector<std::string>& names, reply& err) {
    layer p = plan_.plan_locked();
    for (const auto& n : names)
        if (!p.services.count(n)) {
            err = error(400, fmt::format("cannot {} services: service \"{}\" does not exist", action, n));
            return std::nullopt;
        }
    std::vector<task_plan> tasks;
    if (action == "start" || action == "autostart")
        for (const auto& n : names) tasks.push_back({"start", n});
    else if (action == "stop")
        for (const auto& n : names) tasks.push_back({"stop", n});
    else if (action == "restart") {
        for (const auto& n : names) tasks.push_back({"stop", n});
        for (const auto& n : names) tasks.push_back({"start", n});
        for (const auto& n : names) ++rec_.restarts[n];
    }
    std::vector<std::string> summary_names = names;
    if (action == "replan") {
        std::set<std::string> touched;
        for (const auto& [n, cfg] : p.services) {
            auto it = services.find(n);
            const bool running = it != services.end() && (it->second.current == "active" || it->second.current == "backoff" ||
                                                          it->second.current == "starting");
            if (running && it->second.started_with && !(*it->second.started_with == cfg)) {
                tasks.push_back({"stop", n});
                touched.insert(n);
                ++rec_.restarts[n];
            }
        }
        for (const auto& [n, cfg] : p.services)
            if (cfg.startup == "enabled" || touched.count(n)) {
                tasks.push_back({"start", n});
                touched.insert(n);
            }
        std::stable_sort(tasks.begin(), tasks.end(), [](auto& a, auto& b) { return a.kind == "stop" && b.kind == "start"; });
        summary_names.assign(touched.begin(), touched.end());
    }
    const std::string title = std::string(1, static_cast<char>(std::toupper(action[0]))) + action.substr(1);
    std::string summary;
    if (tasks.empty()) summary = title + " - no services";
    else if (summary_names.size() == 1) summary = fmt::format("{} service \"{}\"", title, summary_names[0]);
    else summary = fmt::format("{} service \"{}\" and {} more", title, summary_names[0], summary_names.size() - 1);
    return std::pair{std::move(tasks), std::move(summary)};
}

/// What Pebble's ServiceManager.CheckFailed does: every service whose on-check-failure names
/// the check gets its action (servstate's checkFailed). restart: a running service's process
/// group gets SIGTERM (SIGKILL after its kill-delay) and, once it has exited, the service is
/// started again after its backoff; a service in backoff keeps waiting for it. shutdown,
/// failure-shutdown, success-shutdown: Pebble would exit; here every service is stopped and
/// record().shutdown says which. ignore: nothing.
void service_manager::check_failed_locked(const std::string& check_name) {
    const layer p = plan_.plan_locked();
    for (const auto& [svc_name, cfg] : p.services) {
        auto a = cfg.on_check_failure.find(check_name);
        if (a == cfg.on_check_failure.end()) continue;
        const std::string& action = a->second;
        auto sit = services.find(svc_name);
        if (sit == services.end()) continue;
        service_t& s = sit->second;
        const bool running = s.current == "active" || s.current == "starting";
        if (!running && s.current != "backoff") continue;  // stopped, error: ignored, as Pebble does
        if (action == "ignore") continue;
        if (action == "shutdown" || action == "failure-shutdown" || action == "success-shutdown") {
            rec_.shutdown = action == "success-shutdown" ? "success" : "failure";
            std::vector<std::shared_ptr<child_process>> procs;
            for (auto& [n, sv] : services) {
                if (sv.process) procs.push_back(sv.process);
                sv.process.reset();
                if (sv.current != "inactive") sv.since = now_rfc3339();
                sv.current = "inactive";
            }
            core_.run_helper([procs] {
                for (auto& proc : procs) proc->terminate(std::chrono::seconds(5));
            });
            return;
        }
        if (action != "restart" || !running || s.stopping || !s.process) continue;
        ++rec_.check_restarts[svc_name];
        std::chrono::milliseconds kill_delay{5000};
        if (cfg.kill_delay) kill_delay = std::chrono::milliseconds(parse_go_duration(*cfg.kill_delay).value_or(5000000000) / 1000000);
        // The monitor sees the process gone and restarts the service after its backoff.
        core_.run_helper([proc = s.process, kill_delay] { proc->terminate(kill_delay); });
    }
}

void service_manager::stop_all() {
    std::vector<std::shared_ptr<child_process>> procs;
    {
        std::lock_guard<std::mutex> lock(core_.m);
        for (auto& [name, s] : services) {
            if (s.process) procs.push_back(s.process);
            s.process.reset();
            if (s.current != "inactive") s.since = now_rfc3339();
            s.current = "inactive";
        }
    }
    for (auto& p : procs) p->terminate(std::chrono::seconds(5));
}

} // namespace redispebble::testing
