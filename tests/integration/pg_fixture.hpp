#pragma once
// The fixture of every test against PostgreSQL: skipped cleanly when the server programs are
// not installed, otherwise a fresh database of its own on the test program's shared server.

#include "pg_server.hpp"

#include <gtest/gtest.h>

namespace certq::testing {

class postgres_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (!pg_server::available()) GTEST_SKIP() << "PostgreSQL is not installed; scripts/setup installs it";
        uri_ = shared_pg_server().fresh_database();
    }
    std::string uri_;
};

} // namespace certq::testing
