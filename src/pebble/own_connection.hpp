// What exec, the notices long-poll and logs following share (private, not installed): each runs on
// its own strand and its own connection (an exec's websockets, a follow's open chunked response, a
// long-poll's slow answer would all block the client's one kept-alive connection), and their
// synchronous forms run on a private io_context and client.
#ifndef REDISPEBBLE_SRC_PEBBLE_OWN_CONNECTION_HPP
#define REDISPEBBLE_SRC_PEBBLE_OWN_CONNECTION_HPP

#include <redispebble/pebble/client.hpp>
#include "common.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

namespace redispebble::pebble::detail {

/// The largest JSON answer read whole on an own connection.
inline constexpr std::size_t own_max_json_body = 16 * 1024 * 1024;

/// A request to Pebble (Host localhost, Accept application/json).
http::request<http::string_body> make_request(http::verb v, std::string target);

/// One request and its whole response on a fresh connection of our own.
awaitable<error_code> exchange(const client_options& o, http::request<http::string_body>& req, unsigned& status,
                               std::string& body, diagnostics& d, std::chrono::milliseconds timeout);

/// Calls `h(v...)` on its associated executor.
template <class H, class... V>
void complete(H h, V... v) {
    auto ex = asio::get_associated_executor(h);
    asio::dispatch(ex, [h = std::move(h), ... v = std::move(v)]() mutable { std::move(h)(std::move(v)...); });
}

/// The synchronous forms: `start(tmp, d, done)` on a private io_context and client with c's options.
template <class R, class Start>
R run_private(client& c, error_code& ec, diagnostics* diag, Start start) {
    asio::io_context ioc;
    diagnostics local_d;
    diagnostics& d = diag ? *diag : local_d;
    R out{};
    {
        client tmp(ioc, c.options());
        start(tmp, d, [&](error_code e, R r) {
            ec = e;
            out = std::move(r);
        });
        ioc.run();
    }
    return out;
}

} // namespace redispebble::pebble::detail

#endif
