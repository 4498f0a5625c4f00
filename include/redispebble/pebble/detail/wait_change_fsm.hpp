// The decisions of wait_change, without I/O (not public API): which request to send next, how long
// to sleep, when to give up. The client's coroutine only performs what resume() answers.
#ifndef REDISPEBBLE_PEBBLE_DETAIL_WAIT_CHANGE_FSM_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_WAIT_CHANGE_FSM_HPP

#include <redispebble/pebble/error.hpp>

#include <chrono>

namespace redispebble::pebble::detail {

class wait_change_fsm {
public:
    using clock = std::chrono::steady_clock;
    using ms = std::chrono::milliseconds;

    /// What the driver must do next.
    struct action {
        enum class kind {
            wait,     ///< GET /v1/changes/{id}/wait?timeout=<duration>
            get,      ///< GET /v1/changes/{id}
            sleep,    ///< sleep <duration>, then resume(slept)
            done,     ///< the change is ready: return it
            fail,     ///< give up with ec
        } what;
        ms duration{0};
        error_code ec{};
    };

    /// What happened since the last action.
    struct input {
        enum class kind {
            start,     ///< first call
            response,  ///< a response arrived (ec, status, ready describe it)
            slept,     ///< the sleep ended
        } what = kind::start;
        error_code ec{};   ///< the request's error (transport, or the envelope's)
        int status = 0;    ///< HTTP status, 0 when none arrived
        bool ready = false;  ///< the change in a successful response is ready
    };

    /// overall: the deadline of the whole wait (0: none); slice: the longest server-side wait;
    /// poll: the pause between polls when /wait is missing.
    wait_change_fsm(ms overall, ms slice, ms poll, clock::time_point now);

    action resume(const input& in, clock::time_point now);
    bool polling() const noexcept { return polling_; }

private:
    action next_request(clock::time_point now);
    bool bounded_;
    clock::time_point deadline_;
    ms slice_;
    ms poll_;
    bool polling_ = false;
    bool last_was_wait_ = false;
};

} // namespace redispebble::pebble::detail

#endif
