// GET and POST /v1/files: pull, push (multipart), list, make-dirs, remove (Pebble's api_files.go).
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

std::optional<std::int64_t> int_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::nullopt;
    return it->value().to_number<std::int64_t>();
}

std::string random_hex(std::size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out;
    while (out.size() < n) out += fmt::format("{:016x}", rng());
    return out.substr(0, n);
}

// A file error as Pebble's files API reports it in a result (`kind`: Pebble's error kind).
json::object file_error(const std::string& message, const char* kind = "generic-file-error") {
    return json::object{{"message", message}, {"kind", kind}};
}

// The files API's Go structs (Pebble v1.26's api_files.go) as encoding/json decodes a body into
// them: each field's JSON tag and Go type.
enum class go_kind { string, boolean, int_ptr, struct_slice };
struct go_struct;
struct go_field {
    const char* tag;
    go_kind kind;
    const go_struct* elem = nullptr;  // struct_slice: the element's struct
};
struct go_struct {
    const char* name;  // the struct's name in Go's error: "makeDirsItem"; "" for a handler's anonymous payload
    const char* type;  // the type as Go prints it: "daemon.makeDirsItem", or the whole anonymous struct
    std::vector<go_field> fields;
};

const go_struct make_dirs_item{"makeDirsItem", "daemon.makeDirsItem",
                               {{"path", go_kind::string}, {"make-parents", go_kind::boolean},
                                {"permissions", go_kind::string}, {"user-id", go_kind::int_ptr}, {"user", go_kind::string},
                                {"group-id", go_kind::int_ptr}, {"group", go_kind::string}}};
const go_struct remove_paths_item{"removePathsItem", "daemon.removePathsItem",
                                  {{"path", go_kind::string}, {"recursive", go_kind::boolean}}};
const go_struct write_files_item{"writeFilesItem", "daemon.writeFilesItem",
                                 {{"path", go_kind::string}, {"make-dirs", go_kind::boolean},
                                  {"permissions", go_kind::string}, {"user-id", go_kind::int_ptr}, {"user", go_kind::string},
                                  {"group-id", go_kind::int_ptr}, {"group", go_kind::string}}};
// v1PostFiles's payload (application/json) and writeFiles's (the multipart "request" part).
const go_struct files_payload{
    "", R"(struct { Action string "json:\"action\""; Dirs []daemon.makeDirsItem "json:\"dirs\""; Paths []daemon.removePathsItem "json:\"paths\"" })",
    {{"action", go_kind::string}, {"dirs", go_kind::struct_slice, &make_dirs_item},
     {"paths", go_kind::struct_slice, &remove_paths_item}}};
const go_struct write_payload{"", R"(struct { Action string "json:\"action\""; Files []daemon.writeFilesItem "json:\"files\"" })",
                              {{"action", go_kind::string}, {"files", go_kind::struct_slice, &write_files_item}}};

