#include "util/time.hpp"

#include <cstdio>
#include <ctime>

namespace certq {

wall_time wall_now() { return std::chrono::time_point_cast<millis>(wall_clock::now()); }

std::string format_iso8601(wall_time t) {
    const auto ms = to_unix_ms(t);
    auto secs = static_cast<std::time_t>(ms / 1000);
    auto frac = static_cast<int>(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

std::string format_duration(millis d) {
    auto ms = d.count();
    if (ms < 0) ms = 0;
    if (ms < 1000) return std::to_string(ms) + "ms";
    auto s = ms / 1000;
    const auto h = s / 3600;
    const auto m = (s % 3600) / 60;
    s %= 60;
    std::string out;
    if (h) out += std::to_string(h) + "h";
    if (m) out += (out.empty() ? "" : " ") + std::to_string(m) + "m";
    if (s || out.empty()) out += (out.empty() ? "" : " ") + std::to_string(s) + "s";
    return out;
}

} // namespace certq
