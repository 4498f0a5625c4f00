// The test server's routing and connections: the accept loop, one coroutine a connection, the fault
// injection, the route table from a request to its API area, and pebble_server's public methods.
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

// Go's url.QueryUnescape: %XX (two hex digits) and '+' for a space; nullopt for a malformed escape.
std::optional<std::string> url_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+') {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

// Go's url.ParseQuery as Request.URL.Query() uses it: pairs split on '&', a pair whose key or
// value has a malformed escape is dropped (Query() ignores the error), the rest kept. Pebble
// answers `?names=%zz` as if no names were given.
target_t parse_target(std::string_view t) {
    target_t out;
    auto q = t.find('?');
    out.path = std::string(t.substr(0, q));
    if (q == std::string_view::npos) return out;
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view kv = rest.substr(0, amp);
        auto eq = kv.find('=');
        auto key = url_decode(kv.substr(0, eq));
        auto value = eq == std::string_view::npos ? std::optional<std::string>("") : url_decode(kv.substr(eq + 1));
        // (Go 1.17 on also drops a pair holding a ';'.)
        if (key && value && !kv.empty() && kv.find(';') == std::string_view::npos) out.query.emplace(std::move(*key), std::move(*value));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

} // namespace

reply pebble_server::impl::route(const http::request<http::string_body>& req) {
    const target_t t = parse_target(req.target());
    const std::string& p = t.path;
    const auto method = req.method();
    auto only = [&](std::initializer_list<http::verb> allowed) -> std::optional<reply> {
        if (std::find(allowed.begin(), allowed.end(), method) != allowed.end()) return std::nullopt;
        return error(405, fmt::format("method \"{}\" not allowed", std::string(req.method_string())));
    };
    if (p == "/v1/system-info") {
        if (auto r = only({http::verb::get})) return *r;
        return sync(json::object{{"boot-id", boot_id()}, {"version", opts.version}});
    }
    if (p == "/v1/health") return health(t);
    if (p == "/v1/plan") {
        if (auto r = only({http::verb::get})) return *r;
        const std::string f = t.get("format");
        if (f != "yaml") return error(400, fmt::format("invalid format \"{}\"", f));
        std::lock_guard<std::mutex> lock(m);
        return sync(json::string(to_plan_yaml(plan_locked())));
    }
    if (p == "/v1/layers") {
        if (auto r = only({http::verb::post})) return *r;
        return with_object(req.body(), [this](const json::object& o) { return add_layer(o); });
    }
    if (p == "/v1/services") {
        if (auto r = only({http::verb::get, http::verb::post})) return *r;
        return method == http::verb::get ? list_services(t) : with_object(req.body(), [this](const json::object& o) { return post_services(o); });
    }
    if (p == "/v1/changes") {
        if (auto r = only({http::verb::get})) return *r;
        return list_changes(t);
    }
    if (p.rfind("/v1/changes/", 0) == 0) return change_endpoint(req, t);
    if (p == "/v1/files") {
        if (auto r = only({http::verb::get, http::verb::post})) return *r;
        return method == http::verb::get ? get_files(req, t) : post_files(req);
    }
    if (p == "/v1/checks") {
        if (auto r = only({http::verb::get, http::verb::post})) return *r;
        return method == http::verb::get ? list_checks(t) : with_object(req.body(), [this](const json::object& o) { return post_checks(o); });
    }
    if (p == "/v1/checks/refresh") {
        if (auto r = only({http::verb::post})) return *r;
        return error(500, "internal error: refresh is served asynchronously");
    }
    if (p == "/v1/signals") {
        if (auto r = only({http::verb::post})) return *r;
        return with_object(req.body(), [this](const json::object& o) { return signals(o); });
    }
    if (p == "/v1/notices" || p.rfind("/v1/notices/", 0) == 0) return notices_endpoint(req, t);
    if (p == "/v1/logs") {
        if (auto r = only({http::verb::get})) return *r;
        return get_logs(t);
    }
    if (p == "/v1/identities") {
        if (auto r = only({http::verb::get, http::verb::post})) return *r;
        if (method == http::verb::get) return sync(json::object{});
        // The body is checked as Pebble does; identities are not kept.
        return with_object(req.body(), [](const json::object& o) {
            const std::string action = str_of(o, "action");
            if (action != "add" && action != "update" && action != "replace" && action != "remove")
                return error(400, fmt::format("invalid action \"{}\", must be \"add\", \"update\", \"replace\", or \"remove\"", action));
            return sync(json::object{});
        });
    }
    return error(404, "invalid API endpoint requested");
}

