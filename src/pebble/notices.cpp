// Notices, `/v1/notices` (Go client's notices.go): list, get and add
// (include/redispebble/pebble/client.hpp), and the long-poll on a connection of its own
// (wait_notices, include/redispebble/pebble/exec.hpp).
#include "client_impl.hpp"
#include "own_connection.hpp"

#include <redispebble/pebble/exec.hpp>

#include <tuple>

namespace redispebble::pebble {

namespace {
/// The filters of `GET /v1/notices`, listed or long-polled.
detail::query notices_query(const notices_options& opts) {
    detail::query q;
    if (!opts.users.empty()) q.add("users", opts.users);
    if (opts.user_id) q.add("user-id", std::to_string(*opts.user_id));
    for (auto& t : opts.types) q.add("types", t);
    for (auto& k : opts.keys) q.add("keys", k);
    if (!opts.after.empty()) q.add("after", opts.after);
    return q;
}
} // namespace

void client::notices_impl(handler<std::vector<pebble::notice>> h, diagnostics* diag, notices_options opts) {
    using R = std::vector<pebble::notice>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        auto q = notices_query(opts);
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/notices" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) r.push_back(detail::to_notice(e.as_object()));
        co_return res<R>{{}, std::move(r)};
    });
}

void client::notice_impl(handler<pebble::notice> h, diagnostics* diag, std::string id) {
    using R = pebble::notice;
    impl_->launch<R>(std::move(h), diag, [id = std::move(id)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        if (id.empty()) co_return res<R>{detail::invalid(d, "id", "must not be empty"), {}};
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/notices/" + detail::escape(id), nullptr, env, d)) co_return res<R>{ec, {}};
        co_return res<R>{{}, detail::to_notice(env.result.as_object())};
    });
}

void client::add_notice_impl(handler<std::string> h, diagnostics* diag, add_notice_options opts) {
    impl_->launch<std::string>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<std::string>> {
        if (opts.type.empty()) co_return res<std::string>{detail::invalid(d, "add_notice_options.type", "must not be empty"), {}};
        if (opts.key.empty()) co_return res<std::string>{detail::invalid(d, "add_notice_options.key", "must not be empty"), {}};
        json::object b{{"action", "add"}, {"type", opts.type}, {"key", opts.key}};
        if (!opts.repeat_after.empty()) b["repeat-after"] = opts.repeat_after;
        if (!opts.data.empty()) {
            json::object data;
            for (auto& [k, v] : opts.data) data[k] = v;
            b["data"] = std::move(data);
        }
        json::value body(std::move(b));
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/notices", &body, env, d)) co_return res<std::string>{ec, {}};
        co_return res<std::string>{{}, detail::str(env.result.as_object(), "id")};
    });
}

// ---- the long-poll (exec.hpp) --------------------------------------------------------------------

void detail::wait_notices_impl(client& c, notices_options opts, std::chrono::milliseconds timeout, diagnostics* diag,
                               client::handler<std::vector<notice>> h) {
    using R = std::vector<notice>;
    auto copts = c.options();
    auto strand = asio::make_strand(c.get_executor());
    asio::co_spawn(
        strand,
        [copts, opts = std::move(opts), timeout]() -> awaitable<std::tuple<error_code, diagnostics, R>> {
            diagnostics d;
            if (timeout.count() < 0)
                co_return std::make_tuple(invalid(d, "timeout", "must not be negative"), d, R{});
            auto q = notices_query(opts);
            q.add("timeout", go_duration(timeout));
            auto req = make_request(http::verb::get, "/v1/notices" + q.s);
            unsigned status = 0;
            std::string body;
            if (auto ec = co_await exchange(copts, req, status, body, d, timeout + copts.request_timeout))
                co_return std::make_tuple(ec, d, R{});
            envelope env;
            if (auto ec = parse_envelope(status, body, env, d)) co_return std::make_tuple(ec, d, R{});
            R r;
            if (env.result.is_array())
                for (auto& e : env.result.get_array())
                    if (e.is_object()) r.push_back(to_notice(e.get_object()));
            co_return std::make_tuple(error_code{}, d, std::move(r));
        },
        [diag, h = std::move(h)](std::exception_ptr ep, std::tuple<error_code, diagnostics, R> r) mutable {
            if (ep) std::get<0>(r) = error::bad_envelope;
            if (diag) *diag = std::get<1>(r);
            complete(std::move(h), std::get<0>(r), std::move(std::get<2>(r)));
        });
}

std::vector<notice> wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout, error_code& ec,
                                 diagnostics* diag) {
    return detail::run_private<std::vector<notice>>(c, ec, diag, [&](client& tmp, diagnostics& d, auto done) {
        async_wait_notices(tmp, std::move(opts), timeout, d, done);
    });
}

std::vector<notice> wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout) {
    error_code ec;
    diagnostics d;
    auto r = wait_notices(c, std::move(opts), timeout, ec, &d);
    throw_if_failed(ec, d);
    return r;
}

} // namespace redispebble::pebble
