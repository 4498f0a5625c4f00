// Small readers and writers shared by the client and exec (not public API).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_JSON_UTIL_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_JSON_UTIL_HPP

#include <redispebble/pebble/error.hpp>
#include <redispebble/pebble/types.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble::pebble::detail {

/// A string field; absent or mistyped reads as "".
std::string str(const boost::json::object& o, std::string_view k);
/// A number field; absent, null or not a number reads as nullopt.
std::optional<std::int64_t> opt_num(const boost::json::object& o, std::string_view k);
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
