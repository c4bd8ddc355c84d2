#pragma once
// Wall-clock helpers shared by the store, the engine and the tools. Times at rest (in the
// database) are Unix milliseconds; times shown to people are ISO 8601 UTC with milliseconds.

#include <chrono>
#include <cstdint>
#include <string>

namespace certq {

using wall_clock = std::chrono::system_clock;
using wall_time = std::chrono::time_point<wall_clock, std::chrono::milliseconds>;
using millis = std::chrono::milliseconds;

/// Current wall time, truncated to milliseconds.
wall_time wall_now();

inline std::int64_t to_unix_ms(wall_time t) { return t.time_since_epoch().count(); }
inline wall_time from_unix_ms(std::int64_t ms) { return wall_time{millis{ms}}; }

/// `2026-11-29T01:02:03.456Z`.
std::string format_iso8601(wall_time t);

/// `1h 2m 3s`, `250ms`: a duration as a person reads it in a detail or a log line.
std::string format_duration(millis d);

} // namespace certq
