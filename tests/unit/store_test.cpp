// The store on both engines (a SQLite file; a PostgreSQL database): the schema's own rules
// (triggers, constraints), what is due, guarded writes, and Let's Encrypt's ledger.

#include "store/domain_store.hpp"
#include "temp_db.hpp"

#include <gtest/gtest.h>

namespace certq::store {
namespace {

class Store : public testing::temp_store_test {
protected:
    std::string one(const std::string& text) {
        auto s = sql().query(text);
        return s->step() ? s->column_text(0) : "(none)";
    }
};

TEST_P(Store, EveryStateChangeIsRecordedWhoeverMakesIt) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    sql().exec("UPDATE domains SET state = 'failed', detail = 'boom'");
    sql().exec("UPDATE domains SET detail = 'only the detail'");
    sql().exec("UPDATE domains SET state = 'queued'");
    auto t = sql().query("SELECT coalesce(from_state, 'NULL'), to_state, coalesce(detail, '-'), at "
                         "FROM transitions ORDER BY id");
    std::vector<std::string> seen;
    while (t->step()) {
        seen.push_back(t->column_text(0) + ">" + t->column_text(1) + ":" + t->column_text(2));
        EXPECT_EQ(t->column_text(3).size(), 24u) << t->column_text(3); // 2026-11-29T01:02:03.456Z
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"NULL>queued:-", "queued>failed:boom", "failed>queued:-"}));
}

TEST_P(Store, RequeueStartsANewGenerationAndIsDueAtOnce) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    sql().exec("UPDATE domains SET state = 'failed', detail = 'x', certificate_id = 5, attempts = 2, "
            "request_name = 'certq-1-a.example.com', next_attempt_at = 99999999999999");
    sql().exec("UPDATE domains SET state = 'queued' WHERE state = 'failed'");
    EXPECT_EQ(one("SELECT generation || '|' || coalesce(CAST(certificate_id AS TEXT), 'NULL') || '|' || attempts || "
                  "'|' || coalesce(CAST(next_attempt_at AS TEXT), 'NULL') || '|' || coalesce(detail, 'NULL') || '|' || "
                  "coalesce(request_name, 'NULL') FROM domains"),
              "1|NULL|0|NULL|NULL|NULL");
}

TEST_P(Store, StateAndWantedOnlyTakeKnownWords) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    EXPECT_THROW(sql().exec("UPDATE domains SET state = 'done'"), database_error);
    EXPECT_THROW(sql().exec("UPDATE domains SET wanted = 'gone'"), database_error);
    EXPECT_THROW(sql().exec("INSERT INTO domains (hostname) VALUES ('A.EXAMPLE.COM')"), database_error);
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com') ON CONFLICT DO NOTHING");
    EXPECT_EQ(one("SELECT count(*) FROM domains"), "1");
}

TEST_P(Store, ApplyIgnoresDecisionsAboutRowsThatMovedOn) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    auto row = store_->due(domain_store::queue::requests, wall_now(), 10, {}).at(0);
    sql().exec("UPDATE domains SET state = 'failed'");
    sql().exec("UPDATE domains SET state = 'queued'"); // a user re-queued it meanwhile
    domain_row after = row;
    after.state = domain_state::requesting;
    std::vector<domain_change> changes{{row.state, row.generation, after}};
    EXPECT_EQ(store_->apply(changes, durability::full), std::vector<std::int64_t>{row.id});
    EXPECT_EQ(store_->find(row.id)->state, domain_state::queued);
}

TEST_P(Store, DueRowsComeOldestFirstAndSkipBusyAndFutureOnes) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com'), "
                    "('c.example.com'), ('d.example.com')");
    sql().exec("UPDATE domains SET next_attempt_at = 1 WHERE hostname = 'c.example.com'");
    sql().exec("UPDATE domains SET next_attempt_at = 99999999999999 WHERE hostname = 'd.example.com'");
    auto rows = store_->due(domain_store::queue::requests, wall_now(), 10, {2});
    std::vector<std::string> hosts;
    for (auto& r : rows) hosts.push_back(r.hostname);
    EXPECT_EQ(hosts, (std::vector<std::string>{"a.example.com", "c.example.com"}));
    EXPECT_EQ(store_->unfinished(), 4);
    EXPECT_TRUE(store_->due(domain_store::queue::polls, wall_now(), 10, {}).empty());
    sql().exec("UPDATE domains SET state = 'pending', certificate_id = 7 WHERE hostname = 'a.example.com'");
    sql().exec("UPDATE domains SET state = 'pending' WHERE hostname = 'b.example.com'");
    rows = store_->due(domain_store::queue::polls, wall_now(), 10, {});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].hostname, "a.example.com");
    // A pending row without an id goes back to the request side, to be found by its name.
    rows = store_->due(domain_store::queue::requests, wall_now(), 10, {});
    EXPECT_EQ(rows.size(), 2u);
}

