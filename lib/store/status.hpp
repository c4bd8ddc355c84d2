#pragma once
// What `certq status` reports, read from the database alone so it works while certqd runs.

#include "store/sql.hpp"
#include "store/state.hpp"
#include "util/time.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certq::store {

struct queue_status {
    std::map<domain_state, std::int64_t> counts; ///< rows per state (absent: none)
    std::int64_t total = 0;
    std::int64_t unfinished = 0;        ///< rows not in a terminal state
    std::chrono::seconds window{};      ///< how far back finished rows are counted
    std::int64_t finished_recently = 0; ///< rows that reached a terminal state in the window
    /// The time those rows were being finished over: from the first of them to now while rows
    /// are left, else to the last of them. Unset when there is no rate.
    std::optional<millis> span;
    /// Rows finished per minute over `span`; unset with fewer than two finishes in the window
    /// (or all at the same instant).
    std::optional<double> per_minute;
    /// The time the unfinished rows would take at `per_minute`; zero when none is left, unset
    /// when there is no rate.
    std::optional<std::chrono::seconds> eta() const;
    /// Events waiting for each configured webhook (set by the caller with webhook_backlog).
    struct webhook_waiting {
        std::string url;
        bool started = false; ///< certqd has delivered to it (it has a cursor)
        std::int64_t waiting = 0;
    };
    std::vector<webhook_waiting> webhook_backlog;
    /// Active or moved rows whose certificate ends within the warning (set by count_expiring).
    std::int64_t expiring = 0;
    millis expiry_warning{0};
};

/// The events after webhook `url`'s cursor that its filter (`events`; empty: all) would send.
queue_status::webhook_waiting webhook_backlog(sql::connection& db, const std::string& url,
                                              const std::vector<std::string>& events);

/// Active or moved rows whose certificate ends before `before`.
std::int64_t expiring_before(sql::connection& db, wall_time before);

/// Fills st.expiring: certificates that end before now + warning (monitor.expiry_warning).
void count_expiring(sql::connection& db, queue_status& st, millis warning, wall_time now = wall_now());

/// Reads counts and recent throughput as of `now`. Throws database_error.
queue_status read_status(sql::connection& db,
                         std::chrono::seconds window = std::chrono::minutes{5},
                         wall_time now = wall_now());

} // namespace certq::store
