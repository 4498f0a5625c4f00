// The Pebble client; see include/redispebble/pebble/client.hpp.
//
// Every operation is one C++20 coroutine spawned on the client's strand: its steps read top to
// bottom (lock the connection, send, read, parse) and the initiators stay thin. Requests are
// serialized by an asynchronous lock, so one kept-alive connection serves concurrent callers.
//
// Over 600 lines for now: the split into one file per API area (as Pebble's Go client/ package;
// issue 9) waits for the transport work on the request path to land, so that it stays a pure move.
#include <redispebble/pebble/client.hpp>
#include <redispebble/pebble/detail/connection.hpp>
#include <redispebble/pebble/detail/envelope.hpp>
#include <redispebble/pebble/detail/exec_sansio.hpp>
#include <redispebble/pebble/detail/json_util.hpp>
#include <redispebble/pebble/detail/multipart.hpp>
#include <redispebble/pebble/detail/wait_change_fsm.hpp>
#include "common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>
#include <map>
#include <mutex>

namespace redispebble::pebble {

namespace detail {

namespace {

/// The piece a pull reads from the socket at once (and the parser decodes into).
constexpr std::size_t pull_chunk = 256 * 1024;
constexpr std::size_t max_json_body = 64 * 1024 * 1024;

bool absolute(const std::string& p) { return !p.empty() && p.front() == '/'; }

bool valid_permissions(const std::string& p) {
    if (p.empty()) return true;
    if (p.size() != 3 && p.size() != 4) return false;
    for (char c : p)
        if (c < '0' || c > '7') return false;
    return true;
}

/// A single-path file call: the first result's error becomes the call's.
error_code first_result_error(const std::vector<file_result>& r, diagnostics& d) {
    if (r.empty()) {
        d.message = "Pebble returned no result";
        return error::bad_envelope;
    }
    if (r.front().ec) d = r.front().diag;
    return r.front().ec;
}

} // namespace

// ---- the shared state of a client ---------------------------------------------------------------

struct http_result {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

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
    auto v = json::parse(body, jec);
    if (jec || !v.is_object() || !v.as_object().contains("type") || !v.as_object().at("type").is_string()) {
        d.message = "HTTP " + std::to_string(http_status) + " response is not a Pebble JSON envelope";
        return error::bad_envelope;
    }
    auto& o = v.as_object();
    env.type = str(o, "type");
    env.change = str(o, "change");
    env.result = o.contains("result") ? o.at("result") : json::value();
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

/// What client::cancel() and ~client share with cancellation_watch and the operations: a
/// generation bumped by each, and the callbacks to call then.
struct cancel_state {
    std::atomic<std::uint64_t> generation{0};
    std::mutex m;
    std::map<std::uint64_t, std::function<void()>> callbacks;
    std::uint64_t next_id = 1;

    void cancel() {
        ++generation;
        std::map<std::uint64_t, std::function<void()>> due;
        {
            std::lock_guard<std::mutex> lock(m);
            due.swap(callbacks);
        }
        for (auto& [id, f] : due) f();
    }
};

class client_impl : public std::enable_shared_from_this<client_impl> {
public:
    client_impl(asio::any_io_executor ex, client_options opts)
        : strand_(asio::make_strand(ex)), opts_(std::move(opts)), conn_(strand_, opts_.socket_path) {}

    asio::strand<asio::any_io_executor> strand_;
    client_options opts_;
    connection conn_;
    asio::io_context* user_ctx_ = nullptr;
    std::unique_ptr<asio::io_context> own_ctx_;
    // False once the execution context the client runs on has shut down (see context_watch).
    std::shared_ptr<std::atomic<bool>> ctx_alive_;
    std::thread own_thread_;
    bool shutdown_ = false;
    std::shared_ptr<cancel_state> cancel_ = std::make_shared<cancel_state>();

    void log(log_level l, std::string_view msg) const {
        if (opts_.logger) opts_.logger(l, msg);
    }

    // ---- the connection lock -----------------------------------------------------------------
    // A FIFO of waiters; unlock() hands the lock to the first one by cancelling its timer.
    struct waiter {
        explicit waiter(const asio::strand<asio::any_io_executor>& ex)
            : timer(ex, asio::steady_timer::time_point::max()) {}
        asio::steady_timer timer;
        bool aborted = false;
    };
    bool busy_ = false;
    std::deque<std::shared_ptr<waiter>> waiters_;

