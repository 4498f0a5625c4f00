// The Pebble client: the whole REST API over Pebble's Unix socket.
//
// One kept-alive HTTP/1.1 connection, reconnected when Pebble closed it; calls are queued and run
// one at a time, so any number of concurrent calls on one client is safe. Every call comes in four
// forms: `async_x(..., token)` (any completion token: callbacks, use_future, deferred,
// use_awaitable), `async_x(..., diagnostics&, token)`, `x(...)` (throws api_exception) and
// `x(..., error_code&, diagnostics* = nullptr)`.
//
// Lifetimes: the client must outlive its operations; arguments are copied/moved into the operation.
// Destroying the client cancels what is queued or running (handlers get operation_aborted).
#ifndef REDISPEBBLE_PEBBLE_CLIENT_HPP
#define REDISPEBBLE_PEBBLE_CLIENT_HPP

#include <redispebble/pebble/error.hpp>
#include <redispebble/pebble/options.hpp>
#include <redispebble/pebble/types.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace redispebble::pebble {

namespace detail {
template <class T>
struct signature_of { using type = void(error_code, T); };
template <>
struct signature_of<void> { using type = void(error_code); };
class client_impl;
} // namespace detail

/// A Pebble API client over its Unix socket (Go's `client.Client`).
class client {
public:
    using executor_type = boost::asio::any_io_executor;
    using default_token = boost::asio::default_completion_token_t<executor_type>;
    template <class T>
    using handler = boost::asio::any_completion_handler<typename detail::signature_of<T>::type>;

    /// A client whose operations run on `ex`. Synchronous calls then block on a future: `ex` must
    /// be run by another thread.
    client(executor_type ex, client_options opts);
    /// A client on `ctx`. Synchronous calls run `ctx` themselves while they wait (fine whether or
    /// not other threads run it too).
    client(boost::asio::io_context& ctx, client_options opts);
    /// A client with its own io_context and thread: the simplest for synchronous use.
    explicit client(client_options opts);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    executor_type get_executor() const noexcept;
    const client_options& options() const noexcept;
    /// Closes the kept-alive connection (the next call reconnects).
    void close();
    /// Cancels every queued or running operation (they complete with operation_aborted).
    void cancel();

