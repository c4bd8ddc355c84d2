#include "ratelimit/rate_limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace certq {
namespace asio = boost::asio;

rate_limiter::rate_limiter(asio::any_io_executor ex, double rate, int burst,
                           adaptive_rate_options options)
    : ex_(std::move(ex)), control_(rate, options), bucket_(rate, burst), burst_(burst) {}

void rate_limiter::update_pace(clock::time_point now) {
    const double r = control_.rate(now);
    const bool below = r < control_.ceiling();
    if (below_ceiling_ && !below)
        spdlog::info("Azion API rate back at the configured {:.4g}/s", control_.ceiling());
    below_ceiling_ = below;
    // Bursts only at the configured rate: below it, the server has just said it had enough.
    if (r != bucket_.rate()) bucket_.set_rate(r, below ? 1 : burst_);
}

asio::awaitable<std::optional<rate_limiter::clock::time_point>> rate_limiter::acquire() {
    while (!closed_) {
        const auto now = clock::now();
        update_pace(now);
        const auto due = bucket_.reserve(now);
        if (due <= now) co_return now;
        // Each waiter has its own timer: the reservation already fixed its turn, so waiters
        // never compete when they wake. A 429 meanwhile voids every reservation (the
        // generation changes) and wakes the waiters to reserve again after the pause.
        const auto generation = generation_;
        asio::steady_timer timer(ex_, due);
        const auto self = waiting_.insert(waiting_.end(), &timer);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        waiting_.erase(self);
        if (!closed_ && generation == generation_) co_return clock::now();
    }
    co_return std::nullopt;
}

void rate_limiter::throttled(clock::time_point granted, clock::duration retry_after) {
    const auto now = clock::now();
    const auto resume = now + retry_after;
    if (const auto event = control_.throttled(now, granted, resume)) {
        ++events_;
        spdlog::warn("Azion is throttling (429): API rate {:.4g}/s -> {:.4g}/s{}, all calls paused "
                     "for {:.3g}s",
                     event->level, event->rate, event->repeat ? " (again: the limit fell)" : "",
                     std::chrono::duration<double>(retry_after).count());
        below_ceiling_ = true;
    }
    if (resume > paused_until_) {
        paused_until_ = resume;
        bucket_.hold_until(resume);
        ++generation_;
        wake_all();
    }
}

void rate_limiter::set_rate(double rate, int burst) {
    control_.set_ceiling(rate);
    burst_ = std::max(burst, 1);
    bucket_.set_rate(control_.rate(clock::now()), burst_);
}

void rate_limiter::wake_all() {
    for (auto* timer : waiting_)
        timer->cancel();
}

void rate_limiter::close() {
    closed_ = true;
    wake_all();
}

} // namespace certq
