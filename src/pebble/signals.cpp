// `POST /v1/signals` (Go client's signals.go); see include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

namespace redispebble::pebble {

void client::send_signal_impl(handler<void> h, diagnostics* diag, send_signal_options opts) {
    impl_->launch<void>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<ec_t> {
        if (opts.signal.empty()) co_return detail::invalid(d, "send_signal_options.signal", "must not be empty");
        if (opts.services.empty()) co_return detail::invalid(d, "send_signal_options.services", "must name at least one service");
        json::value body(json::object{{"signal", opts.signal}, {"services", detail::to_array(opts.services)}});
        envelope env;
        co_return co_await c.call(http::verb::post, "/v1/signals", &body, env, d);
    });
}

} // namespace redispebble::pebble