// The field of s that JSON key `key` sets, as Go matches it: the exact tag, else the tag equal but
// for ASCII case (Go also folds a few non-ASCII letters, such as U+212A KELVIN SIGN for k: not here).
const go_field* go_field_for(const go_struct& s, std::string_view key) {
    for (const auto& f : s.fields)
        if (key == f.tag) return &f;
    for (const auto& f : s.fields) {
        const std::string_view tag = f.tag;
        if (key.size() == tag.size() &&
            std::equal(key.begin(), key.end(), tag.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return &f;
    }
    return nullptr;
}

// Decodes the object `in` into Go struct s as encoding/json does: `out` gets each field under its
// tag (unknown keys skipped, a later key wins, null leaves a field as it was, a null element of a
// slice is the zero struct). A value of the wrong kind leaves its field alone and, if it is the
// first in document order, sets `err` to Go's UnmarshalTypeError text ("json: cannot unmarshal
// <kind> into Go struct field <Struct>.<field path> of type <T>", <kind> as json_kind names it,
// "number <literal>" for a number that is not an int). `path` is the field path down to `in`
// ("" for the payload, "dirs" for one of its dirs).
void go_decode(const json::object& in, const go_struct& s, const std::string& path, json::object& out, std::string& err) {
    for (const auto& kv : in) {
        const go_field* f = go_field_for(s, kv.key());
        if (!f) continue;
        const json::value& v = kv.value();
        const std::string field = path.empty() ? std::string(f->tag) : path + "." + f->tag;
        const auto refuse = [&](const std::string& what, const std::string& type) {
            if (err.empty())
                err = fmt::format("json: cannot unmarshal {} into Go struct field {}.{} of type {}", what, s.name, field, type);
        };
        if (v.is_null()) {
            if (f->kind == go_kind::struct_slice) out[f->tag] = json::array{};  // Go sets a slice to nil
            continue;
        }
        switch (f->kind) {
        case go_kind::string:
            if (v.is_string()) out[f->tag] = v;
            else refuse(detail::json_kind(v), "string");
            break;
        case go_kind::boolean:
            if (v.is_bool()) out[f->tag] = v;
            else refuse(detail::json_kind(v), "bool");
            break;
        case go_kind::int_ptr:
            // Go's int is 64 bits: strconv.ParseInt of the literal, else "number <literal>". Boost.JSON
            // keeps an int64 literal exactly and a larger one as uint64; a fraction or exponent is a
            // double whose literal is gone: {fmt}'s shortest form stands in for it ("1.5" as
            // written, but "1e3" comes out as "1000").
            if (v.is_int64()) out[f->tag] = v;
            else if (v.is_uint64()) refuse(fmt::format("number {}", v.get_uint64()), "int");
            else if (v.is_double()) refuse(fmt::format("number {}", v.get_double()), "int");
            else refuse(detail::json_kind(v), "int");
            break;
        case go_kind::struct_slice: {
            if (!v.is_array()) {
                refuse(detail::json_kind(v), std::string("[]") + f->elem->type);
                break;
            }
            json::array items;
            for (const auto& e : v.as_array()) {
                json::object item;
                if (e.is_object()) go_decode(e.as_object(), *f->elem, field, item, err);
                else if (!e.is_null()) refuse(detail::json_kind(e), f->elem->type);
                items.push_back(std::move(item));
            }
            out[f->tag] = std::move(items);
            break;
        }
        }
    }
}

// The body decoded into Go struct s as Pebble's json.NewDecoder(body).Decode(&payload) does, or
// Pebble's 400 "<prefix>: <Go's error>": the first JSON value is read and anything after it
// ignored; an empty body is "EOF", one that ends early "unexpected EOF"; null is the zero struct;
// any other non-object is "json: cannot unmarshal <kind> into Go value of type <s.type>". (Other
// syntax errors carry Boost.JSON's words, not Go's "invalid character ...".)
std::optional<json::object> decode_go(const std::string& body, const go_struct& s, const char* prefix, reply& bad) {
    const auto fail = [&](const std::string& why) {
        bad = error(400, fmt::format("{}: {}", prefix, why));
        return std::nullopt;
    };
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return fail("EOF");
    json::stream_parser p;
    error_code ec;
    (void)p.write_some(body.data(), body.size(), ec);  // stops after the first value, as json.Decoder does
    if (!ec && !p.done()) p.finish(ec);
    if (ec) return fail(ec == json::error::incomplete ? "unexpected EOF" : ec.message());
    const json::value v = p.release();
    json::object out;
    if (v.is_null()) return out;
    if (!v.is_object()) return fail(fmt::format("json: cannot unmarshal {} into Go value of type {}", detail::json_kind(v), s.type));
    std::string err;
    go_decode(v.as_object(), s, "", out, err);
    if (!err.empty()) return fail(err);
    return out;
}

// A bulk files action on o[key] (decode_go's output: an array of objects, or absent when the body
// had none): each item gives one result {"path": its path}, to which each(item, path, result) adds
// an "error" when it fails.
template <class Each>
reply each_path(const json::object& o, const char* key, Each each) {
    json::array results;
    if (auto it = o.find(key); it != o.end())
        for (const auto& v : it->value().as_array()) {
            const json::object& item = v.as_object();
            const std::string path = str_of(item, "path");
            json::object r{{"path", path}};
            each(item, path, r);
            results.push_back(std::move(r));
        }
    return sync(std::move(results));
}

// A media type and its parameters as Go's mime.ParseMediaType reads a Content-Type (Go's
// mime/mediatype.go): the type before the first ';' lower-cased and trimmed, a token or
// token/token; then `; key=value` parameters, keys lower-cased, a value a token or a quoted
// string, trailing semicolons allowed, a repeated key only with the same value. nullopt where Go
// answers an error. (RFC 2231 continuations, `key*`, are parsed but not decoded: such a key is
// not returned.)
struct media_type {
    std::string type;
    std::map<std::string, std::string> params;
};
std::optional<media_type> parse_media_type(std::string_view v) {
    const auto tspecial = [](char c) { return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos; };
    const auto token_char = [&](char c) { return c > 0x20 && c < 0x7f && !tspecial(c); };
    const auto token = [&](std::string_view& in) {  // consumeToken
        std::size_t n = 0;
        while (n < in.size() && token_char(in[n])) ++n;
        const std::string_view t = in.substr(0, n);
        in.remove_prefix(n);
        return t;
    };
    const auto trim_left = [](std::string_view& in) {  // unicode.IsSpace on the ASCII a header carries
        while (!in.empty() && std::string_view(" \t\n\v\f\r").find(in.front()) != std::string_view::npos) in.remove_prefix(1);
    };
    const auto lower = [](std::string_view in) {
        std::string out(in);
        for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return out;
    };
    const std::string_view base = v.substr(0, v.find(';'));
    std::string_view t = base;
    trim_left(t);
    while (!t.empty() && std::string_view(" \t\n\v\f\r").find(t.back()) != std::string_view::npos) t.remove_suffix(1);
    media_type out{lower(t), {}};
    // checkMediaTypeDisposition: a token, optionally "/" and a token, nothing after.
    std::string_view rest = out.type;
    if (token(rest).empty()) return std::nullopt;
    if (!rest.empty()) {
        if (rest.front() != '/') return std::nullopt;
        rest.remove_prefix(1);
        if (token(rest).empty() || !rest.empty()) return std::nullopt;
    }
    std::map<std::string, std::string> continued;  // `key*` parameters
    for (v.remove_prefix(base.size()); !v.empty();) {
        trim_left(v);
        if (v.empty()) break;
        // consumeMediaParam: "; key = value".
        std::string_view p = v;
        std::optional<std::pair<std::string, std::string>> kv;
        if (p.front() == ';') {
            p.remove_prefix(1);
            trim_left(p);
            const std::string key = lower(token(p));
            trim_left(p);
            if (!key.empty() && !p.empty() && p.front() == '=') {
                p.remove_prefix(1);
                trim_left(p);
                std::string value;
                bool got = false;
                if (!p.empty() && p.front() == '"') {  // consumeValue's quoted string ("" is a value)
                    for (std::size_t i = 1; i < p.size(); ++i) {
                        const char c = p[i];
                        if (c == '"') {
                            p.remove_prefix(i + 1);
                            got = true;
                            break;
                        }
                        if (c == '\\' && i + 1 < p.size() && tspecial(p[i + 1])) {
                            value += p[++i];
                            continue;
                        }
                        if (c == '\r' || c == '\n') break;
                        value += c;
                    }
                } else {
                    value = std::string(token(p));
                    got = !value.empty();
                }
                if (got) kv = std::pair{key, std::move(value)};
            }
        }
        if (!kv) {
            std::string_view r = v;  // Go ignores trailing semicolons
            trim_left(r);
            while (!r.empty() && std::string_view(" \t\n\v\f\r").find(r.back()) != std::string_view::npos) r.remove_suffix(1);
            if (r == ";") break;
            return std::nullopt;  // ErrInvalidMediaParameter
        }
        auto& params = kv->first.find('*') == std::string::npos ? out.params : continued;
        if (auto it = params.find(kv->first); it != params.end() && it->second != kv->second)
            return std::nullopt;  // "mime: duplicate parameter name"
        params[kv->first] = kv->second;
        v = p;
    }
    return out;
}

// api_files.go's nonAbsolutePathError, for a path that is not absolute ("" included).
bool refuse_relative(const std::string& path, json::object& r) {
    if (!path.empty() && path.front() == '/') return false;
    r["error"] = file_error(fmt::format("paths must be absolute, got \"{}\"", path));
    return true;
}

} // namespace

std::optional<unsigned> pebble_server::impl::parse_perm(const std::string& s, unsigned dflt) {
    if (s.empty()) return dflt;
    if (s.size() < 3 || s.size() > 4) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '7') return std::nullopt;
        v = v * 8 + static_cast<unsigned>(c - '0');
    }
    return v;
}

