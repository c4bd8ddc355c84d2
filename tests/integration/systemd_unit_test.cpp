// The unit the package installs is sandboxed: systemd's own exposure score for it stays at 1.2
// or below (Operations.SystemdUnitIsHardenedAndVerifiesClean runs `systemd-analyze verify`).

#include "harness.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

TEST(SystemdUnit, ExposureScoreIsAtMostOnePointTwo) {
    if (!std::filesystem::exists("/usr/bin/systemd-analyze"))
        GTEST_SKIP() << "systemd-analyze is not installed";
    scratch_dir dir;
    const auto unit = std::filesystem::path(CERTQ_SOURCE_DIR) / "systemd/certqd.service";
    process security(
        {"/usr/bin/systemd-analyze", "security", "--offline=true", "--no-pager", unit.string()}, {},
        dir / "security.log");
    ASSERT_EQ(security.wait(60s), 0) << security.output();
    // "→ Overall exposure level for certqd.service: 1.1 OK 🙂"
    const auto out = security.output();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        out, m, std::regex(R"(Overall exposure level for certqd\.service: ([0-9]+\.[0-9]+))")))
        << out;
    EXPECT_LE(std::stod(m[1]), 1.2) << out;
}

} // namespace
} // namespace certq::testing
