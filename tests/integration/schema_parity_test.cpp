// The two schemas, SQLite's (migrations/0001..0008) and PostgreSQL's (migrations/postgresql), as
// one: the same user-facing statements (a user's INSERT, the daemon's state moves, a re-queue,
// offboarding, refused values) run on a fresh database of each engine must succeed or fail
// alike and leave the same rows in every table, ids and times aside. A trigger changed on one
// side only shows here as the first row that differs.

#include "pg_fixture.hpp"
#include "store/domain_store.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"
#include "store/sqlite.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace certq::testing {
namespace {

constexpr const char* null_marker = "<null>";

// One step: the statements, the same on both engines unless they must differ, and whether the
// engines are to accept them. A step runs in its own transaction: a refused step leaves nothing.
struct step {
    std::string label;
    std::string sqlite_sql;
    std::string pg_sql;
    bool accepted;
};

step both(std::string label, std::string sql, bool accepted = true) {
    return {std::move(label), sql, sql, accepted};
}
step each(std::string label, std::string sqlite_sql, std::string pg_sql, bool accepted = true) {
    return {std::move(label), std::move(sqlite_sql), std::move(pg_sql), accepted};
}

std::string row_of(const std::string& hostname) {
    return "(SELECT id FROM domains WHERE hostname = '" + hostname + "')";
}

std::vector<step> steps() {
    const std::string shop = row_of("shop.example.com");
    return {
        both("a plain insert", "INSERT INTO domains (hostname) VALUES ('shop.example.com')"),
        both("an insert with alternative names and a workload",
             "INSERT INTO domains (hostname, alternative_names, workload_id) "
             "VALUES ('example.org', '[\"www.example.org\"]', 1234)"),
        both("an insert with a state and a detail",
             "INSERT INTO domains (hostname, state, detail) VALUES ('broken.example.net', "
             "'queued', 'imported')"),
        both("the same hostname in another case is refused",
             "INSERT INTO domains (hostname) VALUES ('SHOP.Example.com')", false),
        each("a bulk load run again skips the rows it has",
             "INSERT OR IGNORE INTO domains (hostname) VALUES ('Shop.Example.COM')",
             "INSERT INTO domains (hostname) VALUES ('Shop.Example.COM') ON CONFLICT DO NOTHING"),
        both("the daemon claims the row's names",
             "INSERT INTO row_names (domain_id, name) VALUES (" + shop +
                 ", 'shop.example.com'); "
                 "UPDATE domains SET names = '[\"shop.example.com\"]' WHERE hostname = "
                 "'shop.example.com'"),
        both("the daemon's guarded move to requesting",
             "UPDATE domains SET state = 'requesting', detail = NULL, request_name = "
             "'certq-1-shop-example-com', "
             "attempts = 1, next_attempt_at = 1000 "
             "WHERE hostname = 'shop.example.com' AND state = 'queued' AND generation = 0"),
        both("the ledger records two requests",
             "INSERT INTO le_requests (domain_id, names_key, at) VALUES (" + shop +
                 ", 'shop.example.com', 1700000000000); "
                 "INSERT INTO le_request_domains (request_id, registered_domain, at) "
                 "SELECT max(id), 'example.com', 1700000000000 FROM le_requests; "
                 "INSERT INTO le_requests (domain_id, names_key, at) VALUES (" +
                 shop +
                 ", 'shop.example.com', 1700000001000); "
                 "INSERT INTO le_request_domains (request_id, registered_domain, at) "
                 "SELECT max(id), 'example.com', 1700000001000 FROM le_requests"),
        both("Azion accepts the request", "UPDATE domains SET state = 'pending', certificate_id = "
                                          "5001, detail = 'Azion accepted the request' "
                                          "WHERE hostname = 'shop.example.com'"),
        both("a poll count records no transition",
             "UPDATE domains SET polls = 3 WHERE hostname = 'shop.example.com'"),
        both("the certificate is attached",
             "UPDATE domains SET state = 'attaching', detail = 'certificate active; attaching', "
             "validity = '2027-03-01T00:00:00Z', valid_until = 1803859200000 WHERE hostname = "
             "'shop.example.com'"),
        both("the row is active",
             "UPDATE domains SET state = 'active', detail = NULL, attached_workload_id = 77, "
             "next_attempt_at = 99999, "
             "renewed_at = '2026-12-01T00:00:00Z' WHERE hostname = 'shop.example.com'"),
        both("the same state again records nothing",
             "UPDATE domains SET state = 'active' WHERE hostname = 'shop.example.com'"),
        both("the daemon tells a renewal",
             "INSERT INTO events (domain_id, kind, detail, hostname, names, certificate_id, "
             "workload_id) "
             "SELECT id, 'renewed', 'certificate ' || coalesce(CAST(certificate_id AS TEXT), '?') "
             "|| ' renewed', "
             "hostname, names, certificate_id, workload_id FROM domains WHERE hostname = "
             "'shop.example.com'"),
        both("a user re-queues the active row, naming it in another case",
             "UPDATE domains SET state = 'queued' WHERE hostname = 'SHOP.EXAMPLE.COM'"),
        both("a new certificate serves", "UPDATE domains SET state = 'pending', certificate_id = "
                                         "5002 WHERE hostname = 'shop.example.com'; "
                                         "UPDATE domains SET state = 'active', next_attempt_at = "
                                         "12345 WHERE hostname = 'shop.example.com'"),
        both("the daemon releases the previous certificate",
             "UPDATE domains SET previous_certificate_id = NULL WHERE hostname = "
             "'shop.example.com'"),
        both("a re-queue with a new detail", "UPDATE domains SET state = 'queued', detail = 'names "
                                             "changed' WHERE hostname = 'shop.example.com'"),
        both("a re-queue from pending while a certificate serves retires one of the two",
             "UPDATE domains SET state = 'pending', certificate_id = 5003, attempts = 2 WHERE "
             "hostname = 'shop.example.com'; "
             "UPDATE domains SET state = 'queued' WHERE hostname = 'shop.example.com'"),
        both("rows fail", "UPDATE domains SET state = 'failed', detail = 'boom' WHERE hostname = "
                          "'broken.example.net'; "
                          "INSERT INTO domains (hostname) VALUES ('dns.example.net'); "
                          "UPDATE domains SET state = 'dns_waiting', dns_checks = 4, "
                          "dns_excused_ms = 10 WHERE hostname = 'dns.example.net'; "
                          "UPDATE domains SET state = 'dns_failed', detail = 'not pointing' WHERE "
                          "hostname = 'dns.example.net'"),
        both("a retry re-queues several rows at once",
             "UPDATE domains SET state = 'queued' WHERE state IN ('failed', 'dns_failed')"),
        both("offboarding makes the row due at once",
             "UPDATE domains SET next_attempt_at = 5000 WHERE hostname = 'example.org'; "
             "UPDATE domains SET wanted = 'absent' WHERE hostname = 'Example.ORG'"),
        both("a changed workload makes the row due, an unchanged one keeps its backoff",
             "UPDATE domains SET next_attempt_at = 6000 WHERE hostname = 'broken.example.net'; "
             "UPDATE domains SET workload_id = 999 WHERE hostname = 'broken.example.net'; "
             "UPDATE domains SET next_attempt_at = 7000 WHERE hostname = 'broken.example.net'; "
             "UPDATE domains SET workload_id = 999, wanted = 'present' WHERE hostname = "
             "'broken.example.net'"),
        both("the daemon removes the offboarded row",
             "UPDATE domains SET state = 'removing' WHERE hostname = 'example.org'; "
             "UPDATE domains SET state = 'removed', detail = 'certificate deleted' WHERE hostname "
             "= 'example.org'"),
        both("an unknown state is refused",
             "UPDATE domains SET state = 'bogus' WHERE hostname = 'shop.example.com'", false),
        both("an unknown wanted is refused",
             "UPDATE domains SET wanted = 'maybe' WHERE hostname = 'shop.example.com'", false),
        both("an insert in an unknown state is refused",
             "INSERT INTO domains (hostname, state) VALUES ('x.example.com', 'done')", false),
        both("an event of an unknown kind is refused",
             "INSERT INTO events (domain_id, kind) VALUES (" + shop + ", 'other')", false),
        both("names of no row are refused",
             "INSERT INTO row_names (domain_id, name) VALUES (4242, 'x.example.com')", false),
        both("deleting a row takes its names, deleting a request its domains",
             "INSERT INTO domains (hostname) VALUES ('gone.example.net'); "
             "INSERT INTO row_names (domain_id, name) VALUES (" +
                 row_of("gone.example.net") +
                 ", 'gone.example.net'); "
                 "DELETE FROM domains WHERE hostname = 'gone.example.net'; "
                 "DELETE FROM le_requests WHERE at = 1700000000000"),
    };
}

// Each table's rows, columns in a fixed order, without ids or times. A row's transitions and
// events keep their order as a number (the nth of its row); the rows themselves are sorted.
struct table_dump {
    const char* table;
    const char* sql;
};

const table_dump dumps[] = {
    {"domains", "SELECT hostname, alternative_names, certificate_name, wanted, workload_id, state, "
                "detail, certificate_id, "
                "generation, request_name, attempts, polls, next_attempt_at, validity, dns_checks, "
                "names, dns_excused_ms, "
                "attached_workload_id, previous_certificate_id, renewed_at, valid_until, "
                "attach_tries FROM domains"},
    {"transitions", "SELECT coalesce(d.hostname, '(deleted row)'), "
                    "row_number() OVER (PARTITION BY t.domain_id ORDER BY t.id), t.from_state, "
                    "t.to_state, t.detail "
                    "FROM transitions t LEFT JOIN domains d ON d.id = t.domain_id"},
    {"events", "SELECT hostname, row_number() OVER (PARTITION BY domain_id ORDER BY id), kind, "
               "from_state, to_state, "
               "detail, names, certificate_id, workload_id FROM events"},
    {"retired_certificates",
     "SELECT r.certificate_id, d.hostname, r.attempts, r.next_at FROM retired_certificates r "
     "LEFT JOIN domains d ON d.id = r.domain_id"},
    {"row_names",
     "SELECT d.hostname, n.name FROM row_names n JOIN domains d ON d.id = n.domain_id"},
    {"le_requests", "SELECT d.hostname, r.names_key, r.at FROM le_requests r LEFT JOIN domains d "
                    "ON d.id = r.domain_id"},
    {"le_request_domains",
     "SELECT r.names_key, l.registered_domain, l.at FROM le_request_domains l "
     "LEFT JOIN le_requests r ON r.id = l.request_id"},
    {"instance", "SELECT count(*), min(length(id)), sum(CASE WHEN id = lower(id) THEN 1 ELSE 0 "
                 "END) FROM instance"},
    // The times, which differ, by what must hold of them: every state event at its transition's
    // time, and every time text in the one format (2026-12-01T00:00:00.000Z).
    {"times",
     "SELECT (SELECT count(*) FROM transitions), (SELECT count(*) FROM events WHERE kind = "
     "'state'), "
     "(WITH t AS (SELECT at, row_number() OVER (ORDER BY id) AS n FROM transitions), "
     "       e AS (SELECT at, row_number() OVER (ORDER BY id) AS n FROM events WHERE kind = "
     "'state') "
     " SELECT count(*) FROM t JOIN e ON e.n = t.n WHERE e.at != t.at), "
     "(SELECT count(*) FROM (SELECT at AS x FROM transitions UNION ALL SELECT at FROM events "
     "  UNION ALL SELECT created_at FROM domains UNION ALL SELECT updated_at FROM domains) times "
     " WHERE length(x) != 24 OR substr(x, 5, 1) != '-' OR substr(x, 11, 1) != 'T' "
     "    OR substr(x, 20, 1) != '.' OR substr(x, 24, 1) != 'Z')"},
};

std::string joined(const std::vector<std::string>& fields) {
    std::string line;
    for (const auto& f : fields)
        line += (line.empty() ? "" : " | ") + f;
    return line;
}

// The statement class reads columns by index without a count, so the dump uses the C API.
std::vector<std::string> dump(sqlite::database& db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt, nullptr) != SQLITE_OK)
        db.fail(sqlite3_errcode(db.handle()), sql);
    std::vector<std::string> rows;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        std::vector<std::string> fields;
        for (int c = 0; c < sqlite3_column_count(stmt); ++c)
            fields.emplace_back(sqlite3_column_type(stmt, c) == SQLITE_NULL
                                    ? null_marker
                                    : reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)));
        rows.push_back(joined(fields));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) db.fail(rc, sql);
    std::sort(rows.begin(), rows.end());
    return rows;
}