std::optional<std::pair<uid_t, gid_t>> pebble_server::impl::owner_of(const json::object& o, std::string& err) {
    // Pebble's osutil.NormalizeUidGid: names are looked up and must agree with the ids given; without
    // a group the user's primary group (a user-id alone is looked up too); a group needs a user.
    auto uid = int_of(o, "user-id");
    auto gid = int_of(o, "group-id");
    const std::string user = str_of(o, "user"), group = str_of(o, "group");
    if (!uid && !gid && user.empty() && group.empty()) return std::nullopt;
    if (!user.empty()) {
        const auto pw = accounts::user(user);
        if (!pw) {
            err = fmt::format("user: unknown user {}", user);
            return std::nullopt;
        }
        if (uid && *uid != static_cast<std::int64_t>(pw->first)) {
            err = fmt::format("user \"{}\" UID ({}) does not match user-id ({})", user, pw->first, *uid);
            return std::nullopt;
        }
        uid = pw->first;
    }
    if (!group.empty()) {
        const auto gr = accounts::group(group);
        if (!gr) {
            err = fmt::format("group: unknown group {}", group);
            return std::nullopt;
        }
        if (gid && *gid != static_cast<std::int64_t>(*gr)) {
            err = fmt::format("group \"{}\" GID ({}) does not match group-id ({})", group, *gr, *gid);
            return std::nullopt;
        }
        gid = *gr;
    }
    if (!gid) {  // a user or user-id was given: its primary group
        const bool in_range = *uid >= 0 && *uid < static_cast<std::int64_t>(static_cast<uid_t>(-1));
        const auto pw = in_range ? accounts::user_by_id(static_cast<uid_t>(*uid)) : std::nullopt;
        if (!pw) {
            err = fmt::format("user: unknown userid {}", *uid);
            return std::nullopt;
        }
        gid = pw->second;
    }
    if (!uid) {
        err = "must specify user, not just group";
        return std::nullopt;
    }
    return std::pair{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)};
}

