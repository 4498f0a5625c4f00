// Exec over websockets (Go client's exec.go); see include/redispebble/pebble/exec.hpp.
//
// Each exec is a C++20 coroutine on its own strand and its own connections (own_connection.hpp):
// the `POST /v1/exec` and the three websockets (Beast over the Unix socket). Only the final wait on
// an exec's change goes through the client (async_wait_change). The notices long-poll is in
// notices.cpp, logs following in logs.cpp.
#include <redispebble/pebble/exec.hpp>
#include <redispebble/pebble/detail/connection.hpp>
#include <redispebble/pebble/detail/envelope.hpp>
#include <redispebble/pebble/detail/exec_sansio.hpp>
#include <redispebble/pebble/detail/json_util.hpp>
#include "own_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <array>
#include <cctype>
#include <mutex>

namespace redispebble::pebble {

namespace websocket = beast::websocket;

namespace detail {

namespace {

using local = asio::local::stream_protocol;
using stream_type = beast::basic_stream<local, asio::any_io_executor>;
using ws_stream = websocket::stream<stream_type>;

constexpr std::size_t excerpt_size = 512;

} // namespace

http::request<http::string_body> make_request(http::verb v, std::string target) {
    http::request<http::string_body> req{v, target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::accept, "application/json");
    return req;
}

awaitable<error_code> exchange(const client_options& o, http::request<http::string_body>& req, unsigned& status,
                               std::string& body, diagnostics& d, std::chrono::milliseconds timeout) {
    connection conn(co_await asio::this_coro::executor, o.socket_path);
    if (auto ec = co_await conn.ensure_open(o.connect_timeout)) {
        d = diagnostics{};
        d.message = connect_failure_message(o.socket_path, ec);
        co_return ec;
    }
    req.prepare_payload();
    error_code ec;
    conn.stream().expires_after(timeout);
    co_await http::async_write(conn.stream(), req, redirect(ec));
    http::response_parser<http::string_body> p;
    p.body_limit(own_max_json_body);
    if (!ec) co_await http::async_read(conn.stream(), conn.buffer(), p, redirect(ec));
    conn.close();
    if (ec) {
        d = diagnostics{};
        d.message = std::string(req.method_string()) + " " + std::string(req.target()) + ": " + ec.message();
        co_return map_transport_error(ec, false);
    }
    status = p.get().result_int();
    body = std::move(p.get().body());
    co_return error_code{};
}


// ---- the sans-io pieces ----------------------------------------------------------------------------

json::value exec_request_body(const exec_options& o) {
    json::object b;
    json::array cmd;
    for (auto& a : o.command) cmd.emplace_back(a);
    b["command"] = std::move(cmd);
    if (!o.service_context.empty()) b["service-context"] = o.service_context;
    if (!o.environment.empty()) {
        json::object env;
        for (auto& [k, v] : o.environment) env[k] = v;
        b["environment"] = std::move(env);
    }
    if (!o.working_dir.empty()) b["working-dir"] = o.working_dir;
    if (o.timeout.count() > 0) b["timeout"] = go_duration(o.timeout);
    if (o.user_id) b["user-id"] = *o.user_id;
    if (!o.user.empty()) b["user"] = o.user;
    if (o.group_id) b["group-id"] = *o.group_id;
    if (!o.group.empty()) b["group"] = o.group;
    b["terminal"] = o.terminal;
    b["interactive"] = o.interactive;
    b["split-stderr"] = o.split_stderr;
    b["width"] = o.width;
    b["height"] = o.height;
    return b;
}

error_code validate_exec_options(const exec_options& o, diagnostics& d) {
    if (o.command.empty() || o.command.front().empty())
        return invalid(d, "exec_options.command", "must name a program");
    if (o.timeout.count() < 0) return invalid(d, "exec_options.timeout", "must not be negative");
    if (o.width < 0 || o.height < 0) return invalid(d, "exec_options.width/height", "must not be negative");
    if (o.split_stderr && o.terminal)
        return invalid(d, "exec_options.split_stderr", "cannot be used with a terminal");
    for (auto& [k, v] : o.environment)
        if (k.empty() || k.find('=') != std::string::npos)
            return invalid(d, "exec_options.environment", "a variable name is empty or contains '='");
    return {};
}

int exit_code_of(const change& c) {
    for (auto& t : c.tasks) {
        if (t.data.empty()) continue;
        error_code ec;
        auto v = json::parse(t.data, ec);
        if (ec || !v.is_object()) continue;
        if (auto n = opt_int<int>(v.get_object(), "exit-code")) return *n;
    }
    return -1;
}

// ---- exec -------------------------------------------------------------------------------------

struct exec_state : std::enable_shared_from_this<exec_state> {
    exec_state(client& cl, exec_options o)
        : c(cl), copts(cl.options()), opts(std::move(o)), strand(asio::make_strand(cl.get_executor())) {}