std::vector<std::string> dump(pg::connection& db, const char* sql) {
    const auto r = db.query(sql);
    std::vector<std::string> rows;
    for (int i = 0; i < r.rows(); ++i) {
        std::vector<std::string> fields;
        for (int c = 0; c < r.columns(); ++c)
            fields.push_back(r.is_null(i, c) ? null_marker : r.text(i, c));
        rows.push_back(joined(fields));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
}

// Runs a step in a transaction of its own; the error message when the engine refused it.
template <class Database, class Error>
std::optional<std::string> run(Database& db, const std::string& sql) {
    db.exec("BEGIN");
    try {
        db.exec(sql);
        db.exec("COMMIT");
        return std::nullopt;
    } catch (const Error& e) {
        db.exec("ROLLBACK");
        return std::string(e.what());
    }
}

// Equal dumps, or the first row where they part.
::testing::AssertionResult same_rows(const std::vector<std::string>& on_sqlite,
                                     const std::vector<std::string>& on_pg) {
    const auto n = std::min(on_sqlite.size(), on_pg.size());
    for (std::size_t i = 0; i < n; ++i)
        if (on_sqlite[i] != on_pg[i])
            return ::testing::AssertionFailure()
                   << "first difference at sorted row " << i << " of " << on_sqlite.size() << " / "
                   << on_pg.size() << "\n  sqlite:     " << on_sqlite[i]
                   << "\n  postgresql: " << on_pg[i];
    if (on_sqlite.size() != on_pg.size()) {
        const bool sqlite_longer = on_sqlite.size() > on_pg.size();
        return ::testing::AssertionFailure()
               << (sqlite_longer ? "SQLite" : "PostgreSQL") << " has "
               << (sqlite_longer ? on_sqlite.size() : on_pg.size()) << " rows, the other " << n
               << "; the first extra one: " << (sqlite_longer ? on_sqlite[n] : on_pg[n]);
    }
    return ::testing::AssertionSuccess();
}

using SchemaParity = postgres_fixture;

TEST_F(SchemaParity, TheSameStatementsSucceedOrFailAlikeAndLeaveTheSameRowsOnSqliteAndPostgresql) {
    scratch_dir dir;
    store::domain_store sqlite_store(dir / "certq.db");
    auto& lite = sqlite_store.db();
    pg::connection postgres(uri_);
    store::migrate(postgres);
    ASSERT_EQ(store::schema_version(lite), store::schema_version(postgres));

    for (const auto& s : steps()) {
        const auto lite_error = run<sqlite::database, sqlite::error>(lite, s.sqlite_sql);
        const auto pg_error = run<pg::connection, pg::error>(postgres, s.pg_sql);
        EXPECT_EQ(!lite_error, s.accepted)
            << s.label << ": SQLite "
            << (lite_error ? "refused it: " + *lite_error : "accepted it");
        EXPECT_EQ(!pg_error, s.accepted) << s.label << ": PostgreSQL "
                                         << (pg_error ? "refused it: " + *pg_error : "accepted it");
    }

    for (const auto& d : dumps) {
        const auto on_sqlite = dump(lite, d.sql);
        const auto on_pg = dump(postgres, d.sql);
        EXPECT_TRUE(same_rows(on_sqlite, on_pg)) << "table " << d.table;
        if (std::string_view(d.table) == "times") {
            ASSERT_EQ(on_sqlite.size(), 1u);
            // 5 rows inserted and 17 moves of state; one event per transition, at its time, all
            // well formed.
            EXPECT_EQ(on_sqlite[0], "22 | 22 | 0 | 0")
                << "transitions | state events | events off their "
                   "transition's time | malformed time texts";
        }
    }
}

} // namespace
} // namespace certq::testing
