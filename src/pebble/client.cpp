// The Pebble client's shared core; see include/redispebble/pebble/client.hpp.
//
// Every operation is one C++20 coroutine spawned on the client's strand: its steps read top to
// bottom (lock the connection, send, read, parse) and the initiators stay thin. Requests are
// serialized by an asynchronous lock, so one kept-alive connection serves concurrent callers.
//
// This file holds what every call shares: the envelope, client_impl's members (the connection
// lock, one exchange), construction, close, cancel and the synchronous forms' hand-off
// (run_blocking_). The endpoints are one file per API area, as Pebble's Go client/ package:
// changes, checks, exec, files, health, identities, logs, notices, plan (and layers), services,
// signals, sysinfo (src/README.md).
#include "client_impl.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <stdexcept>

namespace redispebble::pebble {

namespace detail {

error_code kind_to_error(std::string_view kind, unsigned status) {
    if (kind == "not-found") return error::not_found;
    if (kind == "permission-denied" || kind == "login-required") return error::permission_denied;
    if (kind == "generic-file-error") return error::generic_file_error;
    if (kind == "no-default-services") return error::no_default_services;
    if (kind.empty() && status == 404) return error::not_found;
    if (kind.empty() && (status == 401 || status == 403)) return error::permission_denied;
    return error::api_error;
}

error_code parse_envelope(unsigned http_status, std::string_view body, envelope& env, diagnostics& d) {
    d = diagnostics{};
    d.status_code = static_cast<int>(http_status);
    error_code jec;
    // Parsed into the envelope's arena: moving its "result" into env.result below is then a move,
    // not a copy (Boost.JSON copies between values of different storage).
    auto v = json::parse(body, jec, env.result.storage());
    if (jec || !v.is_object() || !v.as_object().contains("type") || !v.as_object().at("type").is_string()) {
        d.message = "HTTP " + std::to_string(http_status) + " response is not a Pebble JSON envelope";
        return error::bad_envelope;
    }
    auto& o = v.as_object();
    env.type = str(o, "type");
    env.change = str(o, "change");
    // Moved, not copied: the parsed document is ours (a copy was a second allocation per node).
    if (auto* r = o.if_contains("result")) env.result = std::move(*r);
    else env.result = nullptr;
    if (env.type == "error") {
        if (!env.result.is_object()) {
            d.message = "error envelope without an error object";
            return error::bad_envelope;
        }
        return error_from(env.result.get_object(), http_status, d);
    }
    if (env.type != "sync" && env.type != "async") {
        d.message = "unknown envelope type \"" + env.type + "\"";
        return error::bad_envelope;
    }
    d = diagnostics{};
    return {};
}

error_code parse_envelope(const http_result& r, envelope& env, diagnostics& d) {
    return parse_envelope(r.status, r.body, env, d);
}

// ---- client_impl: the connection lock ----------------------------------------------------------

awaitable<error_code> client_impl::lock() {
    if (shutdown_) co_return asio::error::operation_aborted;
    if (!busy_) {
        busy_ = true;
        co_return error_code{};
    }
    auto w = std::make_shared<waiter>(strand_);
    waiters_.push_back(w);
    error_code ec;
    co_await w->timer.async_wait(redirect(ec));
    if (w->aborted) co_return asio::error::operation_aborted;  // never became the owner
    if (shutdown_) {
        unlock();
        co_return asio::error::operation_aborted;
    }
    co_return error_code{};
}

void client_impl::unlock() {
    if (waiters_.empty()) {
        busy_ = false;
        return;
    }
    auto w = waiters_.front();
    waiters_.pop_front();
    w->timer.cancel();
}

void client_impl::cancel_all() {
    conn_.close();
    auto queued = std::move(waiters_);
    waiters_.clear();
    for (auto& w : queued) {
        w->aborted = true;
        w->timer.cancel();
    }
}

void client_impl::shutdown() {
    shutdown_ = true;
    cancel_all();
}

std::string client_impl::transport_message(error_code ec) const {
    if (conn_.timed_out()) return "no complete answer within request_timeout (" + go_duration(opts_.request_timeout) + ")";
    return ec.message();
}

// ---- client_impl: one exchange ------------------------------------------------------------------

http::request<http::string_body> client_impl::make_request(http::verb v, std::string target,
                                                           std::string_view accept) {
    http::request<http::string_body> req{v, target, 11};
    req.set(http::field::host, "localhost");
    if (!accept.empty()) req.set(http::field::accept, accept);
    return req;
}

awaitable<error_code> client_impl::exchange(http::request<http::string_body>& req, http_result& out,
                                            diagnostics& d, bool idempotent) {
    if (auto ec = co_await lock()) co_return ec;
    lock_guard guard{this};
    req.prepare_payload();
    for (int attempt = 0;; ++attempt) {
        if (auto ec = co_await conn_.ensure_open(opts_.connect_timeout)) {
            d = diagnostics{};
            d.message = connect_failure_message(opts_.socket_path, ec);
            co_return ec;
        }
        bool reused = conn_.reused();
        auto& stream = conn_.stream();
        error_code ec;
        bool written = false;
        connection::deadline deadline(conn_, opts_.request_timeout);
        co_await http::async_write(stream, req, redirect(ec));
        if (!ec) {
            written = true;
            http::response_parser<http::string_body> p;
            p.body_limit(max_json_body);
            co_await http::async_read(stream, conn_.buffer(), p, redirect(ec));
            if (!ec) {
                auto& res = p.get();
                out.status = res.result_int();
                out.content_type = std::string(res[http::field::content_type]);
                out.body = std::move(res.body());
                if (!res.keep_alive()) conn_.close();
                if (opts_.logger)
                    log(log_level::debug, std::string(req.method_string()) + " " + std::string(req.target()) +
                                              " -> " + std::to_string(out.status));
                co_return error_code{};
            }
        }
        conn_.close();
        auto mapped = conn_.failure(ec);
        if (attempt == 0 && reused && mapped == error::connection_closed &&
            (idempotent || !written)) {
            log(log_level::debug, "kept-alive connection was closed by Pebble; reconnecting");
            continue;
        }
        d = diagnostics{};
        d.message = std::string(req.method_string()) + " " + std::string(req.target()) + ": " +
                    transport_message(ec);
        co_return mapped;
    }
}

awaitable<error_code> client_impl::call(http::verb v, std::string target, const json::value* body,
                                        envelope& env, diagnostics& d) {
    auto req = make_request(v, std::move(target));
    if (body) {
        req.set(http::field::content_type, "application/json");
        req.body() = json::serialize(*body);
    }
    http_result r;
    if (auto ec = co_await exchange(req, r, d, v == http::verb::get)) co_return ec;
    co_return parse_envelope(r, env, d);
}

} // namespace detail

// ---- construction ----------------------------------------------------------------------------------

namespace {

// A service of the caller's execution context that outlives nothing: the context shuts its
// services down when it is destroyed, and this one then clears the flag every client on the
// context holds. ~client() reads it to refuse, loudly, to touch a destroyed context.
class context_watch : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;
    explicit context_watch(asio::execution_context& ctx)
        : asio::execution_context::service(ctx), alive_(std::make_shared<std::atomic<bool>>(true)) {}
    std::shared_ptr<std::atomic<bool>> alive() const { return alive_; }

private:
    void shutdown() override { alive_->store(false); }
    std::shared_ptr<std::atomic<bool>> alive_;
};

std::shared_ptr<std::atomic<bool>> watch(const asio::any_io_executor& ex) {
    return asio::use_service<context_watch>(asio::query(ex, asio::execution::context)).alive();
}

} // namespace

