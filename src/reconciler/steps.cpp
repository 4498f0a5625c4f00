// The reconciler's steps (src/reconciler/detail.hpp): each request a step machine (reconcile_machine,
// sentinel_machine) yields, translated to a client call, and the client's answer translated back to
// the machine's reply; and the small pieces every driving loop shares (the deadline, a cancelled or
// timed-out step, the progress line).
#include <redispebble/reconciler.hpp>

#include "detail.hpp"

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/pebble/detail/connection.hpp>
#include <redispebble/pebble/exec.hpp>
#include <redispebble/sentinel.hpp>  // secrets_file_compared_content

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <memory>


namespace redispebble {

namespace asio = boost::asio;
using pebble::error_code;
using outcome = pebble_reply::outcome;
using kind = pebble_request::kind;
using clock = std::chrono::steady_clock;

namespace {

// A failed call as the machine sees it: Pebble gone, too slow, or refusing.
pebble_reply from_error(error_code ec, const pebble::diagnostics& diag) {
    pebble_reply r;
    if (ec == asio::error::operation_aborted) r.result = outcome::cancelled;  // client::cancel(), ~client
    else if (ec == pebble::condition::transport) r.result = outcome::unreachable;
    else if (ec == pebble::condition::timeout) r.result = outcome::timed_out;
    else r.result = outcome::failed;
    r.error = diag.message.empty() ? ec.message() : diag.message;
    return r;
}

// The plan Pebble answered, parsed; or `expected` when Pebble rendered exactly it
// (pebble_request::expected_plan: the same text is the same plan, without yaml-cpp's 70 us).
pebble_reply plan_reply(const std::string& yaml, const std::optional<layer>& expected) {
    pebble_reply r;
    if (expected && to_plan_yaml(*expected) == yaml) {
        r.plan = *expected;
        return r;
    }
    try {
        r.plan = parse_plan(yaml, "Pebble plan");
    } catch (const input_error& e) {
        r.result = outcome::failed;
        r.error = std::string("cannot parse Pebble's plan: ") + e.what();
    }
    return r;
}

pebble_reply service_reply(const std::vector<pebble::service_info>& services, const std::string& name) {
    pebble_reply r;
    for (const auto& s : services) {
        if (s.name == name) r.service_current = s.current;
        r.services_current[s.name] = s.current;
    }
    return r;
}

pebble_reply checks_reply(const std::vector<pebble::check_info>& checks) {
    pebble_reply r;
    for (const auto& c : checks) r.checks_status[c.name] = c.status;
    return r;
}

// A path already gone is removed: only other per-path errors are failures.
pebble_reply remove_reply(const std::vector<pebble::file_result>& results) {
    pebble_reply r;
    for (const auto& f : results)
        if (!f.ok() && f.ec != pebble::error::not_found)
            r.file_errors[f.path] = f.diag.message.empty() ? f.ec.message() : f.diag.message;
    return r;
}

std::vector<pebble::remove_path_options> remove_request(const pebble_request& r) {
    std::vector<pebble::remove_path_options> out;
    for (const auto& p : r.paths) out.push_back({p, false});
    return out;
}

// Pull sinks that hash each file as it streams in: memory stays flat whatever the file size.
// The secrets file is kept whole too (capped): it is compared by the lines we own.
constexpr std::size_t key_file_bytes = 1024 * 1024;

struct hashing_pull {
    std::map<std::string, std::shared_ptr<sha256_hasher>> hashers;
    std::shared_ptr<std::string> key_head = std::make_shared<std::string>();
    std::string key_path;
    std::map<std::string, std::shared_ptr<std::string>> contents;  // content_paths: the whole file
    pebble::pull_options options(const std::vector<std::string>& paths, const std::string& key_file,
                                 const std::vector<std::string>& content_paths = {}) {
        key_path = key_file;
        pebble::pull_options o;
        for (const auto& p : paths) {
            auto h = std::make_shared<sha256_hasher>();
            hashers[p] = h;
            pebble::pull_file f;
            f.path = p;
            if (std::find(content_paths.begin(), content_paths.end(), p) != content_paths.end())
                f.sink = [h, whole = contents[p] = std::make_shared<std::string>()](std::span<const char> bytes) {
                    h->update(std::string_view(bytes.data(), bytes.size()));
                    whole->append(bytes.data(), bytes.size());
                };
            else if (p == key_path)
                f.sink = [head = key_head](std::span<const char> bytes) {
                    // The whole secrets file (a few hundred bytes; capped): compared by the lines
                    // we own, see secrets_file_compared_content().
                    if (head->size() < key_file_bytes)
                        head->append(bytes.data(), std::min(bytes.size(), key_file_bytes - head->size()));
                };
            else
                f.sink = [h](std::span<const char> bytes) { h->update(std::string_view(bytes.data(), bytes.size())); };
            o.files.push_back(std::move(f));
        }
        return o;
    }
    pebble_reply reply(const std::vector<pebble::file_result>& results) {
        pebble_reply r;
        for (const auto& f : results) {
            if (f.ok()) {
                r.file_sha256[f.path] = hashers.at(f.path)->finish_hex();
                if (f.path == key_path) {
                    r.secrets_key = parse_secrets_key(*key_head);
                    r.file_sha256[f.path] = sha256_hex(secrets_file_compared_content(*key_head));
                }
                if (auto it = contents.find(f.path); it != contents.end()) r.file_content[f.path] = secret(*it->second);
            } else if (f.ec == pebble::error::not_found) {
                r.file_sha256[f.path] = std::nullopt;
            }
            // Any other per-file error: not observed, so the file is pushed again.
        }
        return r;
    }
};

pebble::push_options push_request(const std::vector<file_spec>& files) {
    pebble::push_options o;
    for (const auto& f : files) {
        auto p = pebble::push_file::from_string(f.path, f.content.reveal());
        p.make_dirs = f.make_dirs;
        p.permissions = f.permissions;
        p.user = f.user;
        p.group = f.group;
        o.files.push_back(std::move(p));
    }
    return o;
}

pebble_reply push_reply(const std::vector<pebble::file_result>& results) {
    pebble_reply r;
    for (const auto& f : results)
        if (!f.ok()) r.file_errors[f.path] = f.diag.message.empty() ? f.ec.message() : f.diag.message;
    return r;
}

pebble::add_layer_options layer_request(const pebble_request& req) {
    pebble::add_layer_options o;
    o.label = req.label;
    o.layer_yaml = to_yaml(*req.layer_to_add);
    o.combine = true;
    return o;
}

pebble_reply change_reply(const pebble::change& ch) {
    pebble_reply r;
    if (ch.failed()) {
        r.change_failed = true;
        r.change_error = ch.err;
        for (const auto& t : ch.tasks)
            if (t.status == "Error")
                for (const auto& line : t.log) r.change_error += "\n" + line;
    }
    return r;
}

pebble::list_files_options stat_request(const pebble_request& r) {
    pebble::list_files_options o;
    o.path = r.paths.at(0);
    o.itself = true;
    return o;
}

pebble_reply stat_reply(error_code ec, const pebble::diagnostics& diag, const std::vector<pebble::file_info>& files) {
    pebble_reply r;
    if (ec == pebble::error::not_found) {
        r.path_info = path_state{};
        return r;
    }
    if (ec) return from_error(ec, diag);
    if (files.size() != 1) {
        r.result = outcome::failed;
        r.error = "Pebble listed " + std::to_string(files.size()) + " entries for one path with itself=true";
        return r;
    }
    path_state p;
    p.exists = true;
    p.type = files[0].type;
    p.user = files[0].user;
    p.group = files[0].group;
    p.user_id = files[0].user_id;
    p.group_id = files[0].group_id;
    r.path_info = p;
    return r;
}

std::vector<pebble::make_dir_options> dirs_request(const pebble_request& r) {
    std::vector<pebble::make_dir_options> out;
    for (const auto& d : r.dirs) {
        pebble::make_dir_options o;
        o.path = d.path;
        o.make_parents = true;
        o.permissions = d.permissions;
        o.user = d.user;
        o.group = d.group;
        out.push_back(std::move(o));
    }
    return out;
}

pebble::exec_options exec_request(const pebble_request& r) {
    pebble::exec_options o;
    o.command = r.command;
    o.timeout = r.timeout;
    // The probe's password travels on stdin: Pebble does not keep it in the change, the task or
    // any log line, as it would the exec's environment or argv.
    if (!r.stdin_data.empty()) o.stdin_data = r.stdin_data.reveal();
    o.max_output = 256 * 1024;
    return o;
}

// A command that ran and exited non-zero is an answer, not a failure of Pebble.
pebble_reply exec_reply(error_code ec, const pebble::diagnostics& diag, const pebble::exec_result& res) {
    if (ec && ec != pebble::error::command_failed) return from_error(ec, diag);
    pebble_reply r;
    r.exit_code = res.exit_code;
    r.output = res.stdout_data;
    return r;
}

pebble::logs_options logs_request(const pebble_request& r) {
    pebble::logs_options o;
    o.services.push_back(r.service);
    o.n = r.log_lines;
    return o;
}

pebble_reply logs_reply(const std::vector<pebble::log_entry>& entries) {
    pebble_reply r;
    for (const auto& e : entries) r.log_lines.push_back(e.message);
    return r;
}

// One coroutine per kind of step, and async_perform() a plain function that picks one: a single
// coroutine with a case per kind had every case's locals in its frame (5.2 KiB, allocated for
// each of a unit's exchanges, too large for the allocator's thread cache and Asio's recycling).
// Each of these frames holds one kind's locals only.
// (Named option objects throughout: GCC 12 miscompiles braced temporaries inside co_await.)
#define REDISPEBBLE_STEP_LOCALS                                                                          \
    error_code ec;                                                                                       \
    pebble::diagnostics diag;                                                                            \
    auto tok = asio::redirect_error(asio::use_awaitable, ec)

asio::awaitable<pebble_reply> perform_get_plan(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto yaml = co_await c.async_plan(diag, tok);
    co_return ec ? from_error(ec, diag) : plan_reply(yaml, r.expected_plan);
}

asio::awaitable<pebble_reply> perform_get_service(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    pebble::services_options names;
    names.names = r.services.empty() ? std::vector<std::string>{r.service} : r.services;
    auto services = co_await c.async_list_services(std::move(names), diag, tok);
    co_return ec ? from_error(ec, diag) : service_reply(services, r.service);
}

asio::awaitable<pebble_reply> perform_get_checks(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    pebble::checks_options o;
    o.names = r.services;
    auto checks = co_await c.async_checks(std::move(o), diag, tok);
    co_return ec ? from_error(ec, diag) : checks_reply(checks);
}

asio::awaitable<pebble_reply> perform_stop_checks(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    std::vector<std::string> names = r.services;
    co_await c.async_stop_checks(std::move(names), diag, tok);
    co_return ec ? from_error(ec, diag) : pebble_reply{};
}

// stop, start and restart: the services of the request, answered by the change's id.
asio::awaitable<pebble_reply> perform_service_action(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    pebble::service_options which;
    which.names = r.services.empty() ? std::vector<std::string>{r.service} : r.services;
    // (No co_await inside ?: either: GCC 12 destroys the result twice.)
    std::string id;
    if (r.what == kind::restart) id = co_await c.async_restart(std::move(which), diag, tok);
    else if (r.what == kind::start) id = co_await c.async_start(std::move(which), diag, tok);
    else id = co_await c.async_stop(std::move(which), diag, tok);
    if (ec) co_return from_error(ec, diag);
    pebble_reply rep;
    rep.change_id = std::move(id);
    co_return rep;
}

asio::awaitable<pebble_reply> perform_remove_files(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto results = co_await c.async_remove_paths(remove_request(r), diag, tok);
    co_return ec ? from_error(ec, diag) : remove_reply(results);
}

asio::awaitable<pebble_reply> perform_read_files(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    hashing_pull pull;
    auto results = co_await c.async_pull(pull.options(r.paths, r.key_path, r.content_paths), diag, tok);
    co_return ec ? from_error(ec, diag) : pull.reply(results);
}

asio::awaitable<pebble_reply> perform_push_files(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto results = co_await c.async_push(push_request(r.files), diag, tok);
    co_return ec ? from_error(ec, diag) : push_reply(results);
}

asio::awaitable<pebble_reply> perform_add_layer(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    co_await c.async_add_layer(layer_request(r), diag, tok);
    co_return ec ? from_error(ec, diag) : pebble_reply{};
}

asio::awaitable<pebble_reply> perform_wait_change(pebble::client& c, const pebble_request& r,
                                                  std::chrono::milliseconds wait_timeout) {
    REDISPEBBLE_STEP_LOCALS;
    pebble::wait_change_options wait;
    wait.timeout = wait_timeout;
    auto ch = co_await c.async_wait_change(r.change_id, wait, diag, tok);
    co_return ec ? from_error(ec, diag) : change_reply(ch);
}

asio::awaitable<pebble_reply> perform_stat_path(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto files = co_await c.async_list_files(stat_request(r), diag, tok);
    co_return stat_reply(ec, diag, files);
}

asio::awaitable<pebble_reply> perform_make_dirs(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto results = co_await c.async_make_dirs(dirs_request(r), diag, tok);
    co_return ec ? from_error(ec, diag) : push_reply(results);
}

asio::awaitable<pebble_reply> perform_exec(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto res = co_await pebble::async_exec(c, exec_request(r), diag, tok);
    co_return exec_reply(ec, diag, res);
}

asio::awaitable<pebble_reply> perform_get_logs(pebble::client& c, const pebble_request& r) {
    REDISPEBBLE_STEP_LOCALS;
    auto entries = co_await c.async_logs(logs_request(r), diag, tok);
    co_return ec ? from_error(ec, diag) : logs_reply(entries);
}

asio::awaitable<pebble_reply> perform_pause(pebble::client& c, const pebble_request& r) {
    asio::steady_timer timer(c.get_executor(), r.timeout);
    co_await timer.async_wait(asio::use_awaitable);
    co_return pebble_reply{};
}

asio::awaitable<pebble_reply> perform_nothing() { co_return pebble_reply{}; }

#undef REDISPEBBLE_STEP_LOCALS

} // namespace

namespace detail {

asio::awaitable<pebble_reply> async_perform(pebble::client& c, const pebble_request& r,
                                            std::chrono::milliseconds wait_timeout) {
    switch (r.what) {
    case kind::get_plan: return perform_get_plan(c, r);
    case kind::get_service: return perform_get_service(c, r);
    case kind::get_checks: return perform_get_checks(c, r);
    case kind::stop_checks: return perform_stop_checks(c, r);
    case kind::stop:
    case kind::start:
    case kind::restart: return perform_service_action(c, r);
    case kind::remove_files: return perform_remove_files(c, r);
    case kind::read_files: return perform_read_files(c, r);
    case kind::push_files: return perform_push_files(c, r);
    case kind::add_layer: return perform_add_layer(c, r);
    case kind::wait_change: return perform_wait_change(c, r, wait_timeout);
    case kind::stat_path: return perform_stat_path(c, r);
    case kind::make_dirs: return perform_make_dirs(c, r);
    case kind::exec: return perform_exec(c, r);
    case kind::get_logs: return perform_get_logs(c, r);
    case kind::pause: return perform_pause(c, r);
    }
    return perform_nothing();
}

std::chrono::milliseconds left(clock::time_point deadline) {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
}

pebble_reply deadline_passed(const pebble_request& r) {
    pebble_reply rep;
    rep.result = outcome::timed_out;
    rep.error = "the reconcile deadline passed before \"" + std::string(to_string(r.what)) + "\"";
    return rep;
}

pebble_reply cancelled_reply() {
    pebble_reply rep;
    rep.result = outcome::cancelled;
    rep.error = "cancelled";
    return rep;
}

void log_step(const reconcile_options& o, std::string_view who, const pebble_request& r) {
    if (!o.log) return;
    std::string line = std::string(who) + ": " + std::string(to_string(r.what));
    if (!r.paths.empty()) line += " (" + std::to_string(r.paths.size()) + ")";
    if (!r.files.empty()) line += " (" + std::to_string(r.files.size()) + ")";
    if (!r.service.empty()) line += " \"" + r.service + "\"";
    if (!r.change_id.empty()) line += " change " + r.change_id;
    o.log(line);
}

void log_report(const reconcile_options& o, std::string_view who, const reconcile_report& rep) {
    if (!o.log) return;
    o.log(std::string(who) + ": " + std::string(to_string(rep.status)) + (rep.message.empty() ? "" : ": " + rep.message));
}

bool bad_socket_path(const pebble::client& c) {
    return static_cast<bool>(pebble::detail::check_socket_path(c.options().socket_path));
}

} // namespace detail

} // namespace redispebble
