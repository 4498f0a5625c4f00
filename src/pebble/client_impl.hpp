// What the client's files share (private, not installed): the shared state of a client
// (detail::client_impl: the connection, its lock, one exchange, launching an operation) and the
// shorthands of the endpoint files (one per API area, as Pebble's Go client/ package).
//
// client_impl's member functions are defined in client.cpp, except the one-liners and launch(): a
// template that each endpoint file instantiates with its own coroutine.
#ifndef REDISPEBBLE_SRC_PEBBLE_CLIENT_IMPL_HPP
#define REDISPEBBLE_SRC_PEBBLE_CLIENT_IMPL_HPP

#include <redispebble/pebble/client.hpp>
#include <redispebble/pebble/detail/connection.hpp>
#include <redispebble/pebble/detail/envelope.hpp>
#include <redispebble/pebble/detail/json_util.hpp>
#include "common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace redispebble::pebble {

namespace detail {

/// The largest JSON answer read whole (every envelope, and the JSON part of a pull).
inline constexpr std::size_t max_json_body = 64 * 1024 * 1024;

struct http_result {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

/// parse_envelope (detail/envelope.hpp) of a whole HTTP answer.
error_code parse_envelope(const http_result& r, envelope& env, diagnostics& d);

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
        : inner_(ex), strand_(make_serial(ex)), opts_(std::move(opts)), conn_(strand_, opts_.socket_path) {}

    // The executor the client was given, and the strand over it on which every operation runs.
    // Over an io_context's own executor (the usual case) the strand is a
    // strand<io_context::executor_type>: 24 bytes, which an any_io_executor holds in place. A
    // strand<any_io_executor> (72 bytes) went to the heap each time Asio copied the executor or
    // asked it for outstanding work: about 260 allocations per reconciled unit (bench_units).
    asio::any_io_executor inner_;
    asio::any_io_executor strand_;

    static asio::any_io_executor make_serial(const asio::any_io_executor& ex) {
        if (const auto* io = ex.target<asio::io_context::executor_type>()) return asio::make_strand(*io);
        return asio::make_strand(ex);
    }
    /// strand::running_in_this_thread() of strand_, whichever strand it is.
    bool running_in_strand() const {
        if (const auto* s = strand_.target<asio::strand<asio::io_context::executor_type>>()) return s->running_in_this_thread();
        if (const auto* s = strand_.target<asio::strand<asio::any_io_executor>>()) return s->running_in_this_thread();
        return false;
    }
    client_options opts_;
    connection conn_;
    asio::io_context* user_ctx_ = nullptr;
    std::unique_ptr<asio::io_context> own_ctx_;
    // False once the execution context the client runs on has shut down (see context_watch).
    std::shared_ptr<std::atomic<bool>> ctx_alive_;
    std::thread own_thread_;
    bool shutdown_ = false;
    std::shared_ptr<cancel_state> cancel_ = std::make_shared<cancel_state>();

    // ---- the caller's lane (client(options) only) --------------------------------------------
    // A synchronous call on client(options) runs on the calling thread, not on the I/O thread:
    // handing an operation to another thread and waiting for it costs two thread wake-ups per
    // call, which measured 1.7x the coroutine form's time per request against an in-process
    // server and 1.5x against real Pebble (docs/performance.md). The lane is a second client on
    // a private io_context that the calling thread runs, with its own kept-alive connection. One
    // thread uses it at a time (lane_m_); a second concurrent synchronous call hands off to the
    // I/O thread as before. It shares cancel_ and the options; created on first use.
    std::mutex lane_m_;                                  // held for a whole synchronous call on the lane
    std::unique_ptr<asio::io_context> lane_ctx_;         // declared before lane_client_: outlives it
    std::unique_ptr<client> lane_client_;
    std::atomic<client_impl*> lane_impl_{nullptr};       // for cancel() and close() from other threads

    void log(log_level l, std::string_view msg) const {
        if (opts_.logger) opts_.logger(l, msg);
    }

    // ---- the connection lock -----------------------------------------------------------------
    // A FIFO of waiters; unlock() hands the lock to the first one by cancelling its timer.
    struct waiter {
        explicit waiter(const asio::any_io_executor& ex)
            : timer(ex, asio::steady_timer::time_point::max()) {}
        asio::steady_timer timer;
        bool aborted = false;
    };
    bool busy_ = false;
    // A list, not a deque: a deque allocates a 512-byte block and its map when constructed, for
    // every client (1000 units: half a megabyte), though a second caller rarely waits.
    std::list<std::shared_ptr<waiter>> waiters_;

    awaitable<error_code> lock();
    void unlock();
    struct lock_guard {
        client_impl* c;
        ~lock_guard() { c->unlock(); }
    };

    /// Aborts what runs (by closing the connection) and everything queued.
    void cancel_all();

    void shutdown();

    /// What failed, for diagnostics::message: the deadline, or the transport's own message.
    std::string transport_message(error_code ec) const;

    // ---- one exchange ------------------------------------------------------------------------
    http::request<http::string_body> make_request(http::verb v, std::string target,
                                                  std::string_view accept = "application/json");

    /// Sends `req` and reads the whole response. Retries once on a kept-alive connection that
    /// turned out closed when that is safe (idempotent, or nothing reached Pebble).
    awaitable<error_code> exchange(http::request<http::string_body>& req, http_result& out, diagnostics& d,
                                   bool idempotent);

    /// An exchange whose answer is a JSON envelope.
    awaitable<error_code> call(http::verb v, std::string target, const json::value* body, envelope& env,
                               diagnostics& d);

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

// The shorthands of the endpoint files.
using detail::client_impl;
using detail::envelope;
using ec_t = error_code;
template <class T>
using res = std::pair<error_code, T>;

} // namespace redispebble::pebble

#endif