client::client(executor_type ex, client_options opts)
    : impl_(std::make_shared<client_impl>(std::move(ex), std::move(opts))) {
    impl_->ctx_alive_ = watch(impl_->inner_);
}

client::client(asio::io_context& ctx, client_options opts)
    : impl_(std::make_shared<client_impl>(ctx.get_executor(), std::move(opts))) {
    impl_->user_ctx_ = &ctx;
    impl_->ctx_alive_ = watch(impl_->inner_);
}

client::client(std::shared_ptr<detail::client_impl> impl) : impl_(std::move(impl)) {}

client::client(client_options opts) {
    auto ctx = std::make_unique<asio::io_context>(1);
    impl_ = std::make_shared<client_impl>(ctx->get_executor(), std::move(opts));
    impl_->own_ctx_ = std::move(ctx);
    auto* c = impl_->own_ctx_.get();
    impl_->own_thread_ = std::thread([c] {
        auto guard = asio::make_work_guard(*c);
        c->run();
    });
}

client::~client() {
    if (!impl_) return;
    if (impl_->ctx_alive_ && !impl_->ctx_alive_->load()) {
        // Its sockets, timers and strand belong to a context that no longer exists: destroying
        // them would be a use after free. Say so instead of corrupting memory.
        std::fputs("redispebble::pebble::client: destroyed after the io_context (execution context) it runs on; "
                   "destroy every client before its context (declare the io_context first)\n",
                   stderr);
        std::abort();
    }
    auto impl = impl_;
    impl->cancel_->cancel();
    if (impl->lane_client_) {
        // The lane's client first (it posts its shutdown to the lane's context), then let that
        // context run what is left so the frames holding the lane's state end, then the context.
        impl->lane_impl_.store(nullptr);
        impl->lane_client_.reset();
        auto lane_ctx = std::move(impl->lane_ctx_);
        lane_ctx->restart();
        lane_ctx->poll();
        lane_ctx.reset();
    }
    if (impl->own_ctx_) {
        asio::post(impl->strand_, [impl] { impl->shutdown(); });
        impl->own_ctx_->stop();
        if (impl->own_thread_.joinable()) impl->own_thread_.join();
        // Let cancelled operations finish so their frames (holding impl) are released.
        auto ctx = std::move(impl->own_ctx_);
        ctx->restart();
        asio::post(impl->strand_, [impl] { impl->shutdown(); });
        ctx->poll();
        impl.reset();
        impl_.reset();
        ctx.reset();
    } else {
        asio::post(impl->strand_, [impl] { impl->shutdown(); });
    }
}

