// POST /v1/signals (Pebble's api_signals.go).
#include "daemon.hpp"

namespace redispebble::testing {

reply pebble_server::impl::signals(const std::string& body) {
    reply err;
    auto v = decode_body(body, err);
    if (!v) return err;
    const json::object& o = v->as_object();
    const std::string sig = str_of(o, "signal");
    static const std::map<std::string, int> known{{"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT},
                                                  {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                                  {"SIGTERM", SIGTERM}, {"SIGSTOP", SIGSTOP}, {"SIGCONT", SIGCONT}};
    auto k = known.find(sig);
    if (k == known.end()) return error(400, fmt::format("invalid signal name \"{}\"", sig));
    std::lock_guard<std::mutex> lock(m);
    if (auto it = o.find("services"); it != o.end() && it->value().is_array())
        for (const auto& n : it->value().as_array()) {
            const std::string name(n.as_string());
            auto s = svc.services.find(name);
            if (s == svc.services.end() || s->second.current != "active")
                return error(500, fmt::format("cannot send signal to \"{}\": service is not running", name));
            if (s->second.process) s->second.process->signal(k->second);
        }
    return sync(true);
}

} // namespace redispebble::testing
