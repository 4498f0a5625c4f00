// Logs, `GET /v1/logs` (Go client's logs.go): the last lines (include/redispebble/pebble/client.hpp)
// and following on a connection of its own (follow_logs, include/redispebble/pebble/exec.hpp).
#include "client_impl.hpp"
#include "own_connection.hpp"

#include <redispebble/pebble/detail/exec_sansio.hpp>
#include <redispebble/pebble/exec.hpp>

#include <boost/asio/post.hpp>

#include <functional>
#include <mutex>

namespace redispebble::pebble {

void client::logs_impl(handler<std::vector<log_entry>> h, diagnostics* diag, logs_options opts) {
    using R = std::vector<log_entry>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        for (auto& s : opts.services) q.add("services", s);
        q.add("n", std::to_string(opts.n));
        auto req = c.make_request(http::verb::get, "/v1/logs" + q.s);
        detail::http_result hr;
        if (auto ec = co_await c.exchange(req, hr, d, true)) co_return res<R>{ec, {}};
        if (hr.status != 200 || hr.content_type.find("json") == std::string::npos ||
            hr.content_type.find("ndjson") == std::string::npos) {
            envelope env;
            auto ec = detail::parse_envelope(hr, env, d);
            if (!ec) {
                d.message = "logs answered without an ndjson body";
                ec = error::bad_envelope;
            }
            co_return res<R>{ec, {}};
        }
        // The same ndjson reader as logs following (below); the last line needs no newline here.
        R r;
        std::string pending = std::move(hr.body);
        if (!pending.empty() && pending.back() != '\n') pending += '\n';
        if (!detail::parse_log_lines(pending, r, d)) co_return res<R>{error::bad_envelope, {}};
        co_return res<R>{{}, std::move(r)};
    });
}

// ---- following (exec.hpp) -------------------------------------------------------------------------

namespace detail {

namespace {
constexpr std::size_t max_log_line = 1024 * 1024;
} // namespace

struct follow_state {
    std::mutex m;
    bool stopped = false;
    std::function<void()> cancel;
};

/// Splits ndjson into entries; false (and d set) on a line that is not a JSON object.
bool parse_log_lines(std::string& pending, std::vector<log_entry>& out, diagnostics& d) {
    std::size_t start = 0;
    for (;;) {
        auto nl = pending.find('\n', start);
        if (nl == std::string::npos) break;
        std::string_view line(pending.data() + start, nl - start);
        start = nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            d = diagnostics{};
            d.status_code = 200;
            d.message = "a log line is not a JSON object";
            return false;
        }
        auto& o = v.get_object();
        out.push_back({str(o, "time"), str(o, "service"), str(o, "message")});
    }
    pending.erase(0, start);
    return true;
}
} // namespace detail

follow_stopper::follow_stopper() : state_(std::make_shared<detail::follow_state>()) {}

void follow_stopper::stop() {
    std::function<void()> f;
    {
        std::lock_guard<std::mutex> lock(state_->m);
        state_->stopped = true;
        f = state_->cancel;
    }
    if (f) f();
}

bool follow_stopper::stopped() const {
    std::lock_guard<std::mutex> lock(state_->m);
    return state_->stopped;
}

