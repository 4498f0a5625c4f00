// Pebble's response envelopes and the daemon's shared helpers (Pebble's internals/daemon/response.go).
#include "daemon.hpp"

namespace redispebble::testing::detail {

namespace {
// Now in RFC 3339 UTC with up to `digits` digits of the second's fraction (cut, not rounded), its
// trailing zeros dropped as Go's time.Time writes JSON (RFC3339Nano).
std::string now_with_fraction(int digits) {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count();
    const std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    std::string frac = fmt::format("{:09d}", ns).substr(0, static_cast<std::size_t>(digits));
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) out += "." + frac;
    return out + "Z";
}
} // namespace

std::string now_rfc3339(bool nanos) { return now_with_fraction(nanos ? 9 : 0); }

std::string now_rfc3339_millis() { return now_with_fraction(3); }

const char* status_text(unsigned code) {
    switch (code) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    }
    return "Unknown";
}

namespace {

// Pebble's response envelope: its type ("sync", "error"), the status and the result.
reply envelope(const char* type, unsigned status, json::value result) {
    json::object o;
    o["type"] = type;
    o["status-code"] = status;
    o["status"] = status_text(status);
    o["result"] = std::move(result);
    return {status, "application/json", json::serialize(o)};
}

} // namespace

reply sync(json::value result, unsigned status) { return envelope("sync", status, std::move(result)); }

reply error(unsigned status, const std::string& message, const std::string& kind) {
    json::object r;
    r["message"] = message;
    if (!kind.empty()) r["kind"] = kind;
    return envelope("error", status, std::move(r));
}

std::optional<json::value> decode_body(const std::string& body, reply& err) {
    error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        err = error(400, body.empty() || ec == json::error::incomplete || ec == json::error::syntax
                             ? "cannot decode data from request body: unexpected EOF"
                             : "cannot decode data from request body: " + ec.message());
        return std::nullopt;
    }
    return v;
}

const char* json_kind(const json::value& v) {
    switch (v.kind()) {
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    case json::kind::string: return "string";
    case json::kind::bool_: return "bool";
    case json::kind::null: return "null";
    default: return "number";
    }
}

std::optional<json::object> decode_object(const std::string& body, reply& err) {
    auto v = decode_body(body, err);
    if (!v) return std::nullopt;
    if (v->is_null()) return json::object{};
    if (!v->is_object()) {
        err = error(400, fmt::format("cannot decode request body: json: cannot unmarshal {} into Go value of type struct",
                                     json_kind(*v)));
        return std::nullopt;
    }
    return std::move(v->as_object());
}

namespace {
// Go's error for a value of the wrong kind in a field of the handler's struct.
reply unmarshal_field_error(const char* prefix, const json::value& v, const char* key, const char* go_type) {
    return error(400, fmt::format("{}: json: cannot unmarshal {} into Go struct field .{} of type {}", prefix,
                                  json_kind(v), key, go_type));
}
} // namespace

std::optional<std::vector<std::string>> string_list(const json::object& o, const char* key, reply& err,
                                                    const char* prefix) {
    std::vector<std::string> out;
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return out;
    const auto bad = [&](const json::value& v) {
        err = unmarshal_field_error(prefix, v, key, it->value().is_array() ? "string" : "[]string");
        return std::nullopt;
    };
    if (!it->value().is_array()) return bad(it->value());
    for (const auto& n : it->value().as_array()) {
        if (n.is_null()) {  // Go's json.Unmarshal leaves a string zero for null
            out.emplace_back();
            continue;
        }
        if (!n.is_string()) return bad(n);
        out.emplace_back(n.as_string());
    }
    return out;
}

std::optional<std::string> string_field(const json::object& o, const char* key, reply& err, const char* prefix) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::string();
    if (!it->value().is_string()) {
        err = unmarshal_field_error(prefix, it->value(), key, "string");
        return std::nullopt;
    }
    return std::string(it->value().as_string());
}

std::string str_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

bool bool_of(const json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_bool() && it->value().as_bool();
}

std::string http_date() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

} // namespace redispebble::testing::detail
