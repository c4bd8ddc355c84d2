#pragma once
// What `certq status` reports, read from the database alone so it works while certqd runs.

#include "store/sqlite.hpp"
#include "store/state.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

namespace certq::store {

struct queue_status {
    std::map<domain_state, std::int64_t> counts; ///< rows per state (absent: none)
    std::int64_t total = 0;
    std::int64_t unfinished = 0;       ///< rows not in a terminal state
    std::int64_t finished_recently = 0; ///< rows that reached a terminal state in the window
    std::chrono::seconds window{};
    /// Rows finished per minute over the window, and the time the rest would take at it.
    double per_minute() const;
    std::optional<std::chrono::seconds> eta() const;
};

/// Reads counts and recent throughput. Throws sqlite::error.
queue_status read_status(sqlite::database& db, std::chrono::seconds window = std::chrono::minutes{5});

} // namespace certq::store
