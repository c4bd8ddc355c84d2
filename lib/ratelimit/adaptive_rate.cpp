#include "ratelimit/adaptive_rate.hpp"

#include <algorithm>
#include <cmath>

namespace certq {

adaptive_rate::adaptive_rate(double ceiling, adaptive_rate_options options)
    : options_(options), ceiling_(ceiling) {}

double adaptive_rate::rate(clock::time_point now) const {
    if (!event_) return ceiling_;
    const double since = std::chrono::duration<double>(now - event_->at).count();
    const double hold = std::chrono::duration<double>(options_.hold).count();
    double r;
    if (since < hold) {
        // Concave: quick at first, flattening out just under the level that was refused.
        const double left = 1 - std::max(since, 0.0) / hold;
        r = event_->plateau - (event_->plateau - event_->start) * left * left * left;
    } else {
        const double s = since - hold;
        r = event_->plateau * (1 + options_.probe_growth * s * s * s);
    }
    return std::clamp(r, ceiling_ * options_.floor, ceiling_);
}

double adaptive_rate::recent_rate(clock::time_point now) const {
    // While the rate climbs, the server's burst allowance hides the crossing of its limit for
    // a while: the rate at the refusal overshoots the limit, the mean of the last seconds
    // much less. (Over a pause nothing was sent, so the mean starts after it.)
    auto from = now - options_.level_span;
    if (event_) from = std::max({from, event_->at, event_->resume});
    if (now - from < options_.level_span / 10) return rate(now);
    constexpr int samples = 20;
    double sum = 0;
    for (int i = 0; i < samples; ++i)
        sum += rate(from + (now - from) * i / (samples - 1));
    return sum / samples;
}

std::optional<adaptive_rate::congestion>
adaptive_rate::throttled(clock::time_point now, clock::time_point sent, clock::time_point resume) {
    if (event_ && sent < event_->at) {
        // Sent before the last cut: part of that event. Its Retry-After still holds.
        event_->resume = std::max(event_->resume, resume);
        return std::nullopt;
    }
    const double level = recent_rate(now);
    const bool repeat = event_ && now - event_->resume < options_.repeat_window;
    const int repeats = repeat ? event_->repeats + 1 : 0;
    // 0.9, 0.8, … 0.5: the more often the cut fell short, the deeper the next one.
    const double cut = std::max(0.5, options_.cut - 0.1 * repeats);
    const double start = std::max(level * cut, ceiling_ * options_.floor);
    // After a lone event the limit is just under `level`; after repeats it is somewhere below,
    // unknown: hold at the cut and let the probe find it.
    const double plateau = repeat ? start : std::max(start, level * options_.hold_at);
    event_ = event_state{now, resume, level, start, plateau, repeats};
    return congestion{level, start, repeat};
}

} // namespace certq