    client& c;
    client_options copts;
    exec_options opts;
    asio::strand<asio::any_io_executor> strand;
    std::string change_id, task_id, program;
    std::optional<ws_stream> control, stdio, stderr_ws;
    bool control_busy = false;
    std::optional<asio::steady_timer> deadline;
    bool timed_out = false;
    bool output_done = false;
    std::string out_tail, err_tail;

    // completion
    bool finished = false;
    error_code ec;
    diagnostics diag;
    exec_result result;
    std::vector<std::pair<client::handler<exec_result>, diagnostics*>> waiters;

    static void close_ws(std::optional<ws_stream>& ws) {
        if (!ws) return;
        error_code ig;
        auto& sock = beast::get_lowest_layer(*ws).socket();
        if (sock.is_open()) {
            sock.shutdown(local::socket::shutdown_both, ig);
            sock.close(ig);
        }
    }
    void close_all() {
        close_ws(control);
        close_ws(stdio);
        close_ws(stderr_ws);
    }

    void keep_tail(std::string& tail, std::string_view data) {
        if (data.size() >= excerpt_size) {
            tail.assign(data.substr(data.size() - excerpt_size));
            return;
        }
        tail += data;
        if (tail.size() > excerpt_size) tail.erase(0, tail.size() - excerpt_size);
    }

    void deliver(bool is_stdout, std::string_view data) {
        keep_tail(is_stdout ? out_tail : err_tail, data);
        auto& sink = is_stdout ? opts.stdout_sink : opts.stderr_sink;
        if (sink) {
            sink(data);
            return;
        }
        auto& into = is_stdout ? result.stdout_data : result.stderr_data;
        std::size_t room = opts.max_output > into.size() ? opts.max_output - into.size() : 0;
        if (data.size() > room) result.truncated = true;
        into.append(data.substr(0, std::min(room, data.size())));
    }

