#pragma once
// Blocking work on a thread of its own, awaited from the loop: the caller resumes on its own
// executor with fn's result, or with the exception fn threw.

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace certq {

/// Runs fn() on `pool`. R must be default-constructible. Not cancellable: fn runs to its end.
template <class Fn, class R = std::invoke_result_t<Fn&>>
boost::asio::awaitable<R> run_on(boost::asio::thread_pool& pool, Fn fn) {
    namespace asio = boost::asio;
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, R)>(
        [&pool](auto handler, Fn job) {
            auto work = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(pool, [handler = std::move(handler), job = std::move(job), work = std::move(work)]() mutable {
                std::exception_ptr error;
                R value{};
                try {
                    value = job();
                } catch (...) {
                    error = std::current_exception();
                }
                auto ex = work.get_executor();
                asio::post(ex, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                    std::move(handler)(error, std::move(value));
                });
            });
        },
        asio::use_awaitable, std::move(fn));
}

} // namespace certq
