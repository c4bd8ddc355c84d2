#pragma once
// The database on its own thread. SQLite calls block (a user's tool may hold the write lock for
// seconds); running them here keeps the network loop, its timers and its health answers moving.

#include "asio/run_on.hpp"
#include "store/database_error.hpp"
#include "store/domain_store.hpp"

#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <type_traits>

namespace certq::engine {

class db_worker {
public:
    /// Opens the store (migrating it) on the calling thread; throws as domain_store does.
    explicit db_worker(const std::string& database, const std::optional<std::string>& password = std::nullopt)
        : store_(std::make_unique<store::domain_store>(database, password)) {}

    ~db_worker() {
        pool_.join();
    }

    /// Runs f(store) on the database thread and resumes the caller on its own executor with
    /// the result; an exception thrown by f is rethrown in the caller. Callers pass a named
    /// job (std::move(job)), not a lambda written inside `co_await`: gcc 12 destroys such
    /// temporaries twice in coroutines.
    template <class F>
    auto run(F&& job) -> boost::asio::awaitable<std::invoke_result_t<F&, store::domain_store&>> {
        return run_on(pool_, [this, fn = std::decay_t<F>(std::forward<F>(job))]() mutable {
            try {
                return fn(*store_);
            } catch (const store::database_error& e) {
                if (e.connection_lost() && on_connection_lost_) on_connection_lost_(e.what());
                throw;
            }
        });
    }

    /// The store itself, for start-up and tests only: safe solely while no job runs.
    store::domain_store& unsafe_store() { return *store_; }

    /// Called on the database thread, before the failing job's caller hears of it, when a job
    /// finds the connection gone (PostgreSQL). Set before the first job runs.
    void on_connection_lost(std::function<void(const std::string&)> handler) { on_connection_lost_ = std::move(handler); }

private:
    std::unique_ptr<store::domain_store> store_;
    std::function<void(const std::string&)> on_connection_lost_;
    boost::asio::thread_pool pool_{1};
};

} // namespace certq::engine
