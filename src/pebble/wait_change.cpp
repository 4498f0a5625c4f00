// The wait_change state machine; see include/redispebble/pebble/detail/wait_change_fsm.hpp.
#include <redispebble/pebble/detail/wait_change_fsm.hpp>

#include <algorithm>

namespace redispebble::pebble::detail {

wait_change_fsm::wait_change_fsm(ms overall, ms slice, ms poll, clock::time_point now)
    : bounded_(overall.count() > 0), deadline_(now + overall), slice_(std::max(slice, ms(1))), poll_(poll) {}

wait_change_fsm::action wait_change_fsm::next_request(clock::time_point now) {
    auto duration = slice_;
    if (bounded_) {
        auto left = std::chrono::duration_cast<ms>(deadline_ - now);
        if (left.count() <= 0) return {action::kind::fail, ms(0), error::timeout};
        duration = std::min(duration, left);
    }
    last_was_wait_ = !polling_;
    if (polling_) return {action::kind::get, ms(0), {}};
    return {action::kind::wait, duration, {}};
}

wait_change_fsm::action wait_change_fsm::resume(const input& in, clock::time_point now) {
    switch (in.what) {
    case input::kind::start:
    case input::kind::slept:
        return next_request(now);
    case input::kind::response:
        break;
    }
    if (!in.ec) {
        if (last_was_wait_ || in.ready) return {action::kind::done, ms(0), {}};
        // Polling and not ready yet: pause (never past the deadline), then ask again.
        auto pause = poll_;
        if (bounded_) {
            auto left = std::chrono::duration_cast<ms>(deadline_ - now);
            if (left.count() <= 0) return {action::kind::fail, ms(0), error::timeout};
            pause = std::min(pause, left);
        }
        return {action::kind::sleep, pause, {}};
    }
    if (last_was_wait_ && in.status == 504) return next_request(now);  // not ready in this slice
    if (last_was_wait_ && in.status == 404) {
        // A Pebble without /wait, or an unknown change: GET /v1/changes/{id} tells them apart.
        polling_ = true;
        return next_request(now);
    }
    return {action::kind::fail, ms(0), in.ec};
}

} // namespace redispebble::pebble::detail
