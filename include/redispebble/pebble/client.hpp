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
//
// One header, over 600 lines, because it is one class: C++ cannot spread a class's members over
// several headers (base classes per API area would only move the same declarations and split the
// documentation of one object). The calls are in the order of Pebble's Go client/ package files
// (sysinfo, health, plan, services, changes, files, checks, signals, notices, logs, identities);
// their bodies are one file per API area in src/pebble/. Each of a call's four forms is one line
// over the two private templates at the end (initiate_, sync_): what repeats is the declarations
// a C++ API must write out, not logic.
#ifndef REDISPEBBLE_PEBBLE_CLIENT_HPP
#define REDISPEBBLE_PEBBLE_CLIENT_HPP

#include <redispebble/pebble/error.hpp>
#include <redispebble/pebble/options.hpp>
#include <redispebble/pebble/types.hpp>

#include <redispebble/layer.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
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
template <class Handler>
struct handler_value;
template <class T>
struct handler_value<boost::asio::any_completion_handler<void(error_code, T)>> { using type = T; };
template <>
struct handler_value<boost::asio::any_completion_handler<void(error_code)>> { using type = void; };
class client_impl;
struct cancel_state;
} // namespace detail

/// Whether client::cancel() was called, or the client destroyed, since this was taken
/// (client::watch_cancellation()). It lets an operation made of several client calls, such as
/// redispebble::async_reconcile, stop between them without touching the client, which may be gone.
/// Copyable; every member is safe from any thread.
class cancellation_watch {
public:
    /// True once cancel() was called on the client, or the client destroyed, after this was taken.
    [[nodiscard]] bool cancelled() const noexcept;
    /// Arranges for `f` to be called once, on the thread that calls cancel() or destroys the
    /// client, when that happens. Returns 0 (and drops `f`) when it already has; otherwise an id
    /// for forget(). `f` must not block: post to your own executor.
    [[nodiscard]] std::uint64_t on_cancel(std::function<void()> f) const;
    /// Drops the callback `id` (0 and unknown ids are ignored).
    void forget(std::uint64_t id) const noexcept;

private:
    friend class client;
    cancellation_watch(std::shared_ptr<detail::cancel_state> s, std::uint64_t generation)
        : state_(std::move(s)), generation_(generation) {}
    std::shared_ptr<detail::cancel_state> state_;
    std::uint64_t generation_ = 0;
};

/// A completion token, as opposed to the diagnostics& of the overloads that take one.
template <class Token>
concept not_diagnostics = !std::is_same_v<std::decay_t<Token>, diagnostics>;

/// A Pebble API client over its Unix socket (Go's `client.Client`).
class client {
public:
    using executor_type = boost::asio::any_io_executor;
    /// Asio's default completion token for the executor (`void` with Boost 1.81's any_io_executor:
    /// then a token must be given). Defaults are written `Token&& token = default_token()`, as
    /// Asio's BOOST_ASIO_DEFAULT_COMPLETION_TOKEN does: `void()` is a valid expression for every
    /// compiler, while `void{}` is rejected by clang before C++23's CWG 2351 (clang 14).
    using default_token = boost::asio::default_completion_token_t<executor_type>;
    template <class T>
    using handler = boost::asio::any_completion_handler<typename detail::signature_of<T>::type>;

    /// A client whose operations run on `ex`, serialized on a strand of it (any number of threads
    /// may run `ex`; a client's own work never runs on two at once). Over an io_context's own
    /// executor the strand holds it without allocating when Asio copies it; over other executors
    /// it is a strand<any_io_executor>. Synchronous calls then block on a future: `ex` must
    /// be run by another thread. When nothing runs `ex` (its io_context is stopped, or nothing
    /// picks up work within `connect_timeout`), a synchronous call fails with error::timeout, its
    /// diagnostics saying so, instead of waiting for ever; the operation is then never started.
    ///
    /// Lifetime rule (both constructors that take a context): the client must be destroyed
    /// before the io_context / execution context it runs on. Declare the context first, so that
    /// it is destroyed last:
    ///
    ///     boost::asio::io_context io;              // first
    ///     std::vector<std::unique_ptr<client>> c;  // then the clients
    ///
    /// A client destroyed after its context prints why to stderr and calls std::abort() instead
    /// of freeing sockets and timers of a destroyed context (a use after free otherwise).
    client(executor_type ex, client_options opts);
    /// A client on `ctx`. Synchronous calls run `ctx` themselves while they wait (fine whether or
    /// not other threads run it too). The lifetime rule above applies.
    client(boost::asio::io_context& ctx, client_options opts);
    /// A client with its own io_context and thread: the simplest for synchronous use. A
    /// synchronous call runs on the calling thread over a second connection (the caller's lane,
    /// opened on first use; one thread at a time, a concurrent one is handed to the I/O thread).
    explicit client(client_options opts);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    executor_type get_executor() const noexcept;
    const client_options& options() const noexcept;
    /// Closes the kept-alive connection (the next call reconnects).
    void close();
    /// Cancels every operation started before this call, queued, running or not yet begun (they
    /// complete with operation_aborted); operations started afterwards run normally. Any thread.
    void cancel();
    /// Observes cancel() and the destruction of this client from now on (see cancellation_watch).
    [[nodiscard]] cancellation_watch watch_cancellation() const;

