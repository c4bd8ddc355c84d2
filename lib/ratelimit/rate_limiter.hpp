#pragma once
// The pace of every API call, on the Asio loop: callers wait here for their turn. The rate in
// force is found from Azion's 429s (adaptive_rate) under the configured ceiling, and a 429's
// Retry-After holds back every caller, not just the one refused.

#include "ratelimit/adaptive_rate.hpp"
#include "ratelimit/token_bucket.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <list>
#include <optional>

namespace certq {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    rate_limiter(boost::asio::any_io_executor ex, double rate, int burst,
                 adaptive_rate_options options = {});

    /// Waits until this caller's turn. Returns the instant the turn was given (hand it back
    /// with a 429 answer), or nullopt once close() was called.
    boost::asio::awaitable<std::optional<clock::time_point>> acquire();

    /// A request whose turn was given at `granted` was answered 429, with Retry-After (or
    /// the default wait): every caller waits that long, and the rate in force is cut once per
    /// congestion event.
    void throttled(clock::time_point granted, clock::duration retry_after);

    /// A new configured rate and burst (reload); the level found at Azion is kept under it.
    void set_rate(double rate, int burst);

    /// The rate in force now: the configured one, or what Azion was found to admit.
    double rate() const { return control_.rate(clock::now()); }
    double configured_rate() const { return control_.ceiling(); }
    std::uint64_t congestion_events() const { return events_; }

    /// Wakes every waiter with nullopt (shutdown).
    void close();

private:
    void update_pace(clock::time_point now);
    void wake_all();

    boost::asio::any_io_executor ex_;
    adaptive_rate control_;
    token_bucket bucket_;
    int burst_;
    bool closed_ = false;
    bool below_ceiling_ = false; // for logging the return to the configured rate once
    std::uint64_t events_ = 0;
    std::uint64_t generation_ = 0; // bumped when reservations are void
    clock::time_point paused_until_{};
    std::list<boost::asio::steady_timer*> waiting_; // woken by close() and 429s
};

} // namespace certq
