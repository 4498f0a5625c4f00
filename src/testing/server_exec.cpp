// The test server's streaming endpoints: POST /v1/exec with its three websockets, GET /v1/logs
// with follow=true, and the GET /v1/notices long-poll. server.cpp hands a request here
// (serve_streaming) before its own routing; state that belongs to the server (changes, logs,
// notices) is reached through detail::server_host.
//
// Frame behaviour follows Pebble v1.26 (transcripts 54-59): the command starts once stdio (and
// stderr) are connected, within 5 s; output goes out as binary frames, then a text frame
// {"command":"end"}; stdin comes in as binary frames until {"command":"end"}; the control socket
// takes signal and resize commands and is dropped without a close frame when the command exits;
// stdio is never closed by the server. The exit code (128+signal when killed; -1 on a timeout)
// lands in the task data "exit-code".
#include "daemon.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/beast/websocket.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <limits>
#include <optional>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace redispebble::testing::detail {

// The namespace aliases, status_text() and http_date() are daemon.hpp's.
namespace websocket = beast::websocket;
using stream_type = beast::basic_stream<local, asio::any_io_executor>;
using ws_t = websocket::stream<stream_type>;

namespace {

auto redirect(error_code& ec) { return asio::redirect_error(use_awaitable, ec); }

std::string envelope_wire(unsigned status, json::object body) {
    const std::string text = json::serialize(body);
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nDate: {}\r\nContent-Length: {}\r\n\r\n{}",
                       status, status_text(status), http_date(), text.size(), text);
}

std::string error_wire(unsigned status, const std::string& message) {
    return envelope_wire(status, json::object{{"type", "error"},
                                              {"status-code", status},
                                              {"status", status_text(status)},
                                              {"result", json::object{{"message", message}}}});
}

/// Go's time.ParseDuration for the simple forms clients send ("10s", "1.5s", "500ms", "1m0s").
std::chrono::milliseconds parse_duration(const std::string& s) {
    double total = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = i;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
        if (j == i) throw std::invalid_argument("bad duration");
        double v = std::stod(s.substr(i, j - i));
        std::size_t k = j;
        while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
        const std::string unit = s.substr(j, k - j);
        if (unit == "h") v *= 3600e3;
        else if (unit == "m") v *= 60e3;
        else if (unit == "s") v *= 1e3;
        else if (unit == "ms") v *= 1;
        else if (unit == "us" || unit == "µs") v /= 1e3;
        else if (unit == "ns") v /= 1e6;
        else throw std::invalid_argument("bad duration unit");
        total += v;
        i = k;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(total));
}

/// Go's time.Duration.String() for whole milliseconds ("500ms", "1.5s", "1m30s", "1h0m0s").
std::string go_duration_string(std::chrono::milliseconds d) {
    std::int64_t ms = d.count();
    if (ms == 0) return "0s";
    if (ms < 1000) return fmt::format("{}ms", ms);
    std::string secs = fmt::format("{}", (ms % 60000) / 1000);
    if (ms % 1000 != 0) {
        std::string frac = fmt::format("{:03}", ms % 1000);
        while (frac.back() == '0') frac.pop_back();
        secs += "." + frac;
    }
    secs += "s";
    const std::int64_t minutes = ms / 60000;
    if (minutes == 0) return secs;
    if (minutes < 60) return fmt::format("{}m{}", minutes, secs);
    return fmt::format("{}h{}m{}", minutes / 60, minutes % 60, secs);
}

std::string find_executable(const std::string& name, const std::map<std::string, std::string>& env) {
    auto ok = [](const std::string& p) {
        struct stat st {};
        return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string::npos) return ok(name) ? name : "";
    auto it = env.find("PATH");
    std::string path = it == env.end() ? "/usr/local/bin:/usr/bin:/bin" : it->second;
    std::size_t start = 0;
    for (;;) {
        auto colon = path.find(':', start);
        std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (dir.empty()) dir = ".";
        if (ok(dir + "/" + name)) return dir + "/" + name;
        if (colon == std::string::npos) return "";
        start = colon + 1;
    }
}

