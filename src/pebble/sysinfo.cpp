// `GET /v1/system-info` (Go client's sysinfo.go); see include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

namespace redispebble::pebble {

void client::system_info_impl(handler<pebble::system_info> h, diagnostics* diag) {
    impl_->launch<pebble::system_info>(std::move(h), diag, [](client_impl& c, diagnostics& d) -> awaitable<res<pebble::system_info>> {
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/system-info", nullptr, env, d)) co_return res<pebble::system_info>{ec, {}};
        auto& o = env.result.as_object();
        co_return res<pebble::system_info>{{}, {detail::str(o, "boot-id"), detail::str(o, "version")}};
    });
}

} // namespace redispebble::pebble