reply pebble_server::impl::route_or_500(const http::request<http::string_body>& req) {
    // A handler that throws answers 500 naming what failed, as Go's handlers answer an internal
    // error, instead of ending the connection with no answer (which the client reads as Pebble gone).
    try {
        return route(req);
    } catch (const std::exception& e) {
        return error(500, std::string("internal error: ") + e.what());
    }
}

std::pair<std::string, std::string> pebble_server::impl::begin_exec(const std::string& summary) {
    std::lock_guard<std::mutex> lock(m);
    return changes.begin_exec_locked(summary);
}

void pebble_server::impl::finish_exec(const std::string& change_id, int exit_code, const std::string& err) {
    std::lock_guard<std::mutex> lock(m);
    changes.finish_exec_locked(change_id, exit_code, err);
}

std::string pebble_server::impl::get_json(const std::string& target, unsigned& status) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    reply r = route(req);
    status = r.status;
    return r.body;
}

awaitable<void> pebble_server::impl::serve(local::socket sock) {
    beast::basic_stream<local, asio::any_io_executor> stream(std::move(sock));
    beast::flat_buffer buf;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(std::uint64_t(4) << 30);
        error_code ec;
        stream.expires_never();
        co_await http::async_read(stream, buf, parser, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec == http::error::partial_message || ec == http::error::bad_content_length) {
                // A truncated JSON body, as in the transcripts, is still decoded (and refused).
            }
            co_return;
        }
        http::request<http::string_body> req = parser.release();
        const target_t t = parse_target(req.target());
        if (opts.fake_endpoints && t.path.rfind("/v1/fake/", 0) == 0) {
            // Out of band: neither recorded nor faulted.
            const std::string wire = wire_of(fake_endpoint(req, t));
            co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
            continue;
        }
        fault f = fault::none;
        std::chrono::milliseconds delay{0};
        {
            std::lock_guard<std::mutex> lock(m);
            std::string summary = req.body().substr(0, 256);
            if (req.body().size() > 256) summary += fmt::format("... ({} bytes)", req.body().size());
            rec.requests.push_back({std::string(req.method_string()), std::string(req.target()), std::move(summary)});
            const bool matches = (fault_at.method.empty() || fault_at.method == req.method_string()) &&
                                 (fault_at.path.empty() || fault_at.path == t.path);
            if (next_fault != fault::none && fault_count > 0 && matches && --fault_at.at <= 0) {
                fault_at.at = 1;
                f = next_fault;
                delay = fault_delay;
                if (--fault_count == 0) next_fault = fault::none;
            }
        }
        if (f == fault::delay) {
            asio::steady_timer timer(io, delay);
            co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        if (int streamed = co_await detail::serve_streaming(*this, stream, req, t.path, t.query)) {
            if (streamed == 2) co_return;
            continue;
        }
        reply r;
        if (req.method() == http::verb::get && t.path.rfind("/v1/changes/", 0) == 0 && t.path.size() > 5 &&
            t.path.compare(t.path.size() - 5, 5, "/wait") == 0)
            r = co_await wait_change(t);
        else if (req.method() == http::verb::post && t.path == "/v1/checks/refresh")
            r = co_await refresh_check(req.body());
        else
            r = route_or_500(req);
        std::string wire = wire_of(r);
        if (f == fault::garbage) wire = "this is not HTTP at all\r\n\r\n";
        if (f == fault::close_mid_response) wire.resize(wire.size() / 2);
        co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(use_awaitable, ec));
        if (ec || f == fault::close_mid_response || f == fault::garbage) {
            stream.socket().shutdown(local::socket::shutdown_both, ec);
            co_return;
        }
    }
}

