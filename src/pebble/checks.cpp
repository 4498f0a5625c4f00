// Health checks, `/v1/checks` (Go client's checks.go); see include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

namespace redispebble::pebble {

void client::checks_impl(handler<std::vector<check_info>> h, diagnostics* diag, checks_options opts) {
    using R = std::vector<check_info>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        if (!opts.level.empty()) q.add("level", opts.level);
        if (!opts.names.empty()) q.add("names", detail::join(opts.names));
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/checks" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) r.push_back(detail::to_check(e.as_object()));
        co_return res<R>{{}, std::move(r)};
    });
}

namespace {
void checks_action(std::shared_ptr<client_impl>& impl, client::handler<std::vector<std::string>> h, diagnostics* diag,
                   std::string action, std::vector<std::string> names) {
    using R = std::vector<std::string>;
    impl->launch<R>(std::move(h), diag, [action = std::move(action), names = std::move(names)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        if (names.empty()) co_return res<R>{detail::invalid(d, "names", action + " needs at least one check"), {}};
        json::value body(json::object{{"action", action}, {"checks", detail::to_array(names)}});
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/checks", &body, env, d)) co_return res<R>{ec, {}};
        co_return res<R>{{}, detail::strings(env.result.as_object(), "changed")};
    });
}
} // namespace

void client::start_checks_impl(handler<std::vector<std::string>> h, diagnostics* diag, std::vector<std::string> names) {
    checks_action(impl_, std::move(h), diag, "start", std::move(names));
}
void client::stop_checks_impl(handler<std::vector<std::string>> h, diagnostics* diag, std::vector<std::string> names) {
    checks_action(impl_, std::move(h), diag, "stop", std::move(names));
}

void client::refresh_check_impl(handler<refresh_check_result> h, diagnostics* diag, std::string name) {
    using R = refresh_check_result;
    impl_->launch<R>(std::move(h), diag, [name = std::move(name)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        if (name.empty()) co_return res<R>{detail::invalid(d, "name", "must not be empty"), {}};
        json::value body(json::object{{"name", name}});
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/checks/refresh", &body, env, d)) co_return res<R>{ec, {}};
        auto& o = env.result.as_object();
        R r;
        if (auto* i = o.if_contains("info"); i && i->is_object()) r.info = detail::to_check(i->get_object());
        r.error = detail::str(o, "error");
        co_return res<R>{{}, std::move(r)};
    });
}

} // namespace redispebble::pebble