namespace {
awaitable<error_code> follow(client_options copts, logs_options opts, log_sink sink, follow_stopper stop, diagnostics& d) {
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_shared<detail::connection>(ex, copts.socket_path);
    {
        std::lock_guard<std::mutex> lock(stop.state()->m);
        if (stop.state()->stopped) co_return error_code{};
        stop.state()->cancel = [ex, w = std::weak_ptr<detail::connection>(conn)] {
            asio::post(ex, [w] {
                if (auto c = w.lock()) c->close();
            });
        };
    }
    struct reset {
        std::shared_ptr<detail::follow_state> s;
        ~reset() {
            std::lock_guard<std::mutex> lock(s->m);
            s->cancel = nullptr;
        }
    } reset_cancel{stop.state()};
    if (auto ec = co_await conn->ensure_open(copts.connect_timeout)) {
        d.message = detail::connect_failure_message(copts.socket_path, ec);
        co_return stop.stopped() ? error_code{} : ec;
    }
    detail::query q;
    q.add("follow", "true");
    for (auto& s : opts.services) q.add("services", s);
    q.add("n", std::to_string(opts.n));
    auto req = detail::make_request(http::verb::get, "/v1/logs" + q.s);
    error_code ec;
    auto& stream = conn->stream();
    stream.expires_after(copts.request_timeout);
    co_await http::async_write(stream, req, detail::redirect(ec));
    http::response_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    if (!ec) co_await http::async_read_header(stream, conn->buffer(), p, detail::redirect(ec));
    if (ec) {
        if (stop.stopped()) co_return error_code{};
        d.message = "GET /v1/logs?follow=true: " + ec.message();
        co_return detail::map_transport_error(ec, false);
    }
    const unsigned status = p.get().result_int();
    const std::string ctype(p.get()[http::field::content_type]);
    std::vector<char> buf(detail::io_chunk);
    std::string pending;
    const bool ndjson = status == 200 && ctype.find("ndjson") != std::string::npos;
    stream.expires_never();
    if (!ndjson) stream.expires_after(copts.request_timeout);
    while (!p.is_done()) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
        co_await http::async_read_some(stream, conn->buffer(), p, detail::redirect(ec));
        if (ec == http::error::need_buffer) ec = {};
        std::size_t n = buf.size() - p.get().body().size;
        pending.append(buf.data(), n);
        if (ec) {
            if (stop.stopped()) co_return error_code{};
            d.message = "GET /v1/logs?follow=true: " + ec.message();
            co_return detail::map_transport_error(ec, false);
        }
        if (!ndjson) {
            if (pending.size() > detail::own_max_json_body) break;
            continue;
        }
        std::vector<log_entry> entries;
        if (!detail::parse_log_lines(pending, entries, d)) co_return error::bad_envelope;
        if (pending.size() > detail::max_log_line) {
            d.message = "a log line is longer than 1 MiB";
            co_return error::bad_envelope;
        }
        for (auto& e : entries) {
            if (stop.stopped()) co_return error_code{};
            if (!sink(e)) co_return error_code{};
        }
    }
    conn->close();
    if (!ndjson) {
        detail::envelope env;
        auto pec = detail::parse_envelope(status, pending, env, d);
        if (!pec) {
            d.message = "logs answered without an ndjson body";
            pec = error::bad_envelope;
        }
        co_return pec;
    }
    pending += '\n';
    std::vector<log_entry> entries;
    if (!detail::parse_log_lines(pending, entries, d)) co_return error::bad_envelope;
    for (auto& e : entries)
        if (stop.stopped() || !sink(e)) break;
    co_return error_code{};
}
} // namespace

void detail::follow_logs_impl(client& c, logs_options opts, log_sink sink, follow_stopper stop, diagnostics* diag,
                              client::handler<void> h) {
    auto copts = c.options();
    auto strand = asio::make_strand(c.get_executor());
    asio::co_spawn(
        strand,
        [copts, opts = std::move(opts), sink = std::move(sink), stop = std::move(stop)]() mutable
        -> awaitable<std::pair<error_code, diagnostics>> {
            diagnostics d;
            if (!sink) co_return std::make_pair(invalid(d, "sink", "must be set"), d);
            auto ec = co_await follow(std::move(copts), std::move(opts), std::move(sink), std::move(stop), d);
            co_return std::make_pair(ec, std::move(d));
        },
        [diag, h = std::move(h)](std::exception_ptr ep, std::pair<error_code, diagnostics> r) mutable {
            if (ep) {
                r.first = error::bad_envelope;
                r.second.message = "unexpected failure while following logs";
            }
            if (diag) *diag = r.second;
            complete(std::move(h), r.first);
        });
}

} // namespace redispebble::pebble