// Go's syscall.Errno text: strerror's words in lower case ("file exists").
std::string pebble_server::impl::go_errno_text(int err) {
    std::string t = std::strerror(err);
    if (!t.empty()) t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
    return t;
}

void pebble_server::impl::make_parents(const fs::path& dir, unsigned perm, const std::optional<std::pair<uid_t, gid_t>>& owner) {
    std::vector<fs::path> created;
    for (fs::path p = dir; !p.empty() && !fs::exists(p); p = p.parent_path()) created.push_back(p);
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
        if (::mkdir(it->c_str(), perm) != 0 && errno != EEXIST)
            throw std::runtime_error(fmt::format("mkdir {}: {}", it->string(), std::strerror(errno)));
        ::chmod(it->c_str(), perm);
        if (owner) (void)!::chown(it->c_str(), owner->first, owner->second);
    }
}

std::optional<std::vector<pebble_server::impl::part>> pebble_server::impl::parse_multipart(const std::string& body, const std::string& boundary) {
    std::vector<part> parts;
    const std::string delim = "--" + boundary;
    std::size_t pos = body.find(delim);
    if (pos == std::string::npos) return std::nullopt;
    for (;;) {
        pos += delim.size();
        if (body.compare(pos, 2, "--") == 0) break;
        if (body.compare(pos, 2, "\r\n") != 0) return std::nullopt;
        pos += 2;
        const std::size_t head_end = body.find("\r\n\r\n", pos);
        if (head_end == std::string::npos) return std::nullopt;
        const std::string head = body.substr(pos, head_end - pos);
        const std::size_t next = body.find("\r\n" + delim, head_end + 4);
        if (next == std::string::npos) return std::nullopt;
        part pt;
        pt.body = body.substr(head_end + 4, next - head_end - 4);
        auto field = [&](const std::string& key) -> std::string {
            const auto k = head.find(key + "=\"");
            if (k == std::string::npos) return "";
            const auto start = k + key.size() + 2;
            return head.substr(start, head.find('"', start) - start);
        };
        pt.name = field("name");
        pt.filename = field("filename");
        parts.push_back(std::move(pt));
        pos = next + 2;
    }
    return parts;
}

