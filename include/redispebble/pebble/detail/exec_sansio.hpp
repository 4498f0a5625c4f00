// The I/O-free pieces of exec and log following (not public API; unit-tested on their own).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_EXEC_SANSIO_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_EXEC_SANSIO_HPP

#include <redispebble/pebble/exec.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace redispebble::pebble::detail {

/// The `POST /v1/exec` body, with Go's field names; empty optional fields are left out.
boost::json::value exec_request_body(const exec_options& o);
/// Rejects bad options before any I/O (invalid_option, `d` names the field).
error_code validate_exec_options(const exec_options& o, diagnostics& d);
/// The task data "exit-code" of a finished exec change, -1 when absent.
int exit_code_of(const change& c);
/// Moves the complete ndjson lines out of `pending` into `out` (a partial last line stays);
/// false with `d` set when a line is not a JSON object.
bool parse_log_lines(std::string& pending, std::vector<log_entry>& out, diagnostics& d);

} // namespace redispebble::pebble::detail

#endif