    awaitable<error_code> lock() {
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
    void unlock() {
        if (waiters_.empty()) {
            busy_ = false;
            return;
        }
        auto w = waiters_.front();
        waiters_.pop_front();
        w->timer.cancel();
    }
    struct lock_guard {
        client_impl* c;
        ~lock_guard() { c->unlock(); }
    };

    /// Aborts what runs (by closing the connection) and everything queued.
    void cancel_all() {
        conn_.close();
        auto queued = std::move(waiters_);
        waiters_.clear();
        for (auto& w : queued) {
            w->aborted = true;
            w->timer.cancel();
        }
    }

    void shutdown() {
        shutdown_ = true;
        cancel_all();
    }

    /// What failed, for diagnostics::message: the deadline, or the transport's own message.
    std::string transport_message(error_code ec) const {
        if (conn_.timed_out()) return "no complete answer within request_timeout (" + go_duration(opts_.request_timeout) + ")";
        return ec.message();
    }

    // ---- one exchange ------------------------------------------------------------------------
    http::request<http::string_body> make_request(http::verb v, std::string target, std::string_view accept =
                                                                                      "application/json") {
        http::request<http::string_body> req{v, target, 11};
        req.set(http::field::host, "localhost");
        if (!accept.empty()) req.set(http::field::accept, accept);
        return req;
    }

    /// Sends `req` and reads the whole response. Retries once on a kept-alive connection that
    /// turned out closed when that is safe (idempotent, or nothing reached Pebble).
    awaitable<error_code> exchange(http::request<http::string_body>& req, http_result& out, diagnostics& d,
                                   bool idempotent) {
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

    /// An exchange whose answer is a JSON envelope.
    awaitable<error_code> call(http::verb v, std::string target, const json::value* body, envelope& env,
                               diagnostics& d) {
        auto req = make_request(v, std::move(target));
        if (body) {
            req.set(http::field::content_type, "application/json");
            req.body() = json::serialize(*body);
        }
        http_result r;
        if (auto ec = co_await exchange(req, r, d, v == http::verb::get)) co_return ec;
        co_return parse_envelope(r, env, d);
    }

    // ---- launching an operation ----------------------------------------------------------------
    template <class T>
    using result_t = std::conditional_t<std::is_void_v<T>, error_code, std::pair<error_code, T>>;

    template <class T, class Body>
    void launch(client::handler<T> h, diagnostics* dp, Body body) {
        auto self = shared_from_this();
        auto diag = std::make_shared<diagnostics>();
        // Taken now: a cancel() after this call aborts the operation even before it begins.
        const auto generation = cancel_->generation.load();
        asio::co_spawn(
            strand_,
            [self, diag, generation, body = std::move(body)]() mutable -> awaitable<result_t<T>> {
                if (self->shutdown_ || self->cancel_->generation.load() != generation) {
                    result_t<T> r{};
                    if constexpr (std::is_void_v<T>) r = asio::error::operation_aborted;
                    else r.first = asio::error::operation_aborted;
                    co_return r;
                }
                try {
                    co_return co_await body(*self, *diag);
                } catch (const std::exception& e) {
                    diag->message = std::string("unexpected result from Pebble: ") + e.what();
                }
                result_t<T> r{};
                if constexpr (std::is_void_v<T>) r = error::bad_envelope;
                else r.first = error::bad_envelope;
                co_return r;
            },
            [h = std::move(h), dp, diag](std::exception_ptr ep, result_t<T> r) mutable {
                if (ep) {
                    if constexpr (std::is_void_v<T>) r = error::api_error;
                    else r.first = error::api_error;
                    diag->message = "internal error";
                }
                if (dp) *dp = std::move(*diag);
                auto ex = asio::get_associated_executor(h);
                asio::dispatch(ex, [h = std::move(h), r = std::move(r)]() mutable {
                    if constexpr (std::is_void_v<T>) std::move(h)(r);
                    else std::move(h)(r.first, std::move(r.second));
                });
            });
    }
};

} // namespace detail

using detail::client_impl;
using detail::envelope;

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
    impl_->ctx_alive_ = watch(impl_->strand_.get_inner_executor());
}

client::client(asio::io_context& ctx, client_options opts)
    : impl_(std::make_shared<client_impl>(ctx.get_executor(), std::move(opts))) {
    impl_->user_ctx_ = &ctx;
    impl_->ctx_alive_ = watch(impl_->strand_.get_inner_executor());
}

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

client::executor_type client::get_executor() const noexcept { return impl_->strand_.get_inner_executor(); }
const client_options& client::options() const noexcept { return impl_->opts_; }

void client::close() {
    asio::post(impl_->strand_, [impl = impl_] {
        if (!impl->busy_) impl->conn_.close();
    });
}

void client::cancel() {
    impl_->cancel_->cancel();
    asio::post(impl_->strand_, [impl = impl_] { impl->cancel_all(); });
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

error_code client::run_blocking_(std::function<void(std::function<void()>)> start, diagnostics& d) {
    // Waiting on the very thread that must do the work would never end: say so instead.
    if ((impl_->own_ctx_ && impl_->own_thread_.get_id() == std::this_thread::get_id()) ||
        (!impl_->user_ctx_ && impl_->strand_.running_in_this_thread()))
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
        auto inner = impl_->strand_.get_inner_executor();
        if (auto* ioex = inner.target<asio::io_context::executor_type>(); ioex && ioex->context().stopped())
            return fail("its io_context is stopped");
        auto ran = std::make_shared<std::promise<void>>();
        auto ran_future = ran->get_future();
        asio::post(impl_->strand_, [ran] { ran->set_value(); });
        if (ran_future.wait_for(impl_->opts_.connect_timeout) != std::future_status::ready)
            return fail("nothing ran it within connect_timeout (" + detail::go_duration(impl_->opts_.connect_timeout) + ")");
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::promise<void> p;
    auto f = p.get_future();
    start([done, &p] {
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

// ---- endpoints ----------------------------------------------------------------------------------------

namespace {
using ec_t = error_code;
template <class T>
using res = std::pair<error_code, T>;
} // namespace

void client::system_info_impl(handler<pebble::system_info> h, diagnostics* diag) {
    impl_->launch<pebble::system_info>(std::move(h), diag, [](client_impl& c, diagnostics& d) -> awaitable<res<pebble::system_info>> {
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/system-info", nullptr, env, d)) co_return res<pebble::system_info>{ec, {}};
        auto& o = env.result.as_object();
        co_return res<pebble::system_info>{{}, {detail::str(o, "boot-id"), detail::str(o, "version")}};
    });
}

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

void client::list_services_impl(handler<std::vector<service_info>> h, diagnostics* diag, services_options opts) {
    using R = std::vector<service_info>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        if (!opts.names.empty()) q.add("names", detail::join(opts.names));
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/services" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) {
            auto& o = e.as_object();
            r.push_back({detail::str(o, "name"), detail::str(o, "startup"), detail::str(o, "current"),
                         detail::str(o, "current-since")});
        }
        co_return res<R>{{}, std::move(r)};
    });
}

namespace {
void services_action(std::shared_ptr<client_impl>& impl, client::handler<std::string> h, diagnostics* diag,
                     std::string action, std::optional<std::vector<std::string>> names) {
    impl->launch<std::string>(std::move(h), diag, [action = std::move(action), names = std::move(names)](
                                                      client_impl& c, diagnostics& d) -> awaitable<res<std::string>> {
        if (names && names->empty())
            co_return res<std::string>{detail::invalid(d, "service_options.names", action + " needs at least one service"), {}};
        json::object b;
        b["action"] = action;
        if (names) b["services"] = detail::to_array(*names);
        json::value body(std::move(b));
        envelope env;
        if (auto ec = co_await c.call(http::verb::post, "/v1/services", &body, env, d)) co_return res<std::string>{ec, {}};
        if (env.type != "async" || env.change.empty()) {
            d.message = "expected an async response with a change id";
            co_return res<std::string>{error::bad_envelope, {}};
        }
        co_return res<std::string>{{}, env.change};
    });
}
} // namespace

void client::start_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "start", std::move(opts.names));
}
void client::stop_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "stop", std::move(opts.names));
}
void client::restart_impl(handler<std::string> h, diagnostics* diag, service_options opts) {
    services_action(impl_, std::move(h), diag, "restart", std::move(opts.names));
}
void client::replan_impl(handler<std::string> h, diagnostics* diag) {
    services_action(impl_, std::move(h), diag, "replan", std::nullopt);
}
void client::autostart_impl(handler<std::string> h, diagnostics* diag) {
    services_action(impl_, std::move(h), diag, "autostart", std::nullopt);
}

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

