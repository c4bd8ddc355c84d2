// The web's reader: its own read-only connection on its own thread, each job bounded in time,
// and a full queue turned away instead of growing.

#include "run_with_deadline.hpp"
#include "temp_db.hpp"
#include "web/reader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

namespace certq::web {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class WebReader : public testing::temp_db_test {
protected:
    void SetUp() override {
        temp_db_test::SetUp();
        store::domain_store created(path_); // the schema, as certqd makes it before the web starts
        created.sql().run("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    }
    // The job through the reader, awaited as the API awaits it; a job still running after 4 s
    // (a time limit that did not hold) fails the test with its own error.
    template <class F> auto run(reader& r, F job) {
        asio::io_context ioc;
        auto awaiting = [&]() -> asio::awaitable<std::invoke_result_t<F&, sql::connection&>> {
            co_return co_await r.run(std::move(job));
        };
        return testing::run_with_deadline(ioc, awaiting(), 4s);
    }
};

TEST_F(WebReader, AJobPastItsTimeLimitIsInterruptedAndTheNextOneRuns) {
    reader r(path_.string(), std::nullopt, 200ms);
    // Counting to 10^8 takes SQLite many seconds: long past the limit, yet it ends by itself if
    // the interruption does not work, so the test fails instead of hanging.
    const auto long_count = [](sql::connection& c) {
        auto q = c.query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                         "SELECT count(*) FROM n");
        return q->step() ? q->column_int(0) : std::int64_t{0};
    };
    EXPECT_THROW(run(r, long_count), store::database_error);
    const auto count = [](sql::connection& c) {
        auto q = c.query("SELECT count(*) FROM domains");
        return q->step() ? q->column_int(0) : std::int64_t{-1};
    };
    EXPECT_EQ(run(r, count), 1);
}

TEST_F(WebReader, TheConnectionCannotWrite) {
    reader r(path_.string(), std::nullopt);
    const auto write = [](sql::connection& c) { return c.run("DELETE FROM domains"); };
    EXPECT_THROW(run(r, write), store::database_error);
    store::domain_store check(path_);
    EXPECT_EQ(testing::count(check.sql(), "SELECT count(*) FROM domains"), 1);
}

TEST_F(WebReader, OnPostgreSqlTooAJobPastItsTimeLimitIsCancelledAndNothingIsWritten) {
    CERTQ_REQUIRE_POSTGRESQL();
    const auto uri = testing::shared_pg_server().fresh_database();
    store::domain_store created(uri);
    reader r(uri, std::nullopt, 200ms);
    const auto slow = [](sql::connection& c) {
        auto q = c.query("SELECT count(*) FROM pg_sleep(5)");
        return q->step() ? q->column_int(0) : std::int64_t{0};
    };
    EXPECT_THROW(run(r, slow), store::database_error);
    const auto write = [](sql::connection& c) { return c.run("DELETE FROM domains"); };
    EXPECT_THROW(run(r, write), store::database_error);
    const auto one = [](sql::connection& c) {
        auto q = c.query("SELECT 1");
        return q->step() ? q->column_int(0) : std::int64_t{0};
    };
    EXPECT_EQ(run(r, one), 1);
}

TEST_F(WebReader, AFullQueueIsTurnedAwayAtOnceAndPlacesComeBack) {
    reader none(path_.string(), std::nullopt, 5s, 0);
    const auto one = [](sql::connection&) { return 1; };
    EXPECT_THROW(run(none, one), reader_busy);
    // Two places: twenty jobs one after another all run, failing ones included.
    reader two(path_.string(), std::nullopt, 5s, 2);
    const auto fails = [](sql::connection& c) { return c.run("DELETE FROM domains"); };
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(run(two, one), 1) << i;
        EXPECT_THROW(run(two, fails), store::database_error) << i;
    }
    // Three at once: the third is turned away while two wait for the thread.
    asio::io_context ioc;
    int done = 0, busy = 0;
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
            try {
                co_await two.run(one);
                ++done;
            } catch (const reader_busy&) {
                ++busy;
            }
        }, asio::detached);
    ioc.run_for(20s);
    EXPECT_EQ(done, 2);
    EXPECT_EQ(busy, 1);
}

} // namespace
} // namespace certq::web
