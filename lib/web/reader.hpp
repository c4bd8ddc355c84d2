#pragma once
// The web's reads on a database connection and a thread of their own: a search over a million
// rows must not hold up the daemon's queue, and the daemon's writes must not hold up a page.
// The connection is read-only, each job has a time limit, and a lost connection is opened
// again by the next job (a web reader never fences the daemon).

#include "asio/run_on.hpp"
#include "store/sql.hpp"

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace certq::web {

/// Thrown (in the awaiting coroutine) when more jobs wait than the reader takes.
struct reader_busy : std::runtime_error {
    reader_busy() : std::runtime_error("certqd is answering other requests; try again shortly") {}
};

class reader {
public:
    /// Opens nothing yet: the first job connects. `time_limit` bounds each job's statements.
    reader(std::string database, std::optional<std::string> password,
           std::chrono::milliseconds time_limit = std::chrono::seconds{5}, std::size_t max_waiting = 16);
    ~reader();

    /// Runs job(connection) on the reader's thread. Rethrows what the job throws
    /// (store::database_error, with an interruption when the time limit passed), or
    /// reader_busy without running it. Pass a named job (gcc 12, see db_worker::run).
    template <class F>
    auto run(F&& job) -> boost::asio::awaitable<std::invoke_result_t<F&, sql::connection&>> {
        return queued(std::decay_t<F>(std::forward<F>(job)));
    }

private:
    // A coroutine, so a job is counted only once it is awaited, and given back when its caller
    // resumes, however the job ended.
    template <class Fn>
    boost::asio::awaitable<std::invoke_result_t<Fn&, sql::connection&>> queued(Fn fn) {
        if (waiting_ >= max_waiting_) throw reader_busy();
        ++waiting_;
        struct leave {
            std::size_t& n;
            ~leave() { --n; }
        } done{waiting_};
        auto pending = run_on(pool_, [this, fn = std::move(fn)]() mutable {
            auto& c = connect();
            start_clock();
            try {
                return fn(c);
            } catch (const store::database_error& e) {
                if (e.connection_lost()) connection_.reset();
                throw;
            }
        });
        co_return co_await std::move(pending);
    }

    sql::connection& connect();
    void start_clock();

    std::string database_;
    std::optional<std::string> password_;
    std::chrono::milliseconds time_limit_;
    std::size_t max_waiting_;
    std::size_t waiting_ = 0; ///< touched only on the awaiting executor (the loop)
    std::unique_ptr<sql::connection> connection_;
    std::chrono::steady_clock::time_point deadline_{};
    boost::asio::thread_pool pool_{1};

    static int past_deadline(void* self);
};

} // namespace certq::web
