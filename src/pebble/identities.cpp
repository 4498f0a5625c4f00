// `GET /v1/identities` (Go client's identities.go); see include/redispebble/pebble/client.hpp.
#include "client_impl.hpp"

namespace redispebble::pebble {

void client::identities_impl(handler<std::vector<identity>> h, diagnostics* diag) {
    using R = std::vector<identity>;
    impl_->launch<R>(std::move(h), diag, [](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/identities", nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        if (env.result.is_object()) {
            for (auto& [name, v] : env.result.get_object()) {
                auto& o = v.as_object();
                identity id;
                id.name = std::string(name);
                id.access = detail::str(o, "access");
                if (auto* l = o.if_contains("local"); l && l->is_object())
                    id.local_user_id = detail::opt_int<std::uint32_t>(l->get_object(), "user-id");
                id.has_basic = o.contains("basic");
                id.has_cert = o.contains("cert");
                r.push_back(std::move(id));
            }
        }
        co_return res<R>{{}, std::move(r)};
    });
}

} // namespace redispebble::pebble