// ---- files ------------------------------------------------------------------------------------------

push_file push_file::from_string(std::string path, std::string content) {
    push_file f;
    f.path = std::move(path);
    f.size = content.size();
    auto data = std::make_shared<std::string>(std::move(content));
    auto pos = std::make_shared<std::size_t>(0);
    f.source = [data, pos](std::span<char> out) {
        auto n = std::min(out.size(), data->size() - *pos);
        std::copy_n(data->data() + *pos, n, out.data());
        *pos += n;
        return n;
    };
    return f;
}

push_file push_file::from_path(std::string path, std::string local_path) {
    push_file f;
    f.path = std::move(path);
    f.local_path = std::move(local_path);
    return f;
}

namespace {

json::object owner_fields(json::object o, const std::string& permissions, const std::optional<std::uint32_t>& user_id,
                          const std::string& user, const std::optional<std::uint32_t>& group_id, const std::string& group) {
    if (!permissions.empty()) o["permissions"] = permissions;
    if (user_id) o["user-id"] = *user_id;
    if (!user.empty()) o["user"] = user;
    if (group_id) o["group-id"] = *group_id;
    if (!group.empty()) o["group"] = group;
    return o;
}

std::string random_boundary() {
    static const char* hex = "0123456789abcdef";
    std::random_device rd;
    std::string b = "redispebble-";
    for (int i = 0; i < 40; ++i) b += hex[rd() % 16];
    return b;  // 52 characters; Pebble wants at least 32
}

} // namespace