/// POST /v1/files (v1PostFiles): the Content-Type as mime.ParseMediaType reads it decides.
/// multipart/form-data is a write (write_files); application/json a make-dirs or remove; a header
/// that does not parse (none included) is 400 `invalid Content-Type "<header>"`, any other type
/// 400 `invalid media type "<type, lower-cased>"`.
reply pebble_server::impl::post_files(const http::request<http::string_body>& req) {
    const std::string_view ctype = req[http::field::content_type];
    const auto media = parse_media_type(ctype);
    if (!media) return error(400, "invalid Content-Type " + go_quote(ctype));
    if (media->type == "multipart/form-data") {
        auto b = media->params.find("boundary");
        return write_files(req.body(), b == media->params.end() ? "" : b->second);
    }
    if (media->type != "application/json") return error(400, "invalid media type " + go_quote(media->type));
    reply bad;
    const auto v = decode_go(req.body(), files_payload, "cannot decode request body", bad);
    if (!v) return bad;
    const json::object& o = *v;
    const std::string action = str_of(o, "action");
    if (action == "make-dirs")
        return each_path(o, "dirs", [&](const json::object& dir, const std::string& path, json::object& r) {
            if (refuse_relative(path, r)) return;
            std::string owner_err;
            auto owner = owner_of(dir, owner_err);
            auto perm = parse_perm(str_of(dir, "permissions"), 0755);
            try {
                if (!perm) throw std::runtime_error(fmt::format("permissions must be a 3-digit octal string, got \"{}\"", str_of(dir, "permissions")));
                if (!owner_err.empty()) throw std::runtime_error("cannot look up user and group: " + owner_err);
                if (bool_of(dir, "make-parents")) make_parents(path, *perm, owner);
                else if (::mkdir(path.c_str(), *perm) != 0)
                    throw std::runtime_error(fmt::format("mkdir {}: {}", path, go_errno_text(errno)));
                else if (owner) (void)!::chown(path.c_str(), owner->first, owner->second);
            } catch (const std::exception& e) {
                r["error"] = file_error(e.what());
            }
        });
    if (action == "remove")
        return each_path(o, "paths", [&](const json::object& item, const std::string& path, json::object& r) {
            if (refuse_relative(path, r)) return;
            std::error_code ec;
            if (!fs::exists(fs::symlink_status(path, ec)))
                r["error"] = file_error(fmt::format("remove {}: no such file or directory", path), "not-found");
            else if (bool_of(item, "recursive")) fs::remove_all(path, ec);
            else fs::remove(path, ec);
            if (ec && !r.contains("error")) r["error"] = file_error(fmt::format("remove {}: {}", path, ec.message()));
        });
    if (action == "write") return error(400, "must use multipart with \"write\" action");
    return error(400, fmt::format("invalid action \"{}\"", action));
}

