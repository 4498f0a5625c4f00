// Pebble's JSON envelope, parsed without I/O (not public API; shared with exec).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_ENVELOPE_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_ENVELOPE_HPP

#include <redispebble/pebble/error.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace redispebble::pebble::detail {

/// `{"type":"sync|async|error","status-code":…,"change":"2","result":…}`.
struct envelope {
    std::string type;    ///< "sync" | "async" ("error" never comes back: it is the error code)
    std::string change;  ///< async responses: the change id
    /// The parsed answer lives in one arena (a monotonic resource shared by `result` and whatever
    /// copies it): a few block allocations per answer instead of one per string, array and object.
    /// Freed with the last value that uses it.
    boost::json::value result = boost::json::value(boost::json::make_shared_resource<boost::json::monotonic_resource>());
};

/// Parses a response body. An error envelope maps to not_found, permission_denied,
/// generic_file_error, no_default_services or api_error with `d` holding status, kind, message and
/// value; a body that is no envelope is bad_envelope. A sync envelope with a non-2xx status (an
/// unhealthy /v1/health is 502) is a success.
error_code parse_envelope(unsigned http_status, std::string_view body, envelope& env, diagnostics& d);

/// The error code Pebble's error `kind` (or, without one, the HTTP status) stands for.
error_code kind_to_error(std::string_view kind, unsigned http_status);

} // namespace redispebble::pebble::detail

#endif
