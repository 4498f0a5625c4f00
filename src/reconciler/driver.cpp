// The reconciler's driver (include/redispebble/reconciler.hpp): each step the reconcile machine asks
// for, translated to a client call and its answer back to a reply (perform_async); one coroutine per
// form (observe, apply, reconcile), spawned by the async forms and waited for by the synchronous
// ones. Just over 600 lines: the step translation and the loops read best together, and the driver
// is being changed on other branches at the same time; a split waits for those changes to land.
#include <redispebble/reconciler.hpp>

#include "detail.hpp"

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>
#include <redispebble/pebble/detail/connection.hpp>
#include <redispebble/pebble/exec.hpp>
#include <redispebble/sentinel.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <mutex>
#include <map>
#include <memory>
#include <thread>

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

pebble_reply plan_reply(const std::string& yaml) {
    pebble_reply r;
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

void log_step(const reconcile_options& o, const pebble_request& r) {
    if (!o.log) return;
    std::string line = "reconcile: " + std::string(to_string(r.what));
    if (!r.paths.empty()) line += " (" + std::to_string(r.paths.size()) + ")";
    if (!r.files.empty()) line += " (" + std::to_string(r.files.size()) + ")";
    if (!r.service.empty()) line += " \"" + r.service + "\"";
    if (!r.change_id.empty()) line += " change " + r.change_id;
    o.log(line);
}

// Only what time can fix is retried: Pebble absent or lost, a step or change past its time.
bool should_retry(const reconcile_report& r, std::chrono::milliseconds backoff, clock::time_point deadline) {
    if (backoff.count() <= 0 || r.status != unit_status::waiting || !r.retry_later) return false;
    if (r.message != msg_waiting_for_pebble && !r.failed_step) return false;
    return clock::now() + backoff < deadline;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds b) {
    return std::min<std::chrono::milliseconds>(b * 2, std::chrono::seconds(10));
}

void log_report(const reconcile_options& o, const reconcile_report& rep) {
    if (!o.log) return;
    o.log("reconcile: " + std::string(to_string(rep.status)) + (rep.message.empty() ? "" : ": " + rep.message));
}

} // namespace

namespace {

// How a machine's run ended: cancelled (its last reply), and the outcome of its last reply.
struct run_result {
    bool cancelled = false;
    outcome last = outcome::ok;
    /// The client's socket_path is unusable (empty, too long): every request fails with
    /// invalid_option, which the machine sees as a refusal like any other.
    bool bad_socket_path = false;
};

bool bad_socket_path(const pebble::client& c) {
    return static_cast<bool>(pebble::detail::check_socket_path(c.options().socket_path));
}

// Pebble absent at the first step: not a failure of observe(), decide() says Waiting.
bool pebble_absent(const reconcile_machine& m, const run_result& r) {
    return !r.cancelled && !m.observed().pebble_reachable && m.report().status == unit_status::waiting &&
           m.report().message == msg_waiting_for_pebble;
}

error_code failure_code(const run_result& r) {
    if (r.cancelled) return asio::error::operation_aborted;
    if (r.bad_socket_path) return pebble::error::invalid_option;
    switch (r.last) {
    case outcome::unreachable: return pebble::error::connection_closed;
    case outcome::timed_out: return pebble::error::timeout;
    default: return pebble::error::api_error;
    }
}

// observe()'s answer from its machine's run.
observed_state observed_result(const reconcile_machine& m, const run_result& r, error_code& ec,
                               reconcile_report* failure) {
    ec = {};
    if (!m.observed_all() && !pebble_absent(m, r)) {
        ec = failure_code(r);
        if (failure) *failure = m.report();
    }
    return m.observed();
}

// What a dry run reports: the decision, nothing done.
reconcile_report decision_report(const decision& d) {
    reconcile_report r;
    r.status = d.status_after;
    r.message = d.message;
    r.retry_later = d.retry_later;
    r.decided = d;
    return r;
}

} // namespace

observe_error::observe_error(error_code ec, reconcile_report report)
    : boost::system::system_error(ec, "observe: " + report.failed_step.value_or("observe the unit") + ": " + report.message),
      report_(std::move(report)) {}

