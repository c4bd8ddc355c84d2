#include "ratelimit/token_bucket.hpp"

#include <algorithm>

namespace certq {

token_bucket::token_bucket(double rate, int burst) {
    set_rate(rate, burst);
}

void token_bucket::set_rate(double rate, int burst) {
    rate_ = rate;
    burst_ = std::max(burst, 1);
    interval_ =
        std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / rate_));
    tolerance_ = interval_ * (burst_ - 1);
}

void token_bucket::hold_until(clock::time_point until) {
    held_until_ = until;
    theoretical_arrival_ = until;
}

token_bucket::clock::time_point token_bucket::earliest(clock::time_point now) const {
    const auto tat = std::max(theoretical_arrival_, now);
    return std::max({now, tat - tolerance_, held_until_});
}

token_bucket::clock::time_point token_bucket::reserve(clock::time_point now) {
    const auto allowed_at = earliest(now);
    theoretical_arrival_ = std::max({theoretical_arrival_, now, allowed_at}) + interval_;
    return allowed_at;
}

token_bucket::clock::duration token_bucket::try_take(clock::time_point now) {
    const auto allowed_at = earliest(now);
    if (allowed_at > now) return allowed_at - now;
    theoretical_arrival_ = std::max(theoretical_arrival_, now) + interval_;
    return clock::duration::zero();
}

} // namespace certq
