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

} // namespace
} // namespace certq::store
