// The PostgreSQL engine's foundations against a real server started by the test: the schema's
// migrations, a user's plain SQL through psql (its transition recorded, the daemon's channel
// notified), and the session advisory lock that elects the one daemon working the queue.

#include "pg_fixture.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"

#include <gtest/gtest.h>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

using Postgres = postgres_fixture;

TEST_F(Postgres, AFreshDatabaseIsMigratedToTheLatestVersionAndASecondRunChangesNothing) {
    pg::connection db(uri_);
    EXPECT_EQ(store::schema_version(db), 0);
    const auto first = store::migrate(db);
    EXPECT_EQ(first.from_version, 0);
    EXPECT_EQ(first.to_version, store::latest_schema_version())
        << "both engines are at the same version";
    const auto second = store::migrate(db);
    EXPECT_EQ(second.from_version, second.to_version);
    EXPECT_EQ(store::schema_version(db), store::latest_schema_version());
}

TEST_F(Postgres, ADatabaseWrittenByANewerCertqIsRefusedAndLeftAsItWas) {
    pg::connection db(uri_);
    store::migrate(db);
    db.exec("UPDATE certq_schema SET version = 99");
    try {
        store::migrate(db);
        FAIL() << "a newer database must be refused";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer certq"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store::schema_version(db), 99);
    EXPECT_NO_THROW(db.exec("SELECT 1")) << "the connection is usable after the refusal";
}

TEST_F(Postgres, AUsersInsertThroughPsqlIsRecordedAndNotifiesTheDaemonsChannel) {
    pg::connection db(uri_);
    store::migrate(db);
    pg::connection listener(uri_);
    listener.listen("certq_queue");
    scratch_dir dir;
    process psql({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri_, "-c",
                  "INSERT INTO domains (hostname) VALUES ('Shop.Example.com')"},
                 {}, dir / "psql.log");
    ASSERT_EQ(psql.wait(30s), 0) << psql.output();
    std::vector<pg::notification> got;
    ASSERT_TRUE(wait_for(
        [&] {
            listener.wait_readable(50ms);
            for (auto& n : listener.notifications())
                got.push_back(n);
            return !got.empty();
        },
        10s));
    auto row = db.query("SELECT id, state FROM domains WHERE hostname = 'shop.example.com'");
    ASSERT_EQ(row.rows(), 1) << "hostnames compare without case, as on SQLite";
    EXPECT_EQ(row.text(0, 1), "queued");
    EXPECT_EQ(got[0].channel, "certq_queue");
    EXPECT_EQ(got[0].payload, row.text(0, 0));
    auto transition =
        db.query("SELECT from_state, to_state, at FROM transitions WHERE domain_id = $1",
                 {pg::param(row.integer(0, 0))});
    ASSERT_EQ(transition.rows(), 1);
    EXPECT_TRUE(transition.is_null(0, 0));
    EXPECT_EQ(transition.text(0, 1), "queued");
    EXPECT_EQ(transition.text(0, 2).size(), std::string("2026-12-01T00:00:00.000Z").size())
        << transition.text(0, 2);
    // A duplicate in another case is refused with PostgreSQL's unique violation.
    try {
        db.exec("INSERT INTO domains (hostname) VALUES ('SHOP.example.COM')");
        FAIL() << "a duplicate hostname must be refused";
    } catch (const pg::error& e) {
        EXPECT_EQ(e.sqlstate(), "23505") << e.what();
    }
}

TEST_F(Postgres, OneSessionHoldsTheAdvisoryLockUntilItsBackendIsTerminated) {
    constexpr std::int64_t key = 0x6365727471;
    pg::connection leader(uri_), standby(uri_), admin(uri_);
    ASSERT_TRUE(leader.try_advisory_lock(key));
    EXPECT_FALSE(standby.try_advisory_lock(key)) << "a second session must not get the lock";
    admin.query("SELECT pg_terminate_backend($1)",
                {pg::param(static_cast<std::int64_t>(leader.backend_pid()))});
    EXPECT_TRUE(wait_for([&] { return standby.try_advisory_lock(key); }, 10s))
        << "the lock must be released";
    // The leader learns it lost the connection the next time it reads.
    EXPECT_TRUE(wait_for(
        [&] {
            try {
                leader.notifications();
                return !leader.ok();
            } catch (const pg::error& e) {
                return true;
            }
        },
        5s));
}

} // namespace
} // namespace certq::testing
