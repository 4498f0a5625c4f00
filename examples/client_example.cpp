// The Pebble client in its three styles: callbacks, C++20 coroutines, and synchronous calls.
//
//   client_example [socket]    (default: $PEBBLE/.pebble.socket)
#include <redispebble/pebble/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace pebble = redispebble::pebble;
using namespace std::chrono_literals;

// A coroutine: add a layer, restart the service, wait for the change (a failed start is an error).
asio::awaitable<void> deploy(pebble::client& c) {
    co_await c.async_add_layer({.label = "redis",
                                .layer_yaml = "services:\n  redis:\n    override: replace\n"
                                              "    command: redis-server --port 6379\n    startup: enabled\n",
                                .combine = true,
                                .inner = false},
                               asio::use_awaitable);
    // GCC 12 miscompiles braced lists of strings inside a coroutine ("array used as initializer"):
    // build such arguments as named variables first.
    pebble::service_options redis;
    redis.names.push_back("redis");
    auto id = co_await c.async_restart(redis, asio::use_awaitable);
    auto ch = co_await c.async_wait_change(id, {.timeout = 30s, .fail_on_error = true}, asio::use_awaitable);
    std::cout << "change " << ch.id << ": " << ch.status << "\n";
}

int main(int argc, char** argv) {
    pebble::client_options opts;
    if (argc > 1) opts.socket_path = argv[1];
    else if (const char* p = std::getenv("PEBBLE")) opts.socket_path = std::string(p) + "/.pebble.socket";
    else {
        std::cerr << "usage: client_example <socket> (or set PEBBLE)\n";
        return 2;
    }
    opts.logger = [](pebble::log_level, std::string_view line) { std::clog << "pebble: " << line << "\n"; };

    // 1. Asynchronous, with a callback, on the caller's io_context.
    asio::io_context ctx;
    pebble::client async_client(ctx, opts);
    async_client.async_system_info([](pebble::error_code ec, pebble::system_info info) {
        if (ec) std::cerr << "system-info: " << ec.message() << "\n";
        else std::cout << "Pebble " << info.version << "\n";
    });

    // 2. Asynchronous, in a coroutine; an error arrives as an exception (boost::system::system_error).
    asio::co_spawn(ctx, deploy(async_client), [](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const std::exception& x) {
            std::cerr << "deploy: " << x.what() << "\n";
        }
    });
    ctx.run();

    // 3. Synchronous: the client runs its own I/O thread; failures throw api_exception, or set an
    //    error_code with the overload that takes one.
    pebble::client c(opts);
    try {
        for (auto& s : c.list_services({})) std::cout << s.name << " " << s.current << "\n";
        pebble::error_code ec;
        pebble::diagnostics diag;
        c.list_files({.path = "/etc/redis", .pattern = "", .itself = false}, ec, &diag);
        if (ec == pebble::error::not_found) std::cout << "no /etc/redis: " << diag.message << "\n";
    } catch (const pebble::api_exception& e) {
        std::cerr << e.what() << " (HTTP " << e.get_diagnostics().status_code << ")\n";
        return 1;
    }
    return 0;
}
