#pragma once
// Durations as written in certqd.yaml: an integer and a unit, `250ms`, `30s`, `5m`, `72h`.

#include <chrono>
#include <optional>
#include <string_view>

namespace certq {

/// Parses `<digits><unit>` with unit ms, s, m, h or d. Returns nullopt for anything else
/// (no unit, a sign, a fraction, overflow), so the caller can name the key at fault.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

} // namespace certq
