// Test support: reading the JSON documents the command-line tool prints (`--format json`).
#ifndef REDISPEBBLE_TESTS_SUPPORT_COMMAND_JSON_HPP
#define REDISPEBBLE_TESTS_SUPPORT_COMMAND_JSON_HPP

#include "support/run_command.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace redispebble::test {

/// The JSON object `r` printed on its standard output; REQUIREs one (a failure shows both outputs).
boost::json::object json_of(const command_result& r);

/// The string `v` holds; REQUIREs a string.
std::string string_of(const boost::json::value& v);

/// The string member `key` of `o`; REQUIREs the member and a string (a failure names `key`).
std::string string_at(const boost::json::object& o, std::string_view key);

/// Whether an element of `list` (a JSON array of objects with a string "path") has a path that starts
/// with `prefix`.
bool any_path(const boost::json::value& list, std::string_view prefix);

/// Checks (Catch2 CHECKs) that `o` has each member of `want` with an equal value (Boost.JSON's ==, so
/// 5 is not "5" and null is not missing); members of `o` that `want` does not name are not looked at.
/// A failure names the member and shows both values.
void check_members(const boost::json::object& o, const boost::json::object& want);

} // namespace redispebble::test

#endif
