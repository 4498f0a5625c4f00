// The service manager (Pebble's servstate): start within the start window, stop within the
// kill-delay, backoff and restart, output capture, autostart and the tasks of a services change.
#include "daemon.hpp"

namespace redispebble::testing {

void pebble_server::impl::autostart_locked() {
    if (opts.hold) return;
    std::vector<std::string> names;
    for (const auto& [n, cfg] : plan_locked().services)
        if (cfg.startup == "enabled") names.push_back(n);
    if (names.empty()) return;  // Pebble logs "no default services" and carries on
    reply err;
    auto c = plan_services_change_locked("autostart", names, err);
    if (!c) return;
    if (c->tasks.empty()) finish_change_locked(*c);
    if (!c->ready) asio::co_spawn(io, run_change(c), asio::detached);
}

std::optional<redispebble::service> pebble_server::impl::config_locked(const std::string& name) const {
    layer p = plan_locked();
    auto it = p.services.find(name);
    if (it == p.services.end()) return std::nullopt;
    return it->second;
}

std::string pebble_server::impl::log_prefix(const char* level) const { return now_rfc3339(false) + " " + level + " "; }

bool pebble_server::impl::spawn_locked(const std::string& name, const redispebble::service& cfg, std::vector<std::string>& log) {
    service_t& s = services[name];
    s.started_with = cfg;
    s.ever_started = true;
    s.output_seen = 0;
    ++rec.starts[name];
    if (!opts.run_processes) {
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

awaitable<bool> pebble_server::impl::start_service(const std::string& name, std::vector<std::string>& log) {
    {
        std::lock_guard<std::mutex> lock(m);
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
    asio::steady_timer timer(io, opts.start_window);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    std::lock_guard<std::mutex> lock(m);
    service_t& s = services[name];
    std::optional<int> exited;
    if (s.process && !s.process->running()) exited = s.process->wait_for(std::chrono::milliseconds(0));
    if (!opts.run_processes && opts.failing_services.count(name)) exited = 1;
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

void pebble_server::impl::schedule_backoff_locked(const std::string& name) {
    service_t& s = services[name];
    const int attempt = s.backoff_attempts++;
    auto delay = std::chrono::milliseconds(std::min<long long>(500LL << std::min(attempt, 6), 30000));
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([this, timer, name](error_code ec) {
        if (ec || stopping) return;
        std::lock_guard<std::mutex> lock(m);
        service_t& sv = services[name];
        if (sv.current != "backoff") return;  // stopped meanwhile
        auto cfg = config_locked(name);
        std::vector<std::string> ignored;
        if (!cfg || !spawn_locked(name, *cfg, ignored)) return;
        sv.current = "starting";
        auto check = std::make_shared<asio::steady_timer>(io, opts.start_window);
        check->async_wait([this, check, name](error_code e2) {
            if (e2 || stopping) return;
            std::lock_guard<std::mutex> l2(m);
            service_t& sv2 = services[name];
            if (sv2.current != "starting") return;
            const bool failed = (sv2.process && !sv2.process->running()) ||
                                (!opts.run_processes && opts.failing_services.count(name));
            sv2.current = failed ? "backoff" : "active";
            sv2.since = now_rfc3339();
            if (failed) schedule_backoff_locked(name);
            else sv2.backoff_attempts = 0;
        });
    });
}

awaitable<bool> pebble_server::impl::stop_service(const std::string& name, std::vector<std::string>& log) {
    std::shared_ptr<child_process> proc;
    std::chrono::milliseconds kill_delay{5000};
    {
        std::lock_guard<std::mutex> lock(m);
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
        ++rec.stops[name];
    }
    if (proc) {
        // terminate() blocks up to kill_delay: run it on a helper thread.
        asio::steady_timer done(io, std::chrono::steady_clock::time_point::max());
        std::thread([proc, kill_delay, &done, this] {
            proc->terminate(kill_delay);
            asio::post(io, [&done] { done.cancel(); });
        }).detach();
        error_code ec;
        co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    std::lock_guard<std::mutex> lock(m);
    service_t& s = services[name];
    capture_output_locked(name, s);
    s.process.reset();
    s.stopping = false;
    s.current = "inactive";
    s.since = now_rfc3339();
    co_return true;
}

void pebble_server::impl::capture_output_locked(const std::string& name, service_t& s) {
    if (!s.process) return;
    const std::string out = s.process->output();
    if (out.size() <= s.output_seen) return;
    std::string fresh = out.substr(s.output_seen);
    const auto cut = fresh.rfind('\n');
    if (cut == std::string::npos) return;
    fresh.resize(cut + 1);
    s.output_seen += fresh.size();
    std::istringstream in(fresh);
    for (std::string l; std::getline(in, l);) logs.push_back({now_rfc3339(), name, l});
    if (logs.size() > 10000) logs.erase(logs.begin(), logs.begin() + 5000);
}

// A service that exits after it became active goes to backoff and is restarted, as Pebble does.
void pebble_server::impl::monitor() {
    monitor_timer->expires_after(std::chrono::milliseconds(100));
    monitor_timer->async_wait([this](error_code ec) {
        if (ec || stopping) return;
        {
            std::lock_guard<std::mutex> lock(m);
            for (auto& [name, s] : services) {
                capture_output_locked(name, s);
                if (s.current == "active" && !s.stopping && s.process && !s.process->running()) {
                    s.current = "backoff";
                    s.since = now_rfc3339();
                    schedule_backoff_locked(name);
                }
            }
        }
        monitor();
    });
}

std::shared_ptr<change_t> pebble_server::impl::plan_services_change_locked(const std::string& action, const std::vector<std::string>& names,
                                                      reply& err) {
    layer p = plan_locked();
    for (const auto& n : names)
        if (!p.services.count(n)) {
            err = error(400, fmt::format("cannot {} services: service \"{}\" does not exist", action, n));
            return nullptr;
        }
    std::vector<std::pair<std::string, std::string>> tasks;  // kind, service
    if (action == "start" || action == "autostart")
        for (const auto& n : names) tasks.emplace_back("start", n);
    else if (action == "stop")
        for (const auto& n : names) tasks.emplace_back("stop", n);
    else if (action == "restart") {
        for (const auto& n : names) tasks.emplace_back("stop", n);
        for (const auto& n : names) tasks.emplace_back("start", n);
        for (const auto& n : names) ++rec.restarts[n];
    }
    std::vector<std::string> summary_names = names;
    if (action == "replan") {
        std::set<std::string> touched;
        for (const auto& [n, cfg] : p.services) {
            auto it = services.find(n);
            const bool running = it != services.end() && (it->second.current == "active" || it->second.current == "backoff" ||
                                                          it->second.current == "starting");
            if (running && it->second.started_with && !(*it->second.started_with == cfg)) {
                tasks.emplace_back("stop", n);
                touched.insert(n);
                ++rec.restarts[n];
            }
        }
        for (const auto& [n, cfg] : p.services)
            if (cfg.startup == "enabled" || touched.count(n)) {
                tasks.emplace_back("start", n);
                touched.insert(n);
            }
        std::stable_sort(tasks.begin(), tasks.end(), [](auto& a, auto& b) { return a.first == "stop" && b.first == "start"; });
        summary_names.assign(touched.begin(), touched.end());
    }
    const std::string title = std::string(1, static_cast<char>(std::toupper(action[0]))) + action.substr(1);
    std::string summary;
    if (tasks.empty()) summary = title + " - no services";
    else if (summary_names.size() == 1) summary = fmt::format("{} service \"{}\"", title, summary_names[0]);
    else summary = fmt::format("{} service \"{}\" and {} more", title, summary_names[0], summary_names.size() - 1);
    auto c = new_change_locked(action, summary);
    for (const auto& [kind, n] : tasks) add_task_locked(*c, kind, n);
    return c;
}

void pebble_server::impl::stop_all_services() {
    std::vector<std::shared_ptr<child_process>> procs;
    {
        std::lock_guard<std::mutex> lock(m);
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