void client::push_impl(handler<std::vector<file_result>> h, diagnostics* diag, push_options opts) {
    using R = std::vector<file_result>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) mutable -> awaitable<res<R>> {
        if (opts.files.empty()) co_return res<R>{detail::invalid(d, "push_options.files", "must not be empty"), {}};
        json::array meta;
        std::vector<std::optional<std::uint64_t>> sizes;
        for (std::size_t i = 0; i < opts.files.size(); ++i) {
            auto& f = opts.files[i];
            auto field = "push_options.files[" + std::to_string(i) + "]";
            if (!detail::absolute(f.path)) co_return res<R>{detail::invalid(d, field + ".path", "must be an absolute path"), {}};
            if (!detail::valid_permissions(f.permissions))
                co_return res<R>{detail::invalid(d, field + ".permissions", "must be 3 or 4 octal digits"), {}};
            if (f.local_path.empty() == !f.source)
                co_return res<R>{detail::invalid(d, field, "give exactly one of local_path and source"), {}};
            if (!f.local_path.empty()) {
                std::error_code fec;
                auto sz = std::filesystem::file_size(f.local_path, fec);
                if (fec) {
                    d = diagnostics{};
                    d.message = "cannot read " + f.local_path + ": " + fec.message();
                    co_return res<R>{error::local_file_error, {}};
                }
                sizes.emplace_back(sz);
            } else {
                sizes.push_back(f.size);
            }
            json::object o{{"path", f.path}};
            if (f.make_dirs) o["make-dirs"] = true;
            meta.emplace_back(owner_fields(std::move(o), f.permissions, f.user_id, f.user, f.group_id, f.group));
        }
        const auto boundary = random_boundary();
        const std::string meta_json = json::serialize(json::object{{"action", "write"}, {"files", std::move(meta)}});
        const std::string request_part = "--" + boundary +
                                         "\r\nContent-Disposition: form-data; name=\"request\"\r\nContent-Type: "
                                         "application/json\r\n\r\n" +
                                         meta_json + "\r\n";
        auto file_head = [&](const push_file& f) {
            return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" +
                   detail::escape_quotes(f.path) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
        };
        const std::string closing = "--" + boundary + "--\r\n";
        std::optional<std::uint64_t> total = request_part.size() + closing.size();
        for (std::size_t i = 0; i < opts.files.size(); ++i) {
            if (!sizes[i] || !total) total.reset();
            else *total += file_head(opts.files[i]).size() + *sizes[i] + 2;
        }

        if (auto ec = co_await c.lock()) co_return res<R>{ec, {}};
        client_impl::lock_guard guard{&c};
        if (auto ec = co_await c.conn_.ensure_open(c.opts_.connect_timeout)) {
            d = diagnostics{};
            d.message = detail::connect_failure_message(c.opts_.socket_path, ec);
            co_return res<R>{ec, {}};
        }
        auto& stream = c.conn_.stream();
        http::request<http::buffer_body> req{http::verb::post, "/v1/files", 11};
        req.set(http::field::host, "localhost");
        req.set(http::field::accept, "application/json");
        req.set(http::field::content_type, "multipart/form-data; boundary=" + boundary);
        if (total) req.content_length(*total);
        else req.chunked(true);
        req.body().data = nullptr;
        req.body().more = true;
        http::request_serializer<http::buffer_body> sr{req};
        error_code ec;
        auto fail_transport = [&](error_code e) -> res<R> {
            d = diagnostics{};
            d.message = "POST /v1/files: " + c.transport_message(e);
            auto mapped = c.conn_.failure(e);
            c.conn_.close();
            return res<R>{mapped, {}};
        };
        // One deadline for the exchange, moved on by each piece of the body that is written.
        detail::connection::deadline deadline(c.conn_, c.opts_.request_timeout);
        co_await http::async_write_header(stream, sr, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        auto send = [&](const char* p, std::size_t n) -> awaitable<error_code> {
            error_code wec;
            req.body().data = const_cast<char*>(p);
            req.body().size = n;
            req.body().more = true;
            c.conn_.touch();
            co_await http::async_write(stream, sr, detail::redirect(wec));
            if (wec == http::error::need_buffer) wec = {};
            co_return wec;
        };
        if ((ec = co_await send(request_part.data(), request_part.size()))) co_return fail_transport(ec);
        std::vector<char> buf(detail::io_chunk);
        for (std::size_t i = 0; i < opts.files.size(); ++i) {
            auto& f = opts.files[i];
            auto head = file_head(f);
            if ((ec = co_await send(head.data(), head.size()))) co_return fail_transport(ec);
            std::ifstream in;
            if (!f.local_path.empty()) {
                in.open(f.local_path, std::ios::binary);
                if (!in) {
                    c.conn_.close();
                    d = diagnostics{};
                    d.message = "cannot open " + f.local_path;
                    co_return res<R>{error::local_file_error, {}};
                }
            }
            std::uint64_t sent = 0;
            for (;;) {
                std::size_t n = 0;
                std::string source_error;
                if (in.is_open()) {
                    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
                    n = static_cast<std::size_t>(in.gcount());
                    if (n == 0 && in.bad()) source_error = "cannot read " + f.local_path;
                } else {
                    try {
                        n = f.source(std::span<char>(buf.data(), buf.size()));
                        if (n > buf.size()) source_error = "source returned more bytes than asked";
                    } catch (const std::exception& e) {
                        source_error = std::string("source failed: ") + e.what();
                    }
                }
                if (!source_error.empty() || (sizes[i] && sent + n > *sizes[i])) {
                    c.conn_.close();
                    d = diagnostics{};
                    d.message = "push of " + f.path + ": " + (source_error.empty() ? "more data than its size" : source_error);
                    co_return res<R>{error::local_file_error, {}};
                }
                if (n == 0) break;
                sent += n;
                if ((ec = co_await send(buf.data(), n))) co_return fail_transport(ec);
            }
            if (sizes[i] && sent != *sizes[i]) {
                c.conn_.close();
                d = diagnostics{};
                d.message = "push of " + f.path + ": less data than its size";
                co_return res<R>{error::local_file_error, {}};
            }
            if ((ec = co_await send("\r\n", 2))) co_return fail_transport(ec);
        }
        if ((ec = co_await send(closing.data(), closing.size()))) co_return fail_transport(ec);
        req.body().data = nullptr;
        req.body().size = 0;
        req.body().more = false;
        c.conn_.touch();
        co_await http::async_write(stream, sr, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);

        http::response_parser<http::string_body> p;
        p.body_limit(detail::max_json_body);
        co_await http::async_read(stream, c.conn_.buffer(), p, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        if (!p.get().keep_alive()) c.conn_.close();
        detail::http_result hr{p.get().result_int(), std::string(p.get()[http::field::content_type]), std::move(p.get().body())};
        envelope env;
        if (auto eec = detail::parse_envelope(hr, env, d)) co_return res<R>{eec, {}};
        co_return res<R>{{}, detail::to_file_results(env.result)};
    });
}