std::string pebble_server::impl::wire_of(const reply& r) {
    std::string wire = fmt::format(FMT_STRING("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nDate: {}\r\n"), r.status,
                                   status_text(r.status), r.content_type, http_date());
    if (r.chunked) {
        wire += "Transfer-Encoding: chunked\r\n\r\n";
        if (!r.body.empty()) wire += fmt::format(FMT_STRING("{:x}\r\n{}\r\n"), r.body.size(), r.body);
        wire += "0\r\n\r\n";
    } else {
        wire += fmt::format(FMT_STRING("Content-Length: {}\r\n\r\n{}"), r.body.size(), r.body);
    }
    return wire;
}


awaitable<void> pebble_server::impl::accept_loop() {
    for (;;) {
        error_code ec;
        local::socket sock = co_await acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec == asio::error::operation_aborted || stopping) co_return;
            continue;
        }
        asio::co_spawn(io, serve(std::move(sock)), asio::detached);
    }
}

void pebble_server::impl::listen() {
    std::error_code ec;
    fs::remove(socket, ec);
    acceptor.emplace(io);
    acceptor->open();
    acceptor->bind(local::endpoint(socket));
    acceptor->listen();
    asio::co_spawn(io, accept_loop(), asio::detached);
}

pebble_server::pebble_server(server_options opts) : pebble_server(std::move(opts), nullptr) {}

pebble_server::pebble_server(server_options opts, void* shared_io)
    : impl_(std::make_unique<impl>(static_cast<asio::io_context*>(shared_io))) {
    impl_->opts = std::move(opts);
    if (impl_->opts.socket_path.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "redispebble-server-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        ::chmod(tmpl.c_str(), 0755);
        impl_->temp_dir = tmpl;
        impl_->socket = tmpl + "/.pebble.socket";
    } else {
        impl_->socket = impl_->opts.socket_path;
    }
    {
        std::lock_guard<std::mutex> lock(impl_->m);
        impl_->load_layers_dir_locked();  // throws std::runtime_error as `pebble run` fails
        impl_->changes.autostart_locked();
    }
    impl_->listen();
    impl_->svc.start_monitor();
    if (impl_->own_io) {
        impl_->work.emplace(impl_->io.get_executor());
        impl_->thread = std::thread([this] { impl_->io.run(); });
    }
    impl_->checks.start();
}

std::unique_ptr<pebble_server> pebble_server::start(server_options opts) {
    return std::make_unique<pebble_server>(std::move(opts));
}

pebble_server::~pebble_server() { stop(); }

void pebble_server::stop() {
    if (impl_->stopping.exchange(true)) return;
    asio::post(impl_->io, [this] {
        error_code ec;
        if (impl_->acceptor) impl_->acceptor->close(ec);
        impl_->svc.cancel_monitor();
    });
    impl_->svc.stop_all();
    // A fleet's server leaves the shared io_context to the fleet, which stops it before it destroys
    // its servers (what the posted close has not done by then, the acceptor's destructor does).
    if (impl_->own_io) {
        impl_->work.reset();
        impl_->io.stop();
        if (impl_->thread.joinable()) impl_->thread.join();
    }
    impl_->checks.join();
    impl_->join_helpers();  // after the io thread: what they post is never run
    std::error_code ec;
    fs::remove(impl_->socket, ec);
    if (!impl_->temp_dir.empty()) fs::remove_all(impl_->temp_dir, ec);
}

const std::string& pebble_server::socket_path() const noexcept { return impl_->socket; }

void pebble_server::inject(fault f, int count, std::chrono::milliseconds delay) {
    if (f == fault::refuse) {
        std::promise<void> done;
        asio::post(impl_->io, [this, &done] {
            error_code ec;
            impl_->acceptor->close(ec);
            // The socket file stays: connecting to it is refused.
            done.set_value();
        });
        done.get_future().wait();
        return;
    }
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->next_fault = f;
    impl_->fault_count = count;
    impl_->fault_delay = delay;
    impl_->fault_at = {};
}

void pebble_server::inject(fault f, const fault_target& target, int count, std::chrono::milliseconds delay) {
    if (f == fault::refuse)
        throw std::invalid_argument("inject: fault refuse closes the listener: it cannot wait for a request");
    if (count < 1 || count > 1000000 || target.at < 1 || target.at > 1000000)
        throw std::invalid_argument("inject: count and at must be from 1 to 1000000");
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->next_fault = f;
    impl_->fault_count = count;
    impl_->fault_delay = delay;
    impl_->fault_at = target;
}