struct exec_session {
    server_host* host = nullptr;
    std::string change_id, task_id, program, path, working_dir;
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    std::chrono::milliseconds timeout{0};
    bool split = false;
    std::shared_ptr<ws_t> control, stdio, stderr_ws;
    pid_t pid = -1;
    bool exited = false;
    int status = 0;
    /// A server destroyed mid-exec (its io_context drops this session) leaves no process behind.
    ~exec_session() {
        if (pid > 0 && !exited) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

std::mutex sessions_m;
// Weak: a session lives in its run_session coroutine, so it ends with the server's io_context.
std::map<std::pair<server_host*, std::string>, std::weak_ptr<exec_session>> sessions;

std::shared_ptr<exec_session> find_session(server_host* h, const std::string& task) {
    std::lock_guard<std::mutex> lock(sessions_m);
    auto it = sessions.find({h, task});
    if (it == sessions.end()) return nullptr;
    auto s = it->second.lock();
    if (!s) sessions.erase(it);
    return s;
}

void drop_session(server_host* h, const std::string& task) {
    std::lock_guard<std::mutex> lock(sessions_m);
    sessions.erase({h, task});
}

void close_raw(const std::shared_ptr<ws_t>& ws) {
    if (!ws) return;
    error_code ig;
    auto& sock = beast::get_lowest_layer(*ws).socket();
    sock.shutdown(local::socket::shutdown_both, ig);
    sock.close(ig);
}

/// Pipe output to a websocket as binary frames, then {"command":"end"}.
awaitable<void> pump_out(asio::posix::stream_descriptor& fd, std::shared_ptr<ws_t> ws) {
    std::vector<char> buf(64 * 1024);
    error_code ec;
    bool ws_ok = true;
    for (;;) {
        std::size_t n = co_await fd.async_read_some(asio::buffer(buf), redirect(ec));
        if (ec) break;
        if (!ws_ok) continue;
        ws->binary(true);
        co_await ws->async_write(asio::buffer(buf.data(), n), redirect(ec));
        if (ec) ws_ok = false;  // keep draining the pipe so the command never blocks on it
    }
    if (ws_ok) {
        ws->text(true);
        static constexpr std::string_view end = R"({"command":"end"})";
        co_await ws->async_write(asio::buffer(end.data(), end.size()), redirect(ec));
    }
}

/// stdio's incoming frames into the command's stdin until {"command":"end"}; then keeps reading
/// (and discarding) so the client's close is noticed.
awaitable<void> pump_in(std::shared_ptr<asio::posix::stream_descriptor> fd, std::shared_ptr<ws_t> ws) {
    std::vector<char> buf(64 * 1024);
    std::string text;
    error_code ec;
    for (;;) {
        std::size_t n = co_await ws->async_read_some(asio::buffer(buf), redirect(ec));
        if (ec) break;
        if (ws->got_text()) {
            text.append(buf.data(), std::min<std::size_t>(n, 4096));
            if (!ws->is_message_done()) continue;
            error_code jec;
            auto v = json::parse(text, jec);
            text.clear();
            if (!jec && v.is_object()) {
                auto* c = v.as_object().if_contains("command");
                if (c && c->is_string() && c->get_string() == "end" && fd->is_open()) fd->close(ec);
            }
            continue;
        }
        if (fd->is_open()) {
            co_await asio::async_write(*fd, asio::buffer(buf.data(), n), redirect(ec));
            if (ec) fd->close(ec);  // the command stopped reading (EPIPE): drop the rest
        }
    }
    if (fd->is_open()) fd->close(ec);
}

/// Control commands: {"command":"signal","signal":{"name":"SIGTERM"}}, {"command":"resize",...}.
awaitable<void> read_control(std::shared_ptr<exec_session> s) {
    auto ws = s->control;
    beast::flat_buffer buf;
    static const std::map<std::string, int> names{{"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL}, {"SIGINT", SIGINT},
                                                  {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
                                                  {"SIGQUIT", SIGQUIT}, {"SIGWINCH", SIGWINCH}};
    for (;;) {
        error_code ec;
        buf.clear();
        co_await ws->async_read(buf, redirect(ec));
        if (ec) co_return;
        error_code jec;
        auto v = json::parse(beast::buffers_to_string(buf.data()), jec);
        if (jec || !v.is_object()) continue;
        auto& o = v.as_object();
        auto* cmd = o.if_contains("command");
        if (!cmd || !cmd->is_string() || cmd->get_string() != "signal") continue;
        auto* sig = o.if_contains("signal");
        if (!sig || !sig->is_object()) continue;
        auto* name = sig->as_object().if_contains("name");
        if (!name || !name->is_string()) continue;
        auto it = names.find(std::string(name->get_string()));
        if (it != names.end() && s->pid > 0 && !s->exited) ::kill(s->pid, it->second);
    }
}

void set_nonblock_cloexec(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

awaitable<void> run_session(std::shared_ptr<exec_session> s) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    // Pebble gives the client 5 s to connect the I/O websockets.
    const auto connect_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!(s->stdio && (!s->split || s->stderr_ws))) {
        if (std::chrono::steady_clock::now() > connect_deadline) {
            s->host->finish_exec(s->change_id, -1,
                                 fmt::format("exec {}: timeout waiting for websocket connections: context deadline exceeded", s->task_id));
            close_raw(s->control);
            close_raw(s->stdio);
            close_raw(s->stderr_ws);
            drop_session(s->host, s->task_id);
            co_return;
        }
        asio::steady_timer t(ex, std::chrono::milliseconds(10));
        error_code ig;
        co_await t.async_wait(redirect(ig));
    }
    int in[2], out[2], err[2] = {-1, -1};
    if (::pipe(in) != 0 || ::pipe(out) != 0 || (s->split && ::pipe(err) != 0)) {
        s->host->finish_exec(s->change_id, -1, std::string("cannot create pipes: ") + std::strerror(errno));
        drop_session(s->host, s->task_id);
        co_return;
    }
    std::vector<std::string> envs;
    for (auto& [k, v] : s->env) envs.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : s->argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int errfd = s->split ? err[1] : out[1];
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(errfd, 2);
        for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        if (!s->working_dir.empty() && ::chdir(s->working_dir.c_str()) != 0) ::_exit(126);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(s->path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (s->split) ::close(err[1]);
    if (pid < 0) {
        ::close(in[1]);
        ::close(out[0]);
        if (s->split) ::close(err[0]);
        s->host->finish_exec(s->change_id, -1, std::string("cannot fork: ") + std::strerror(errno));
        drop_session(s->host, s->task_id);
        co_return;
    }
    s->pid = pid;
    set_nonblock_cloexec(in[1]);
    set_nonblock_cloexec(out[0]);
    auto stdin_fd = std::make_shared<asio::posix::stream_descriptor>(ex, in[1]);
    asio::posix::stream_descriptor stdout_fd(ex, out[0]);
    std::optional<asio::posix::stream_descriptor> stderr_fd;
    if (s->split) {
        set_nonblock_cloexec(err[0]);
        stderr_fd.emplace(ex, err[0]);
    }
    asio::co_spawn(ex, pump_in(stdin_fd, s->stdio), asio::detached);
    if (s->control) asio::co_spawn(ex, read_control(s), asio::detached);

    // Reap (polling keeps the server free of SIGCHLD handling); kill on the exec timeout.
    bool timed_out = false;
    auto reap = [&]() -> awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            int st = 0;
            pid_t r = ::waitpid(pid, &st, WNOHANG);
            if (r == pid) {
                s->exited = true;
                s->status = st;
                co_return;
            }
            if (r < 0) {
                s->exited = true;
                co_return;
            }
            if (s->timeout.count() > 0 && !timed_out && std::chrono::steady_clock::now() - start > s->timeout) {
                timed_out = true;
                ::kill(pid, SIGKILL);
            }
            asio::steady_timer t(ex, std::chrono::milliseconds(10));
            error_code ig;
            co_await t.async_wait(redirect(ig));
        }
    };
    if (stderr_fd)
        co_await (reap() && pump_out(stdout_fd, s->stdio) && pump_out(*stderr_fd, s->stderr_ws));
    else
        co_await (reap() && pump_out(stdout_fd, s->stdio));
    // Pebble drops control without a close frame; stdio stays open until the client closes it.
    close_raw(s->control);
    int code = -1;
    if (WIFEXITED(s->status)) code = WEXITSTATUS(s->status);
    else if (WIFSIGNALED(s->status)) code = 128 + WTERMSIG(s->status);
    if (timed_out)
        s->host->finish_exec(s->change_id, -1,
                             fmt::format("timed out after {}: context deadline exceeded", go_duration_string(s->timeout)));
    else
        s->host->finish_exec(s->change_id, code, "");
    drop_session(s->host, s->task_id);
}

awaitable<void> write_wire(stream_type& stream, const std::string& wire) {
    error_code ec;
    stream.expires_after(std::chrono::seconds(30));
    co_await asio::async_write(stream, asio::buffer(wire), redirect(ec));
    stream.expires_never();
}

awaitable<void> post_exec(server_host& host, stream_type& stream, const http::request<http::string_body>& req) {
    error_code jec;
    auto v = json::parse(req.body(), jec);
    if (jec || !v.is_object()) {
        { const std::string wire_ = error_wire(400, "cannot decode request body: " + jec.message()); co_await write_wire(stream, wire_); }
        co_return;
    }
    auto& o = v.as_object();
    auto s = std::make_shared<exec_session>();
    s->host = &host;
    if (auto* c = o.if_contains("command"); c && c->is_array())
        for (auto& a : c->get_array())
            if (a.is_string()) s->argv.emplace_back(a.get_string());
    if (s->argv.empty()) {
        { const std::string wire_ = error_wire(400, "must specify command"); co_await write_wire(stream, wire_); }
        co_return;
    }
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) s->env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (auto* e = o.if_contains("environment"); e && e->is_object())
        for (auto& [k, val] : e->get_object())
            if (val.is_string()) s->env[std::string(k)] = std::string(val.get_string());
    s->program = s->argv.front();
    s->path = find_executable(s->program, s->env);
    if (s->path.empty()) {
        { const std::string wire_ = error_wire(400, fmt::format("cannot find executable \"{}\"", s->program)); co_await write_wire(stream, wire_); }
        co_return;
    }
    if (auto* w = o.if_contains("working-dir"); w && w->is_string()) s->working_dir = std::string(w->get_string());
    if (s->working_dir.empty()) s->working_dir = s->env.count("HOME") ? s->env["HOME"] : "/";
    if (auto* t = o.if_contains("timeout"); t && t->is_string() && !t->get_string().empty()) {
        bool bad = false;
        try {
            s->timeout = parse_duration(std::string(t->get_string()));
        } catch (const std::exception&) {
            bad = true;
        }
        if (bad) {
            const std::string wire = error_wire(400, fmt::format("invalid timeout \"{}\"", std::string(t->get_string())));
            co_await write_wire(stream, wire);
            co_return;
        }
    }
    if (auto* sp = o.if_contains("split-stderr"); sp && sp->is_bool()) s->split = sp->get_bool();
    auto ids = host.begin_exec(fmt::format("Execute command \"{}\"", s->program));
    s->change_id = ids.first;
    s->task_id = ids.second;
    {
        std::lock_guard<std::mutex> lock(sessions_m);
        for (auto it = sessions.begin(); it != sessions.end();) it = it->second.expired() ? sessions.erase(it) : std::next(it);
        sessions[{&host, s->task_id}] = s;
    }
    asio::co_spawn(stream.get_executor(), run_session(s), asio::detached);
    json::object env;
    for (auto& [k, val] : s->env) env[k] = val;
    json::object result;
    result["environment"] = std::move(env);
    result["task-id"] = s->task_id;
    result["working-dir"] = s->working_dir;
    json::object body;
    body["type"] = "async";
    body["status-code"] = 202;
    body["status"] = "Accepted";
    body["change"] = s->change_id;
    body["result"] = std::move(result);
    const std::string wire = envelope_wire(202, std::move(body));
    co_await write_wire(stream, wire);
}

awaitable<void> follow_logs(server_host& host, stream_type& stream, const std::vector<std::string>& services, int n) {
    error_code ec;
    std::string head = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nDate: {}\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n",
                                   http_date());
    co_await asio::async_write(stream, asio::buffer(head), redirect(ec));
    std::size_t pos = std::string::npos;
    bool first = true;
    while (!ec) {
        std::string lines = host.logs_after(pos, services, first ? n : -1);
        first = false;
        if (!lines.empty()) {
            std::string chunk = fmt::format("{:x}\r\n{}\r\n", lines.size(), lines);
            stream.expires_after(std::chrono::seconds(30));
            co_await asio::async_write(stream, asio::buffer(chunk), redirect(ec));
            stream.expires_never();
            if (ec) break;
        }
        // Notice a client that went away: a read completes (eof) when it closes.
        asio::steady_timer t(stream.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(redirect(ec));
        char c;
        error_code rec;
        auto avail = stream.socket().available(rec);
        if (rec) break;
        if (avail == 0) {
            // Non-blocking peek for an orderly close.
            auto r = ::recv(stream.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r == 0) break;
        }
        ec = {};
    }
    error_code ig;
    stream.socket().shutdown(local::socket::shutdown_both, ig);
}

awaitable<void> wait_notices(server_host& host, stream_type& stream, const std::string& target,
                             std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    unsigned status = 0;
    std::string body;
    for (;;) {
        body = host.get_json(target, status);
        if (status != 200 || std::chrono::steady_clock::now() >= deadline) break;
        error_code jec;
        auto v = json::parse(body, jec);
        if (jec || !v.is_object()) break;
        auto* r = v.as_object().if_contains("result");
        if (!r || !r->is_array() || !r->get_array().empty()) break;
        asio::steady_timer t(stream.get_executor(), std::chrono::milliseconds(20));
        error_code ig;
        co_await t.async_wait(redirect(ig));
    }
    co_await write_wire(stream, fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nDate: {}\r\n"
                                            "Content-Length: {}\r\n\r\n{}",
                                            status, status_text(status), http_date(), body.size(), body));
}

} // namespace

