// The client's JSON readers and Pebble's result objects (include/redispebble/pebble/detail/json_util.hpp):
// one set, shared by the client, exec and the fuzz harnesses. Lenient like Pebble's Go client: an
// absent or mistyped field reads as empty.
#include <redispebble/pebble/detail/json_util.hpp>

#include <redispebble/pebble/detail/envelope.hpp>

#include <boost/json.hpp>

#include <cctype>

namespace redispebble::pebble::detail {

namespace json = boost::json;

std::string str(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string{};
}

error_code invalid(diagnostics& d, std::string field, std::string why) {
    d = diagnostics{};
    d.message = field + ": " + why;
    return error::invalid_option;
}

std::string escape(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string r;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
            r += static_cast<char>(c);
        } else {
            r += '%';
            r += hex[c >> 4];
            r += hex[c & 15];
        }
    }
    return r;
}

std::string go_duration(std::chrono::milliseconds ms) {
    if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
    return std::to_string(ms.count()) + "ms";
}

bool boolean(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    return v && v->is_bool() && v->get_bool();
}
std::string json_text(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    return v && !v->is_null() ? json::serialize(*v) : std::string{};
}
std::vector<std::string> strings(const json::object& o, std::string_view k) {
    std::vector<std::string> r;
    if (auto* v = o.if_contains(k); v && v->is_array())
        for (auto& e : v->get_array())
            if (e.is_string()) r.emplace_back(e.get_string());
    return r;
}
json::array to_array(const std::vector<std::string>& v) {
    json::array a;
    for (auto& s : v) a.emplace_back(s);
    return a;
}
std::string join(const std::vector<std::string>& v) {
    std::string r;
    for (auto& s : v) r += (r.empty() ? "" : ",") + s;
    return r;
}

/// Fills d from an error object {message, kind, value}.
error_code error_from(const json::object& e, unsigned status, diagnostics& d) {
    d.status_code = static_cast<int>(status);
    d.message = str(e, "message");
    d.kind = str(e, "kind");
    d.value = json_text(e, "value");
    return kind_to_error(d.kind, status);
}

namespace {
/// The fields a change and its tasks share (Go's Change and Task).
template <class T>
T change_or_task(const json::object& o) {
    T t;
    t.id = str(o, "id");
    t.kind = str(o, "kind");
    t.summary = str(o, "summary");
    t.status = str(o, "status");
    t.spawn_time = str(o, "spawn-time");
    t.ready_time = str(o, "ready-time");
    t.data = json_text(o, "data");
    return t;
}
} // namespace

task to_task(const json::object& o) {
    auto t = change_or_task<task>(o);
    t.log = strings(o, "log");
    if (auto* p = o.if_contains("progress"); p && p->is_object()) {
        t.progress.label = str(p->get_object(), "label");
        t.progress.done = num(p->get_object(), "done");
        t.progress.total = num(p->get_object(), "total");
    }
    return t;
}

change to_change(const json::value& v) {
    auto& o = v.as_object();
    auto c = change_or_task<change>(o);
    if (auto* t = o.if_contains("tasks"); t && t->is_array())
        for (auto& e : t->get_array()) c.tasks.push_back(to_task(e.as_object()));
    c.ready = boolean(o, "ready");
    c.err = str(o, "err");
    return c;
}

check_info to_check(const json::object& o) {
    return check_info{.name = str(o, "name"),
                      .level = str(o, "level"),
                      .startup = str(o, "startup"),
                      .status = str(o, "status"),
                      .successes = opt_int<int>(o, "successes"),
                      .failures = num<int>(o, "failures"),
                      .threshold = num<int>(o, "threshold"),
                      .change_id = str(o, "change-id")};
}

std::vector<file_result> to_file_results(const json::value& v) {
    std::vector<file_result> r;
    for (auto& e : v.as_array()) {
        auto& o = e.as_object();
        file_result f;
        f.path = str(o, "path");
        if (auto* err = o.if_contains("error"); err && err->is_object())
            f.ec = error_from(err->get_object(), 200, f.diag);
        r.push_back(std::move(f));
    }
    return r;
}

notice to_notice(const json::object& o) {
    notice n;
    n.id = detail::str(o, "id");
    n.user_id = detail::opt_int<std::uint32_t>(o, "user-id");
    n.type = detail::str(o, "type");
    n.key = detail::str(o, "key");
    n.first_occurred = detail::str(o, "first-occurred");
    n.last_occurred = detail::str(o, "last-occurred");
    n.last_repeated = detail::str(o, "last-repeated");
    n.occurrences = detail::num<int>(o, "occurrences");
    if (auto* ld = o.if_contains("last-data"); ld && ld->is_object())
        for (auto& [k, v] : ld->get_object()) n.last_data[std::string(k)] = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
    n.repeat_after = detail::str(o, "repeat-after");
    n.expire_after = detail::str(o, "expire-after");
    return n;
}

} // namespace redispebble::pebble::detail
