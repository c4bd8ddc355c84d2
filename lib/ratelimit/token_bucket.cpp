#include "ratelimit/token_bucket.hpp"

#include <algorithm>

namespace certq {

token_bucket::token_bucket(double rate, int burst) : rate_(rate), current_(rate), burst_(burst) {
    set_rate(rate, burst);
}

void token_bucket::set_rate(double rate, int burst) {
    rate_ = rate;
    current_ = rate;
    burst_ = std::max(burst, 1);
    apply_current();
}

void token_bucket::apply_current() {
    interval_ = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / current_));
    // While slowed down, no bursts: the server just said it had enough.
    tolerance_ = current_ < rate_ ? clock::duration::zero() : interval_ * (burst_ - 1);
}

void token_bucket::throttled(clock::time_point now, clock::duration pause) {
    current_ = std::max(rate_ / 16, current_ / 2);
    last_change_ = now;
    apply_current();
    theoretical_arrival_ = std::max(theoretical_arrival_, now + pause);
}

void token_bucket::succeeded(clock::time_point now) {
    if (current_ >= rate_) return;
    const double seconds = std::chrono::duration<double>(now - last_change_).count();
    if (seconds <= 0) return;
    current_ = std::min(rate_, current_ + rate_ / 10 * seconds);
    last_change_ = now;
    apply_current();
}

token_bucket::clock::time_point token_bucket::reserve(clock::time_point now) {
    const auto tat = std::max(theoretical_arrival_, now);
    const auto allowed_at = std::max(now, tat - tolerance_);
    theoretical_arrival_ = tat + interval_;
    return allowed_at;
}

} // namespace certq