namespace {

asio::awaitable<pebble_reply> perform_async(pebble::client& c, const pebble_request& r,
                                            std::chrono::milliseconds wait_timeout) {
    error_code ec;
    pebble::diagnostics diag;
    auto tok = asio::redirect_error(asio::use_awaitable, ec);
    switch (r.what) {
    case kind::get_plan: {
        auto yaml = co_await c.async_plan(diag, tok);
        co_return ec ? from_error(ec, diag) : plan_reply(yaml);
    }
    case kind::get_service: {
        // (Named option objects: GCC 12 miscompiles braced temporaries inside co_await.)
        pebble::services_options names;
        names.names = r.services.empty() ? std::vector<std::string>{r.service} : r.services;
        auto services = co_await c.async_list_services(std::move(names), diag, tok);
        co_return ec ? from_error(ec, diag) : service_reply(services, r.service);
    }
    case kind::get_checks: {
        pebble::checks_options o;
        o.names = r.services;
        auto checks = co_await c.async_checks(std::move(o), diag, tok);
        co_return ec ? from_error(ec, diag) : checks_reply(checks);
    }
    case kind::stop_checks: {
        std::vector<std::string> names = r.services;
        co_await c.async_stop_checks(std::move(names), diag, tok);
        co_return ec ? from_error(ec, diag) : pebble_reply{};
    }
    case kind::stop: {
        pebble::service_options which;
        which.names = r.services.empty() ? std::vector<std::string>{r.service} : r.services;
        std::string id = co_await c.async_stop(std::move(which), diag, tok);
        if (ec) co_return from_error(ec, diag);
        pebble_reply rep;
        rep.change_id = id;
        co_return rep;
    }
    case kind::remove_files: {
        auto results = co_await c.async_remove_paths(remove_request(r), diag, tok);
        co_return ec ? from_error(ec, diag) : remove_reply(results);
    }
    case kind::read_files: {
        hashing_pull pull;
        auto results = co_await c.async_pull(pull.options(r.paths, r.key_path, r.content_paths), diag, tok);
        co_return ec ? from_error(ec, diag) : pull.reply(results);
    }
    case kind::push_files: {
        auto results = co_await c.async_push(push_request(r.files), diag, tok);
        co_return ec ? from_error(ec, diag) : push_reply(results);
    }
    case kind::add_layer:
        co_await c.async_add_layer(layer_request(r), diag, tok);
        co_return ec ? from_error(ec, diag) : pebble_reply{};
    case kind::restart:
    case kind::start: {
        pebble::service_options which;
        which.names = r.services.empty() ? std::vector<std::string>{r.service} : r.services;
        // (No co_await inside ?: either: GCC 12 destroys the result twice.)
        std::string id;
        if (r.what == kind::restart) id = co_await c.async_restart(std::move(which), diag, tok);
        else id = co_await c.async_start(std::move(which), diag, tok);
        if (ec) co_return from_error(ec, diag);
        pebble_reply rep;
        rep.change_id = id;
        co_return rep;
    }
    case kind::wait_change: {
        pebble::wait_change_options wait;
        wait.timeout = wait_timeout;
        auto ch = co_await c.async_wait_change(r.change_id, wait, diag, tok);
        co_return ec ? from_error(ec, diag) : change_reply(ch);
    }
    case kind::stat_path: {
        auto files = co_await c.async_list_files(stat_request(r), diag, tok);
        co_return stat_reply(ec, diag, files);
    }
    case kind::make_dirs: {
        auto results = co_await c.async_make_dirs(dirs_request(r), diag, tok);
        co_return ec ? from_error(ec, diag) : push_reply(results);
    }
    case kind::exec: {
        auto res = co_await pebble::async_exec(c, exec_request(r), diag, tok);
        co_return exec_reply(ec, diag, res);
    }
    case kind::get_logs: {
        auto entries = co_await c.async_logs(logs_request(r), diag, tok);
        co_return ec ? from_error(ec, diag) : logs_reply(entries);
    }
    case kind::pause: {
        asio::steady_timer timer(c.get_executor(), r.timeout);
        co_await timer.async_wait(asio::use_awaitable);
        co_return pebble_reply{};
    }
    }
    co_return pebble_reply{};
}

// Between steps it looks at `watch` only: once the client is cancelled or destroyed, `c` is never
// touched again.
asio::awaitable<run_result> drive_async(pebble::client& c, const pebble::cancellation_watch& watch,
                                        reconcile_machine& m, clock::time_point deadline,
                                        const reconcile_options& opts) {
    run_result res;
    res.bad_socket_path = bad_socket_path(c);
    std::optional<pebble_request> req = m.start();
    while (req) {
        log_step(opts, *req);
        pebble_reply rep;
        if (watch.cancelled()) rep = cancelled_reply();
        else if (clock::now() >= deadline) rep = deadline_passed(*req);
        else rep = co_await perform_async(c, *req, std::min(opts.change_timeout, left(deadline)));
        res.cancelled = rep.result == outcome::cancelled;
        res.last = rep.result;
        req = m.resume(rep);
    }
    co_return res;
}

asio::awaitable<std::pair<error_code, observed_state>> observe_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                    desired_state desired, reconcile_options opts,
                                                                    reconcile_report* failure) {
    auto m = reconcile_machine::observe_only(desired, opts.probe);
    const run_result r = co_await drive_async(c, watch, m, clock::now() + opts.deadline, opts);
    error_code ec;
    observed_state seen = observed_result(m, r, ec, failure);
    co_return std::make_pair(ec, std::move(seen));
}

