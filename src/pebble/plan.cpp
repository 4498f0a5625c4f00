// The plan and its layers, `GET /v1/plan` and `POST /v1/layers` (Go client's plan.go); see
// include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

#include <redispebble/layer.hpp>

#include <exception>

namespace redispebble::pebble {

void client::plan_impl(handler<std::string> h, diagnostics* diag) {
    impl_->launch<std::string>(std::move(h), diag, [](client_impl& c, diagnostics& d) -> awaitable<res<std::string>> {
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/plan?format=yaml", nullptr, env, d)) co_return res<std::string>{ec, {}};
        co_return res<std::string>{{}, std::string(env.result.as_string())};
    });
}

void client::plan_layer_impl(handler<redispebble::layer> h, diagnostics* diag) {
    impl_->launch<redispebble::layer>(std::move(h), diag, [](client_impl& c, diagnostics& d) -> awaitable<res<redispebble::layer>> {
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/plan?format=yaml", nullptr, env, d))
            co_return res<redispebble::layer>{ec, {}};
        try {
            co_return res<redispebble::layer>{{}, redispebble::parse_plan(std::string(env.result.as_string()))};
        } catch (const std::exception& e) {
            d = diagnostics{};
            d.status_code = 200;
            d.message = std::string("the plan does not parse: ") + e.what();
        }
        co_return res<redispebble::layer>{error::bad_envelope, {}};
    });
}

void client::add_layer_impl(handler<void> h, diagnostics* diag, add_layer_options opts) {
    impl_->launch<void>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<ec_t> {
        if (opts.label.empty()) co_return detail::invalid(d, "add_layer_options.label", "must not be empty");
        json::object b;
        b["action"] = "add";
        b["combine"] = opts.combine;
        if (opts.inner) b["inner"] = true;
        b["label"] = opts.label;
        b["format"] = "yaml";
        b["layer"] = opts.layer_yaml;
        json::value body(std::move(b));
        envelope env;
        co_return co_await c.call(http::verb::post, "/v1/layers", &body, env, d);
    });
}

} // namespace redispebble::pebble