void client::pull_impl(handler<std::vector<file_result>> h, diagnostics* diag, pull_options opts) {
    using R = std::vector<file_result>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) mutable -> awaitable<res<R>> {
        if (opts.files.empty()) co_return res<R>{detail::invalid(d, "pull_options.files", "must not be empty"), {}};
        detail::query q;
        q.add("action", "read");
        std::map<std::string, std::size_t> index;
        for (std::size_t i = 0; i < opts.files.size(); ++i) {
            auto& f = opts.files[i];
            auto field = "pull_options.files[" + std::to_string(i) + "]";
            if (!detail::absolute(f.path)) co_return res<R>{detail::invalid(d, field + ".path", "must be an absolute path"), {}};
            if (f.local_path.empty() == !f.sink)
                co_return res<R>{detail::invalid(d, field, "give exactly one of local_path and sink"), {}};
            q.add("path", f.path);
            index[f.path] = i;
        }
        if (auto ec = co_await c.lock()) co_return res<R>{ec, {}};
        client_impl::lock_guard guard{&c};
        if (auto ec = co_await c.conn_.ensure_open(c.opts_.connect_timeout)) {
            d = diagnostics{};
            d.message = detail::connect_failure_message(c.opts_.socket_path, ec);
            co_return res<R>{ec, {}};
        }
        auto& stream = c.conn_.stream();
        auto req = c.make_request(http::verb::get, "/v1/files" + q.s, "multipart/form-data");
        req.prepare_payload();
        error_code ec;
        auto fail_transport = [&](error_code e) -> res<R> {
            d = diagnostics{};
            d.message = "GET /v1/files: " + c.transport_message(e);
            auto mapped = c.conn_.failure(e);
            c.conn_.close();
            return res<R>{mapped, {}};
        };
        // One deadline for the exchange, moved on by each piece of the body that is read.
        detail::connection::deadline deadline(c.conn_, c.opts_.request_timeout);
        co_await http::async_write(stream, req, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        http::response_parser<http::buffer_body> p;
        p.body_limit(boost::none);
        co_await http::async_read_header(stream, c.conn_.buffer(), p, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        const auto boundary = detail::multipart_boundary(p.get()[http::field::content_type]);
        std::vector<char> buf(detail::pull_chunk);
        // Reads the body piece by piece into `consume`: large reads straight from the socket into
        // the connection's buffer, which the parser decodes (Content-Length or chunked) into `buf`.
        // (Beast's async_read reads at most 64 KiB, and less when its buffer is small, and costs a
        // completion per piece; a 256 MiB pull took 4x longer than curl that way.)
        auto& fb = c.conn_.buffer();
        auto read_body = [&](auto consume) -> awaitable<error_code> {
            while (!p.is_done()) {
                if (fb.size() > 0) {
                    p.get().body().data = buf.data();
                    p.get().body().size = buf.size();
                    error_code pec;
                    const auto used = p.put(fb.data(), pec);
                    fb.consume(used);
                    const auto got = buf.size() - p.get().body().size;
                    if (pec && pec != http::error::need_buffer && pec != http::error::need_more) co_return pec;
                    if (got > 0) consume(std::string_view(buf.data(), got));
                    if (pec != http::error::need_more && (used > 0 || got > 0)) continue;
                }
                if (p.is_done()) break;
                error_code rec;
                c.conn_.touch();
                const auto n = co_await stream.socket().async_read_some(fb.prepare(detail::pull_chunk), detail::redirect(rec));
                fb.commit(n);
                if (rec == asio::error::eof) {
                    rec = {};
                    p.put_eof(rec);  // partial_message unless the body ends with the connection
                    if (rec) co_return rec;
                    if (!p.is_done()) co_return http::error::partial_message;
                } else if (rec) {
                    co_return rec;
                }
            }
            co_return error_code{};
        };
        if (boundary.empty()) {
            // An error envelope (400 without Accept, 404, ...): small, read it whole.
            std::string body;
            bool too_big = false;
            ec = co_await read_body([&](std::string_view s) {
                if (body.size() + s.size() > detail::max_json_body) too_big = true;
                else body.append(s);
            });
            if (ec) co_return fail_transport(ec);
            if (!p.get().keep_alive()) c.conn_.close();
            detail::http_result hr{p.get().result_int(), std::string(p.get()[http::field::content_type]), std::move(body)};
            envelope env;
            auto eec = too_big ? error_code(error::bad_envelope) : detail::parse_envelope(hr, env, d);
            if (!eec) {
                d.message = "file read answered without a multipart body";
                eec = error::bad_multipart;
            }
            co_return res<R>{eec, {}};
        }
        detail::multipart_parser mp(boundary);
        std::string response_json;
        bool in_response = false;
        std::optional<std::size_t> current;
        std::ofstream out;
        std::vector<std::string> local_errors(opts.files.size());
        std::vector<bool> received(opts.files.size(), false);
        mp.on_part = [&](const detail::part_header& ph) {
            current.reset();
            in_response = ph.name == "response";
            if (ph.name != "files") return;
            auto it = index.find(ph.filename);
            if (it == index.end()) return;
            current = it->second;
            received[*current] = true;
            auto& f = opts.files[*current];
            if (!f.local_path.empty()) {
                out.open(f.local_path, std::ios::binary | std::ios::trunc);
                if (!out) local_errors[*current] = "cannot open " + f.local_path + " for writing";
            }
        };
        mp.on_data = [&](std::span<const char> s) {
            if (in_response) {
                if (response_json.size() + s.size() <= detail::max_json_body) response_json.append(s.data(), s.size());
                return;
            }
            if (!current) return;
            auto& f = opts.files[*current];
            if (f.sink) {
                if (!local_errors[*current].empty()) return;
                try {
                    f.sink(s);
                } catch (const std::exception& e) {
                    local_errors[*current] = std::string("sink failed: ") + e.what();
                }
            } else if (out.is_open()) {
                out.write(s.data(), static_cast<std::streamsize>(s.size()));
                if (!out && local_errors[*current].empty()) local_errors[*current] = "cannot write " + f.local_path;
            }
        };
        mp.on_part_end = [&] {
            if (out.is_open()) {
                out.close();
                if (!out && current && local_errors[*current].empty())
                    local_errors[*current] = "cannot write " + opts.files[*current].local_path;
            }
            current.reset();
            in_response = false;
        };
        bool bad = false;
        ec = co_await read_body([&](std::string_view s) {
            if (!bad && !mp.feed(s)) bad = true;
        });
        if (ec) co_return fail_transport(ec);
        if (!p.get().keep_alive()) c.conn_.close();
        if (bad || !mp.done()) {
            d = diagnostics{};
            d.status_code = static_cast<int>(p.get().result_int());
            d.message = bad ? mp.error() : "multipart body ended early";
            co_return res<R>{error::bad_multipart, {}};
        }
        detail::http_result hr{p.get().result_int(), "application/json", std::move(response_json)};
        envelope env;
        if (auto eec = detail::parse_envelope(hr, env, d)) co_return res<R>{eec, {}};
        auto results = detail::to_file_results(env.result);
        for (auto& r : results) {
            auto it = index.find(r.path);
            if (it == index.end() || r.ec) continue;
            if (!local_errors[it->second].empty()) {
                r.ec = error::local_file_error;
                r.diag.message = local_errors[it->second];
            } else if (!received[it->second]) {
                r.ec = error::bad_multipart;
                r.diag.message = "no content received for " + r.path;
            }
        }
        co_return res<R>{{}, std::move(results)};
    });
}

