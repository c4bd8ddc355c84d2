#pragma once
// A database file of the test's own in the temp directory, removed with its WAL files before
// the test (a crashed earlier run may have left one) and after it.

#include "pg_fixture.hpp"
#include "store/domain_store.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

namespace certq::testing {

class temp_db_test : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        // Parameterised tests' names hold slashes (Engines/Events.X/SQLite).
        auto name = std::string(test->test_suite_name()) + "-" + test->name();
        std::replace(name.begin(), name.end(), '/', '_');
        path_ = std::filesystem::temp_directory_path() / ("certq-" + std::to_string(::getpid()) + "-" + name + ".db");
        remove();
    }
    void TearDown() override { remove(); }
    void remove() {
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path_.string() + suffix);
    }
    std::filesystem::path path_;
};

/// certqd's store, opened (and migrated) on the engine the test is given: a temp SQLite file, or
/// a fresh database on the test program's PostgreSQL server. The store's suites run on both.
class temp_store_test : public temp_db_test, public ::testing::WithParamInterface<engine> {
protected:
    void SetUp() override {
        temp_db_test::SetUp();
        if (GetParam() == engine::sqlite) {
            store_ = std::make_unique<store::domain_store>(path_);
        } else {
            CERTQ_REQUIRE_POSTGRESQL();
            store_ = std::make_unique<store::domain_store>(shared_pg_server().fresh_database());
        }
    }
    void TearDown() override {
        store_.reset();
        temp_db_test::TearDown();
    }
    sql::connection& sql() { return store_->sql(); }
    /// A new row in `state` (with `detail`), as a user's INSERT and UPDATE make it; its id.
    std::int64_t add_row(const std::string& host, const std::string& state = "queued", const std::string& detail = "") {
        auto inserted = sql().query("INSERT INTO domains (hostname) VALUES (?1) RETURNING id", {host});
        inserted->step();
        const auto id = inserted->column_int(0);
        inserted.reset();
        if (state != "queued" || !detail.empty())
            sql().run("UPDATE domains SET state = ?1, detail = ?2 WHERE id = ?3",
                      {state, detail.empty() ? sql::arg(nullptr) : sql::arg(detail), id});
        return id;
    }
    /// A new row that moved to `to` at `at`, as the trigger records it but at the test's time.
    std::int64_t finish_row(const std::string& host, wall_time at, const std::string& to = "active") {
        const auto id = add_row(host, to);
        sql().run("UPDATE transitions SET at = ?1 WHERE domain_id = ?2", {format_iso8601(at), id});
        return id;
    }
    std::unique_ptr<store::domain_store> store_;
};

/// The one number `text` selects; -1 when it selects no row.
inline std::int64_t count(sql::connection& db, const std::string& text) {
    auto rows = db.query(text);
    return rows->step() ? rows->column_int(0) : -1;
}

} // namespace certq::testing
