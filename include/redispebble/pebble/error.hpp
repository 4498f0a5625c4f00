// Errors of the Pebble client: codes, conditions, and the server's own words.
#ifndef REDISPEBBLE_PEBBLE_ERROR_HPP
#define REDISPEBBLE_PEBBLE_ERROR_HPP

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>

namespace redispebble::pebble {

/// Asio's error code type (convertible to std::error_code).
using error_code = boost::system::error_code;

/// What went wrong talking to Pebble. Values are stable; 0 is success.
enum class error {
    /// The socket file does not exist (ENOENT): Pebble is not running, or the path is wrong.
    socket_not_found = 1,
    /// The socket file exists but nobody listens on it (ECONNREFUSED).
    connection_refused,
    /// Pebble closed the connection before a complete response arrived.
    connection_closed,
    /// A connect, request or wait took longer than its configured time.
    timeout,
    /// The bytes received are not a valid HTTP/1.1 response.
    bad_http_response,
    /// The HTTP body is not Pebble's JSON envelope, or its result has an unexpected shape.
    bad_envelope,
    /// A multipart body (file read) is malformed.
    bad_multipart,
    /// Pebble answered with kind "not-found" or HTTP 404.
    not_found,
    /// Pebble answered with kind "permission-denied" or HTTP 401/403.
    permission_denied,
    /// Pebble answered with kind "generic-file-error".
    generic_file_error,
    /// Pebble answered with kind "no-default-services".
    no_default_services,
    /// Pebble answered with any other error envelope (see diagnostics for its words).
    api_error,
    /// A change finished with status Error (only when asked to treat that as an error).
    change_failed,
    /// An argument was rejected before any I/O (diagnostics name the field).
    invalid_option,
    /// A local file to push could not be read, or a pulled file could not be written.
    local_file_error,
    /// An exec'd command exited with a non-zero status (the exec result carries the exit code).
    command_failed,
};

/// Broad classes of failure, for `ec == condition::timeout` style tests.
enum class condition {
    /// Could not reach Pebble or the connection broke (includes plain system errors of the socket).
    transport = 1,
    /// Any timeout: ours, Beast's and Asio's.
    timeout,
    /// Pebble sent something we could not understand.
    protocol,
    /// Pebble understood the request and refused it.
    api,
};

/// The category named "redispebble.pebble".
const boost::system::error_category& error_category() noexcept;
/// The category of `condition`.
const boost::system::error_category& condition_category() noexcept;

error_code make_error_code(error e) noexcept;
boost::system::error_condition make_error_condition(condition c) noexcept;

/// The server's words about a failure (Boost.MySQL's diagnostics): empty on transport errors.
struct diagnostics {
    int status_code = 0;   ///< HTTP status of the response, 0 when none arrived
    std::string kind;      ///< Pebble's error kind ("not-found"), often empty
    std::string message;   ///< Pebble's (or our own) human-readable message
    std::string value;     ///< JSON text of the error's "value", empty when absent

    void clear() { *this = diagnostics{}; }
    bool empty() const { return status_code == 0 && kind.empty() && message.empty() && value.empty(); }
};

/// Thrown by the synchronous calls: a boost::system::system_error that also carries the diagnostics.
class api_exception : public boost::system::system_error {
public:
    api_exception(error_code ec, diagnostics diag);
    const diagnostics& get_diagnostics() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

/// Throws api_exception when ec is set.
void throw_if_failed(error_code ec, const diagnostics& diag);

} // namespace redispebble::pebble

template <>
struct boost::system::is_error_code_enum<redispebble::pebble::error> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<redispebble::pebble::condition> : std::true_type {};

#endif
