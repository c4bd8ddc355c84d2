// The page in a real browser: Debian's headless Chromium, driven by browser/page_check.py
// (python3-selenium, chromedriver), against the real certqd with rows in every state. The
// script checks what a support engineer sees: the counts the database holds, search as you
// type, a row's story and live DNS check, markup from the database shown as text, a phone's
// width. Its screenshots are kept in <build>/test-artefacts/browser/.

#include "harness.hpp"
#include "web_rows.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

const fs::path python = "/usr/bin/python3";
const fs::path page_check = fs::path(CERTQ_SOURCE_DIR) / "tests/integration/browser/page_check.py";
const fs::path artefacts = CERTQ_ARTEFACTS_DIR;

/// Why the browser cannot run here, or "" when it can.
std::string missing_browser(const scratch_dir& dir) {
    for (const fs::path tool : {"/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/python3"})
        if (!fs::exists(tool)) return tool.string() + " is missing";
    process probe({python.string(), "-c", "import selenium"}, {}, dir / "probe.log");
    if (probe.wait(30s) != 0) return "/usr/bin/python3 cannot import selenium (python3-selenium): " + probe.output();
    return "";
}

/// The counts per state the database holds, once two reads a moment apart agree.
std::map<std::string, std::int64_t> resting_counts(environment& env) {
    auto counts = env.counts_by_state();
    wait_for(
        [&] {
            auto now = env.counts_by_state();
            const bool same = now == counts;
            counts = std::move(now);
            return same;
        },
        10s, 200ms);
    return counts;
}

std::string describe(const std::map<std::string, std::int64_t>& counts) {
    std::string out;
    for (const auto& [state, n] : counts) out += (out.empty() ? "" : ", ") + state + " " + std::to_string(n);
    return out;
}

class Browser : public ::testing::Test {
protected:
    void SetUp() override {
        if (const auto why = missing_browser(scratch_); !why.empty()) {
            // CI installs the browser (scripts/setup): there a missing one is a failure, not a
            // reason to pass without looking at the page.
            if (std::getenv("CI")) FAIL() << why << "; scripts/setup installs chromium, chromium-driver, python3-selenium";
            GTEST_SKIP() << why << "; scripts/setup installs it (chromium, chromium-driver, python3-selenium)";
        }
        ASSERT_EQ(web_.start(), "");
        env_ = web_.env.get();
        daemon_ = web_.daemon.get();
        port_ = web_.port;
    }

    scratch_dir scratch_;
    web_daemon web_;
    environment* env_ = nullptr;
    process* daemon_ = nullptr;
    unsigned short port_ = 0;
};

TEST_F(Browser, ThePageShowsTheQueueSearchesOpensRowsAndShowsMarkupAsText) {
    const auto counts = resting_counts(*env_);
    json::object by_state;
    for (const auto state : all_states) {
        const auto it = counts.find(std::string(to_string(state)));
        by_state[to_string(state)] = it == counts.end() ? 0 : it->second;
    }
    ASSERT_EQ(env_->state_of("failed.rows.example.net"), "failed");
    ASSERT_EQ(env_->detail_of("failed.rows.example.net"), hostile_detail);
    const json::object expect{
        {"counts", by_state},
        {"search", {{"type", "good.exa"}, {"hostname", "www.good.example.com"}}},
        {"hostile_hostname", hostile_hostname},
        {"failed_hostname", "failed.rows.example.net"},
        {"hostile_detail", hostile_detail},
    };
    const auto expect_file = scratch_ / "expect.json";
    std::ofstream(expect_file) << json::serialize(expect);

    // Fresh screenshots only, so a CI run's artefacts are this run's.
    std::error_code ec;
    fs::create_directories(artefacts, ec);
    for (const auto& entry : fs::directory_iterator(artefacts, ec))
        if (entry.path().extension() == ".png") fs::remove(entry.path(), ec);

    const auto started = std::chrono::steady_clock::now();
    process script({python.string(), page_check.string(), "--url", "http://127.0.0.1:" + std::to_string(port_) + "/",
                    "--expect", expect_file.string(), "--shots", artefacts.string()},
                   {{"PYTHONUNBUFFERED", "1"}, {"PYTHONDONTWRITEBYTECODE", "1"}}, scratch_ / "page_check.log");
    auto status = script.wait(120s);
    if (!status) {
        // The script makes itself a process group leader; chromedriver and Chromium are in it.
        ::kill(-script.pid(), SIGKILL);
        status = script.wait(10s);
        ADD_FAILURE() << "page_check.py overran 120 s and was killed with its browser";
    }
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "page_check.py (" << took << " s), screenshots in " << artefacts.string() << ":\n"
              << script.output();
    EXPECT_EQ(status, 0) << "page_check.py failed (output above); the database now holds: "
                         << describe(env_->counts_by_state()) << "\ncertqd's log:\n"
                         << daemon_->output();
}

} // namespace
} // namespace certq::testing
