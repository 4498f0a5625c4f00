// Changes, `/v1/changes` and waiting on one (Go client's changes.go); see
// include/redispebble/pebble/client.hpp and detail/wait_change_fsm.hpp.
#include "client_impl.hpp"

#include <redispebble/pebble/detail/wait_change_fsm.hpp>

#include <algorithm>
#include <chrono>

namespace redispebble::pebble {

void client::changes_impl(handler<std::vector<pebble::change>> h, diagnostics* diag, changes_options opts) {
    using R = std::vector<pebble::change>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        if (!opts.select.empty()) q.add("select", opts.select);
        if (!opts.service.empty()) q.add("for", opts.service);
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/changes" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) r.push_back(detail::to_change(e));
        co_return res<R>{{}, std::move(r)};
    });
}

void client::change_impl(handler<pebble::change> h, diagnostics* diag, std::string id) {
    impl_->launch<pebble::change>(std::move(h), diag, [id = std::move(id)](client_impl& c, diagnostics& d) -> awaitable<res<pebble::change>> {
        if (id.empty()) co_return res<pebble::change>{detail::invalid(d, "id", "must not be empty"), {}};
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/changes/" + detail::escape(id), nullptr, env, d))
            co_return res<pebble::change>{ec, {}};
        co_return res<pebble::change>{{}, detail::to_change(env.result)};
    });
}

void client::abort_change_impl(handler<pebble::change> h, diagnostics* diag, std::string id) {
    impl_->launch<pebble::change>(std::move(h), diag, [id = std::move(id)](client_impl& c, diagnostics& d) -> awaitable<res<pebble::change>> {
        if (id.empty()) co_return res<pebble::change>{detail::invalid(d, "id", "must not be empty"), {}};
        json::value body(json::object{{"action", "abort"}});
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/changes/" + detail::escape(id), &body, env, d))
            co_return res<pebble::change>{ec, {}};
        co_return res<pebble::change>{{}, detail::to_change(env.result)};
    });
}

namespace {
/// error::change_failed with the change's err and its failing tasks' logs.
error_code change_failure(const change& ch, diagnostics& d) {
    d = diagnostics{};
    d.kind = "change-failed";
    d.message = ch.err.empty() ? "change " + ch.id + " failed (" + ch.status + ")" : ch.err;
    for (auto& t : ch.tasks) {
        if (t.status != "Error") continue;
        for (auto& l : t.log) d.message += "\n" + l;
    }
    json::object v{{"id", ch.id}, {"status", ch.status}};
    d.value = json::serialize(v);
    return error::change_failed;
}
} // namespace

void client::wait_change_impl(handler<pebble::change> h, diagnostics* diag, std::string id, wait_change_options opts) {
    impl_->launch<pebble::change>(std::move(h), diag, [id = std::move(id), opts](client_impl& c, diagnostics& d) -> awaitable<res<pebble::change>> {
        using R = res<pebble::change>;
        using clock = std::chrono::steady_clock;
        if (id.empty()) co_return R{detail::invalid(d, "id", "must not be empty"), {}};
        if (opts.timeout.count() < 0) co_return R{detail::invalid(d, "wait_change_options.timeout", "must not be negative"), {}};
        auto finish = [&](pebble::change ch) -> R {
            if (opts.fail_on_error && ch.failed()) {
                auto ec = change_failure(ch, d);
                return R{ec, std::move(ch)};
            }
            d = diagnostics{};
            return R{{}, std::move(ch)};
        };
        // The server-side slice stays well inside the request timeout.
        auto slice_max = std::min(c.opts_.wait_slice, c.opts_.request_timeout * 3 / 4);
        detail::wait_change_fsm fsm(opts.timeout, slice_max, c.opts_.poll_interval, clock::now());
        detail::wait_change_fsm::input in;
        const auto generation = c.cancel_->generation.load();
        pebble::change last;
        for (;;) {
            if (c.shutdown_ || generation != c.cancel_->generation.load()) co_return R{asio::error::operation_aborted, {}};
            auto act = fsm.resume(in, clock::now());
            using K = detail::wait_change_fsm::action::kind;
            switch (act.what) {
            case K::done:
                co_return finish(std::move(last));
            case K::fail:
                if (act.ec == error::timeout) {
                    d = diagnostics{};
                    d.message = "change " + id + " not ready within " + detail::go_duration(opts.timeout);
                }
                co_return R{act.ec, {}};
            case K::sleep: {
                asio::steady_timer t(c.strand_, act.duration);
                error_code tec;
                co_await t.async_wait(detail::redirect(tec));
                in = {detail::wait_change_fsm::input::kind::slept};
                break;
            }
            case K::wait:
            case K::get: {
                auto target = "/v1/changes/" + detail::escape(id);
                if (act.what == K::wait) target += "/wait?timeout=" + detail::go_duration(act.duration);
                else if (fsm.polling()) c.log(log_level::debug, "polling change " + id);
                envelope env;
                auto ec = co_await c.call(http::verb::get, target, nullptr, env, d);
                in = {detail::wait_change_fsm::input::kind::response, ec, d.status_code, false};
                if (!ec) {
                    last = detail::to_change(env.result);
                    in.ready = last.ready;
                }
                break;
            }
            }
        }
    });
}

} // namespace redispebble::pebble
