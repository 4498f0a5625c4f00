// Error codes of the Pebble client; see include/redispebble/pebble/error.hpp.
#include <redispebble/pebble/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace redispebble::pebble {

namespace {

class error_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "redispebble.pebble"; }
    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::socket_not_found: return "Pebble's socket does not exist";
        case error::connection_refused: return "nothing listens on Pebble's socket";
        case error::connection_closed: return "Pebble closed the connection before a complete response";
        case error::timeout: return "timed out talking to Pebble";
        case error::bad_http_response: return "Pebble's answer is not a valid HTTP response";
        case error::bad_envelope: return "Pebble's answer is not the expected JSON envelope";
        case error::bad_multipart: return "Pebble's multipart answer is malformed";
        case error::not_found: return "not found";
        case error::permission_denied: return "permission denied";
        case error::generic_file_error: return "file error";
        case error::no_default_services: return "no default services";
        case error::api_error: return "Pebble refused the request";
        case error::change_failed: return "the change failed";
        case error::invalid_option: return "invalid option";
        case error::local_file_error: return "a local file could not be read or written";
        case error::command_failed: return "the command exited with a non-zero status";
        }
        return "unknown redispebble.pebble error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<error>(ev)) {
        case error::socket_not_found:
        case error::connection_refused:
        case error::connection_closed: return make_error_condition(condition::transport);
        case error::timeout: return make_error_condition(condition::timeout);
        case error::bad_http_response:
        case error::bad_envelope:
        case error::bad_multipart: return make_error_condition(condition::protocol);
        case error::not_found:
        case error::permission_denied:
        case error::generic_file_error:
        case error::no_default_services:
        case error::api_error:
        case error::change_failed:
        case error::command_failed: return make_error_condition(condition::api);
        default: return {ev, *this};
        }
    }
};

class condition_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "redispebble.pebble.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
        case condition::transport: return "cannot reach Pebble";
        case condition::timeout: return "timeout";
        case condition::protocol: return "Pebble sent something unexpected";
        case condition::api: return "Pebble refused the request";
        }
        return "unknown condition";
    }
    bool equivalent(const boost::system::error_code& ec, int cv) const noexcept override {
        namespace asio = boost::asio;
        switch (static_cast<condition>(cv)) {
        case condition::timeout:
            return ec == error::timeout || ec == boost::beast::error::timeout || ec == asio::error::timed_out;
        case condition::transport:
            if (ec.category() == redispebble::pebble::error_category()) return ec.default_error_condition() == boost::system::error_condition(cv, *this);
            return ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
                   ec == asio::error::broken_pipe || ec == asio::error::eof || ec == asio::error::not_connected ||
                   ec == boost::system::errc::no_such_file_or_directory || ec == boost::system::errc::permission_denied;
        case condition::protocol:
            if (ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::bad_version).category())
                return true;
            break;
        case condition::api: break;
        }
        return ec.category() == redispebble::pebble::error_category() && ec.default_error_condition() == boost::system::error_condition(cv, *this);
    }
};

} // namespace

const boost::system::error_category& error_category() noexcept {
    static const error_category_impl c;
    return c;
}

const boost::system::error_category& condition_category() noexcept {
    static const condition_category_impl c;
    return c;
}

error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

boost::system::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

namespace {
std::string what_of(error_code ec, const diagnostics& d) {
    (void)ec;
    std::string w = d.message;
    if (d.status_code != 0) w += " (HTTP " + std::to_string(d.status_code) + (d.kind.empty() ? "" : ", " + d.kind) + ")";
    return w;
}
} // namespace

// The code without its source location: what() would otherwise quote an Asio header's path.
api_exception::api_exception(error_code ec, diagnostics diag)
    : boost::system::system_error(error_code(ec.value(), ec.category()), what_of(ec, diag)), diag_(std::move(diag)) {}

void throw_if_failed(error_code ec, const diagnostics& diag) {
    if (ec) throw api_exception(ec, diag);
}

} // namespace redispebble::pebble