    /// `GET /v1/system-info`: Pebble's version and boot id.
    /// Handler: `void(error_code, pebble::system_info)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_system_info(Token&& token = default_token{}) {
        return initiate_<pebble::system_info>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { system_info_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_system_info(diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<pebble::system_info>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { system_info_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous system_info: throws api_exception.
    pebble::system_info system_info() {
        return sync_<pebble::system_info>([&](handler<pebble::system_info> h, diagnostics* d) { system_info_impl(std::move(h), d); }, nullptr, nullptr);
    }
    /// Synchronous system_info: sets ec (and *diag) instead of throwing.
    pebble::system_info system_info(error_code& ec, diagnostics* diag = nullptr) {
        return sync_<pebble::system_info>([&](handler<pebble::system_info> h, diagnostics* d) { system_info_impl(std::move(h), d); }, &ec, diag);
    }

    /// `GET /v1/health`: true when healthy; an unhealthy 502 is `false`, not an error.
    /// Handler: `void(error_code, bool)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_health(health_options opts, Token&& token = default_token{}) {
        return initiate_<bool>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { health_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_health(health_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<bool>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { health_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous health: throws api_exception.
    bool health(health_options opts) {
        return sync_<bool>([&](handler<bool> h, diagnostics* d) { health_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous health: sets ec (and *diag) instead of throwing.
    bool health(health_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<bool>([&](handler<bool> h, diagnostics* d) { health_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/plan?format=yaml`: the combined plan as Pebble's YAML ("{}\n" when empty).
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_plan(Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { plan_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_plan(diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { plan_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous plan: throws api_exception.
    std::string plan() {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { plan_impl(std::move(h), d); }, nullptr, nullptr);
    }
    /// Synchronous plan: sets ec (and *diag) instead of throwing.
    std::string plan(error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { plan_impl(std::move(h), d); }, &ec, diag);
    }

    /// `POST /v1/layers`: adds (or with combine, merges) a layer. Empty label: invalid_option.
    /// Handler: `void(error_code)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_add_layer(add_layer_options opts, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { add_layer_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_add_layer(add_layer_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { add_layer_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous add_layer: throws api_exception.
    void add_layer(add_layer_options opts) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { add_layer_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous add_layer: sets ec (and *diag) instead of throwing.
    void add_layer(add_layer_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { add_layer_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/services`: sorted by name; unknown names are simply absent.
    /// Handler: `void(error_code, std::vector<service_info>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_list_services(services_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<service_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { list_services_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_list_services(services_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<service_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { list_services_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous list_services: throws api_exception.
    std::vector<service_info> list_services(services_options opts) {
        return sync_<std::vector<service_info>>([&](handler<std::vector<service_info>> h, diagnostics* d) { list_services_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous list_services: sets ec (and *diag) instead of throwing.
    std::vector<service_info> list_services(services_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<service_info>>([&](handler<std::vector<service_info>> h, diagnostics* d) { list_services_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/services` start: completes with the change id. Empty names: invalid_option.
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_start(service_options opts, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { start_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_start(service_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { start_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous start: throws api_exception.
    std::string start(service_options opts) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { start_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous start: sets ec (and *diag) instead of throwing.
    std::string start(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { start_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/services` stop: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_stop(service_options opts, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { stop_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_stop(service_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { stop_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous stop: throws api_exception.
    std::string stop(service_options opts) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { stop_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous stop: sets ec (and *diag) instead of throwing.
    std::string stop(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { stop_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/services` restart: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_restart(service_options opts, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { restart_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_restart(service_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { restart_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous restart: throws api_exception.
    std::string restart(service_options opts) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { restart_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous restart: sets ec (and *diag) instead of throwing.
    std::string restart(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { restart_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/services` replan: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_replan(Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { replan_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_replan(diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { replan_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous replan: throws api_exception.
    std::string replan() {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { replan_impl(std::move(h), d); }, nullptr, nullptr);
    }
    /// Synchronous replan: sets ec (and *diag) instead of throwing.
    std::string replan(error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { replan_impl(std::move(h), d); }, &ec, diag);
    }

    /// `POST /v1/services` autostart: the change id (no_default_services when none is enabled).
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_autostart(Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { autostart_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_autostart(diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { autostart_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous autostart: throws api_exception.
    std::string autostart() {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { autostart_impl(std::move(h), d); }, nullptr, nullptr);
    }
    /// Synchronous autostart: sets ec (and *diag) instead of throwing.
    std::string autostart(error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { autostart_impl(std::move(h), d); }, &ec, diag);
    }

    /// `GET /v1/changes`.
    /// Handler: `void(error_code, std::vector<pebble::change>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_changes(changes_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<pebble::change>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { changes_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_changes(changes_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<pebble::change>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { changes_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous changes: throws api_exception.
    std::vector<pebble::change> changes(changes_options opts) {
        return sync_<std::vector<pebble::change>>([&](handler<std::vector<pebble::change>> h, diagnostics* d) { changes_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous changes: sets ec (and *diag) instead of throwing.
    std::vector<pebble::change> changes(changes_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<pebble::change>>([&](handler<std::vector<pebble::change>> h, diagnostics* d) { changes_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/changes/{id}`.
    /// Handler: `void(error_code, pebble::change)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_change(std::string id, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_change(std::string id, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous change: throws api_exception.
    pebble::change change(std::string id) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { change_impl(std::move(h), d, std::move(id)); }, nullptr, nullptr);
    }
    /// Synchronous change: sets ec (and *diag) instead of throwing.
    pebble::change change(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { change_impl(std::move(h), d, std::move(id)); }, &ec, diag);
    }

    /// `POST /v1/changes/{id}` abort.
    /// Handler: `void(error_code, pebble::change)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_abort_change(std::string id, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { abort_change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_abort_change(std::string id, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { abort_change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous abort_change: throws api_exception.
    pebble::change abort_change(std::string id) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { abort_change_impl(std::move(h), d, std::move(id)); }, nullptr, nullptr);
    }
    /// Synchronous abort_change: sets ec (and *diag) instead of throwing.
    pebble::change abort_change(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { abort_change_impl(std::move(h), d, std::move(id)); }, &ec, diag);
    }

    /// Waits until change `id` is ready: `/wait?timeout=` in slices, again on 504 until opts.timeout (then error::timeout), polling `GET /v1/changes/{id}` when Pebble has no /wait. A failed change is returned as such (status Error) unless opts.fail_on_error.
    /// Handler: `void(error_code, pebble::change)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_wait_change(std::string id, wait_change_options opts, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id), std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { wait_change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_wait_change(std::string id, wait_change_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<pebble::change>([this, a = std::make_tuple(std::move(id), std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { wait_change_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous wait_change: throws api_exception.
    pebble::change wait_change(std::string id, wait_change_options opts) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { wait_change_impl(std::move(h), d, std::move(id), std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous wait_change: sets ec (and *diag) instead of throwing.
    pebble::change wait_change(std::string id, wait_change_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<pebble::change>([&](handler<pebble::change> h, diagnostics* d) { wait_change_impl(std::move(h), d, std::move(id), std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/files` multipart write of several files, streamed (memory independent of sizes). Per-file failures are in the results; the call itself fails only for transport, request-wide or local read errors.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_push(push_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { push_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_push(push_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { push_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous push: throws api_exception.
    std::vector<file_result> push(push_options opts) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { push_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous push: sets ec (and *diag) instead of throwing.
    std::vector<file_result> push(push_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { push_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/files?action=read` of several files, streamed into each file's sink or local_path with bounded memory; a missing file is reported in its result.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_pull(pull_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { pull_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_pull(pull_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { pull_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous pull: throws api_exception.
    std::vector<file_result> pull(pull_options opts) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { pull_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous pull: sets ec (and *diag) instead of throwing.
    std::vector<file_result> pull(pull_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { pull_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/files?action=list`: a missing path is error::not_found.
    /// Handler: `void(error_code, std::vector<file_info>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_list_files(list_files_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<file_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { list_files_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_list_files(list_files_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<file_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { list_files_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous list_files: throws api_exception.
    std::vector<file_info> list_files(list_files_options opts) {
        return sync_<std::vector<file_info>>([&](handler<std::vector<file_info>> h, diagnostics* d) { list_files_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous list_files: sets ec (and *diag) instead of throwing.
    std::vector<file_info> list_files(list_files_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<file_info>>([&](handler<std::vector<file_info>> h, diagnostics* d) { list_files_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/files` make-dirs: per-path results.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_make_dirs(std::vector<make_dir_options> dirs, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(dirs))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { make_dirs_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_make_dirs(std::vector<make_dir_options> dirs, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(dirs))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { make_dirs_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous make_dirs: throws api_exception.
    std::vector<file_result> make_dirs(std::vector<make_dir_options> dirs) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { make_dirs_impl(std::move(h), d, std::move(dirs)); }, nullptr, nullptr);
    }
    /// Synchronous make_dirs: sets ec (and *diag) instead of throwing.
    std::vector<file_result> make_dirs(std::vector<make_dir_options> dirs, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { make_dirs_impl(std::move(h), d, std::move(dirs)); }, &ec, diag);
    }

    /// One directory (Go's MakeDir): its per-path error becomes the call's error.
    /// Handler: `void(error_code)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_make_dir(make_dir_options dir, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(dir))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { make_dir_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_make_dir(make_dir_options dir, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(dir))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { make_dir_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous make_dir: throws api_exception.
    void make_dir(make_dir_options dir) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { make_dir_impl(std::move(h), d, std::move(dir)); }, nullptr, nullptr);
    }
    /// Synchronous make_dir: sets ec (and *diag) instead of throwing.
    void make_dir(make_dir_options dir, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { make_dir_impl(std::move(h), d, std::move(dir)); }, &ec, diag);
    }

    /// `POST /v1/files` remove: per-path results.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_remove_paths(std::vector<remove_path_options> paths, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(paths))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { remove_paths_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_remove_paths(std::vector<remove_path_options> paths, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<file_result>>([this, a = std::make_tuple(std::move(paths))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { remove_paths_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous remove_paths: throws api_exception.
    std::vector<file_result> remove_paths(std::vector<remove_path_options> paths) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { remove_paths_impl(std::move(h), d, std::move(paths)); }, nullptr, nullptr);
    }
    /// Synchronous remove_paths: sets ec (and *diag) instead of throwing.
    std::vector<file_result> remove_paths(std::vector<remove_path_options> paths, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<file_result>>([&](handler<std::vector<file_result>> h, diagnostics* d) { remove_paths_impl(std::move(h), d, std::move(paths)); }, &ec, diag);
    }

    /// One path (Go's RemovePath): its per-path error becomes the call's error.
    /// Handler: `void(error_code)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_remove_path(remove_path_options path, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(path))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { remove_path_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_remove_path(remove_path_options path, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(path))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { remove_path_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous remove_path: throws api_exception.
    void remove_path(remove_path_options path) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { remove_path_impl(std::move(h), d, std::move(path)); }, nullptr, nullptr);
    }
    /// Synchronous remove_path: sets ec (and *diag) instead of throwing.
    void remove_path(remove_path_options path, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { remove_path_impl(std::move(h), d, std::move(path)); }, &ec, diag);
    }

    /// `GET /v1/checks`.
    /// Handler: `void(error_code, std::vector<check_info>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_checks(checks_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<check_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_checks(checks_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<check_info>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous checks: throws api_exception.
    std::vector<check_info> checks(checks_options opts) {
        return sync_<std::vector<check_info>>([&](handler<std::vector<check_info>> h, diagnostics* d) { checks_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous checks: sets ec (and *diag) instead of throwing.
    std::vector<check_info> checks(checks_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<check_info>>([&](handler<std::vector<check_info>> h, diagnostics* d) { checks_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `POST /v1/checks` start: the names that changed.
    /// Handler: `void(error_code, std::vector<std::string>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_start_checks(std::vector<std::string> names, Token&& token = default_token{}) {
        return initiate_<std::vector<std::string>>([this, a = std::make_tuple(std::move(names))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { start_checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_start_checks(std::vector<std::string> names, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<std::string>>([this, a = std::make_tuple(std::move(names))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { start_checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous start_checks: throws api_exception.
    std::vector<std::string> start_checks(std::vector<std::string> names) {
        return sync_<std::vector<std::string>>([&](handler<std::vector<std::string>> h, diagnostics* d) { start_checks_impl(std::move(h), d, std::move(names)); }, nullptr, nullptr);
    }
    /// Synchronous start_checks: sets ec (and *diag) instead of throwing.
    std::vector<std::string> start_checks(std::vector<std::string> names, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<std::string>>([&](handler<std::vector<std::string>> h, diagnostics* d) { start_checks_impl(std::move(h), d, std::move(names)); }, &ec, diag);
    }

    /// `POST /v1/checks` stop: the names that changed.
    /// Handler: `void(error_code, std::vector<std::string>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_stop_checks(std::vector<std::string> names, Token&& token = default_token{}) {
        return initiate_<std::vector<std::string>>([this, a = std::make_tuple(std::move(names))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { stop_checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_stop_checks(std::vector<std::string> names, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<std::string>>([this, a = std::make_tuple(std::move(names))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { stop_checks_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous stop_checks: throws api_exception.
    std::vector<std::string> stop_checks(std::vector<std::string> names) {
        return sync_<std::vector<std::string>>([&](handler<std::vector<std::string>> h, diagnostics* d) { stop_checks_impl(std::move(h), d, std::move(names)); }, nullptr, nullptr);
    }
    /// Synchronous stop_checks: sets ec (and *diag) instead of throwing.
    std::vector<std::string> stop_checks(std::vector<std::string> names, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<std::string>>([&](handler<std::vector<std::string>> h, diagnostics* d) { stop_checks_impl(std::move(h), d, std::move(names)); }, &ec, diag);
    }

    /// `POST /v1/checks/refresh`: runs one check now.
    /// Handler: `void(error_code, refresh_check_result)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_refresh_check(std::string name, Token&& token = default_token{}) {
        return initiate_<refresh_check_result>([this, a = std::make_tuple(std::move(name))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { refresh_check_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_refresh_check(std::string name, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<refresh_check_result>([this, a = std::make_tuple(std::move(name))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { refresh_check_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous refresh_check: throws api_exception.
    refresh_check_result refresh_check(std::string name) {
        return sync_<refresh_check_result>([&](handler<refresh_check_result> h, diagnostics* d) { refresh_check_impl(std::move(h), d, std::move(name)); }, nullptr, nullptr);
    }
    /// Synchronous refresh_check: sets ec (and *diag) instead of throwing.
    refresh_check_result refresh_check(std::string name, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<refresh_check_result>([&](handler<refresh_check_result> h, diagnostics* d) { refresh_check_impl(std::move(h), d, std::move(name)); }, &ec, diag);
    }

    /// `POST /v1/signals`: a service that is not running is an api_error (HTTP 500).
    /// Handler: `void(error_code)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_send_signal(send_signal_options opts, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { send_signal_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_send_signal(send_signal_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<void>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { send_signal_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous send_signal: throws api_exception.
    void send_signal(send_signal_options opts) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { send_signal_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous send_signal: sets ec (and *diag) instead of throwing.
    void send_signal(send_signal_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<void>([&](handler<void> h, diagnostics* d) { send_signal_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/notices`.
    /// Handler: `void(error_code, std::vector<pebble::notice>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_notices(notices_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<pebble::notice>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { notices_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_notices(notices_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<pebble::notice>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { notices_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous notices: throws api_exception.
    std::vector<pebble::notice> notices(notices_options opts) {
        return sync_<std::vector<pebble::notice>>([&](handler<std::vector<pebble::notice>> h, diagnostics* d) { notices_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous notices: sets ec (and *diag) instead of throwing.
    std::vector<pebble::notice> notices(notices_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<pebble::notice>>([&](handler<std::vector<pebble::notice>> h, diagnostics* d) { notices_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/notices/{id}`.
    /// Handler: `void(error_code, pebble::notice)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_notice(std::string id, Token&& token = default_token{}) {
        return initiate_<pebble::notice>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { notice_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_notice(std::string id, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<pebble::notice>([this, a = std::make_tuple(std::move(id))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { notice_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous notice: throws api_exception.
    pebble::notice notice(std::string id) {
        return sync_<pebble::notice>([&](handler<pebble::notice> h, diagnostics* d) { notice_impl(std::move(h), d, std::move(id)); }, nullptr, nullptr);
    }
    /// Synchronous notice: sets ec (and *diag) instead of throwing.
    pebble::notice notice(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<pebble::notice>([&](handler<pebble::notice> h, diagnostics* d) { notice_impl(std::move(h), d, std::move(id)); }, &ec, diag);
    }

    /// `POST /v1/notices` add: the notice id.
    /// Handler: `void(error_code, std::string)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_add_notice(add_notice_options opts, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { add_notice_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_add_notice(add_notice_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::string>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { add_notice_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous add_notice: throws api_exception.
    std::string add_notice(add_notice_options opts) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { add_notice_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous add_notice: sets ec (and *diag) instead of throwing.
    std::string add_notice(add_notice_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::string>([&](handler<std::string> h, diagnostics* d) { add_notice_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/logs`: the last opts.n lines.
    /// Handler: `void(error_code, std::vector<log_entry>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_logs(logs_options opts, Token&& token = default_token{}) {
        return initiate_<std::vector<log_entry>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { logs_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_logs(logs_options opts, diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<log_entry>>([this, a = std::make_tuple(std::move(opts))](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { logs_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous logs: throws api_exception.
    std::vector<log_entry> logs(logs_options opts) {
        return sync_<std::vector<log_entry>>([&](handler<std::vector<log_entry>> h, diagnostics* d) { logs_impl(std::move(h), d, std::move(opts)); }, nullptr, nullptr);
    }
    /// Synchronous logs: sets ec (and *diag) instead of throwing.
    std::vector<log_entry> logs(logs_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<log_entry>>([&](handler<std::vector<log_entry>> h, diagnostics* d) { logs_impl(std::move(h), d, std::move(opts)); }, &ec, diag);
    }

    /// `GET /v1/identities` (secrets dropped).
    /// Handler: `void(error_code, std::vector<identity>)`.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_identities(Token&& token = default_token{}) {
        return initiate_<std::vector<identity>>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { identities_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, nullptr, std::forward<Token>(token));
    }
    /// As above; `diag` (alive until completion) receives the server's words on failure.
    template <class Token = default_token>
        requires(!std::is_same_v<std::decay_t<Token>, diagnostics>)
    auto async_identities(diagnostics& diag, Token&& token = default_token{}) {
        return initiate_<std::vector<identity>>([this, a = std::tuple<>()](auto h, diagnostics* d) mutable {
            std::apply([&](auto&&... x) { identities_impl(std::move(h), d, std::move(x)...); }, std::move(a));
        }, &diag, std::forward<Token>(token));
    }
    /// Synchronous identities: throws api_exception.
    std::vector<identity> identities() {
        return sync_<std::vector<identity>>([&](handler<std::vector<identity>> h, diagnostics* d) { identities_impl(std::move(h), d); }, nullptr, nullptr);
    }
    /// Synchronous identities: sets ec (and *diag) instead of throwing.
    std::vector<identity> identities(error_code& ec, diagnostics* diag = nullptr) {
        return sync_<std::vector<identity>>([&](handler<std::vector<identity>> h, diagnostics* d) { identities_impl(std::move(h), d); }, &ec, diag);
    }

private:
    template <class T, class F, class Token>
    auto initiate_(F&& f, diagnostics* diag, Token&& token) {
        return boost::asio::async_initiate<Token, typename detail::signature_of<T>::type>(
            [](auto h, F fn, diagnostics* d) { fn(handler<T>(std::move(h)), d); }, token, std::forward<F>(f), diag);
    }

    /// Runs an operation to completion from a thread that is not running the client's executor.
    void run_blocking_(std::function<void(std::function<void()>)> start);

    template <class T, class F>
    T sync_(F&& start, error_code* ecp, diagnostics* diagp) {
        diagnostics local;
        diagnostics* d = diagp ? diagp : &local;
        error_code ec;
        std::optional<std::conditional_t<std::is_void_v<T>, int, T>> value;
        run_blocking_([&](std::function<void()> done) {
            if constexpr (std::is_void_v<T>) {
                start(handler<T>([&, done](error_code e) { ec = e; done(); }), d);
            } else {
                start(handler<T>([&, done](error_code e, T v) { ec = e; value.emplace(std::move(v)); done(); }), d);
            }
        });
        if (ecp) *ecp = ec;
        else throw_if_failed(ec, *d);
        if constexpr (!std::is_void_v<T>) {
            return value ? std::move(*value) : T{};
        }
    }

    void system_info_impl(handler<pebble::system_info> h, diagnostics* diag);
    void health_impl(handler<bool> h, diagnostics* diag, health_options opts);
    void plan_impl(handler<std::string> h, diagnostics* diag);
    void add_layer_impl(handler<void> h, diagnostics* diag, add_layer_options opts);
    void list_services_impl(handler<std::vector<service_info>> h, diagnostics* diag, services_options opts);
    void start_impl(handler<std::string> h, diagnostics* diag, service_options opts);
    void stop_impl(handler<std::string> h, diagnostics* diag, service_options opts);
    void restart_impl(handler<std::string> h, diagnostics* diag, service_options opts);
    void replan_impl(handler<std::string> h, diagnostics* diag);
    void autostart_impl(handler<std::string> h, diagnostics* diag);
    void changes_impl(handler<std::vector<pebble::change>> h, diagnostics* diag, changes_options opts);
    void change_impl(handler<pebble::change> h, diagnostics* diag, std::string id);
    void abort_change_impl(handler<pebble::change> h, diagnostics* diag, std::string id);
    void wait_change_impl(handler<pebble::change> h, diagnostics* diag, std::string id, wait_change_options opts);
    void push_impl(handler<std::vector<file_result>> h, diagnostics* diag, push_options opts);
    void pull_impl(handler<std::vector<file_result>> h, diagnostics* diag, pull_options opts);
    void list_files_impl(handler<std::vector<file_info>> h, diagnostics* diag, list_files_options opts);
    void make_dirs_impl(handler<std::vector<file_result>> h, diagnostics* diag, std::vector<make_dir_options> dirs);
    void make_dir_impl(handler<void> h, diagnostics* diag, make_dir_options dir);
    void remove_paths_impl(handler<std::vector<file_result>> h, diagnostics* diag, std::vector<remove_path_options> paths);
    void remove_path_impl(handler<void> h, diagnostics* diag, remove_path_options path);
    void checks_impl(handler<std::vector<check_info>> h, diagnostics* diag, checks_options opts);
    void start_checks_impl(handler<std::vector<std::string>> h, diagnostics* diag, std::vector<std::string> names);
    void stop_checks_impl(handler<std::vector<std::string>> h, diagnostics* diag, std::vector<std::string> names);
    void refresh_check_impl(handler<refresh_check_result> h, diagnostics* diag, std::string name);
    void send_signal_impl(handler<void> h, diagnostics* diag, send_signal_options opts);
    void notices_impl(handler<std::vector<pebble::notice>> h, diagnostics* diag, notices_options opts);
    void notice_impl(handler<pebble::notice> h, diagnostics* diag, std::string id);
    void add_notice_impl(handler<std::string> h, diagnostics* diag, add_notice_options opts);
    void logs_impl(handler<std::vector<log_entry>> h, diagnostics* diag, logs_options opts);
    void identities_impl(handler<std::vector<identity>> h, diagnostics* diag);

    std::shared_ptr<detail::client_impl> impl_;
};

} // namespace redispebble::pebble

#endif
