#include "asio/async_semaphore.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace certq {
namespace asio = boost::asio;

async_semaphore::async_semaphore(asio::any_io_executor ex, std::size_t count)
    : wakeup_(ex, asio::steady_timer::time_point::max()), count_(count) {}

asio::awaitable<bool> async_semaphore::acquire() {
    while (!closed_ && count_ == 0) {
        ++waiters_;
        co_await wakeup_.async_wait(asio::as_tuple(asio::use_awaitable));
        --waiters_;
    }
    if (closed_) co_return false;
    --count_;
    co_return true;
}

void async_semaphore::release() {
    ++count_;
    wakeup_.cancel_one();
}

void async_semaphore::close() {
    closed_ = true;
    wakeup_.cancel();
}

} // namespace certq