    // Every call below comes in four forms (see the top of this file):
    //   async_x(args..., token)   async_x(args..., diagnostics&, token)
    //   x(args...) throwing       x(args..., error_code&, diagnostics* = nullptr)

    /// `GET /v1/system-info`: Pebble's version and boot id.
    /// Handler: `void(error_code, pebble::system_info)`.
    template <not_diagnostics Token = default_token>
    auto async_system_info(Token&& token = default_token()) {
        return initiate_(&client::system_info_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_system_info(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::system_info_impl, &diag, std::forward<Token>(token));
    }
    pebble::system_info system_info() { return sync_(&client::system_info_impl, nullptr, nullptr); }
    pebble::system_info system_info(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::system_info_impl, &ec, diag);
    }

    /// `GET /v1/health`: true when healthy; an unhealthy 502 is `false`, not an error.
    /// Handler: `void(error_code, bool)`.
    template <not_diagnostics Token = default_token>
    auto async_health(health_options opts, Token&& token = default_token()) {
        return initiate_(&client::health_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_health(health_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::health_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    bool health(health_options opts) { return sync_(&client::health_impl, nullptr, nullptr, std::move(opts)); }
    bool health(health_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::health_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/plan?format=yaml`: the combined plan as Pebble's YAML ("{}\n" when empty).
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_plan(Token&& token = default_token()) {
        return initiate_(&client::plan_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_plan(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::plan_impl, &diag, std::forward<Token>(token));
    }
    std::string plan() { return sync_(&client::plan_impl, nullptr, nullptr); }
    std::string plan(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::plan_impl, &ec, diag);
    }

    /// The plan parsed into the layer model (redispebble::parse_plan of plan()); a plan that does
    /// not parse is bad_envelope with the parser's message.
    /// Handler: `void(error_code, redispebble::layer)`.
    template <not_diagnostics Token = default_token>
    auto async_plan_layer(Token&& token = default_token()) {
        return initiate_(&client::plan_layer_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_plan_layer(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::plan_layer_impl, &diag, std::forward<Token>(token));
    }
    redispebble::layer plan_layer() { return sync_(&client::plan_layer_impl, nullptr, nullptr); }
    redispebble::layer plan_layer(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::plan_layer_impl, &ec, diag);
    }

    /// `POST /v1/layers`: adds (or with combine, merges) a layer. Empty label: invalid_option.
    /// Handler: `void(error_code)`.
    template <not_diagnostics Token = default_token>
    auto async_add_layer(add_layer_options opts, Token&& token = default_token()) {
        return initiate_(&client::add_layer_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_add_layer(add_layer_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::add_layer_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    void add_layer(add_layer_options opts) { return sync_(&client::add_layer_impl, nullptr, nullptr, std::move(opts)); }
    void add_layer(add_layer_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::add_layer_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/services`: sorted by name; unknown names are simply absent.
    /// Handler: `void(error_code, std::vector<service_info>)`.
    template <not_diagnostics Token = default_token>
    auto async_list_services(services_options opts, Token&& token = default_token()) {
        return initiate_(&client::list_services_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_list_services(services_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::list_services_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<service_info> list_services(services_options opts) { return sync_(&client::list_services_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<service_info> list_services(services_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::list_services_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/services` start: completes with the change id. Empty names: invalid_option.
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_start(service_options opts, Token&& token = default_token()) {
        return initiate_(&client::start_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_start(service_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::start_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::string start(service_options opts) { return sync_(&client::start_impl, nullptr, nullptr, std::move(opts)); }
    std::string start(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::start_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/services` stop: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_stop(service_options opts, Token&& token = default_token()) {
        return initiate_(&client::stop_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_stop(service_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::stop_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::string stop(service_options opts) { return sync_(&client::stop_impl, nullptr, nullptr, std::move(opts)); }
    std::string stop(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::stop_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/services` restart: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_restart(service_options opts, Token&& token = default_token()) {
        return initiate_(&client::restart_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_restart(service_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::restart_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::string restart(service_options opts) { return sync_(&client::restart_impl, nullptr, nullptr, std::move(opts)); }
    std::string restart(service_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::restart_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/services` replan: the change id.
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_replan(Token&& token = default_token()) {
        return initiate_(&client::replan_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_replan(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::replan_impl, &diag, std::forward<Token>(token));
    }
    std::string replan() { return sync_(&client::replan_impl, nullptr, nullptr); }
    std::string replan(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::replan_impl, &ec, diag);
    }

    /// `POST /v1/services` autostart: the change id (no_default_services when none is enabled).
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_autostart(Token&& token = default_token()) {
        return initiate_(&client::autostart_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_autostart(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::autostart_impl, &diag, std::forward<Token>(token));
    }
    std::string autostart() { return sync_(&client::autostart_impl, nullptr, nullptr); }
    std::string autostart(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::autostart_impl, &ec, diag);
    }

    /// `GET /v1/changes`.
    /// Handler: `void(error_code, std::vector<pebble::change>)`.
    template <not_diagnostics Token = default_token>
    auto async_changes(changes_options opts, Token&& token = default_token()) {
        return initiate_(&client::changes_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_changes(changes_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::changes_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<pebble::change> changes(changes_options opts) { return sync_(&client::changes_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<pebble::change> changes(changes_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::changes_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/changes/{id}`.
    /// Handler: `void(error_code, pebble::change)`.
    template <not_diagnostics Token = default_token>
    auto async_change(std::string id, Token&& token = default_token()) {
        return initiate_(&client::change_impl, nullptr, std::forward<Token>(token), std::move(id));
    }
    template <not_diagnostics Token = default_token>
    auto async_change(std::string id, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::change_impl, &diag, std::forward<Token>(token), std::move(id));
    }
    pebble::change change(std::string id) { return sync_(&client::change_impl, nullptr, nullptr, std::move(id)); }
    pebble::change change(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::change_impl, &ec, diag, std::move(id));
    }

    /// `POST /v1/changes/{id}` abort.
    /// Handler: `void(error_code, pebble::change)`.
    template <not_diagnostics Token = default_token>
    auto async_abort_change(std::string id, Token&& token = default_token()) {
        return initiate_(&client::abort_change_impl, nullptr, std::forward<Token>(token), std::move(id));
    }
    template <not_diagnostics Token = default_token>
    auto async_abort_change(std::string id, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::abort_change_impl, &diag, std::forward<Token>(token), std::move(id));
    }
    pebble::change abort_change(std::string id) { return sync_(&client::abort_change_impl, nullptr, nullptr, std::move(id)); }
    pebble::change abort_change(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::abort_change_impl, &ec, diag, std::move(id));
    }

    /// Waits until change `id` is ready: `/wait?timeout=` in slices, again on 504 until opts.timeout (then error::timeout), polling `GET /v1/changes/{id}` when Pebble has no /wait. A failed change is returned as such (status Error) unless opts.fail_on_error.
    /// Handler: `void(error_code, pebble::change)`.
    template <not_diagnostics Token = default_token>
    auto async_wait_change(std::string id, wait_change_options opts, Token&& token = default_token()) {
        return initiate_(&client::wait_change_impl, nullptr, std::forward<Token>(token), std::move(id), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_wait_change(std::string id, wait_change_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::wait_change_impl, &diag, std::forward<Token>(token), std::move(id), std::move(opts));
    }
    pebble::change wait_change(std::string id, wait_change_options opts) { return sync_(&client::wait_change_impl, nullptr, nullptr, std::move(id), std::move(opts)); }
    pebble::change wait_change(std::string id, wait_change_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::wait_change_impl, &ec, diag, std::move(id), std::move(opts));
    }

    /// `POST /v1/files` multipart write of several files, streamed (memory independent of sizes). Per-file failures are in the results; the call itself fails only for transport, request-wide or local read errors.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <not_diagnostics Token = default_token>
    auto async_push(push_options opts, Token&& token = default_token()) {
        return initiate_(&client::push_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_push(push_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::push_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<file_result> push(push_options opts) { return sync_(&client::push_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<file_result> push(push_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::push_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/files?action=read` of several files, streamed into each file's sink or local_path with bounded memory; a missing file is reported in its result.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <not_diagnostics Token = default_token>
    auto async_pull(pull_options opts, Token&& token = default_token()) {
        return initiate_(&client::pull_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_pull(pull_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::pull_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<file_result> pull(pull_options opts) { return sync_(&client::pull_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<file_result> pull(pull_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::pull_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/files?action=list`: a missing path is error::not_found.
    /// Handler: `void(error_code, std::vector<file_info>)`.
    template <not_diagnostics Token = default_token>
    auto async_list_files(list_files_options opts, Token&& token = default_token()) {
        return initiate_(&client::list_files_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_list_files(list_files_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::list_files_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<file_info> list_files(list_files_options opts) { return sync_(&client::list_files_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<file_info> list_files(list_files_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::list_files_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/files` make-dirs: per-path results.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <not_diagnostics Token = default_token>
    auto async_make_dirs(std::vector<make_dir_options> dirs, Token&& token = default_token()) {
        return initiate_(&client::make_dirs_impl, nullptr, std::forward<Token>(token), std::move(dirs));
    }
    template <not_diagnostics Token = default_token>
    auto async_make_dirs(std::vector<make_dir_options> dirs, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::make_dirs_impl, &diag, std::forward<Token>(token), std::move(dirs));
    }
    std::vector<file_result> make_dirs(std::vector<make_dir_options> dirs) { return sync_(&client::make_dirs_impl, nullptr, nullptr, std::move(dirs)); }
    std::vector<file_result> make_dirs(std::vector<make_dir_options> dirs, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::make_dirs_impl, &ec, diag, std::move(dirs));
    }

    /// One directory (Go's MakeDir): its per-path error becomes the call's error.
    /// Handler: `void(error_code)`.
    template <not_diagnostics Token = default_token>
    auto async_make_dir(make_dir_options dir, Token&& token = default_token()) {
        return initiate_(&client::make_dir_impl, nullptr, std::forward<Token>(token), std::move(dir));
    }
    template <not_diagnostics Token = default_token>
    auto async_make_dir(make_dir_options dir, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::make_dir_impl, &diag, std::forward<Token>(token), std::move(dir));
    }
    void make_dir(make_dir_options dir) { return sync_(&client::make_dir_impl, nullptr, nullptr, std::move(dir)); }
    void make_dir(make_dir_options dir, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::make_dir_impl, &ec, diag, std::move(dir));
    }

    /// `POST /v1/files` remove: per-path results.
    /// Handler: `void(error_code, std::vector<file_result>)`.
    template <not_diagnostics Token = default_token>
    auto async_remove_paths(std::vector<remove_path_options> paths, Token&& token = default_token()) {
        return initiate_(&client::remove_paths_impl, nullptr, std::forward<Token>(token), std::move(paths));
    }
    template <not_diagnostics Token = default_token>
    auto async_remove_paths(std::vector<remove_path_options> paths, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::remove_paths_impl, &diag, std::forward<Token>(token), std::move(paths));
    }
    std::vector<file_result> remove_paths(std::vector<remove_path_options> paths) { return sync_(&client::remove_paths_impl, nullptr, nullptr, std::move(paths)); }
    std::vector<file_result> remove_paths(std::vector<remove_path_options> paths, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::remove_paths_impl, &ec, diag, std::move(paths));
    }

    /// One path (Go's RemovePath): its per-path error becomes the call's error.
    /// Handler: `void(error_code)`.
    template <not_diagnostics Token = default_token>
    auto async_remove_path(remove_path_options path, Token&& token = default_token()) {
        return initiate_(&client::remove_path_impl, nullptr, std::forward<Token>(token), std::move(path));
    }
    template <not_diagnostics Token = default_token>
    auto async_remove_path(remove_path_options path, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::remove_path_impl, &diag, std::forward<Token>(token), std::move(path));
    }
    void remove_path(remove_path_options path) { return sync_(&client::remove_path_impl, nullptr, nullptr, std::move(path)); }
    void remove_path(remove_path_options path, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::remove_path_impl, &ec, diag, std::move(path));
    }

    /// `GET /v1/checks`.
    /// Handler: `void(error_code, std::vector<check_info>)`.
    template <not_diagnostics Token = default_token>
    auto async_checks(checks_options opts, Token&& token = default_token()) {
        return initiate_(&client::checks_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_checks(checks_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::checks_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<check_info> checks(checks_options opts) { return sync_(&client::checks_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<check_info> checks(checks_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::checks_impl, &ec, diag, std::move(opts));
    }

    /// `POST /v1/checks` start: the names that changed.
    /// Handler: `void(error_code, std::vector<std::string>)`.
    template <not_diagnostics Token = default_token>
    auto async_start_checks(std::vector<std::string> names, Token&& token = default_token()) {
        return initiate_(&client::start_checks_impl, nullptr, std::forward<Token>(token), std::move(names));
    }
    template <not_diagnostics Token = default_token>
    auto async_start_checks(std::vector<std::string> names, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::start_checks_impl, &diag, std::forward<Token>(token), std::move(names));
    }
    std::vector<std::string> start_checks(std::vector<std::string> names) { return sync_(&client::start_checks_impl, nullptr, nullptr, std::move(names)); }
    std::vector<std::string> start_checks(std::vector<std::string> names, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::start_checks_impl, &ec, diag, std::move(names));
    }

    /// `POST /v1/checks` stop: the names that changed.
    /// Handler: `void(error_code, std::vector<std::string>)`.
    template <not_diagnostics Token = default_token>
    auto async_stop_checks(std::vector<std::string> names, Token&& token = default_token()) {
        return initiate_(&client::stop_checks_impl, nullptr, std::forward<Token>(token), std::move(names));
    }
    template <not_diagnostics Token = default_token>
    auto async_stop_checks(std::vector<std::string> names, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::stop_checks_impl, &diag, std::forward<Token>(token), std::move(names));
    }
    std::vector<std::string> stop_checks(std::vector<std::string> names) { return sync_(&client::stop_checks_impl, nullptr, nullptr, std::move(names)); }
    std::vector<std::string> stop_checks(std::vector<std::string> names, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::stop_checks_impl, &ec, diag, std::move(names));
    }

    /// `POST /v1/checks/refresh`: runs one check now.
    /// Handler: `void(error_code, refresh_check_result)`.
    template <not_diagnostics Token = default_token>
    auto async_refresh_check(std::string name, Token&& token = default_token()) {
        return initiate_(&client::refresh_check_impl, nullptr, std::forward<Token>(token), std::move(name));
    }
    template <not_diagnostics Token = default_token>
    auto async_refresh_check(std::string name, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::refresh_check_impl, &diag, std::forward<Token>(token), std::move(name));
    }
    refresh_check_result refresh_check(std::string name) { return sync_(&client::refresh_check_impl, nullptr, nullptr, std::move(name)); }
    refresh_check_result refresh_check(std::string name, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::refresh_check_impl, &ec, diag, std::move(name));
    }

    /// `POST /v1/signals`: a service that is not running is an api_error (HTTP 500).
    /// Handler: `void(error_code)`.
    template <not_diagnostics Token = default_token>
    auto async_send_signal(send_signal_options opts, Token&& token = default_token()) {
        return initiate_(&client::send_signal_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_send_signal(send_signal_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::send_signal_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    void send_signal(send_signal_options opts) { return sync_(&client::send_signal_impl, nullptr, nullptr, std::move(opts)); }
    void send_signal(send_signal_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::send_signal_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/notices`.
    /// Handler: `void(error_code, std::vector<pebble::notice>)`.
    template <not_diagnostics Token = default_token>
    auto async_notices(notices_options opts, Token&& token = default_token()) {
        return initiate_(&client::notices_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_notices(notices_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::notices_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<pebble::notice> notices(notices_options opts) { return sync_(&client::notices_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<pebble::notice> notices(notices_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::notices_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/notices/{id}`.
    /// Handler: `void(error_code, pebble::notice)`.
    template <not_diagnostics Token = default_token>
    auto async_notice(std::string id, Token&& token = default_token()) {
        return initiate_(&client::notice_impl, nullptr, std::forward<Token>(token), std::move(id));
    }
    template <not_diagnostics Token = default_token>
    auto async_notice(std::string id, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::notice_impl, &diag, std::forward<Token>(token), std::move(id));
    }
    pebble::notice notice(std::string id) { return sync_(&client::notice_impl, nullptr, nullptr, std::move(id)); }
    pebble::notice notice(std::string id, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::notice_impl, &ec, diag, std::move(id));
    }

    /// `POST /v1/notices` add: the notice id.
    /// Handler: `void(error_code, std::string)`.
    template <not_diagnostics Token = default_token>
    auto async_add_notice(add_notice_options opts, Token&& token = default_token()) {
        return initiate_(&client::add_notice_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_add_notice(add_notice_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::add_notice_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::string add_notice(add_notice_options opts) { return sync_(&client::add_notice_impl, nullptr, nullptr, std::move(opts)); }
    std::string add_notice(add_notice_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::add_notice_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/logs`: the last opts.n lines.
    /// Handler: `void(error_code, std::vector<log_entry>)`.
    template <not_diagnostics Token = default_token>
    auto async_logs(logs_options opts, Token&& token = default_token()) {
        return initiate_(&client::logs_impl, nullptr, std::forward<Token>(token), std::move(opts));
    }
    template <not_diagnostics Token = default_token>
    auto async_logs(logs_options opts, diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::logs_impl, &diag, std::forward<Token>(token), std::move(opts));
    }
    std::vector<log_entry> logs(logs_options opts) { return sync_(&client::logs_impl, nullptr, nullptr, std::move(opts)); }
    std::vector<log_entry> logs(logs_options opts, error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::logs_impl, &ec, diag, std::move(opts));
    }

    /// `GET /v1/identities` (secrets dropped).
    /// Handler: `void(error_code, std::vector<identity>)`.
    template <not_diagnostics Token = default_token>
    auto async_identities(Token&& token = default_token()) {
        return initiate_(&client::identities_impl, nullptr, std::forward<Token>(token));
    }
    template <not_diagnostics Token = default_token>
    auto async_identities(diagnostics& diag, Token&& token = default_token()) {
        return initiate_(&client::identities_impl, &diag, std::forward<Token>(token));
    }
    std::vector<identity> identities() { return sync_(&client::identities_impl, nullptr, nullptr); }
    std::vector<identity> identities(error_code& ec, diagnostics* diag = nullptr) {
        return sync_(&client::identities_impl, &ec, diag);
    }

private:
    template <class H, class Token, class... Args>
    auto initiate_(void (client::*fn)(H, diagnostics*, Args...), diagnostics* diag, Token&& token,
                   std::type_identity_t<Args>... args) {
        using T = typename detail::handler_value<H>::type;
        return boost::asio::async_initiate<Token, typename detail::signature_of<T>::type>(
            [this, fn, diag](auto h, Args... a) { (this->*fn)(handler<T>(std::move(h)), diag, std::move(a)...); },
            token, std::move(args)...);
    }

    /// Runs an operation to completion from a thread that is not running the client's executor.
    /// Fails (with `d` saying why) without calling `start` when nothing runs the executor.
    /// On client(options), runs it on the calling thread (the caller's lane, see client.cpp) when
    /// no other synchronous call is using the lane. `start` launches the operation on the client
    /// it is given.
    error_code run_blocking_(std::function<void(client&, std::function<void()>)> start, diagnostics& d);
    explicit client(std::shared_ptr<detail::client_impl> impl);  // the caller's lane

    template <class H, class... Args>
    typename detail::handler_value<H>::type sync_(void (client::*fn)(H, diagnostics*, Args...), error_code* ecp,
                                                  diagnostics* diagp, std::type_identity_t<Args>... args) {
        using T = typename detail::handler_value<H>::type;
        diagnostics local;
        diagnostics* d = diagp ? diagp : &local;
        error_code ec;
        std::optional<std::conditional_t<std::is_void_v<T>, int, T>> value;
        const error_code not_run = run_blocking_([&](client& on, std::function<void()> done) {
            if constexpr (std::is_void_v<T>) {
                (on.*fn)(handler<T>([&, done](error_code e) { ec = e; done(); }), d, std::move(args)...);
            } else {
                (on.*fn)(handler<T>([&, done](error_code e, T v) {
                    ec = e;
                    value.emplace(std::move(v));
                    done();
                }), d, std::move(args)...);
            }
        }, *d);
        if (not_run) ec = not_run;
        if (ecp) *ecp = ec;
        else throw_if_failed(ec, *d);
        if constexpr (!std::is_void_v<T>) {
            return value ? std::move(*value) : T{};
        }
    }

    // The bodies, compiled once in src/pebble/, one file per API area (src/README.md).
    void system_info_impl(handler<pebble::system_info> h, diagnostics* diag);
    void health_impl(handler<bool> h, diagnostics* diag, health_options opts);
    void plan_impl(handler<std::string> h, diagnostics* diag);
    void plan_layer_impl(handler<redispebble::layer> h, diagnostics* diag);
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