/// writeFiles: the "request" part's metadata, then each part in order (Pebble reads them as they
/// come): one whose field name is not "files" is 400 `field name must be "files", got "<name>"`,
/// one whose filename no metadata entry has is 400 `no metadata for path "<filename>"`, the parts
/// before it written as they would have been (Pebble answers after writing them); each other part
/// is written with its entry's settings. The results follow the metadata's order, an entry without
/// a part `no file content for path "<path>"`.
reply pebble_server::impl::write_files(const std::string& body, const std::string& boundary) {
    if (boundary.size() < 32) return error(400, "invalid boundary " + go_quote(boundary));
    auto parts = parse_multipart(body, boundary);
    if (!parts || parts->empty() || (*parts)[0].name != "request")
        return error(400, "must specify request metadata as the first part");
    reply bad;
    const auto meta = decode_go((*parts)[0].body, write_payload, "cannot decode request metadata", bad);
    if (!meta) return bad;
    const json::object& mo = *meta;
    if (str_of(mo, "action") != "write")
        return error(400, fmt::format("multipart action must be \"write\", got \"{}\"", str_of(mo, "action")));
    if (!mo.contains("files") || mo.at("files").as_array().empty()) return error(400, "must specify one or more files");
    std::map<std::string, const json::object*> infos;  // by path, a later entry winning (Go's map)
    for (const auto& v : mo.at("files").as_array()) infos[str_of(v.as_object(), "path")] = &v.as_object();
    std::map<std::string, json::object> written;  // each written path's result (an "error" when it failed)
    for (auto pt = parts->begin() + 1; pt != parts->end(); ++pt) {
        if (pt->name != "files") return error(400, "field name must be \"files\", got " + go_quote(pt->name));
        auto info = infos.find(pt->filename);
        if (info == infos.end()) return error(400, "no metadata for path " + go_quote(pt->filename));
        json::object r;
        write_file(*info->second, pt->filename, pt->body, r);
        written[pt->filename] = std::move(r);
    }
    return each_path(mo, "files", [&](const json::object&, const std::string& path, json::object& r) {
        auto w = written.find(path);
        if (w == written.end()) r["error"] = file_error(fmt::format("no file content for path \"{}\"", path));
        else if (auto e = w->second.find("error"); e != w->second.end()) r["error"] = e->value();
    });
}

/// writeFile: `content` to `path` with the settings of its metadata entry `fo`; an "error" in `r`
/// when it fails. The path, then the owner, as Pebble checks them; then the permissions (Pebble
/// makes the parent directories first), the parent directories and an atomic rename of a
/// temporary file.
void pebble_server::impl::write_file(const json::object& fo, const std::string& path, const std::string& content,
                                     json::object& r) {
    auto perm = parse_perm(str_of(fo, "permissions"), 0644);
    std::string owner_err;
    auto owner = owner_of(fo, owner_err);
    if (refuse_relative(path, r)) return;
    if (!owner_err.empty()) {
        r["error"] = file_error("cannot look up user and group: " + owner_err);
        return;
    }
    if (!perm) {
        r["error"] = file_error(fmt::format("permissions must be a 3-digit octal string, got \"{}\"", str_of(fo, "permissions")));
        return;
    }
    try {
        const fs::path target(path);
        if (bool_of(fo, "make-dirs")) make_parents(target.parent_path(), 0755, owner);
        const std::string tmp = path + "." + random_hex(12) + "~";
        {
            std::ofstream out(tmp, std::ios::binary);
            if (!out) {
                const bool missing = !fs::exists(target.parent_path());
                r["error"] = file_error(fmt::format("open {}: {}", tmp, missing ? "no such file or directory" : std::strerror(errno)),
                                        missing ? "not-found" : "generic-file-error");
                return;
            }
            out << content;
        }
        ::chmod(tmp.c_str(), *perm);
        if (owner) (void)!::chown(tmp.c_str(), owner->first, owner->second);
        fs::rename(tmp, target);
        std::lock_guard<std::mutex> lock(m);
        ++rec.files_written;
    } catch (const std::exception& e) {
        r["error"] = file_error(e.what());
    }
}

