#include "ratelimit/rate_limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace certq {
namespace asio = boost::asio;

rate_limiter::rate_limiter(asio::any_io_executor ex, double rate, int burst)
    : ex_(std::move(ex)), bucket_(rate, burst) {}

asio::awaitable<bool> rate_limiter::acquire() {
    if (closed_) co_return false;
    const auto due = bucket_.reserve(token_bucket::clock::now());
    if (due <= token_bucket::clock::now()) co_return true;
    // Each waiter has its own timer: the reservation already fixed its turn, so waiters never
    // compete when they wake.
    asio::steady_timer timer(ex_, due);
    const auto self = waiting_.insert(waiting_.end(), &timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    waiting_.erase(self);
    co_return !closed_;
}

void rate_limiter::close() {
    closed_ = true;
    for (auto* timer : waiting_) timer->cancel();
}

} // namespace certq
