// Exec over websockets, following logs, and waiting for notices (Go's Exec/ExecProcess,
// `pebble logs -f`, WaitNotices).
//
// Each of these runs on its own connection(s) to Pebble's socket, not on the client's kept-alive
// one: an exec holds three websockets for as long as the command runs, a log follow and a notice
// long-poll hold an HTTP response open. The client passed in gives the socket path, the timeouts and
// the executor, and (for exec) waits on the change; it must outlive the operation.
//
// Handler signatures:
//   async_exec          void(error_code, exec_result)
//   async_start_exec    void(error_code, exec_process)
//   exec_process::async_wait         void(error_code, exec_result)
//   exec_process::async_send_signal  void(error_code)
//   exec_process::async_resize       void(error_code)
//   async_follow_logs   void(error_code)
//   async_wait_notices  void(error_code, std::vector<notice>)
#ifndef REDISPEBBLE_PEBBLE_EXEC_HPP
#define REDISPEBBLE_PEBBLE_EXEC_HPP

#include <redispebble/pebble/client.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble::pebble {

/// Reads the next bytes of standard input into the buffer; returns how many (0 at the end).
/// Called on the exec's I/O strand: while it blocks, output is not read either, so a source that
/// waits for data (a terminal, an idle pipe) delays the output until it returns.
using exec_source = std::function<std::size_t(std::span<char>)>;
/// Receives the next bytes of the command's output, as they arrive.
using exec_sink = std::function<void(std::string_view)>;

/// `POST /v1/exec` (Go's `client.ExecOptions`).
struct exec_options {
    /// argv; command[0] is looked up in Pebble's PATH. Required.
    std::vector<std::string> command{};
    /// Variables added to (overriding) the service context's or Pebble's environment.
    std::map<std::string, std::string> environment{};
    std::string working_dir{};
    std::optional<std::uint32_t> user_id{};
    std::string user{};
    std::optional<std::uint32_t> group_id{};
    std::string group{};
    /// Run in this service's context (its environment, user, group, working dir as defaults).
    std::string service_context{};
    /// Pebble kills the command after this long (0: never); the exec then fails with
    /// error::timeout. The client allows this much plus client_options::request_timeout for the
    /// whole exec.
    std::chrono::milliseconds timeout{0};
    bool terminal = false;
    bool interactive = false;
    int width = 0;   ///< terminal size (terminal only); 0: Pebble's default
    int height = 0;
    /// Send stderr on its own websocket (otherwise it is merged into stdout).
    bool split_stderr = false;

    /// Standard input, streamed in 64 KiB frames: stdin_source when set, else stdin_data, else none.
    exec_source stdin_source{};
    std::optional<std::string> stdin_data{};
    /// Output sinks. Without a sink the output is collected into exec_result, up to max_output
    /// bytes per stream (the rest is dropped and exec_result::truncated set).
    exec_sink stdout_sink{};
    exec_sink stderr_sink{};
    std::size_t max_output = 1024 * 1024;
};

/// What an exec gives back. Also returned with error::command_failed (non-zero exit).
struct exec_result {
    int exit_code = -1;        ///< Pebble's task data "exit-code" (-1: killed by a timeout, or unknown)
    std::string stdout_data{}; ///< collected standard output (empty when a sink took it)
    std::string stderr_data{}; ///< collected standard error (split_stderr only)
    bool truncated = false;    ///< collected output hit max_output
    std::string change_id{};
    std::string task_id{};
};

namespace detail {
struct exec_state;
struct follow_state;
} // namespace detail

/// A running exec (Go's `client.ExecProcess`): signal it, resize its terminal, wait for it. A cheap
/// copyable handle; the process's I/O keeps running without it.
class exec_process {
public:
    exec_process() = default;
    explicit exec_process(std::shared_ptr<detail::exec_state> s) : state_(std::move(s)) {}
    bool valid() const noexcept { return static_cast<bool>(state_); }
    const std::string& change_id() const;
    const std::string& task_id() const;

    /// Sends a signal by name ("SIGTERM") over the control websocket.
    template <class Token = client::default_token>
    auto async_send_signal(std::string name, Token&& token = client::default_token()) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [st = state_](auto h, std::string n) { send_signal_impl(st, std::move(n), client::handler<void>(std::move(h))); },
            token, std::move(name));
    }
    /// Resizes the terminal (terminal execs only; Pebble ignores it otherwise).
    template <class Token = client::default_token>
    auto async_resize(int width, int height, Token&& token = client::default_token()) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [st = state_](auto h, int w, int hh) { resize_impl(st, w, hh, client::handler<void>(std::move(h))); },
            token, width, height);
    }
    /// Waits for the output to end and the change to finish. Errors: command_failed (non-zero
    /// exit; the result is still given), timeout, change_failed, transport errors.
    /// `diag` must stay valid until the handler runs.
    template <not_diagnostics Token = client::default_token>
    auto async_wait(Token&& token = client::default_token()) {
        return boost::asio::async_initiate<Token, void(error_code, exec_result)>(
            [st = state_](auto h) { wait_impl(st, nullptr, client::handler<exec_result>(std::move(h))); }, token);
    }
    template <not_diagnostics Token = client::default_token>
    auto async_wait(diagnostics& diag, Token&& token = client::default_token()) {
        return boost::asio::async_initiate<Token, void(error_code, exec_result)>(
            [st = state_, d = &diag](auto h) { wait_impl(st, d, client::handler<exec_result>(std::move(h))); }, token);
    }

private:
    static void send_signal_impl(std::shared_ptr<detail::exec_state> st, std::string name, client::handler<void> h);
    static void resize_impl(std::shared_ptr<detail::exec_state> st, int w, int hh, client::handler<void> h);
    static void wait_impl(std::shared_ptr<detail::exec_state> st, diagnostics* diag, client::handler<exec_result> h);
    std::shared_ptr<detail::exec_state> state_;
};

