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

    /// Changes the configured rate (reconfiguration). Reservations already handed out keep
    /// their time.
    void set_rate(double rate, int burst);

    /// The server pushed back (429): halve the rate (down to 1/16 of the configured one) and
    /// hand out nothing before now + pause. Every caller slows down, not just the one refused.
    void throttled(clock::time_point now, clock::duration pause);

    /// A call went through: the rate grows back by a tenth of the configured rate per second
    /// since the last change, never above the configured rate.
    void succeeded(clock::time_point now);

    double rate() const { return current_; }
    double configured_rate() const { return rate_; }
    int burst() const { return burst_; }

private:
    void apply_current();

    double rate_;    // configured
    double current_; // in force: lower than rate_ after push-back
    int burst_;
    clock::time_point last_change_{};
    clock::duration interval_;  // time between tokens
    clock::duration tolerance_; // how far ahead of the schedule a burst may run
    clock::time_point theoretical_arrival_{};
};

} // namespace certq