void client::list_files_impl(handler<std::vector<file_info>> h, diagnostics* diag, list_files_options opts) {
    using R = std::vector<file_info>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        if (!detail::absolute(opts.path)) co_return res<R>{detail::invalid(d, "list_files_options.path", "must be an absolute path"), {}};
        detail::query q;
        q.add("action", "list").add("path", opts.path);
        if (!opts.pattern.empty()) q.add("pattern", opts.pattern);
        if (opts.itself) q.add("itself", "true");
        envelope env;
        if (auto ec = co_await c.call(http::verb::get, "/v1/files" + q.s, nullptr, env, d)) co_return res<R>{ec, {}};
        R r;
        for (auto& e : env.result.as_array()) {
            auto& o = e.as_object();
            file_info f;
            f.path = detail::str(o, "path");
            f.name = detail::str(o, "name");
            f.type = detail::str(o, "type");
            f.size = detail::opt_num(o, "size");
            f.permissions = detail::str(o, "permissions");
            f.last_modified = detail::str(o, "last-modified");
            f.user_id = detail::opt_int<std::uint32_t>(o, "user-id");
            f.user = detail::str(o, "user");
            f.group_id = detail::opt_int<std::uint32_t>(o, "group-id");
            f.group = detail::str(o, "group");
            r.push_back(std::move(f));
        }
        co_return res<R>{{}, std::move(r)};
    });
}