client::executor_type client::get_executor() const noexcept { return impl_->inner_; }
const client_options& client::options() const noexcept { return impl_->opts_; }

void client::close() {
    const auto close_idle = [](std::shared_ptr<client_impl> impl) {
        asio::post(impl->strand_, [impl] {
            if (!impl->busy_) impl->conn_.close();
        });
    };
    close_idle(impl_);
    if (auto* lane = impl_->lane_impl_.load()) close_idle(lane->shared_from_this());
}

void client::cancel() {
    impl_->cancel_->cancel();
    asio::post(impl_->strand_, [impl = impl_] { impl->cancel_all(); });
    // A synchronous call running on the lane: its thread runs the lane's context, so this runs
    // there, between two steps of the operation.
    if (auto* lane = impl_->lane_impl_.load())
        asio::post(lane->strand_, [lane = lane->shared_from_this()] { lane->cancel_all(); });
}

cancellation_watch client::watch_cancellation() const {
    return cancellation_watch(impl_->cancel_, impl_->cancel_->generation.load());
}

bool cancellation_watch::cancelled() const noexcept {
    return !state_ || state_->generation.load() != generation_;
}

std::uint64_t cancellation_watch::on_cancel(std::function<void()> f) const {
    if (!state_) return 0;
    std::lock_guard<std::mutex> lock(state_->m);
    // cancel_state::cancel() bumps the generation before it takes the lock: either this sees the
    // new generation, or cancel() sees the callback.
    if (state_->generation.load() != generation_) return 0;
    const auto id = state_->next_id++;
    state_->callbacks.emplace(id, std::move(f));
    return id;
}

void cancellation_watch::forget(std::uint64_t id) const noexcept {
    if (!state_ || id == 0) return;
    std::lock_guard<std::mutex> lock(state_->m);
    state_->callbacks.erase(id);
}

error_code client::run_blocking_(std::function<void(client&, std::function<void()>)> start, diagnostics& d) {
    // Waiting on the very thread that must do the work would never end: say so instead.
    if ((impl_->own_ctx_ && impl_->own_thread_.get_id() == std::this_thread::get_id()) ||
        (!impl_->user_ctx_ && impl_->running_in_strand()))
        throw std::logic_error("redispebble::pebble::client: a synchronous call from the client's own I/O thread would deadlock; use the async_ form");
    if (!impl_->user_ctx_ && !impl_->own_ctx_) {
        // client(executor, options): only another thread can run the operation. Make sure one does
        // before handing it an operation whose handler refers to this frame.
        const auto fail = [&](std::string why) -> error_code {
            d = diagnostics{};
            d.message = "a synchronous call on client(executor, options) needs another thread running the "
                        "executor, and " + why + "; use client(io_context&, options) or client(options) instead";
            return error::timeout;
        };
        auto inner = impl_->inner_;
        if (auto* ioex = inner.target<asio::io_context::executor_type>(); ioex && ioex->context().stopped())
            return fail("its io_context is stopped");
        auto ran = std::make_shared<std::promise<void>>();
        auto ran_future = ran->get_future();
        asio::post(impl_->strand_, [ran] { ran->set_value(); });
        if (ran_future.wait_for(impl_->opts_.connect_timeout) != std::future_status::ready)
            return fail("nothing ran it within connect_timeout (" + detail::go_duration(impl_->opts_.connect_timeout) + ")");
    }
    if (impl_->own_ctx_) {
        std::unique_lock<std::mutex> lane_lock(impl_->lane_m_, std::try_to_lock);
        if (lane_lock.owns_lock()) {
            if (!impl_->lane_client_) {
                impl_->lane_ctx_ = std::make_unique<asio::io_context>(1);
                auto lane = std::make_shared<client_impl>(impl_->lane_ctx_->get_executor(), impl_->opts_);
                lane->cancel_ = impl_->cancel_;  // client::cancel() reaches the lane's operations too
                lane->user_ctx_ = impl_->lane_ctx_.get();
                impl_->lane_client_.reset(new client(lane));
                impl_->lane_impl_.store(lane.get());
            }
            auto& ctx = *impl_->lane_ctx_;
            bool done = false;
            ctx.restart();
            start(*impl_->lane_client_, [&done] { done = true; });
            // The operation's own deadlines bound this loop; it holds work until it completes.
            while (!done && ctx.run_one() != 0) {
            }
            if (!done) throw std::logic_error("redispebble::pebble::client: an operation ended without completing");
            return {};
        }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::promise<void> p;
    auto f = p.get_future();
    start(*this, [done, &p] {
        done->store(true);
        p.set_value();
    });
    if (auto* ctx = impl_->user_ctx_) {
        while (!done->load()) {
            if (ctx->stopped()) ctx->restart();
            ctx->run_one();
        }
    }
    f.wait();
    return {};
}

} // namespace redispebble::pebble
