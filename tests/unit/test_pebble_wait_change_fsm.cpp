// The wait_change decisions, without sockets.
#include <redispebble/pebble/detail/wait_change_fsm.hpp>

#include <catch2/catch.hpp>

namespace pb = redispebble::pebble;
using fsm = pb::detail::wait_change_fsm;
using K = fsm::action::kind;
using I = fsm::input::kind;
using namespace std::chrono_literals;

namespace {
fsm::input response(pb::error_code ec, int status, bool ready = false) { return {I::response, ec, status, ready}; }
} // namespace

TEST_CASE("an unbounded wait asks wait in slices and again after a 504", "[pebble][wait]") {
    auto t0 = fsm::clock::now();
    fsm m(0ms, 10s, 200ms, t0);
    auto a = m.resume({}, t0);
    CHECK(a.what == K::wait);
    CHECK(a.duration == 10s);
    a = m.resume(response(pb::error::api_error, 504), t0 + 10s);
    CHECK(a.what == K::wait);
    CHECK(a.duration == 10s);
    a = m.resume(response({}, 200, true), t0 + 11s);
    CHECK(a.what == K::done);
}

TEST_CASE("a bounded wait shortens the last slice and then times out", "[pebble][wait]") {
    auto t0 = fsm::clock::now();
    fsm m(250ms, 100ms, 200ms, t0);
    CHECK(m.resume({}, t0).duration == 100ms);
    auto a = m.resume(response(pb::error::api_error, 504), t0 + 200ms);
    CHECK(a.what == K::wait);
    CHECK(a.duration == 50ms);
    a = m.resume(response(pb::error::api_error, 504), t0 + 250ms);
    CHECK(a.what == K::fail);
    CHECK(a.ec == pb::error::timeout);
}

TEST_CASE("a 404 from wait switches to polling with pauses", "[pebble][wait]") {
    auto t0 = fsm::clock::now();
    fsm m(0ms, 1s, 200ms, t0);
    CHECK(m.resume({}, t0).what == K::wait);
    auto a = m.resume(response(pb::error::not_found, 404), t0);
    CHECK(a.what == K::get);
    CHECK(m.polling());
    a = m.resume(response({}, 200, false), t0);
    CHECK(a.what == K::sleep);
    CHECK(a.duration == 200ms);
    CHECK(m.resume({I::slept}, t0 + 200ms).what == K::get);
    CHECK(m.resume(response({}, 200, true), t0 + 200ms).what == K::done);
}

TEST_CASE("a 404 while polling and other errors end the wait", "[pebble][wait]") {
    auto t0 = fsm::clock::now();
    fsm m(0ms, 1s, 200ms, t0);
    m.resume({}, t0);
    m.resume(response(pb::error::not_found, 404), t0);
    auto a = m.resume(response(pb::error::not_found, 404), t0);
    CHECK(a.what == K::fail);
    CHECK(a.ec == pb::error::not_found);

    fsm m2(0ms, 1s, 200ms, t0);
    m2.resume({}, t0);
    a = m2.resume(response(pb::error::connection_closed, 0), t0);
    CHECK(a.what == K::fail);
    CHECK(a.ec == pb::error::connection_closed);
}

TEST_CASE("polling never sleeps past the deadline", "[pebble][wait]") {
    auto t0 = fsm::clock::now();
    fsm m(300ms, 1s, 200ms, t0);
    m.resume({}, t0);
    m.resume(response(pb::error::not_found, 404), t0 + 10ms);
    auto a = m.resume(response({}, 200, false), t0 + 250ms);
    CHECK(a.what == K::sleep);
    CHECK(a.duration == 50ms);
    a = m.resume({I::slept}, t0 + 300ms);
    CHECK(a.what == K::fail);
    CHECK(a.ec == pb::error::timeout);
}
