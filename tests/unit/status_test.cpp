// `certq status` throughput on a real SQLite file, with the transitions' times set by the test:
// the rate is measured over the time rows were being finished, not over the whole window.

#include "store/domain_store.hpp"
#include "store/status.hpp"
#include "temp_db.hpp"

#include <gtest/gtest.h>

namespace certq::store {
namespace {

using namespace std::chrono_literals;

class Status : public testing::temp_store_test {
protected:
    // A new row of its own name that moved to `to` at `at`.
    void finish_row(wall_time at, const std::string& to = "active") {
        temp_store_test::finish_row("row" + std::to_string(next_++) + ".example.com", at, to);
    }
    // `n` rows finished evenly from `first` to `last`, both included.
    void finish_rows(int n, wall_time first, wall_time last) {
        for (int i = 0; i < n; ++i)
            finish_row(first + (last - first) * i / (n > 1 ? n - 1 : 1));
    }
    void leave_rows(int n) {
        for (int i = 0; i < n; ++i)
            sql().run("INSERT INTO domains (hostname) VALUES (?1)", {"left" + std::to_string(next_++) + ".example.com"});
    }

    int next_ = 0;
    const wall_time now_ = from_unix_ms(1'800'000'000'000);
};

TEST_P(Status, AFiftySecondRunIsMeasuredOverItsFiftySeconds) {
    // 1,001 finishes 50 ms apart: 1,000 after the first, in 50 s, 70 s ago.
    finish_rows(1001, now_ - 120s, now_ - 70s);
    const auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.unfinished, 0);
    EXPECT_EQ(st.finished_recently, 1001);
    ASSERT_TRUE(st.span);
    EXPECT_EQ(*st.span, 50s);
    ASSERT_TRUE(st.per_minute);
    EXPECT_DOUBLE_EQ(*st.per_minute, 1200.0); // the fixed window would say 200
    EXPECT_EQ(st.eta(), 0s);
}

TEST_P(Status, WhileRowsAreLeftTheSpanRunsToNowAndTheEtaUsesTheRate) {
    // 601 finishes from 60 s to 30 s ago, then nothing: 600 in 60 s, so 600/min, and 300 rows
    // left take 30 s at that pace.
    finish_rows(601, now_ - 60s, now_ - 30s);
    leave_rows(300);
    const auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.unfinished, 300);
    ASSERT_TRUE(st.span);
    EXPECT_EQ(*st.span, 60s);
    ASSERT_TRUE(st.per_minute);
    EXPECT_DOUBLE_EQ(*st.per_minute, 600.0);
    EXPECT_EQ(st.eta(), 30s);
    // The same rows a minute later: the stall shows as a slower rate and a longer ETA.
    const auto later = read_status(store_->sql(), 5min, now_ + 60s);
    EXPECT_DOUBLE_EQ(*later.per_minute, 300.0);
    EXPECT_EQ(later.eta(), 60s);
}

TEST_P(Status, OnlyFinishesInsideTheWindowCount) {
    finish_rows(50, now_ - 20min, now_ - 10min);
    finish_rows(11, now_ - 4min, now_ - 3min);
    leave_rows(1);
    const auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.window, 5min);
    EXPECT_EQ(st.finished_recently, 11);
    EXPECT_EQ(*st.span, 4min);
    EXPECT_DOUBLE_EQ(*st.per_minute, 2.5);
    const auto wide = read_status(store_->sql(), 30min, now_);
    EXPECT_EQ(wide.finished_recently, 61);
    EXPECT_EQ(*wide.span, 20min);
}

TEST_P(Status, EveryTerminalStateIsAFinishOtherStatesAreNot) {
    finish_row(now_ - 40s, "invalid");
    finish_row(now_ - 30s, "failed");
    finish_row(now_ - 20s, "pending");
    finish_row(now_ - 20s, "dns_waiting");
    finish_row(now_ - 10s, "dns_failed");
    const auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.finished_recently, 3);
    EXPECT_EQ(st.unfinished, 2);
    EXPECT_EQ(*st.span, 40s);
    EXPECT_DOUBLE_EQ(*st.per_minute, 3.0);
}

TEST_P(Status, FewerThanTwoFinishesGiveNoRateAndNoEta) {
    leave_rows(5);
    auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.finished_recently, 0);
    EXPECT_FALSE(st.per_minute);
    EXPECT_FALSE(st.span);
    EXPECT_FALSE(st.eta());
    finish_row(now_ - 10s);
    st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.finished_recently, 1);
    EXPECT_FALSE(st.per_minute);
    EXPECT_FALSE(st.span);
    EXPECT_FALSE(st.eta());
}

TEST_P(Status, FinishesAllAtOneInstantGiveNoRateButNothingLeftIsDone) {
    finish_row(now_ - 10s);
    finish_row(now_ - 10s);
    const auto st = read_status(store_->sql(), 5min, now_);
    EXPECT_EQ(st.finished_recently, 2);
    EXPECT_FALSE(st.per_minute);
    EXPECT_EQ(st.eta(), 0s);
}

CERTQ_ON_BOTH_ENGINES(Status);

} // namespace
} // namespace certq::store
