#pragma once
// What a webhook is to send next, decided without sockets or clocks: the events loaded past its
// cursor, delivered in order per row (a row's next event waits until the one before it is
// delivered or given up) while rows are independent of each other; failures retried with
// backoff and jitter until give_up_after; and the cursor, below which every event is done.

#include "config/config.hpp"
#include "notify/event.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace certq::notify {

class outbox {
public:
    using clock = std::chrono::steady_clock;

    /// `delivered_through`: the persisted cursor (events up to it are done).
    outbox(backoff_config retry, std::int64_t delivered_through);

    /// Adds events in id order, after those already loaded. `wanted` false: done at once (not
    /// sent), so the cursor can pass it.
    void add(event_record e, bool wanted);
    std::int64_t last_loaded() const { return last_loaded_; }

    /// Events to send now: the first undone event of each row, due, not in flight, at most `max`.
    /// They are marked in flight.
    std::vector<event_record> take_ready(clock::time_point now, std::size_t max);

    /// The event went through.
    void delivered(std::int64_t id);
    /// It did not (non-2xx, timeout, TLS, connection): true when it is given up (past
    /// give_up_after since its first attempt; it counts as done), else it is retried after
    /// backoff × (0.5 + jitter/2).
    bool failed(std::int64_t id, clock::time_point now, double jitter);

    /// Every event up to this id is delivered or given up.
    std::int64_t delivered_through() const;
    /// Loaded events not yet done.
    std::size_t pending() const { return items_.size(); }
    /// When the oldest undone event was first attempted (for the age of the backlog).
    std::optional<clock::time_point> oldest_first_attempt() const;
    /// The next time a waiting event is due (none: nothing waits on a timer).
    std::optional<clock::time_point> next_due() const;

private:
    struct item {
        event_record event;
        int attempts = 0;
        bool in_flight = false;
        clock::time_point next_at{};
        std::optional<clock::time_point> first_attempt;
    };
    backoff_config retry_;
    std::int64_t last_loaded_;
    std::map<std::int64_t, item> items_;                      // undone, by id
    std::map<std::int64_t, std::deque<std::int64_t>> by_row_; // undone ids per row, in order
};

} // namespace certq::notify
