#pragma once
// A token bucket in its GCRA form: each caller reserves the next free slot, so callers are
// served in order and a crowd of waiters leaves at the configured rate, never in a herd.
// Pure: time is passed in, nothing sleeps here.

#include <chrono>

namespace certq {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    /// `rate` tokens per second (> 0), at most `burst` (>= 1) taken at once after idling.
    token_bucket(double rate, int burst);

    /// Takes one token and returns when it may be used: `now` if one is available, else the
    /// instant the bucket will have refilled enough. The reservation is held either way.
    clock::time_point reserve(clock::time_point now);

    /// Takes one token only if it may be used at `now`; otherwise takes nothing and returns
    /// how long until one could be (a caller that is turned away does not queue).
    clock::duration try_take(clock::time_point now);

    /// Changes the rate and burst for reservations from now on; those already handed out
    /// keep their time.
    void set_rate(double rate, int burst);

    /// Nothing is handed out before `until`, and reservations already handed out are void:
    /// their holders reserve again (the server asked everyone to wait).
    void hold_until(clock::time_point until);

    double rate() const { return rate_; }
    int burst() const { return burst_; }

private:
    // When the next token may be used, reserving nothing.
    clock::time_point earliest(clock::time_point now) const;

    double rate_;
    int burst_;
    clock::duration interval_;  // time between tokens
    clock::duration tolerance_; // how far ahead of the schedule a burst may run
    clock::time_point theoretical_arrival_{};
    clock::time_point held_until_{};
};

} // namespace certq
