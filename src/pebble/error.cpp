// Error codes of the Pebble client; see include/redispebble/pebble/error.hpp.
#include <redispebble/pebble/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <iterator>
#include <optional>

namespace redispebble::pebble {

namespace {

// One row per value, in the enum's order (checked below): its message, and for `error` its
// condition (none for invalid_option and local_file_error: a caller's mistake or a local file's).
struct error_row {
    error value;
    const char* message;
    std::optional<condition> cond;
};
constexpr error_row error_rows[] = {
    {error::socket_not_found, "Pebble's socket does not exist", condition::transport},
    {error::connection_refused, "nothing listens on Pebble's socket", condition::transport},
    {error::connection_closed, "Pebble closed the connection before a complete response", condition::transport},
    {error::timeout, "timed out talking to Pebble", condition::timeout},
    {error::bad_http_response, "Pebble's answer is not a valid HTTP response", condition::protocol},
    {error::bad_envelope, "Pebble's answer is not the expected JSON envelope", condition::protocol},
    {error::bad_multipart, "Pebble's multipart answer is malformed", condition::protocol},
    {error::not_found, "not found", condition::api},
    {error::permission_denied, "permission denied", condition::api},
    {error::generic_file_error, "file error", condition::api},
    {error::no_default_services, "no default services", condition::api},
    {error::api_error, "Pebble refused the request", condition::api},
    {error::change_failed, "the change failed", condition::api},
    {error::invalid_option, "invalid option", std::nullopt},
    {error::local_file_error, "a local file could not be read or written", std::nullopt},
    {error::command_failed, "the command exited with a non-zero status", condition::api},
};

struct condition_row {
    condition value;
    const char* message;
};
constexpr condition_row condition_rows[] = {
    {condition::transport, "cannot reach Pebble"},
    {condition::timeout, "timeout"},
    {condition::protocol, "Pebble sent something unexpected"},
    {condition::api, "Pebble refused the request"},
};

/// Row `ev` of `rows` (values 1, 2, ... in order), or null for a value outside the enum.
template <class Row, std::size_t N>
constexpr const Row* row_of(const Row (&rows)[N], int ev) {
    return ev >= 1 && static_cast<std::size_t>(ev) <= N ? &rows[ev - 1] : nullptr;
}

/// The message of row `ev`, or `unknown`.
template <class Row, std::size_t N>
std::string message_of(const Row (&rows)[N], int ev, const char* unknown) {
    auto* r = row_of(rows, ev);
    return r ? r->message : unknown;
}

template <class Row, std::size_t N>
constexpr bool in_enum_order(const Row (&rows)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        if (static_cast<std::size_t>(rows[i].value) != i + 1) return false;
    return true;
}
// A value added to an enum needs its row here (the enums' last values are these).
static_assert(in_enum_order(error_rows) && std::size(error_rows) == static_cast<std::size_t>(error::command_failed));
static_assert(in_enum_order(condition_rows) && std::size(condition_rows) == static_cast<std::size_t>(condition::api));

class error_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "redispebble.pebble"; }
    std::string message(int ev) const override { return message_of(error_rows, ev, "unknown redispebble.pebble error"); }
    boost::system::error_condition default_error_condition(int ev) const noexcept override {
        auto* r = row_of(error_rows, ev);
        if (r && r->cond) return make_error_condition(*r->cond);
        return {ev, *this};
    }
};

class condition_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "redispebble.pebble.condition"; }
    std::string message(int ev) const override { return message_of(condition_rows, ev, "unknown condition"); }
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
