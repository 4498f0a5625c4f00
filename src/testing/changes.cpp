// Changes and tasks (Pebble's overlord/state): creating them, running their tasks (through the
// service manager), finishing them; the services changes and autostart.
#include "daemon.hpp"

namespace redispebble::testing {

std::shared_ptr<change_t> pebble_server::impl::services_change_locked(const std::string& action,
                                                                      const std::vector<std::string>& names, reply& err) {
    auto planned = svc.plan_change_locked(action, names, err);
    if (!planned) return nullptr;
    auto c = new_change_locked(action, planned->second);
    for (const auto& t : planned->first) add_task_locked(*c, t.kind, t.service);
    return c;
}

void pebble_server::impl::autostart_locked() {
    if (opts.hold) return;
    std::vector<std::string> names;
    for (const auto& [n, cfg] : plan_locked().services)
        if (cfg.startup == "enabled") names.push_back(n);
    if (names.empty()) return;  // Pebble logs "no default services" and carries on
    reply err;
    auto c = services_change_locked("autostart", names, err);
    if (!c) return;
    if (c->tasks.empty()) finish_change_locked(*c);
    if (!c->ready) asio::co_spawn(io, run_change(c), asio::detached);
}

std::shared_ptr<change_t> pebble_server::impl::new_change_locked(const std::string& kind, const std::string& summary) {
    auto c = std::make_shared<change_t>();
    c->id = std::to_string(next_change++);
    c->kind = kind;
    c->summary = summary;
    c->spawn_time = now_rfc3339();
    changes[c->id] = c;
    notify_change_locked(*c);
    return c;
}

task_t& pebble_server::impl::add_task_locked(change_t& c, const std::string& kind, const std::string& service) {
    task_t t;
    t.id = std::to_string(next_task++);
    t.kind = kind;
    t.service = service;
    t.summary = fmt::format("{} service \"{}\"", kind == "start" ? "Start" : "Stop", service);
    t.spawn_time = now_rfc3339();
    c.tasks.push_back(std::move(t));
    return c.tasks.back();
}

void pebble_server::impl::finish_change_locked(change_t& c) {
    bool failed = false;
    std::string err = "cannot perform the following tasks:";
    for (const auto& t : c.tasks)
        if (t.status == "Error") {
            failed = true;
            for (auto it = t.log.rbegin(); it != t.log.rend(); ++it)
                if (it->find(" ERROR ") != std::string::npos) {
                    err += fmt::format("\n- {} ({})", t.summary, it->substr(it->find(" ERROR ") + 7));
                    break;
                }
        }
    c.status = failed ? "Error" : "Done";
    if (failed) c.err = err;
    c.ready = true;
    c.ready_time = now_rfc3339();
    notify_change_locked(c);
    // Waiters live on the io_context; this may run on the checker thread.
    asio::post(io, [ws = std::move(c.waiters)] {
        for (auto& w : ws) w->cancel();
    });
    c.waiters.clear();
}

awaitable<void> pebble_server::impl::run_change(std::shared_ptr<change_t> c) {
    for (std::size_t i = 0;; ++i) {
        std::string kind, service;
        {
            std::lock_guard<std::mutex> lock(m);
            if (i >= c->tasks.size()) {
                finish_change_locked(*c);
                co_return;
            }
            if (c->status != "Doing") {
                c->status = "Doing";
                notify_change_locked(*c);  // Pebble records each status change of a change
            }
            c->tasks[i].status = "Doing";
            kind = c->tasks[i].kind;
            service = c->tasks[i].service;
        }
        std::vector<std::string> log;
        bool ok = kind == "start" ? co_await svc.start(service, log) : co_await svc.stop(service, log);
        std::lock_guard<std::mutex> lock(m);
        task_t& t = c->tasks[i];
        t.log = std::move(log);
        t.status = ok ? "Done" : "Error";
        t.ready_time = now_rfc3339();
        if (!ok) {
            // Later tasks of a failed change do not run (Pebble holds them).
            for (std::size_t k = i + 1; k < c->tasks.size(); ++k) c->tasks[k].status = "Hold";
            finish_change_locked(*c);
            co_return;
        }
    }
}

} // namespace redispebble::testing
