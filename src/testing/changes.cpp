// The change manager (Pebble's state engine, overlord/state): changes and tasks, their ids,
// running a services change's tasks through the service manager, finishing a change and waking
// those who wait on it; the services changes and autostart. class change_manager in daemon.hpp.
#include "daemon.hpp"

namespace redispebble::testing {

std::shared_ptr<change_t> change_manager::find_locked(const std::string& id) const {
    auto it = changes_.find(id);
    return it == changes_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<change_t>> change_manager::sorted_locked() const {
    std::vector<std::shared_ptr<change_t>> sorted;
    for (const auto& [id, c] : changes_) sorted.push_back(c);
    std::sort(sorted.begin(), sorted.end(), [](auto& x, auto& y) { return std::stoi(x->id) < std::stoi(y->id); });
    return sorted;
}

std::shared_ptr<change_t> change_manager::services_change_locked(const std::string& action,
                                                                 const std::vector<std::string>& names, reply& err) {
    auto planned = svc_.plan_change_locked(action, names, err);
    if (!planned) return nullptr;
    auto c = new_change_locked(action, planned->second);
    for (const auto& t : planned->first)
        add_task_locked(*c, t.kind, fmt::format("{} service \"{}\"", t.kind == "start" ? "Start" : "Stop", t.service),
                        t.service);
    return c;
}

void change_manager::autostart_locked() {
    if (core_.opts.hold) return;
    std::vector<std::string> names;
    for (const auto& [n, cfg] : plan_.plan_locked().services)
        if (cfg.startup == "enabled") names.push_back(n);
    if (names.empty()) return;  // Pebble logs "no default services" and carries on
    reply err;
    auto c = services_change_locked("autostart", names, err);
    if (!c) return;
    if (c->tasks.empty()) finish_change_locked(*c);
    if (!c->ready) asio::co_spawn(core_.io, run_change(c), asio::detached);
}

std::shared_ptr<change_t> change_manager::new_change_locked(const std::string& kind, const std::string& summary) {
    auto c = std::make_shared<change_t>();
    c->id = std::to_string(next_change_++);
    c->kind = kind;
    c->summary = summary;
    c->spawn_time = now_rfc3339();
    changes_[c->id] = c;
    notify_(*c);
    return c;
}

task_t& change_manager::add_task_locked(change_t& c, const std::string& kind, const std::string& summary,
                                        const std::string& service) {
    task_t t;
    t.id = std::to_string(next_task_++);
    t.kind = kind;
    t.service = service;
    t.summary = summary;
    t.spawn_time = now_rfc3339();
    c.tasks.push_back(std::move(t));
    return c.tasks.back();
}

std::pair<std::string, std::string> change_manager::begin_exec_locked(const std::string& summary) {
    auto c = new_change_locked("exec", summary);
    task_t& t = add_task_locked(*c, "exec", summary, "");
    c->status = "Doing";
    t.status = "Doing";
    notify_(*c);  // created, then Doing at once: two occurrences of its change-update, as on Pebble
    return {c->id, t.id};
}

void change_manager::finish_exec_locked(const std::string& change_id, int exit_code, const std::string& err) {
    auto c = find_locked(change_id);
    if (!c || c->tasks.empty()) return;
    task_t& t = c->tasks.front();
    t.data = json::object{{"exit-code", exit_code}};
    t.status = err.empty() ? "Done" : "Error";
    t.ready_time = now_rfc3339();
    if (!err.empty()) t.log.push_back(now_rfc3339(false) + " ERROR " + err);
    finish_change_locked(*c);
}

void change_manager::finish_change_locked(change_t& c) {
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
    ready_locked(c);
}

void change_manager::ready_locked(change_t& c) {
    c.ready = true;
    c.ready_time = now_rfc3339();
    notify_(c);
    // Waiters live on the io_context; this may run on the checker thread.
    asio::post(core_.io, [ws = std::move(c.waiters)] {
        for (auto& w : ws) w->cancel();
    });
    c.waiters.clear();
}

awaitable<void> change_manager::run_change(std::shared_ptr<change_t> c) {
    for (std::size_t i = 0;; ++i) {
        std::string kind, service;
        {
            std::lock_guard<std::mutex> lock(core_.m);
            if (i >= c->tasks.size()) {
                finish_change_locked(*c);
                co_return;
            }
            if (c->status != "Doing") {
                c->status = "Doing";
                notify_(*c);  // Pebble records each status change of a change
            }
            c->tasks[i].status = "Doing";
            kind = c->tasks[i].kind;
            service = c->tasks[i].service;
        }
        std::vector<std::string> log;
        bool ok = kind == "start" ? co_await svc_.start(service, log) : co_await svc_.stop(service, log);
        std::lock_guard<std::mutex> lock(core_.m);
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
