#include "ratelimit/token_bucket.hpp"

#include <gtest/gtest.h>

namespace certq {
namespace {

using namespace std::chrono_literals;
using clock = token_bucket::clock;

TEST(TokenBucket, BurstIsServedAtOnceThenOneTokenPerInterval) {
    token_bucket bucket(10, 3);
    const auto t0 = clock::time_point{} + 1h;
    EXPECT_EQ(bucket.reserve(t0), t0);
    EXPECT_EQ(bucket.reserve(t0), t0);
    EXPECT_EQ(bucket.reserve(t0), t0);
    EXPECT_EQ(bucket.reserve(t0), t0 + 100ms);
    EXPECT_EQ(bucket.reserve(t0), t0 + 200ms);
}

TEST(TokenBucket, WaitersLeaveInOrderAtTheRateNeverInAHerd) {
    token_bucket bucket(5, 1);
    const auto t0 = clock::time_point{} + 1h;
    std::vector<clock::time_point> due;
    for (int i = 0; i < 50; ++i) due.push_back(bucket.reserve(t0));
    for (std::size_t i = 1; i < due.size(); ++i) EXPECT_EQ(due[i] - due[i - 1], 200ms);
}

TEST(TokenBucket, IdleTimeRefillsOnlyUpToTheBurst) {
    token_bucket bucket(1, 2);
    const auto t0 = clock::time_point{} + 1h;
    bucket.reserve(t0);
    bucket.reserve(t0);
    const auto later = t0 + 1h;
    EXPECT_EQ(bucket.reserve(later), later);
    EXPECT_EQ(bucket.reserve(later), later);
    EXPECT_EQ(bucket.reserve(later), later + 1s);
}

TEST(TokenBucket, AnyOneSecondWindowHoldsAtMostRatePlusBurst) {
    // Callers arrive at random moments far faster than the rate; count what the bucket lets
    // through in every window of one second.
    token_bucket bucket(20, 4);
    const auto t0 = clock::time_point{} + 1h;
    std::vector<clock::time_point> granted;
    auto now = t0;
    for (int i = 0; i < 2000; ++i) {
        now += std::chrono::microseconds{(i * 7919) % 40000};
        granted.push_back(std::max(now, bucket.reserve(now)));
    }
    std::sort(granted.begin(), granted.end());
    std::size_t first = 0;
    for (std::size_t last = 0; last < granted.size(); ++last) {
        while (granted[last] - granted[first] >= 1s) ++first;
        EXPECT_LE(last - first + 1, 24u);
    }
}

TEST(TokenBucket, SlowerRateAppliesToLaterReservations) {
    token_bucket bucket(10, 1);
    const auto t0 = clock::time_point{} + 1h;
    EXPECT_EQ(bucket.reserve(t0), t0);
    bucket.set_rate(2, 1);
    EXPECT_EQ(bucket.reserve(t0), t0 + 100ms); // the slot booked at the old rate
    EXPECT_EQ(bucket.reserve(t0), t0 + 600ms);
}

TEST(TokenBucket, AHoldVoidsReservationsAndHandsOutNothingBeforeItEnds) {
    token_bucket bucket(10, 1);
    const auto t0 = clock::time_point{} + 1h;
    for (int i = 0; i < 8; ++i) bucket.reserve(t0); // booked up to t0 + 700ms
    bucket.hold_until(t0 + 2s);
    EXPECT_EQ(bucket.reserve(t0 + 1s), t0 + 2s); // the hold, not the old bookings, decides
    EXPECT_EQ(bucket.reserve(t0 + 1s), t0 + 2s + 100ms);
    EXPECT_EQ(bucket.reserve(t0 + 3s), t0 + 3s);
}

TEST(TokenBucket, TryTakeTurnsAwayWithoutQueueingAndSaysHowLongToWait) {
    token_bucket b(1.0, 3); // a burst of 3, then one a second
    const auto t0 = token_bucket::clock::time_point{} + std::chrono::hours{1};
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.try_take(t0), token_bucket::clock::duration::zero()) << i;
    const auto wait = b.try_take(t0);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count(), 1000);
    // Being turned away ten times reserved nothing: the token is there a second later.
    for (int i = 0; i < 10; ++i) EXPECT_GT(b.try_take(t0 + std::chrono::milliseconds{500}), token_bucket::clock::duration::zero());
    EXPECT_EQ(b.try_take(t0 + std::chrono::seconds{1}), token_bucket::clock::duration::zero());
    EXPECT_GT(b.try_take(t0 + std::chrono::seconds{1}), token_bucket::clock::duration::zero());
}

} // namespace
} // namespace certq
