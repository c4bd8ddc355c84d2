// Migrations on a fresh and on an existing database, and the schema's own rules (triggers).

#include "store/domain_store.hpp"
#include "store/migrations.hpp"
#include "temp_db.hpp"

#include <gtest/gtest.h>

namespace certq::store {
namespace {

class TempDb : public testing::temp_db_test {
protected:
    std::string one(sqlite::database& db, const std::string& sql) {
        auto s = db.prepare(sql);
        return s.step() ? s.column_text(0) : "(none)";
    }
};

TEST_F(TempDb, FreshDatabaseGetsTheWholeSchemaInWalMode) {
    domain_store store(path_);
    sqlite::database db(path_);
    EXPECT_EQ(schema_version(db), latest_schema_version());
    EXPECT_GE(latest_schema_version(), 1);
    EXPECT_EQ(one(db, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(one(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('domains','transitions')"), "2");
}

TEST_F(TempDb, ExistingDatabaseKeepsItsRowsAndGetsOnlyNewMigrations) {
    {
        domain_store store(path_);
        store.db().exec("INSERT INTO domains (hostname) VALUES ('kept.example.com')");
    }
    // A later version of certq adds a migration; the first must not run again.
    auto migrations = embedded_migrations();
    migrations.push_back({latest_schema_version() + 1, "9999_test.sql",
                          "ALTER TABLE domains ADD COLUMN note TEXT DEFAULT 'n';"});
    sqlite::database db(path_);
    const auto report = migrate(db, migrations);
    EXPECT_EQ(report.from_version, latest_schema_version());
    EXPECT_EQ(report.to_version, latest_schema_version() + 1);
    EXPECT_EQ(one(db, "SELECT hostname || '/' || note FROM domains"), "kept.example.com/n");
    const auto again = migrate(db, migrations);
    EXPECT_EQ(again.from_version, again.to_version);
}

TEST_F(TempDb, FailedMigrationLeavesTheDatabaseAsItWas) {
    { domain_store store(path_); }
    auto migrations = embedded_migrations();
    migrations.push_back({latest_schema_version() + 1, "9999_broken.sql",
                          "CREATE TABLE half (x); THIS IS NOT SQL;"});
    sqlite::database db(path_);
    EXPECT_THROW(migrate(db, migrations), sqlite::error);
    EXPECT_EQ(schema_version(db), latest_schema_version());
    EXPECT_EQ(one(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'"), "0");
}

TEST_F(TempDb, NewerDatabaseIsRefusedWithAClearMessage) {
    {
        sqlite::database db(path_);
        db.exec("PRAGMA user_version = 999");
    }
    try {
        domain_store store(path_);
        FAIL() << "a newer database was opened";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("schema version 999"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("upgrade certq"), std::string::npos);
    }
}

TEST_F(TempDb, EveryStateChangeIsRecordedWhoeverMakesIt) {
    domain_store store(path_);
    auto& db = store.db();
    db.exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    db.exec("UPDATE domains SET state = 'failed', detail = 'boom'");
    db.exec("UPDATE domains SET detail = 'only the detail'");
    db.exec("UPDATE domains SET state = 'queued'");
    auto t = db.prepare("SELECT coalesce(from_state, 'NULL'), to_state, coalesce(detail, '-'), at "
                        "FROM transitions ORDER BY id");
    std::vector<std::string> seen;
    while (t.step()) {
        seen.push_back(t.column_text(0) + ">" + t.column_text(1) + ":" + t.column_text(2));
        EXPECT_EQ(t.column_text(3).size(), 24u) << t.column_text(3); // 2026-11-29T01:02:03.456Z
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"NULL>queued:-", "queued>failed:boom", "failed>queued:-"}));
}

TEST_F(TempDb, RequeueStartsANewGenerationAndIsDueAtOnce) {
    domain_store store(path_);
    auto& db = store.db();
    db.exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    db.exec("UPDATE domains SET state = 'failed', detail = 'x', certificate_id = 5, attempts = 2, "
            "request_name = 'certq-1-a.example.com', next_attempt_at = 99999999999999");
    db.exec("UPDATE domains SET state = 'queued' WHERE state = 'failed'");
    EXPECT_EQ(one(db, "SELECT generation || '|' || coalesce(certificate_id, 'NULL') || '|' || attempts || '|' || "
                      "coalesce(next_attempt_at, 'NULL') || '|' || coalesce(detail, 'NULL') || '|' || "
                      "coalesce(request_name, 'NULL') FROM domains"),
              "1|NULL|0|NULL|NULL|NULL");
}

TEST_F(TempDb, StateAndWantedOnlyTakeKnownWords) {
    domain_store store(path_);
    auto& db = store.db();
    db.exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    EXPECT_THROW(db.exec("UPDATE domains SET state = 'done'"), sqlite::error);
    EXPECT_THROW(db.exec("UPDATE domains SET wanted = 'gone'"), sqlite::error);
    EXPECT_THROW(db.exec("INSERT INTO domains (hostname) VALUES ('A.EXAMPLE.COM')"), sqlite::error);
    db.exec("INSERT OR IGNORE INTO domains (hostname) VALUES ('a.example.com')");
    EXPECT_EQ(one(db, "SELECT count(*) FROM domains"), "1");
}

TEST_F(TempDb, ApplyIgnoresDecisionsAboutRowsThatMovedOn) {
    domain_store store(path_);
    store.db().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    auto row = store.due(domain_store::queue::requests, wall_now(), 10, {}).at(0);
    store.db().exec("UPDATE domains SET state = 'failed'");
    store.db().exec("UPDATE domains SET state = 'queued'"); // a user re-queued it meanwhile
    domain_row after = row;
    after.state = domain_state::requesting;
    std::vector<domain_change> changes{{row.state, row.generation, after}};
    EXPECT_EQ(store.apply(changes, durability::full), std::vector<std::int64_t>{row.id});
    EXPECT_EQ(store.find(row.id)->state, domain_state::queued);
}

TEST_F(TempDb, DueRowsComeOldestFirstAndSkipBusyAndFutureOnes) {
    domain_store store(path_);
    store.db().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com'), "
                    "('c.example.com'), ('d.example.com')");
    store.db().exec("UPDATE domains SET next_attempt_at = 1 WHERE hostname = 'c.example.com'");
    store.db().exec("UPDATE domains SET next_attempt_at = 99999999999999 WHERE hostname = 'd.example.com'");
    auto rows = store.due(domain_store::queue::requests, wall_now(), 10, {2});
    std::vector<std::string> hosts;
    for (auto& r : rows) hosts.push_back(r.hostname);
    EXPECT_EQ(hosts, (std::vector<std::string>{"a.example.com", "c.example.com"}));
    EXPECT_EQ(store.unfinished(), 4);
    EXPECT_TRUE(store.due(domain_store::queue::polls, wall_now(), 10, {}).empty());
    store.db().exec("UPDATE domains SET state = 'pending', certificate_id = 7 WHERE hostname = 'a.example.com'");
    store.db().exec("UPDATE domains SET state = 'pending' WHERE hostname = 'b.example.com'");
    rows = store.due(domain_store::queue::polls, wall_now(), 10, {});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].hostname, "a.example.com");
    // A pending row without an id goes back to the request side, to be found by its name.
    rows = store.due(domain_store::queue::requests, wall_now(), 10, {});
    EXPECT_EQ(rows.size(), 2u);
}

TEST_F(TempDb, LedgerAdmitsWithinBudgetsAndSaysWhenASlotFrees) {
    domain_store store(path_);
    store.db().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com'), ('c.example.com')");
    const budget limits{2, 5, std::chrono::hours{168}};
    const auto t0 = from_unix_ms(1'800'000'000'000);
    auto request = [&](std::int64_t id, wall_time at, const std::string& names) {
        auto row = *store.find(id);
        auto after = row;
        after.state = domain_state::requesting;
        return store.admit({row.state, row.generation, after}, {{"example.com"}, names}, limits, at);
    };
    EXPECT_EQ(request(1, t0, "a.example.com").outcome, admission::result::admitted);
    EXPECT_EQ(request(2, t0 + std::chrono::hours{1}, "b.example.com").outcome, admission::result::admitted);
    const auto spent = request(3, t0 + std::chrono::hours{2}, "c.example.com");
    EXPECT_EQ(spent.outcome, admission::result::budget_spent);
    EXPECT_EQ(spent.resume_at, t0 + std::chrono::hours{168});
    EXPECT_EQ(spent.detail, "Let's Encrypt budget for example.com is spent (2 requests in 168h, at most 2); goes on "
                            "at 2027-01-22T08:00:00.000Z");
    EXPECT_EQ(store.find(3)->state, domain_state::queued); // nothing written
    // Once the oldest request leaves the window, the row goes on.
    EXPECT_EQ(request(3, t0 + std::chrono::hours{169}, "c.example.com").outcome, admission::result::admitted);
    // A decision about a row that moved on (row 1 is requesting by now) is not written.
    auto row = *store.find(1);
    EXPECT_EQ(store.admit({domain_state::queued, row.generation, row}, {{"example.com"}, "a.example.com"}, limits,
                          t0 + std::chrono::hours{300}).outcome,
              admission::result::stale);
}

TEST_F(TempDb, SameExactNamesAreAdmittedFiveTimesPerWindow) {
    domain_store store(path_);
    store.db().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    const budget limits{1000, 5, std::chrono::hours{168}};
    const auto t0 = from_unix_ms(1'800'000'000'000);
    for (int i = 0; i < 6; ++i) {
        store.db().exec("UPDATE domains SET state = 'queued'");
        auto row = *store.find(1);
        auto after = row;
        after.state = domain_state::requesting;
        const auto a = store.admit({row.state, row.generation, after}, {{"example.com"}, "a.example.com,www.a.example.com"},
                                   limits, t0 + std::chrono::minutes{i});
        if (i < 5) {
            EXPECT_EQ(a.outcome, admission::result::admitted) << i;
        } else {
            EXPECT_EQ(a.outcome, admission::result::budget_spent);
            EXPECT_EQ(a.detail.rfind("these exact names were requested 5 times in 168h (Let's Encrypt allows 5 per "
                                     "set of names); goes on at ", 0),
                      0u)
                << a.detail;
        }
    }
}

} // namespace
} // namespace certq::store
