// `GET /v1/health` (Go client's health.go); see include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

namespace redispebble::pebble {

void client::health_impl(handler<bool> h, diagnostics* diag, health_options opts) {
    impl_->launch<bool>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<bool>> {
        detail::query q;
        if (!opts.level.empty()) q.add("level", opts.level);
        if (!opts.names.empty()) q.add("names", detail::join(opts.names));
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/health" + q.s, nullptr, env, d)) co_return res<bool>{ec, false};
        co_return res<bool>{{}, detail::boolean(env.result.as_object(), "healthy")};
    });
}

} // namespace redispebble::pebble
