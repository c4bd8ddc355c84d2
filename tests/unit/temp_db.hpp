#pragma once
// A database file of the test's own in the temp directory, removed with its WAL files before
// the test (a crashed earlier run may have left one) and after it.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
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

} // namespace certq::testing