asio::awaitable<std::pair<error_code, reconcile_report>> apply_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                     desired_state desired, decision d,
                                                                     reconcile_options opts) {
    if (opts.dry_run) co_return std::make_pair(error_code{}, decision_report(d));
    auto m = reconcile_machine::apply_decision(desired, std::move(d), opts.probe);
    const run_result r = co_await drive_async(c, watch, m, clock::now() + opts.deadline, opts);
    log_report(opts, m.report());
    co_return std::make_pair(r.cancelled ? error_code(asio::error::operation_aborted) : error_code{}, m.report());
}

// As reconcile(): observe, decide, apply within one deadline.
asio::awaitable<std::pair<error_code, reconcile_report>> reconcile_coro(pebble::client& c, pebble::cancellation_watch watch,
                                                                         desired_state desired, reconcile_options opts) {
    const auto deadline = clock::now() + opts.deadline;
    auto backoff = opts.retry_backoff;
    auto ex = co_await asio::this_coro::executor;
    for (int attempt = 1;; ++attempt) {
        auto observer = reconcile_machine::observe_only(desired, opts.probe);
        run_result run = co_await drive_async(c, watch, observer, deadline, opts);
        reconcile_report report;
        if (!observer.observed_all()) {
            report = observer.report();
            // An unusable socket_path is the caller's to fix: coming back later changes nothing.
            if (run.bad_socket_path) report.retry_later = false;
        } else {
            const decision d = decide(observer.observed(), desired);
            // A dry run with nothing to do still asks Redis (probe, or the logs of a service in
            // backoff: reads only), so status and diff report what apply reports.
            if (opts.dry_run && !d.no_op()) {
                report = decision_report(d);
            } else {
                auto applier = reconcile_machine::apply_decision(desired, d, opts.probe);
                run = co_await drive_async(c, watch, applier, deadline, opts);
                report = applier.report();
            }
        }
        log_report(opts, report);
        report.attempts = attempt;
        if (run.cancelled) co_return std::make_pair(error_code(asio::error::operation_aborted), std::move(report));
        if (!should_retry(report, backoff, deadline)) co_return std::make_pair(error_code{}, std::move(report));
        if (opts.log) opts.log("reconcile: retrying in " + std::to_string(backoff.count()) + " ms");
        // The timer lives on this coroutine's strand; cancel() reaches it through a post there.
        auto timer = std::make_shared<asio::steady_timer>(ex, backoff);
        const auto id = watch.on_cancel([timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
        if (id != 0) {
            error_code ignored;
            co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        watch.forget(id);
        backoff = next_backoff(backoff);
    }
}

// Runs `op` on a strand of c's executor and completes `h` on its associated executor. An
// exception (only an allocation failure can get here) completes with operation_aborted and `on_error`.
template <class Result, class Handler, class OnError>
void spawn(pebble::client& c, asio::awaitable<std::pair<error_code, Result>> op, Handler h, OnError on_error) {
    auto strand = asio::make_strand(c.get_executor());
    auto handler_ex = asio::get_associated_executor(h, c.get_executor());
    asio::co_spawn(strand, std::move(op),
                   [h = std::move(h), handler_ex, on_error](std::exception_ptr e, std::pair<error_code, Result> r) mutable {
                       if (e) {
                           r.first = asio::error::operation_aborted;
                           on_error(r.second);
                       }
                       asio::dispatch(handler_ex, [h = std::move(h), r = std::move(r)]() mutable {
                           std::move(h)(r.first, std::move(r.second));
                       });
                   });
}

void interrupted(reconcile_report& r) {
    r.status = unit_status::waiting;
    r.message = "Reconcile interrupted by an internal error";
    r.retry_later = true;
}

} // namespace

// The synchronous forms: the coroutines above, run on a private io_context through a private client
// with c's options (as pebble::exec's synchronous form does), so one implementation serves both and
// the caller's thread runs it whatever runs c's executor. c.cancel(), or destroying c, reaches the
// private client through c's cancellation_watch.
namespace {

template <class T, class MakeOp>
T run_private(pebble::client& c, MakeOp make_op) {
    struct link {  // the private client, for c's cancel callback (which may run on another thread)
        std::mutex m;
        pebble::client* tmp = nullptr;
    };
    const auto watch = c.watch_cancellation();
    asio::io_context ioc;
    std::optional<T> out;
    std::exception_ptr failed;
    {
        pebble::client tmp(ioc, c.options());
        auto op = make_op(tmp);  // takes tmp's cancellation_watch before anything can cancel it
        auto l = std::make_shared<link>();
        l->tmp = &tmp;
        const auto id = watch.on_cancel([l] {
            std::lock_guard<std::mutex> lock(l->m);
            if (l->tmp) l->tmp->cancel();
        });
        if (id == 0) tmp.cancel();  // c was cancelled (or destroyed) since the call began
        asio::co_spawn(ioc, std::move(op), [&out, &failed](std::exception_ptr e, T r) {
            if (e) failed = e;
            else out = std::move(r);
        });
        ioc.run();
        watch.forget(id);
        std::lock_guard<std::mutex> lock(l->m);
        l->tmp = nullptr;
    }
    if (failed) std::rethrow_exception(failed);  // as the client's synchronous calls let it through
    return std::move(*out);
}

} // namespace

reconcile_report detail::run_private_report(
    pebble::client& c, const std::function<asio::awaitable<reconcile_report>(pebble::client&)>& make_op) {
    return run_private<reconcile_report>(c, make_op);
}

pebble_reply perform(pebble::client& c, const pebble_request& r, std::chrono::milliseconds wait_timeout) {
    return run_private<pebble_reply>(c, [&](pebble::client& t) { return perform_async(t, r, wait_timeout); });
}

observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts,
                       error_code& ec, reconcile_report* failure) {
    auto out = run_private<std::pair<error_code, observed_state>>(c, [&](pebble::client& t) {
        return observe_coro(t, t.watch_cancellation(), desired, opts, failure);
    });
    ec = out.first;
    return std::move(out.second);
}

observed_state observe(pebble::client& c, const desired_state& desired, const reconcile_options& opts) {
    error_code ec;
    reconcile_report failure;
    observed_state seen = observe(c, desired, opts, ec, &failure);
    if (ec) throw observe_error(ec, std::move(failure));
    return seen;
}

reconcile_report apply(pebble::client& c, const desired_state& desired, const decision& d,
                       const reconcile_options& opts) {
    if (opts.dry_run) return decision_report(d);
    return run_private<std::pair<error_code, reconcile_report>>(c, [&](pebble::client& t) {
               return apply_coro(t, t.watch_cancellation(), desired, d, opts);
           }).second;
}

// observe(), decide(), apply() within one deadline; a failed observation is the report as it is.
reconcile_report reconcile(pebble::client& c, const desired_state& desired, const reconcile_options& opts) {
    return run_private<std::pair<error_code, reconcile_report>>(c, [&](pebble::client& t) {
               return reconcile_coro(t, t.watch_cancellation(), desired, opts);
           }).second;
}

namespace detail {
// For the Sentinel driver (src/reconciler/sentinel_driver.cpp), which drives sentinel_machine the same way.
asio::awaitable<pebble_reply> async_perform(pebble::client& c, const pebble_request& r, std::chrono::milliseconds wait_timeout) {
    return perform_async(c, r, wait_timeout);
}
} // namespace detail

namespace detail {
// Each takes its cancellation_watch at initiation: a cancel() right after the call returns takes effect.
void async_reconcile_impl(pebble::client& c, desired_state desired, reconcile_options opts,
                          asio::any_completion_handler<void(error_code, reconcile_report)> h) {
    auto watch = c.watch_cancellation();
    spawn<reconcile_report>(c, reconcile_coro(c, std::move(watch), std::move(desired), std::move(opts)), std::move(h),
                            interrupted);
}

void async_observe_impl(pebble::client& c, desired_state desired, reconcile_options opts, reconcile_report* failure,
                        asio::any_completion_handler<void(error_code, observed_state)> h) {
    auto watch = c.watch_cancellation();
    spawn<observed_state>(c, observe_coro(c, std::move(watch), std::move(desired), std::move(opts), failure),
                          std::move(h), [failure](observed_state&) {
                              if (failure) interrupted(*failure);
                          });
}

void async_apply_impl(pebble::client& c, desired_state desired, decision d, reconcile_options opts,
                      asio::any_completion_handler<void(error_code, reconcile_report)> h) {
    auto watch = c.watch_cancellation();
    spawn<reconcile_report>(c, apply_coro(c, std::move(watch), std::move(desired), std::move(d), std::move(opts)),
                            std::move(h), interrupted);
}
} // namespace detail

} // namespace redispebble