namespace {
awaitable<res<std::vector<file_result>>> make_dirs_body(client_impl& c, diagnostics& d, const std::vector<make_dir_options>& dirs) {
    using R = std::vector<file_result>;
    if (dirs.empty()) co_return res<R>{detail::invalid(d, "dirs", "must not be empty"), {}};
    json::array a;
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        auto& m = dirs[i];
        auto field = "dirs[" + std::to_string(i) + "]";
        if (!detail::absolute(m.path)) co_return res<R>{detail::invalid(d, field + ".path", "must be an absolute path"), {}};
        if (!detail::valid_permissions(m.permissions))
            co_return res<R>{detail::invalid(d, field + ".permissions", "must be 3 or 4 octal digits"), {}};
        json::object o{{"path", m.path}};
        if (m.make_parents) o["make-parents"] = true;
        a.emplace_back(owner_fields(std::move(o), m.permissions, m.user_id, m.user, m.group_id, m.group));
    }
    json::value body(json::object{{"action", "make-dirs"}, {"dirs", std::move(a)}});
    envelope env;
    if (auto ec = co_await c.call(http::verb::post, "/v1/files", &body, env, d)) co_return res<R>{ec, {}};
    co_return res<R>{{}, detail::to_file_results(env.result)};
}

awaitable<res<std::vector<file_result>>> remove_body(client_impl& c, diagnostics& d, const std::vector<remove_path_options>& paths) {
    using R = std::vector<file_result>;
    if (paths.empty()) co_return res<R>{detail::invalid(d, "paths", "must not be empty"), {}};
    json::array a;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        if (!detail::absolute(paths[i].path))
            co_return res<R>{detail::invalid(d, "paths[" + std::to_string(i) + "].path", "must be an absolute path"), {}};
        json::object o{{"path", paths[i].path}};
        if (paths[i].recursive) o["recursive"] = true;
        a.emplace_back(std::move(o));
    }
    json::value body(json::object{{"action", "remove"}, {"paths", std::move(a)}});
    envelope env;
    if (auto ec = co_await c.call(http::verb::post, "/v1/files", &body, env, d)) co_return res<R>{ec, {}};
    co_return res<R>{{}, detail::to_file_results(env.result)};
}
} // namespace

