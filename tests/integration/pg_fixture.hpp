#pragma once
// What every test against PostgreSQL shares: the rule for a missing server (a clean skip, but a
// failure under CI, which installs it: there a missing server is a broken set-up, not a pass),
// a fixture with a fresh database of its own on the test program's shared server, and suites
// that run on both engines.

#include "pg_server.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

/// Ends the current test unless PostgreSQL's server programs are installed.
#define CERTQ_REQUIRE_POSTGRESQL()                                                                                \
    do {                                                                                                          \
        if (!::certq::testing::pg_server::available()) {                                                          \
            if (std::getenv("CI")) FAIL() << "PostgreSQL is not installed; scripts/setup installs it";           \
            GTEST_SKIP() << "PostgreSQL is not installed; scripts/setup installs it";                             \
        }                                                                                                         \
    } while (false)

namespace certq::testing {

class postgres_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        CERTQ_REQUIRE_POSTGRESQL();
        uri_ = shared_pg_server().fresh_database();
    }
    std::string uri_;
};

/// A suite whose tests take the engine as their parameter (run them with CERTQ_ON_BOTH_ENGINES).
class engine_test : public ::testing::TestWithParam<engine> {
protected:
    void SetUp() override {
        if (GetParam() == engine::postgresql) CERTQ_REQUIRE_POSTGRESQL();
    }
};

} // namespace certq::testing

/// Runs a parameterised suite on both engines, named .../SQLite and .../PostgreSQL.
#define CERTQ_ON_BOTH_ENGINES(suite)                                                                              \
    INSTANTIATE_TEST_SUITE_P(Engines, suite,                                                                    \
                             ::testing::Values(::certq::testing::engine::sqlite,                                \
                                               ::certq::testing::engine::postgresql),                           \
                             [](const ::testing::TestParamInfo<::certq::testing::engine>& p) {                  \
                                 return ::certq::testing::engine_name(p.param);                                 \
                             })