    void finish(error_code e, diagnostics d) {
        finished = true;
        ec = e;
        diag = std::move(d);
        if (deadline) deadline->cancel();
        close_all();
        auto ws = std::move(waiters);
        waiters.clear();
        for (auto& [h, dp] : ws) {
            if (dp) *dp = diag;
            complete(std::move(h), ec, result);
        }
    }
};

namespace {

awaitable<error_code> connect_ws(exec_state& s, std::optional<ws_stream>& ws, const std::string& id, diagnostics& d) {
    ws.emplace(s.strand);
    auto& low = beast::get_lowest_layer(*ws);
    error_code ec;
    low.expires_after(s.copts.connect_timeout);
    co_await low.async_connect(local::endpoint(s.copts.socket_path), redirect(ec));
    if (ec) {
        d = diagnostics{};
        d.message = "cannot connect to " + s.copts.socket_path + " for the " + id + " websocket";
        co_return map_transport_error(ec, true);
    }
    low.expires_after(s.copts.connect_timeout);
    websocket::response_type res;
    co_await ws->async_handshake(res, "localhost", "/v1/tasks/" + s.task_id + "/websocket/" + id, redirect(ec));
    low.expires_never();
    if (ec) {
        d = diagnostics{};
        d.status_code = static_cast<int>(res.result_int());
        d.message = "websocket " + id + " of task " + s.task_id + ": " + ec.message();
        if (ec == beast::error::timeout) co_return error::timeout;
        if (ec == websocket::error::upgrade_declined) {
            envelope env;
            diagnostics pd;
            if (auto pec = parse_envelope(res.result_int(), res.body(), env, pd)) {
                d = pd;
                co_return pec;
            }
            co_return error::api_error;
        }
        co_return map_transport_error(ec, false);
    }
    ws->read_message_max(0);
    ws->auto_fragment(false);
    co_return error_code{};
}

awaitable<error_code> start_exec(exec_state& s, diagnostics& d) {
    if (auto ec = validate_exec_options(s.opts, d)) co_return ec;
    s.program = s.opts.command.front();
    auto req = make_request(http::verb::post, "/v1/exec");
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(exec_request_body(s.opts));
    unsigned status = 0;
    std::string body;
    if (auto ec = co_await exchange(s.copts, req, status, body, d, s.copts.request_timeout)) co_return ec;
    envelope env;
    if (auto ec = parse_envelope(status, body, env, d)) co_return ec;
    // The result also holds Pebble's whole environment: read the task id and forget the rest.
    if (env.type != "async" || !env.result.is_object() || str(env.result.get_object(), "task-id").empty() ||
        env.change.empty()) {
        d = diagnostics{};
        d.status_code = static_cast<int>(status);
        d.message = "exec answered without a change and task id";
        co_return error::bad_envelope;
    }
    s.task_id = str(env.result.get_object(), "task-id");
    s.change_id = env.change;
    s.result.change_id = s.change_id;
    s.result.task_id = s.task_id;
    env.result = nullptr;
    body.clear();
    body.shrink_to_fit();
    // Control first, then the I/O sockets (Pebble starts the command once those are connected).
    if (auto ec = co_await connect_ws(s, s.control, "control", d)) co_return ec;
    if (auto ec = co_await connect_ws(s, s.stdio, "stdio", d)) co_return ec;
    if (s.opts.split_stderr)
        if (auto ec = co_await connect_ws(s, s.stderr_ws, "stderr", d)) co_return ec;
    co_return error_code{};
}

/// Output frames until the text frame {"command":"end"}.
awaitable<void> pump_output(exec_state& s, ws_stream& ws, bool is_stdout, error_code& result) {
    std::vector<char> buf(io_chunk);
    std::string text;
    for (;;) {
        error_code ec;
        std::size_t n = co_await ws.async_read_some(asio::buffer(buf), redirect(ec));
        if (ec) {
            result = ec;
            co_return;
        }
        if (ws.got_text()) {
            if (text.size() + n > 4096) {
                result = error::bad_envelope;
                co_return;
            }
            text.append(buf.data(), n);
            if (!ws.is_message_done()) continue;
            error_code jec;
            auto v = json::parse(text, jec);
            text.clear();
            if (!jec && v.is_object() && str(v.get_object(), "command") == "end") co_return;
            continue;  // other commands on an output stream: ignored, as Pebble's client does
        }
        s.deliver(is_stdout, std::string_view(buf.data(), n));
    }
}

/// Standard input as binary frames, then {"command":"end"}. Runs detached: the command may exit
/// without reading it all, and then closing stdio ends this.
awaitable<void> pump_stdin(std::shared_ptr<exec_state> s) {
    auto& ws = *s->stdio;
    error_code ec;
    ws.binary(true);
    if (s->opts.stdin_source) {
        std::vector<char> buf(io_chunk);
        for (;;) {
            std::size_t n = 0;
            try {
                n = s->opts.stdin_source(std::span<char>(buf));
            } catch (...) {
                n = 0;  // a failing source ends the input
            }
            if (n == 0 || n > buf.size()) break;
            co_await ws.async_write(asio::buffer(buf.data(), n), redirect(ec));
            if (ec) co_return;
        }
    } else if (s->opts.stdin_data) {
        std::string_view data = *s->opts.stdin_data;
        for (std::size_t off = 0; off < data.size(); off += io_chunk) {
            auto part = data.substr(off, io_chunk);
            co_await ws.async_write(asio::buffer(part.data(), part.size()), redirect(ec));
            if (ec) co_return;
        }
    }
    ws.text(true);
    static constexpr std::string_view end = R"({"command":"end"})";
    co_await ws.async_write(asio::buffer(end.data(), end.size()), redirect(ec));
}

awaitable<void> run_exec(std::shared_ptr<exec_state> s) {
    using namespace asio::experimental::awaitable_operators;
    if (s->opts.timeout.count() > 0) {
        s->deadline.emplace(s->strand, s->opts.timeout + s->copts.request_timeout);
        s->deadline->async_wait([w = std::weak_ptr<exec_state>(s)](error_code e) {
            if (e) return;
            if (auto st = w.lock(); st && !st->output_done) {
                st->timed_out = true;
                st->close_all();
            }
        });
    }
    asio::co_spawn(s->strand, pump_stdin(s), asio::detached);
    error_code out_ec, err_ec;
    if (s->stderr_ws)
        co_await (pump_output(*s, *s->stdio, true, out_ec) && pump_output(*s, *s->stderr_ws, false, err_ec));
    else
        co_await pump_output(*s, *s->stdio, true, out_ec);
    s->output_done = true;
    // Pebble never closes stdio and drops control without a close frame: close them ourselves.
    s->close_all();
    diagnostics d;
    if (s->timed_out) {
        d.message = "exec of \"" + s->program + "\": no end of output within the timeout";
        s->finish(error::timeout, std::move(d));
        co_return;
    }
    // A server that closes an output socket instead of sending "end" has still finished it: the
    // change says how the command ended.
    auto ended = [](error_code& e) {
        if (e == websocket::error::closed || e == asio::error::eof || e == asio::error::connection_reset) e = {};
    };
    ended(out_ec);
    ended(err_ec);
    if (auto e = out_ec ? out_ec : err_ec) {
        d.message = "exec of \"" + s->program + "\": output stream broke: " + e.message();
        s->finish(e == error::bad_envelope ? e : map_transport_error(e, false), std::move(d));
        co_return;
    }
    wait_change_options wo;
    wo.timeout = s->copts.request_timeout;
    error_code ec;
    auto ch = co_await s->c.async_wait_change(s->change_id, wo, d, redirect(ec));
    if (ec) {
        s->finish(ec, std::move(d));
        co_return;
    }
    s->result.exit_code = exit_code_of(ch);
    if (ch.failed()) {
        d = diagnostics{};
        d.message = ch.err;
        s->finish(ch.err.find("timed out after") != std::string::npos ? error::timeout : error::change_failed, std::move(d));
        co_return;
    }
    if (s->result.exit_code != 0) {
        d = diagnostics{};
        d.message = "command \"" + s->program + "\" exited with code " + std::to_string(s->result.exit_code);
        const std::string& tail = !s->err_tail.empty() ? s->err_tail : s->out_tail;
        if (!tail.empty()) d.value = json::serialize(json::string(tail));
        s->finish(error::command_failed, std::move(d));
        co_return;
    }
    s->finish({}, {});
}

awaitable<error_code> write_control(std::shared_ptr<exec_state> s, std::string text, diagnostics& d) {
    while (s->control_busy) {
        asio::steady_timer t(s->strand, std::chrono::milliseconds(5));
        error_code ig;
        co_await t.async_wait(redirect(ig));
    }
    if (s->finished || !s->control || !beast::get_lowest_layer(*s->control).socket().is_open()) {
        d.message = "the command has finished";
        co_return error::invalid_option;
    }
    s->control_busy = true;
    error_code ec;
    s->control->text(true);
    beast::get_lowest_layer(*s->control).expires_after(s->copts.request_timeout);
    co_await s->control->async_write(asio::buffer(text), redirect(ec));
    beast::get_lowest_layer(*s->control).expires_never();
    s->control_busy = false;
    if (ec) {
        d.message = "control websocket: " + ec.message();
        co_return map_transport_error(ec, false);
    }
    co_return error_code{};
}

void control_op(std::shared_ptr<exec_state> s, std::string text, client::handler<void> h) {
    if (!s) {
        complete(std::move(h), error_code(error::invalid_option));
        return;
    }
    auto strand = s->strand;
    asio::co_spawn(
        strand,
        [s = std::move(s), text = std::move(text)]() -> awaitable<error_code> {
            diagnostics d;
            co_return co_await write_control(s, text, d);
        },
        [h = std::move(h)](std::exception_ptr ep, error_code ec) mutable {
            if (ep) ec = error::api_error;
            complete(std::move(h), ec);
        });
}

} // namespace

void start_exec_impl(client& c, exec_options opts, diagnostics* diag, client::handler<exec_process> h) {
    auto s = std::make_shared<exec_state>(c, std::move(opts));
    asio::co_spawn(
        s->strand,
        [s]() -> awaitable<std::pair<error_code, diagnostics>> {
            diagnostics d;
            auto ec = co_await start_exec(*s, d);
            co_return std::make_pair(ec, std::move(d));
        },
        [s, diag, h = std::move(h)](std::exception_ptr ep, std::pair<error_code, diagnostics> r) mutable {
            if (ep) {
                r.first = error::api_error;
                r.second.message = "internal error";
            }
            if (diag) *diag = r.second;
            if (r.first) {
                s->close_all();
                complete(std::move(h), r.first, exec_process{});
                return;
            }
            asio::co_spawn(s->strand, run_exec(s), [s](std::exception_ptr ep2) {
                if (ep2 && !s->finished) {
                    diagnostics d;
                    d.message = "internal error";
                    s->finish(error::api_error, std::move(d));
                }
            });
            complete(std::move(h), error_code{}, exec_process(s));
        });
}

void exec_impl(client& c, exec_options opts, diagnostics* diag, client::handler<exec_result> h) {
    start_exec_impl(c, std::move(opts), diag,
                    [diag, h = std::move(h)](error_code ec, exec_process p) mutable {
                        if (ec) {
                            complete(std::move(h), ec, exec_result{});
                            return;
                        }
                        if (diag) p.async_wait(*diag, std::move(h));
                        else p.async_wait(std::move(h));
                    });
}

} // namespace detail

const std::string& exec_process::change_id() const { return state_->change_id; }
const std::string& exec_process::task_id() const { return state_->task_id; }

void exec_process::send_signal_impl(std::shared_ptr<detail::exec_state> st, std::string name, client::handler<void> h) {
    json::object o{{"command", "signal"}, {"signal", json::object{{"name", name}}}};
    detail::control_op(std::move(st), json::serialize(o), std::move(h));
}

void exec_process::resize_impl(std::shared_ptr<detail::exec_state> st, int w, int hh, client::handler<void> h) {
    json::object o{{"command", "resize"}, {"resize", json::object{{"width", w}, {"height", hh}}}};
    detail::control_op(std::move(st), json::serialize(o), std::move(h));
}

void exec_process::wait_impl(std::shared_ptr<detail::exec_state> st, diagnostics* diag, client::handler<exec_result> h) {
    if (!st) {
        detail::complete(std::move(h), error_code(error::invalid_option), exec_result{});
        return;
    }
    auto strand = st->strand;
    asio::dispatch(strand, [st = std::move(st), diag, h = std::move(h)]() mutable {
        if (st->finished) {
            if (diag) *diag = st->diag;
            detail::complete(std::move(h), st->ec, st->result);
            return;
        }
        st->waiters.emplace_back(std::move(h), diag);
    });
}

exec_result exec(client& c, exec_options opts, error_code& ec, diagnostics* diag) {
    return detail::run_private<exec_result>(c, ec, diag, [&](client& tmp, diagnostics& d, auto done) {
        async_exec(tmp, std::move(opts), d, done);
    });
}

exec_result exec(client& c, exec_options opts) {
    error_code ec;
    diagnostics d;
    auto r = exec(c, std::move(opts), ec, &d);
    throw_if_failed(ec, d);
    return r;
}

} // namespace redispebble::pebble
