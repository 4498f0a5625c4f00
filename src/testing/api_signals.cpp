// POST /v1/signals (Pebble's api_signals.go).
#include "daemon.hpp"

namespace redispebble::testing {

reply pebble_server::impl::signals(const json::object& o) {
    reply err;
    auto names = string_list(o, "services", err);
    if (!names) return err;
    const std::string sig = str_of(o, "signal");
    static const std::map<std::string, int> known{{"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT},
                                                  {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                                  {"SIGTERM", SIGTERM}, {"SIGSTOP", SIGSTOP}, {"SIGCONT", SIGCONT}};
    auto k = known.find(sig);
    if (k == known.end()) return error(400, fmt::format("invalid signal name \"{}\"", sig));
    std::lock_guard<std::mutex> lock(m);
    svc.notice_exits_locked();
    for (const auto& name : *names) {
        auto s = svc.services.find(name);
        if (s == svc.services.end() || s->second.current != "active")
            return error(500, fmt::format("cannot send signal to \"{}\": service is not running", name));
        if (s->second.process) s->second.process->signal(k->second);
    }
    return sync(true);
}

} // namespace redispebble::testing
