// The synchronous calls of client(options): they run on the calling thread over the caller's lane
// (a second connection), one thread at a time, others handed to the I/O thread; cancel() reaches
// them from any thread (src/pebble/client.cpp, client_impl's lane).
#include <redispebble/pebble/client.hpp>

#include <redispebble/testing/server.hpp>

#include "support/replay_server.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace redispebble;
using namespace std::chrono_literals;
namespace pb = redispebble::pebble;
namespace rt = redispebble::test;

namespace {
testing::server_options simulated() {
    testing::server_options o;
    o.run_processes = false;
    return o;
}

/// The threads the client logged "GET /v1/plan" from.
struct thread_log {
    std::mutex m;
    std::set<std::thread::id> plan_threads;
    pb::log_callback callback() {
        return [this](pb::log_level, std::string_view line) {
            if (line.find("GET /v1/plan") == std::string_view::npos) return;
            std::lock_guard<std::mutex> lock(m);
            plan_threads.insert(std::this_thread::get_id());
        };
    }
};
} // namespace

TEST_CASE("a synchronous call on client(options) runs on the calling thread", "[pebble][lane]") {
    testing::pebble_server server(simulated());
    thread_log log;
    pb::client_options o;
    o.socket_path = server.socket_path();
    o.logger = log.callback();
    pb::client c(o);
    c.plan();
    CHECK(c.plan_layer().services.empty());
    std::lock_guard<std::mutex> lock(log.m);
    // Before the lane, the I/O thread made the exchange and this thread waited on a future.
    CHECK(log.plan_threads == std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_CASE("synchronous calls from several threads at once all complete, with the right answers", "[pebble][lane]") {
    testing::pebble_server server(simulated());
    pb::client_options o;
    o.socket_path = server.socket_path();
    pb::client c(o);
    pb::add_layer_options layer;
    layer.label = "base";
    layer.layer_yaml = "services:\n  srv:\n    override: replace\n    command: /bin/sleep 60\n";
    c.add_layer(layer);
    thread_log log;
    std::vector<std::thread> threads;
    std::atomic<int> right{0}, calls{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 40; ++i) {
                ++calls;
                pb::error_code ec;
                auto plan = c.plan(ec);
                if (!ec && plan.find("/bin/sleep 60") != std::string::npos) ++right;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(calls == 160);
    CHECK(right == 160);
}

TEST_CASE("cancel() from another thread aborts a synchronous call running on the caller's lane", "[pebble][lane]") {
    // The server never answers: only the request timeout (a minute) or cancel() can end the call.
    rt::replay_server s({{"", rt::replay_step::action::silent}});
    pb::client_options o;
    o.socket_path = s.socket_path();
    o.request_timeout = 60s;
    o.connect_timeout = 5s;
    pb::client c(o);
    auto call = std::async(std::launch::async, [&] {
        pb::error_code ec;
        pb::diagnostics d;
        c.plan(ec, &d);
        return ec;
    });
    // Cancel until the call ends: once after it started is enough; before it started, it would
    // be aborted at its start as well (the generation is taken when the call begins).
    while (call.wait_for(50ms) != std::future_status::ready) c.cancel();
    CHECK(call.get() == boost::asio::error::operation_aborted);
}

TEST_CASE("after close() a synchronous call opens the lane's connection again", "[pebble][lane]") {
    testing::pebble_server server(simulated());
    pb::client_options o;
    o.socket_path = server.socket_path();
    pb::client c(o);
    const auto first = c.system_info();
    c.close();
    CHECK(c.system_info().version == first.version);
}
