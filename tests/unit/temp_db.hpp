#pragma once
// A database file of the test's own in the temp directory, removed with its WAL files before
// the test (a crashed earlier run may have left one) and after it.

#include "pg_server.hpp"
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
            if (!pg_server::available()) GTEST_SKIP() << "PostgreSQL is not installed; scripts/setup installs it";
            store_ = std::make_unique<store::domain_store>(shared_pg_server().fresh_database());
        }
    }
    void TearDown() override {
        store_.reset();
        temp_db_test::TearDown();
    }
    sql::connection& sql() { return store_->sql(); }
    std::unique_ptr<store::domain_store> store_;
};

/// Runs a suite of temp_store_test on both engines, named .../SQLite and .../PostgreSQL.
#define CERTQ_ON_BOTH_ENGINES(suite)                                                                              \
    INSTANTIATE_TEST_SUITE_P(Engines, suite,                                                                    \
                             ::testing::Values(::certq::testing::engine::sqlite,                                \
                                               ::certq::testing::engine::postgresql),                           \
                             [](const ::testing::TestParamInfo<::certq::testing::engine>& p) {                  \
                                 return ::certq::testing::engine_name(p.param);                                 \
                             })

} // namespace certq::testing