void pebble_server::clear_faults() {
    {
        std::lock_guard<std::mutex> lock(impl_->m);
        impl_->next_fault = fault::none;
        impl_->fault_count = 0;
        impl_->fault_at = {};
    }
    std::promise<void> done;
    asio::post(impl_->io, [this, &done] {
        if (!impl_->acceptor->is_open()) impl_->listen();
        done.set_value();
    });
    done.get_future().wait();
}

void pebble_server::set_failing(const std::string& service, bool failing) {
    std::lock_guard<std::mutex> lock(impl_->m);
    if (failing) impl_->opts.failing_services.insert(service);
    else impl_->opts.failing_services.erase(service);
}

void pebble_server::restart_daemon() {
    {
        // Pebble's graceful stop ends every running check change Done (first here, so no check
        // counts the services going down); the new daemon knows no check until it reads its plan.
        std::lock_guard<std::mutex> lock(impl_->m);
        impl_->checks.daemon_restarted_locked();
    }
    impl_->svc.stop_all();
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->layers.clear();
    for (auto& [name, s] : impl_->svc.services) {
        s.ever_started = false;
        s.started_with.reset();
    }
    // The new daemon reads $PEBBLE/layers again and starts the enabled services.
    impl_->load_layers_dir_locked();
    impl_->changes.autostart_locked();
}

std::string record_json(const server_record& r) {
    // A body cut at 256 bytes (or a binary file push) is not always UTF-8: each offending byte
    // becomes U+FFFD, so the document parses in any language.
    auto text = [](std::string_view v) {
        std::string out;
        for (std::size_t bad; (bad = invalid_utf8_at(v)) != std::string_view::npos; v.remove_prefix(bad + 1))
            out.append(v.substr(0, bad)).append("\xEF\xBF\xBD");
        return out.append(v);
    };
    json::array requests;
    for (const auto& q : r.requests)
        requests.push_back(json::object{{"method", text(q.method)}, {"target", text(q.target)}, {"body", text(q.body)}});
    auto counts = [](const std::map<std::string, int>& m) {
        json::object o;
        for (const auto& [k, n] : m) o[k] = n;
        return o;
    };
    json::object o{{"requests", std::move(requests)},
                   {"starts", counts(r.starts)},
                   {"stops", counts(r.stops)},
                   {"restarts", counts(r.restarts)},
                   {"check-restarts", counts(r.check_restarts)},
                   {"layers-added", r.layers_added},
                   {"files-written", r.files_written},
                   {"shutdown", r.shutdown}};
    return json::serialize(o);
}

server_record pebble_server::record() const {
    std::lock_guard<std::mutex> lock(impl_->m);
    return impl_->rec;
}

std::string pebble_server::service_state(const std::string& name) const {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->svc.notice_exits_locked();
    auto it = impl_->svc.services.find(name);
    if (it == impl_->svc.services.end()) return impl_->plan_locked().services.count(name) ? "inactive" : "";
    return it->second.current == "starting" ? "active" : it->second.current;
}

std::string pebble_server::plan_yaml() const {
    std::lock_guard<std::mutex> lock(impl_->m);
    return to_plan_yaml(impl_->plan_locked());
}

struct server_fleet::impl {
    asio::io_context io{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
    std::thread thread;
};

server_fleet::server_fleet(std::size_t count, const server_options& opts) : impl_(std::make_unique<impl>()) {
    if (!opts.socket_path.empty())
        throw std::invalid_argument("server_fleet: server_options.socket_path must be empty (each server makes its own)");
    servers_.reserve(count);
    try {
        for (std::size_t i = 0; i < count; ++i)
            servers_.push_back(std::unique_ptr<pebble_server>(new pebble_server(opts, &impl_->io)));
    } catch (...) {
        servers_.clear();  // the thread has not started: nothing of theirs runs
        throw;
    }
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

server_fleet::~server_fleet() {
    impl_->work.reset();
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    servers_.clear();  // each stops its services and checks thread; the io_context outlives them
}

} // namespace redispebble::testing
