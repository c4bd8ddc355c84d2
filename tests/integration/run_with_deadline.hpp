#pragma once
// Runs a coroutine on a loop under a hard deadline, for tests of coroutine APIs.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace certq::testing {

/// The coroutine's result; rethrows what it threw; throws if it overran the deadline.
template <class T>
T run_with_deadline(boost::asio::io_context& ioc, boost::asio::awaitable<T> task,
                    std::chrono::seconds deadline = std::chrono::seconds{20}) {
    std::optional<T> result;
    std::exception_ptr error;
    boost::asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        result = std::move(value);
    });
    ioc.restart();
    ioc.run_for(deadline);
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("coroutine did not finish before its deadline");
    return std::move(*result);
}

} // namespace certq::testing