awaitable<int> serve_streaming(server_host& host, stream_type& stream, http::request<http::string_body>& req,
                               const std::string& path, const std::multimap<std::string, std::string>& query) {
    auto get = [&](const std::string& k) {
        auto it = query.find(k);
        return it == query.end() ? std::string{} : it->second;
    };
    if (path == "/v1/exec" && req.method() == http::verb::post) {
        co_await post_exec(host, stream, req);
        co_return 1;
    }
    static const std::string tasks = "/v1/tasks/";
    if (path.rfind(tasks, 0) == 0 && req.method() == http::verb::get) {
        const std::string rest = path.substr(tasks.size());
        const auto slash = rest.find("/websocket/");
        if (slash == std::string::npos) co_return 0;
        const std::string task = rest.substr(0, slash);
        const std::string id = rest.substr(slash + std::string("/websocket/").size());
        auto s = find_session(&host, task);
        if (!s) {
            { const std::string wire_ = error_wire(404, fmt::format("cannot find task with id \"{}\"", task)); co_await write_wire(stream, wire_); }
            co_return 1;
        }
        if (id != "control" && id != "stdio" && !(id == "stderr" && s->split)) {
            { const std::string wire_ = error_wire(400, fmt::format("invalid websocket ID \"{}\"", id)); co_await write_wire(stream, wire_); }
            co_return 1;
        }
        if (!websocket::is_upgrade(req)) {
            { const std::string wire_ = error_wire(400, "websocket upgrade required"); co_await write_wire(stream, wire_); }
            co_return 1;
        }
        auto ws = std::make_shared<ws_t>(std::move(stream));
        error_code ec;
        beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(5));
        co_await ws->async_accept(req, redirect(ec));
        beast::get_lowest_layer(*ws).expires_never();
        if (ec) co_return 2;
        ws->read_message_max(0);
        if (id == "control") s->control = ws;
        else if (id == "stdio") s->stdio = ws;
        else s->stderr_ws = ws;
        co_return 2;
    }
    if (path == "/v1/logs" && req.method() == http::verb::get && get("follow") == "true") {
        std::vector<std::string> services;
        for (auto [a, b] = query.equal_range("services"); a != b; ++a) {
            std::string v = a->second;
            std::size_t start = 0;
            for (;;) {
                auto comma = v.find(',', start);
                auto item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!item.empty()) services.push_back(item);
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        }
        int n = 0;  // api_logs.go: without n, a follow starts at the end (a plain GET gives the last 30)
        if (!get("n").empty()) {
            const auto parsed = logs_n(get("n"));
            if (!parsed) {
                const std::string wire = error_wire(400, "n must be -1, 0, or a positive integer");
                co_await write_wire(stream, wire);
                co_return 1;
            }
            n = *parsed;
        }
        co_await follow_logs(host, stream, services, n);
        co_return 2;
    }
    if (path == "/v1/notices" && req.method() == http::verb::get && !get("timeout").empty()) {
        std::chrono::milliseconds timeout{0};
        bool bad = false;
        try {
            timeout = parse_duration(get("timeout"));
        } catch (const std::exception&) {
            bad = true;
        }
        if (bad) {
            const std::string wire = error_wire(400, fmt::format("invalid timeout \"{}\"", get("timeout")));
            co_await write_wire(stream, wire);
            co_return 1;
        }
        co_await wait_notices(host, stream, std::string(req.target()), timeout);
        co_return 1;
    }
    co_return 0;
}

std::optional<int> logs_n(const std::string& text) {
    // strconv.Atoi: an optional sign, then decimal digits only; out of int64 range is an error.
    std::string_view digits = text;
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t v = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) return std::nullopt;
    if (negative) v = -v;
    if (v < -1) return std::nullopt;
    return static_cast<int>(std::min<std::int64_t>(v, std::numeric_limits<int>::max()));
}

} // namespace redispebble::testing::detail
