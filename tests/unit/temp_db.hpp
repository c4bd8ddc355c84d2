#pragma once
// A database file of the test's own in the temp directory, removed with its WAL files before
// the test (a crashed earlier run may have left one) and after it.

#include "store/domain_store.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

namespace certq::testing {

class temp_db_test : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = std::filesystem::temp_directory_path() /
                ("certq-" + std::to_string(::getpid()) + "-" + test->test_suite_name() + "-" +
                 test->name() + ".db");
        remove();
    }
    void TearDown() override { remove(); }
    void remove() {
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path_.string() + suffix);
    }
    std::filesystem::path path_;
};

/// A temp database opened (and migrated) as certqd's store, for tests of what it writes.
class temp_store_test : public temp_db_test {
protected:
    void SetUp() override {
        temp_db_test::SetUp();
        store_ = std::make_unique<store::domain_store>(path_);
    }
    void TearDown() override {
        store_.reset();
        temp_db_test::TearDown();
    }
    std::unique_ptr<store::domain_store> store_;
};

} // namespace certq::testing
