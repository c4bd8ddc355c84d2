#pragma once
// The token bucket on the Asio loop: every API call waits here for its turn.

#include "ratelimit/token_bucket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <list>

namespace certq {

class rate_limiter {
public:
    rate_limiter(boost::asio::any_io_executor ex, double rate, int burst);

    /// Waits until this caller's token is due. Returns false if cancelled by close().
    boost::asio::awaitable<bool> acquire();

    void set_rate(double rate, int burst) { bucket_.set_rate(rate, burst); }
    void throttled(std::chrono::steady_clock::duration pause) {
        bucket_.throttled(token_bucket::clock::now(), pause);
    }
    void succeeded() { bucket_.succeeded(token_bucket::clock::now()); }
    const token_bucket& bucket() const { return bucket_; }
    /// Wakes every waiter with `false` (shutdown).
    void close();

private:
    boost::asio::any_io_executor ex_;
    token_bucket bucket_;
    bool closed_ = false;
    std::list<boost::asio::steady_timer*> waiting_; // cancelled by close()
};

} // namespace certq