TEST_P(Store, LedgerAdmitsWithinBudgetsAndSaysWhenASlotFrees) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com'), ('c.example.com')");
    const budget limits{2, 5, std::chrono::hours{168}};
    const auto t0 = from_unix_ms(1'800'000'000'000);
    auto request = [&](std::int64_t id, wall_time at, const std::string& names) {
        auto row = *store_->find(id);
        auto after = row;
        after.state = domain_state::requesting;
        return store_->admit({row.state, row.generation, after}, {{"example.com"}, names}, limits, at);
    };
    EXPECT_EQ(request(1, t0, "a.example.com").outcome, admission::result::admitted);
    EXPECT_EQ(request(2, t0 + std::chrono::hours{1}, "b.example.com").outcome, admission::result::admitted);
    const auto spent = request(3, t0 + std::chrono::hours{2}, "c.example.com");
    EXPECT_EQ(spent.outcome, admission::result::budget_spent);
    EXPECT_EQ(spent.resume_at, t0 + std::chrono::hours{168});
    EXPECT_EQ(spent.detail, "Let's Encrypt budget for example.com is spent (2 requests in 168h, at most 2); goes on "
                            "at 2027-01-22T08:00:00.000Z");
    EXPECT_EQ(store_->find(3)->state, domain_state::queued); // nothing written
    // Once the oldest request leaves the window, the row goes on.
    EXPECT_EQ(request(3, t0 + std::chrono::hours{169}, "c.example.com").outcome, admission::result::admitted);
    // A decision about a row that moved on (row 1 is requesting by now) is not written.
    auto row = *store_->find(1);
    EXPECT_EQ(store_->admit({domain_state::queued, row.generation, row}, {{"example.com"}, "a.example.com"}, limits,
                          t0 + std::chrono::hours{300}).outcome,
              admission::result::stale);
}

TEST_P(Store, SameExactNamesAreAdmittedFiveTimesPerWindow) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com')");
    const budget limits{1000, 5, std::chrono::hours{168}};
    const auto t0 = from_unix_ms(1'800'000'000'000);
    for (int i = 0; i < 6; ++i) {
        sql().exec("UPDATE domains SET state = 'queued'");
        auto row = *store_->find(1);
        auto after = row;
        after.state = domain_state::requesting;
        const auto a = store_->admit({row.state, row.generation, after}, {{"example.com"}, "a.example.com,www.a.example.com"},
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

CERTQ_ON_BOTH_ENGINES(Store);

TEST(SqlText, PlaceholdersBecomeDollarsOutsideQuotedText) {
    EXPECT_EQ(sql::to_dollar_placeholders("SELECT ?1, '?2', \"?3\" WHERE a = ?12 AND b = ?"),
              "SELECT $1, '?2', \"?3\" WHERE a = $12 AND b = ?");
}

TEST(SqlText, AUrisPasswordIsNeverShown) {
    EXPECT_EQ(sql::printable("postgresql://certq:s3cret@db.internal:5432/certq?sslmode=require"),
              "postgresql://certq:***@db.internal:5432/certq?sslmode=require");
    EXPECT_EQ(sql::printable("postgres://db.internal/certq?password=s3cret&sslmode=require"),
              "postgres://db.internal/certq?password=***&sslmode=require");
    EXPECT_EQ(sql::printable("/var/lib/certq/certq.db"), "/var/lib/certq/certq.db");
    EXPECT_TRUE(sql::is_postgresql_uri("postgresql://x/y"));
    EXPECT_FALSE(sql::is_postgresql_uri("/var/lib/postgresql/certq.db"));
}

} // namespace
} // namespace certq::store
