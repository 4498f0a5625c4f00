// Files, `/v1/files`: streamed multipart push and pull, list, make-dirs, remove (Go client's
// files.go); see include/redispebble/pebble/client.hpp and detail/multipart.hpp.
#include "client_impl.hpp"

#include <redispebble/pebble/detail/multipart.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <utility>

namespace redispebble::pebble {

namespace detail {

namespace {

/// The largest piece a pull reads from the socket at once (and the parser decodes into).
constexpr std::size_t pull_chunk = 256 * 1024;
/// The first piece: pieces grow fourfold while reads fill them (4, 16, 64, 256 KiB), up to
/// pull_chunk. A pull of a few small files (the reconciler's, for each unit: about 1 KiB of
/// multipart) then allocates and touches 2 x 4 KiB, not 2 x 256 KiB (which, for 1000 units on one
/// thread, cost more CPU in malloc and page faults than the requests); a large file reaches
/// full-size reads after three pieces, as it did from a 16 KiB start doubling.
constexpr std::size_t pull_first_chunk = 4 * 1024;

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

} // namespace detail

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

/// Opens the connection of a streamed request (push, pull) once it holds the lock; diagnostics name
/// the socket on failure.
awaitable<error_code> open_locked(client_impl& c, diagnostics& d) {
    if (auto ec = co_await c.conn_.ensure_open(c.opts_.connect_timeout)) {
        d = diagnostics{};
        d.message = detail::connect_failure_message(c.opts_.socket_path, ec);
        co_return ec;
    }
    co_return error_code{};
}

/// A streamed request's transport failure: diagnostics name the request, the connection is closed.
error_code transport_failure(client_impl& c, diagnostics& d, const char* request, error_code e) {
    d = diagnostics{};
    d.message = request + (": " + c.transport_message(e));
    auto mapped = c.conn_.failure(e);
    c.conn_.close();
    return mapped;
}

std::string random_boundary() {
    static const char* hex = "0123456789abcdef";
    std::random_device rd;  // as Go's mime/multipart, from the system's randomness (RDRAND or /dev/urandom)
    std::string b = "redispebble-";
    for (int i = 0; i < 5; ++i)  // 32 random bits a call: 8 hex digits
        for (std::uint32_t v = static_cast<std::uint32_t>(rd()), k = 0; k < 8; ++k, v >>= 4) b += hex[v & 15];
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
        if (auto ec = co_await open_locked(c, d)) co_return res<R>{ec, {}};
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
        auto fail_transport = [&](error_code e) { return res<R>{transport_failure(c, d, "POST /v1/files", e), {}}; };
        // One deadline for the exchange, moved on by each piece of the body that is written.
        detail::connection::deadline deadline(c.conn_, c.opts_.request_timeout);
        // The body goes out through one buffer, written when full and at the end: a push of a few
        // small files (the reconciler's, for each unit) is one write with the header, not three
        // writes per file, each waking Pebble. The buffer is no larger than the body (or io_chunk).
        auto send = [&](const char* p, std::size_t n, bool more) -> awaitable<error_code> {
            error_code wec;
            req.body().data = n == 0 ? nullptr : const_cast<char*>(p);
            req.body().size = n;
            req.body().more = more;
            c.conn_.touch();
            co_await http::async_write(stream, sr, detail::redirect(wec));
            if (wec == http::error::need_buffer) wec = {};
            co_return wec;
        };
        std::vector<char> buf(static_cast<std::size_t>(std::min<std::uint64_t>(detail::io_chunk, total.value_or(detail::io_chunk))));
        std::size_t used = 0;
        // A full buffer goes out with more to come; the last one (`last`) ends the body.
        auto flush = [&](bool last = false) -> awaitable<error_code> {
            const auto n = std::exchange(used, 0);
            if (n == 0 && !last) co_return error_code{};
            co_return co_await send(buf.data(), n, !last);
        };
        auto put = [&](std::string_view s) -> awaitable<error_code> {
            while (!s.empty()) {
                if (used == buf.size())
                    if (auto fec = co_await flush()) co_return fec;
                const auto k = std::min(s.size(), buf.size() - used);
                std::copy_n(s.data(), k, buf.data() + used);
                used += k;
                s.remove_prefix(k);
            }
            co_return error_code{};
        };
        if ((ec = co_await put(request_part))) co_return fail_transport(ec);
        for (std::size_t i = 0; i < opts.files.size(); ++i) {
            auto& f = opts.files[i];
            if ((ec = co_await put(file_head(f)))) co_return fail_transport(ec);
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
                if (used == buf.size() && (ec = co_await flush())) co_return fail_transport(ec);
                const std::span<char> room(buf.data() + used, buf.size() - used);
                std::size_t n = 0;
                std::string source_error;
                if (in.is_open()) {
                    in.read(room.data(), static_cast<std::streamsize>(room.size()));
                    n = static_cast<std::size_t>(in.gcount());
                    if (n == 0 && in.bad()) source_error = "cannot read " + f.local_path;
                } else {
                    try {
                        n = f.source(room);
                        if (n > room.size()) source_error = "source returned more bytes than asked";
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
                used += n;
            }
            if (sizes[i] && sent != *sizes[i]) {
                c.conn_.close();
                d = diagnostics{};
                d.message = "push of " + f.path + ": less data than its size";
                co_return res<R>{error::local_file_error, {}};
            }
            if ((ec = co_await put("\r\n"))) co_return fail_transport(ec);
        }
        if ((ec = co_await put(closing))) co_return fail_transport(ec);
        if ((ec = co_await flush(true))) co_return fail_transport(ec);

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
        if (auto ec = co_await open_locked(c, d)) co_return res<R>{ec, {}};
        auto& stream = c.conn_.stream();
        auto req = c.make_request(http::verb::get, "/v1/files" + q.s, "multipart/form-data");
        req.prepare_payload();
        error_code ec;
        auto fail_transport = [&](error_code e) { return res<R>{transport_failure(c, d, "GET /v1/files", e), {}}; };
        // One deadline for the exchange, moved on by each piece of the body that is read.
        detail::connection::deadline deadline(c.conn_, c.opts_.request_timeout);
        co_await http::async_write(stream, req, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        http::response_parser<http::buffer_body> p;
        p.body_limit(boost::none);
        co_await http::async_read_header(stream, c.conn_.buffer(), p, detail::redirect(ec));
        if (ec) co_return fail_transport(ec);
        const auto boundary = detail::multipart_boundary(p.get()[http::field::content_type]);
        std::size_t chunk = detail::pull_first_chunk;
        // A body Pebble says is smaller than the first piece gets a piece its size (a unit's pull is
        // about 1.7 KiB: with 1000 units in flight, 2.3 MiB less memory touched).
        if (const auto n = p.content_length(); n && *n > 0 && *n < chunk) chunk = static_cast<std::size_t>(*n);
        std::vector<char> buf(chunk);
        // Reads the body piece by piece into `consume`: large reads straight from the socket into
        // the connection's buffer, which the parser decodes (Content-Length or chunked) into `buf`.
        // (Beast's async_read reads at most 64 KiB, and less when its buffer is small, and costs a
        // completion per piece; a 256 MiB pull took 4x longer than curl that way.)
        auto& fb = c.conn_.buffer();
        auto read_body = [&](auto consume) -> awaitable<error_code> {
            while (!p.is_done()) {
                if (buf.size() < chunk) buf.resize(chunk);
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
                const auto n = co_await stream.socket().async_read_some(fb.prepare(chunk), detail::redirect(rec));
                fb.commit(n);
                if (n == chunk) chunk = std::min(chunk * 4, detail::pull_chunk);
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

/// Appends one make-dirs entry to `out`; invalid_option (naming `field`) for bad permissions.
error_code add_entry(json::array& out, const make_dir_options& m, const std::string& field, diagnostics& d) {
    if (!detail::valid_permissions(m.permissions))
        return detail::invalid(d, field + ".permissions", "must be 3 or 4 octal digits");
    json::object o{{"path", m.path}};
    if (m.make_parents) o["make-parents"] = true;
    out.emplace_back(owner_fields(std::move(o), m.permissions, m.user_id, m.user, m.group_id, m.group));
    return {};
}

/// Appends one remove entry to `out`.
error_code add_entry(json::array& out, const remove_path_options& r, const std::string&, diagnostics&) {
    json::object o{{"path", r.path}};
    if (r.recursive) o["recursive"] = true;
    out.emplace_back(std::move(o));
    return {};
}

/// `POST /v1/files {"action": action, key: [entries]}` (make-dirs under "dirs", remove under "paths"):
/// the per-path results. Bad options are invalid_option naming `key[i]`, before any I/O.
template <class Item>
awaitable<res<std::vector<file_result>>> files_action(client_impl& c, diagnostics& d, const char* action,
                                                      const char* key, const std::vector<Item>& items) {
    using R = std::vector<file_result>;
    if (items.empty()) co_return res<R>{detail::invalid(d, key, "must not be empty"), {}};
    json::array a;
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto field = std::string(key) + "[" + std::to_string(i) + "]";
        if (!detail::absolute(items[i].path))
            co_return res<R>{detail::invalid(d, field + ".path", "must be an absolute path"), {}};
        if (auto ec = add_entry(a, items[i], field, d)) co_return res<R>{ec, {}};
    }
    json::value body(json::object{{"action", action}, {key, std::move(a)}});
    envelope env;
    if (auto ec = co_await c.call(http::verb::post, "/v1/files", &body, env, d)) co_return res<R>{ec, {}};
    co_return res<R>{{}, detail::to_file_results(env.result)};
}

/// The many-path form (make_dirs, remove_paths): the per-path results.
template <class Item>
void many_paths(client_impl& impl, client::handler<std::vector<file_result>> h, diagnostics* diag,
                const char* action, const char* key, std::vector<Item> items) {
    using R = std::vector<file_result>;
    impl.launch<R>(std::move(h), diag, [action, key, items = std::move(items)](client_impl& c, diagnostics& d)
                                           -> awaitable<res<R>> { co_return co_await files_action(c, d, action, key, items); });
}

/// The one-path form (Go's MakeDir, RemovePath): its per-path error becomes the call's.
template <class Item>
void one_path(client_impl& impl, client::handler<void> h, diagnostics* diag, const char* action, const char* key,
              Item item) {
    impl.launch<void>(std::move(h), diag, [action, key, item = std::move(item)](client_impl& c, diagnostics& d)
                                              -> awaitable<ec_t> {
        std::vector<Item> one{item};
        auto r = co_await files_action(c, d, action, key, one);
        if (r.first) co_return r.first;
        co_return detail::first_result_error(r.second, d);
    });
}

} // namespace

void client::make_dirs_impl(handler<std::vector<file_result>> h, diagnostics* diag, std::vector<make_dir_options> dirs) {
    many_paths(*impl_, std::move(h), diag, "make-dirs", "dirs", std::move(dirs));
}

void client::make_dir_impl(handler<void> h, diagnostics* diag, make_dir_options dir) {
    one_path(*impl_, std::move(h), diag, "make-dirs", "dirs", std::move(dir));
}

void client::remove_paths_impl(handler<std::vector<file_result>> h, diagnostics* diag,
                               std::vector<remove_path_options> paths) {
    many_paths(*impl_, std::move(h), diag, "remove", "paths", std::move(paths));
}

void client::remove_path_impl(handler<void> h, diagnostics* diag, remove_path_options path) {
    one_path(*impl_, std::move(h), diag, "remove", "paths", std::move(path));
}

} // namespace redispebble::pebble