reply pebble_server::impl::get_files(const http::request<http::string_body>& req, const target_t& t) {
    const std::string action = t.get("action");
    if (action == "read") {
        if (std::string(req[http::field::accept]) != "multipart/form-data")
            return error(400, "must accept multipart/form-data");
        const std::string boundary = random_hex(60);
        std::string body;
        json::array results;
        for (const auto& path : t.all("path")) {
            json::object r{{"path", path}};
            std::error_code ec;
            const fs::file_status st = fs::status(path, ec);  // one stat; a missing file is not opened
            if (!fs::exists(st)) {
                r["error"] = file_error(fmt::format("stat {}: no such file or directory", path), "not-found");
            } else if (fs::is_directory(st)) {
                r["error"] = file_error(fmt::format("can only read a regular file: \"{}\"", path));
            } else if (std::ifstream in(path, std::ios::binary); !in) {
                r["error"] = file_error(fmt::format("open {}: permission denied", path), "permission-denied");
            } else {
                std::ostringstream ss;
                ss << in.rdbuf();
                body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + path +
                        "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + ss.str() + "\r\n";
            }
            results.push_back(std::move(r));
        }
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n" +
                sync(std::move(results)).body + "\r\n--" + boundary + "--\r\n";
        return {200, "multipart/form-data; boundary=" + boundary, std::move(body)};
    }
    if (action == "list") {
        const std::string path = t.get("path");
        const std::string pattern = t.get("pattern");
        std::error_code ec;
        if (!fs::exists(fs::status(path, ec)))  // os.Stat: a dangling symlink is not found
            return error(404, fmt::format("stat {}: no such file or directory", path), "not-found");
        std::vector<fs::path> entries;
        // As Pebble's listFiles: the path itself (itself=true, or not a directory) is stat'ed
        // through a symlink (os.Stat); a directory's entries are not (os.ReadDir).
        const bool single = t.get("itself") == "true" || !fs::is_directory(path, ec);
        if (single) entries.push_back(path);
        else
            for (const auto& e : fs::directory_iterator(path, ec)) entries.push_back(e.path());
        std::sort(entries.begin(), entries.end());
        json::array a;
        for (const auto& e : entries) {
            if (!pattern.empty() && ::fnmatch(pattern.c_str(), e.filename().c_str(), 0) != 0) continue;
            struct stat st {};
            if ((single ? ::stat(e.c_str(), &st) : ::lstat(e.c_str(), &st)) != 0) continue;
            json::object o;
            o["path"] = e.string();
            o["name"] = e.filename().string();
            const char* type = S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : S_ISLNK(st.st_mode) ? "symlink"
                             : S_ISSOCK(st.st_mode) ? "socket" : S_ISFIFO(st.st_mode) ? "named-pipe" : "device";
            o["type"] = type;
            if (S_ISREG(st.st_mode)) o["size"] = static_cast<std::int64_t>(st.st_size);
            o["permissions"] = fmt::format("{:03o}", st.st_mode & 0777);  // Go's mode.Perm()
            std::time_t mt = st.st_mtime;
            std::tm tm{};
            ::gmtime_r(&mt, &tm);
            char buf[32];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            o["last-modified"] = buf;
            o["user-id"] = st.st_uid;
            if (auto name = accounts::user_name(st.st_uid)) o["user"] = *name;
            o["group-id"] = st.st_gid;
            if (auto name = accounts::group_name(st.st_gid)) o["group"] = *name;
            a.push_back(std::move(o));
        }
        return sync(std::move(a));
    }
    return error(400, fmt::format("invalid action \"{}\"", action));
}

} // namespace redispebble::testing