namespace detail {
/// The initiation of the free operations below: `impl(c, args..., diag, handler)` through
/// async_initiate, so that any completion token works (as client's own initiate_).
template <class T, class Token, class Impl, class... Args>
auto initiate_free(Impl impl, client& c, diagnostics* diag, Token& token, Args... args) {
    return boost::asio::async_initiate<Token, typename signature_of<T>::type>(
        [impl, &c, diag](auto h, Args... a) { impl(c, std::move(a)..., diag, client::handler<T>(std::move(h))); },
        token, std::move(args)...);
}

void start_exec_impl(client& c, exec_options opts, diagnostics* diag, client::handler<exec_process> h);
void exec_impl(client& c, exec_options opts, diagnostics* diag, client::handler<exec_result> h);
} // namespace detail

/// Starts a command: `POST /v1/exec`, then connects the control, stdio (and stderr) websockets and
/// starts streaming. Completes once the websockets are connected. Bad options: invalid_option
/// before any I/O; a missing executable: api_error ("cannot find executable ...").
template <not_diagnostics Token = client::default_token>
auto async_start_exec(client& c, exec_options opts, diagnostics& diag, Token&& token = client::default_token()) {
    return detail::initiate_free<exec_process, Token>(&detail::start_exec_impl, c, &diag, token, std::move(opts));
}
template <not_diagnostics Token = client::default_token>
auto async_start_exec(client& c, exec_options opts, Token&& token = client::default_token()) {
    return detail::initiate_free<exec_process, Token>(&detail::start_exec_impl, c, nullptr, token, std::move(opts));
}

/// Runs a command to completion (start + wait). A non-zero exit is error::command_failed with
/// the exit code and output in the result and an excerpt of the output in the diagnostics.
template <not_diagnostics Token = client::default_token>
auto async_exec(client& c, exec_options opts, diagnostics& diag, Token&& token = client::default_token()) {
    return detail::initiate_free<exec_result, Token>(&detail::exec_impl, c, &diag, token, std::move(opts));
}
template <not_diagnostics Token = client::default_token>
auto async_exec(client& c, exec_options opts, Token&& token = client::default_token()) {
    return detail::initiate_free<exec_result, Token>(&detail::exec_impl, c, nullptr, token, std::move(opts));
}

/// Synchronous twins, each on a private io_context and client with c's options (safe from any
/// thread). The throwing forms throw api_exception (a non-zero exit too: use the error_code form
/// to get the result).
std::vector<notice> wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout);
std::vector<notice> wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout, error_code& ec,
                                 diagnostics* diag = nullptr);

/// Synchronous exec on a private io_context (safe from any thread, including the client's own).
/// Throws api_exception; a non-zero exit throws too (use the error_code overload to get the result).
exec_result exec(client& c, exec_options opts);
exec_result exec(client& c, exec_options opts, error_code& ec, diagnostics* diag = nullptr);

// ---- logs following ---------------------------------------------------------------------------

/// Stops a log follow from any thread. Copies share the same state.
class follow_stopper {
public:
    follow_stopper();
    void stop();
    bool stopped() const;
    std::shared_ptr<detail::follow_state> state() const { return state_; }

private:
    std::shared_ptr<detail::follow_state> state_;
};

/// Receives each log entry; return false to stop following.
using log_sink = std::function<bool(const log_entry&)>;

namespace detail {
void follow_logs_impl(client& c, logs_options opts, log_sink sink, follow_stopper stop, diagnostics* diag,
                      client::handler<void> h);
void wait_notices_impl(client& c, notices_options opts, std::chrono::milliseconds timeout, diagnostics* diag,
                       client::handler<std::vector<notice>> h);
} // namespace detail

/// `GET /v1/logs?follow=true&n=…`: the last opts.n lines, then new ones as they are written, each
/// handed to `sink`. Completes with success when the sink returns false, `stop.stop()` is called,
/// or Pebble ends the response; with an error when the connection breaks or a line is not JSON.
template <not_diagnostics Token = client::default_token>
auto async_follow_logs(client& c, logs_options opts, log_sink sink, follow_stopper stop, diagnostics& diag,
                       Token&& token = client::default_token()) {
    return detail::initiate_free<void, Token>(&detail::follow_logs_impl, c, &diag, token, std::move(opts), std::move(sink),
                                              std::move(stop));
}
template <not_diagnostics Token = client::default_token>
auto async_follow_logs(client& c, logs_options opts, log_sink sink, follow_stopper stop, Token&& token = client::default_token()) {
    return detail::initiate_free<void, Token>(&detail::follow_logs_impl, c, nullptr, token, std::move(opts), std::move(sink),
                                              std::move(stop));
}

/// `GET /v1/notices?timeout=…` (Go's WaitNotices): waits up to `timeout` for notices matching
/// opts (use opts.after to wait for new ones); completes with them, or empty at the timeout.
template <not_diagnostics Token = client::default_token>
auto async_wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout, diagnostics& diag,
                        Token&& token = client::default_token()) {
    return detail::initiate_free<std::vector<notice>, Token>(&detail::wait_notices_impl, c, &diag, token, std::move(opts),
                                                             timeout);
}
template <not_diagnostics Token = client::default_token>
auto async_wait_notices(client& c, notices_options opts, std::chrono::milliseconds timeout, Token&& token = client::default_token()) {
    return detail::initiate_free<std::vector<notice>, Token>(&detail::wait_notices_impl, c, nullptr, token, std::move(opts),
                                                             timeout);
}

} // namespace redispebble::pebble

#endif
