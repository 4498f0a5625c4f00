// Small readers and writers shared by the client and exec (not public API).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_JSON_UTIL_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_JSON_UTIL_HPP

#include <redispebble/pebble/error.hpp>
#include <redispebble/pebble/types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble::pebble::detail {

/// A string field; absent or mistyped reads as "".
std::string str(const boost::json::object& o, std::string_view k);
/// A JSON number as the integer type I, the way Go's encoding/json decodes into an int field:
/// only when it is an integer that I holds exactly (an int64, a uint64 or a double such as 3.0 in
/// range). Out of range (`1e300`, `-1` for an unsigned), fractional, NaN or not a number: nullopt,
/// never a wrapped or undefined value.
template <class I>
std::optional<I> to_int(const boost::json::value& v) {
    static_assert(std::is_integral_v<I>);
    if (v.is_int64()) {
        const std::int64_t x = v.get_int64();
        if (std::in_range<I>(x)) return static_cast<I>(x);
        return std::nullopt;
    }
    if (v.is_uint64()) {
        const std::uint64_t x = v.get_uint64();
        if (std::in_range<I>(x)) return static_cast<I>(x);
        return std::nullopt;
    }
    if (v.is_double()) {
        const double d = v.get_double();
        // [-2^digits, 2^digits) for signed I, [0, 2^digits) for unsigned: exact in a double.
        const double limit = std::ldexp(1.0, std::numeric_limits<I>::digits);
        const double low = std::is_signed_v<I> ? -limit : 0.0;
        if (!std::isfinite(d) || d != std::trunc(d) || d < low || d >= limit) return std::nullopt;
        return static_cast<I>(d);
    }
    return std::nullopt;
}
/// A number field as I (see to_int); absent, null, not a number or not representable: nullopt.
template <class I>
std::optional<I> opt_int(const boost::json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    if (!v) return std::nullopt;
    return to_int<I>(*v);
}
/// opt_int<std::int64_t>.
inline std::optional<std::int64_t> opt_num(const boost::json::object& o, std::string_view k) {
    return opt_int<std::int64_t>(o, k);
}
// A counter field: absent or not representable (see to_int) reads as 0.
template <class I = std::int64_t>
I num(const boost::json::object& o, std::string_view k) {
    return opt_int<I>(o, k).value_or(0);
}
/// A boolean field; absent or mistyped reads as false.
bool boolean(const boost::json::object& o, std::string_view k);
/// A field as JSON text (Pebble's raw `data`, `value`); absent or null reads as "".
std::string json_text(const boost::json::object& o, std::string_view k);
/// An array-of-strings field; absent or mistyped reads as empty (non-strings are skipped).
std::vector<std::string> strings(const boost::json::object& o, std::string_view k);
/// A JSON array of strings.
boost::json::array to_array(const std::vector<std::string>& v);
/// "a,b,c": Pebble's comma-separated `?names=` form.
std::string join(const std::vector<std::string>& v);
/// Fills d from an error object {message, kind, value} and returns its error (kind_to_error).
error_code error_from(const boost::json::object& e, unsigned status, diagnostics& d);
/// Percent-encodes a query key or value.
std::string escape(std::string_view s);
/// A Go duration for a `?timeout=` parameter ("4s", "1500ms").
std::string go_duration(std::chrono::milliseconds ms);
/// Sets `d` to "<field>: <why>" and returns error::invalid_option.
error_code invalid(diagnostics& d, std::string field, std::string why);
/// A notice from Pebble's JSON.
notice to_notice(const boost::json::object& o);

// The client's readers of Pebble's result objects (lenient like Pebble's Go client: an absent or
// mistyped field reads as empty). to_change and to_file_results throw boost::system::system_error
// when the value is not an object / an array of objects (the client reports bad_envelope).
task to_task(const boost::json::object& o);
change to_change(const boost::json::value& v);
check_info to_check(const boost::json::object& o);
std::vector<file_result> to_file_results(const boost::json::value& v);

/// `?k=v&k2=v2`, escaped.
struct query {
    std::string s;
    query& add(std::string_view k, std::string_view v) {
        s += s.empty() ? '?' : '&';
        s += escape(k);
        s += '=';
        s += escape(v);
        return *this;
    }
};

} // namespace redispebble::pebble::detail

#endif
