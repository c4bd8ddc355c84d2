#pragma once
// A counting semaphore for coroutines on one strand-free executor (certq runs its network work
// on one thread). Waiters park on a timer that never expires and are woken one at a time.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>

namespace certq {

class async_semaphore {
public:
    async_semaphore(boost::asio::any_io_executor ex, std::size_t count);

    /// Waits for a unit. Returns false when the semaphore was closed while waiting (shutdown).
    boost::asio::awaitable<bool> acquire();
    void release();
    /// Wakes every waiter with `false`; later acquires fail at once.
    void close();

    std::size_t available() const { return count_; }
    std::size_t waiting() const { return waiters_; }

private:
    boost::asio::steady_timer wakeup_;
    std::size_t count_;
    std::size_t waiters_ = 0;
    bool closed_ = false;
};

/// A held unit of a semaphore, released on destruction.
class semaphore_guard {
public:
    semaphore_guard() = default;
    explicit semaphore_guard(async_semaphore& s) : sem_(&s) {}
    semaphore_guard(semaphore_guard&& o) noexcept : sem_(o.sem_) { o.sem_ = nullptr; }
    semaphore_guard& operator=(semaphore_guard&& o) noexcept {
        if (this != &o) {
            reset();
            sem_ = o.sem_;
            o.sem_ = nullptr;
        }
        return *this;
    }
    ~semaphore_guard() { reset(); }
    void reset() {
        if (sem_) sem_->release();
        sem_ = nullptr;
    }
    explicit operator bool() const { return sem_ != nullptr; }

private:
    async_semaphore* sem_ = nullptr;
};

} // namespace certq
