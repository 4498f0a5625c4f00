// Services, `GET` and `POST /v1/services` (Go client's services.go); see
// include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

#include <optional>

namespace redispebble::pebble {

void client::list_services_impl(handler<std::vector<service_info>> h, diagnostics* diag, services_options opts) {
    using R = std::vector<service_info>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        if (!opts.names.empty()) q.add("names", detail::join(opts.names));
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/services" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) {
            auto& o = e.as_object();
            r.push_back({detail::str(o, "name"), detail::str(o, "startup"), detail::str(o, "current"),
                         detail::str(o, "current-since")});
        }
        co_return res<R>{{}, std::move(r)};
    });
}

namespace {
void services_action(std::shared_ptr<client_impl>& impl, client::handler<std::string> h, diagnostics* diag,
                     std::string action, std::optional<std::vector<std::string>> names) {
    impl->launch<std::string>(std::move(h), diag, [action = std::move(action), names = std::move(names)](
                                                      client_impl& c, diagnostics& d) -> awaitable<res<std::string>> {
        if (names && names->empty())
            co_return res<std::string>{detail::invalid(d, "service_options.names", action + " needs at least one service"), {}};
        json::object b;
        b["action"] = action;
        if (names) b["services"] = detail::to_array(*names);
        json::value body(std::move(b));
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/services", &body, env, d)) co_return res<std::string>{ec, {}};
        if (env.type != "async" || env.change.empty()) {
            d.message = "expected an async response with a change id";
            co_return res<std::string>{error::bad_envelope, {}};
        }
        co_return res<std::string>{{}, env.change};
    });
}
} // namespace

void client::start_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "start", std::move(opts.names));
}
void client::stop_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "stop", std::move(opts.names));
}
void client::restart_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "restart", std::move(opts.names));
}
void client::replan_impl(handler<std::string> h, diagnostics* diag) {
    services_action(impl_, std::move(h), diag, "replan", std::nullopt);
}
void client::autostart_impl(handler<std::string> h, diagnostics* diag) {
    services_action(impl_, std::move(h), diag, "autostart", std::nullopt);
}

} // namespace redispebble::pebble