void client::make_dirs_impl(handler<std::vector<file_result>> h, diagnostics* diag, std::vector<make_dir_options> dirs) {
    using R = std::vector<file_result>;
    impl_->launch<R>(std::move(h), diag, [dirs = std::move(dirs)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        co_return co_await make_dirs_body(c, d, dirs);
    });
}

void client::make_dir_impl(handler<void> h, diagnostics* diag, make_dir_options dir) {
    impl_->launch<void>(std::move(h), diag, [dir = std::move(dir)](client_impl& c, diagnostics& d) -> awaitable<ec_t> {
        std::vector<make_dir_options> one{dir};
        auto r = co_await make_dirs_body(c, d, one);
        if (r.first) co_return r.first;
        co_return detail::first_result_error(r.second, d);
    });
}

void client::remove_paths_impl(handler<std::vector<file_result>> h, diagnostics* diag, std::vector<remove_path_options> paths) {
    using R = std::vector<file_result>;
    impl_->launch<R>(std::move(h), diag, [paths = std::move(paths)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        co_return co_await remove_body(c, d, paths);
    });
}

void client::remove_path_impl(handler<void> h, diagnostics* diag, remove_path_options path) {
    impl_->launch<void>(std::move(h), diag, [path = std::move(path)](client_impl& c, diagnostics& d) -> awaitable<ec_t> {
        std::vector<remove_path_options> one{path};
        auto r = co_await remove_body(c, d, one);
        if (r.first) co_return r.first;
        co_return detail::first_result_error(r.second, d);
    });
}

// ---- checks, signals, notices, logs, identities -------------------------------------------------------

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

void client::send_signal_impl(handler<void> h, diagnostics* diag, send_signal_options opts) {
    impl_->launch<void>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<ec_t> {
        if (opts.signal.empty()) co_return detail::invalid(d, "send_signal_options.signal", "must not be empty");
        if (opts.services.empty()) co_return detail::invalid(d, "send_signal_options.services", "must name at least one service");
        json::value body(json::object{{"signal", opts.signal}, {"services", detail::to_array(opts.services)}});
        envelope env;
        co_return co_await c.call(http::verb::post, "/v1/signals", &body, env, d);
    });
}

void client::notices_impl(handler<std::vector<pebble::notice>> h, diagnostics* diag, notices_options opts) {
    using R = std::vector<pebble::notice>;
    impl_->launch<R>(std::move(h), diag, [opts = std::move(opts)](client_impl& c, diagnostics& d) -> awaitable<res<R>> {
        detail::query q;
        if (!opts.users.empty()) q.add("users", opts.users);
        if (opts.user_id) q.add("user-id", std::to_string(*opts.user_id));
        for (auto& t : opts.types) q.add("types", t);
        for (auto& k : opts.keys) q.add("keys", k);
        if (!opts.after.empty()) q.add("after", opts.after);
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
        // The same ndjson reader as logs following (exec.cpp); the last line needs no newline here.
        R r;
        std::string pending = std::move(hr.body);
        if (!pending.empty() && pending.back() != '\n') pending += '\n';
        if (!detail::parse_log_lines(pending, r, d)) co_return res<R>{error::bad_envelope, {}};
        co_return res<R>{{}, std::move(r)};
    });
}

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
