// Webhooks without sockets: Standard Webhooks signatures, the payload, and the outbox's order,
// backoff, give-up and cursor, driven with an injected clock.

#include "notify/event.hpp"
#include "notify/outbox.hpp"
#include "notify/signature.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace certq::notify {
namespace {

using namespace std::chrono_literals;
using clock = outbox::clock;
const auto t0 = clock::time_point{} + 1h;

TEST(Signature, MatchesTheStandardWebhooksSpecificationsExample) {
    // The example of the specification's own test suites.
    std::string why;
    const auto key = decode_secret("  whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", why);
    ASSERT_TRUE(key) << why;
    EXPECT_EQ(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", R"({"test": 2432232314})"),
              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Signature, ASecretThatIsNotWhsecBase64IsRefusedWithoutQuotingIt) {
    std::string why;
    EXPECT_FALSE(decode_secret("", why));
    EXPECT_EQ(why, "the webhook secret is empty");
    EXPECT_FALSE(decode_secret("hunter2hunter2hunter2", why));
    EXPECT_EQ(why, "the webhook secret must be written whsec_<base64>");
    EXPECT_FALSE(decode_secret("whsec_not*base64!", why));
    EXPECT_EQ(why.find("not*base64"), std::string::npos);
    EXPECT_FALSE(decode_secret("whsec_c2hvcnQ=", why)); // "short"
    EXPECT_EQ(why, "the webhook secret is too short (at least 16 bytes after base64)");
}

event_record state_event(std::int64_t id, std::int64_t row, std::string to) {
    event_record e;
    e.id = id;
    e.domain_id = row;
    e.kind = "state";
    e.from_state = "pending";
    e.to_state = std::move(to);
    e.at = "2026-12-01T00:00:00.000Z";
    e.hostname = "shop.example.com";
    e.names = R"(["shop.example.com","www.shop.example.com"])";
    e.certificate_id = 9001;
    return e;
}

TEST(Payload, CarriesTheChangeAndTheRowAsItWas) {
    auto e = state_event(7, 42, "active");
    e.from_state.reset(); // the insert
    const auto v = boost::json::parse(payload(e)).as_object();
    EXPECT_EQ(v.at("type").as_string(), "domain.state_changed");
    EXPECT_EQ(v.at("timestamp").as_string(), "2026-12-01T00:00:00.000Z");
    const auto& d = v.at("data").as_object();
    EXPECT_TRUE(d.at("from").is_null());
    EXPECT_EQ(d.at("to").as_string(), "active");
    EXPECT_EQ(d.at("domain_id").as_int64(), 42);
    EXPECT_EQ(d.at("names").as_array().size(), 2u);
    EXPECT_EQ(d.at("certificate_id").as_int64(), 9001);
    EXPECT_TRUE(d.at("workload_id").is_null());
    e.kind = "renewed";
    EXPECT_EQ(boost::json::parse(payload(e)).at("type").as_string(), "certificate.renewed");
    EXPECT_EQ(message_id("ab12", 7), "msg_ab12_7");
}

TEST(Payload, EventsFilterByTheNewStateOrRenewed) {
    webhook_config all, some;
    some.events = {"active", "renewed"};
    auto e = state_event(1, 1, "failed");
    EXPECT_TRUE(wanted(all, e));
    EXPECT_FALSE(wanted(some, e));
    e.to_state = "active";
    EXPECT_TRUE(wanted(some, e));
    e.kind = "renewed";
    e.to_state.reset();
    EXPECT_TRUE(wanted(some, e));
}

TEST(Outbox, ARowsNextEventWaitsForTheOneBeforeItOtherRowsGoOn) {
    outbox box({5s, 30min, 72h}, 10);
    box.add(state_event(11, 1, "requesting"), true);
    box.add(state_event(12, 2, "requesting"), true);
    box.add(state_event(13, 1, "pending"), true);
    box.add(state_event(14, 3, "pending"), false); // not wanted: done at once
    auto ready = box.take_ready(t0, 8);
    ASSERT_EQ(ready.size(), 2u);
    EXPECT_EQ(ready[0].id, 11);
    EXPECT_EQ(ready[1].id, 12);
    EXPECT_TRUE(box.take_ready(t0, 8).empty()) << "in flight, and row 1's next waits";
    box.delivered(12);
    EXPECT_EQ(box.delivered_through(), 10) << "11 is not done yet";
    EXPECT_FALSE(box.failed(11, t0, 0.0));
    EXPECT_TRUE(box.take_ready(t0 + 2s, 8).empty()) << "backing off; 13 waits behind 11";
    ready = box.take_ready(t0 + 3s, 8); // 5 s × (0.5 + 0) = 2.5 s
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0].id, 11);
    box.delivered(11);
    EXPECT_EQ(box.delivered_through(), 12);
    ready = box.take_ready(t0 + 3s, 8);
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0].id, 13);
    box.delivered(13);
    EXPECT_EQ(box.delivered_through(), 14) << "the unwanted 14 does not hold the cursor";
    EXPECT_EQ(box.pending(), 0u);
}

TEST(Outbox, BacksOffExponentiallyWithJitterThenGivesUp) {
    outbox box({5s, 30min, 72h}, 0);
    box.add(state_event(1, 1, "active"), true);
    auto now = t0;
    std::vector<clock::duration> waits;
    for (int i = 0; i < 12; ++i) {
        ASSERT_EQ(box.take_ready(now, 1).size(), 1u);
        ASSERT_FALSE(box.failed(1, now, 1.0)); // jitter 1: the full delay
        waits.push_back(*box.next_due() - now);
        now = *box.next_due();
    }
    EXPECT_EQ(waits[0], 5s);
    EXPECT_EQ(waits[1], 10s);
    EXPECT_EQ(waits[2], 20s);
    EXPECT_EQ(waits[11], 30min) << "capped at retry.max";
    EXPECT_TRUE(box.oldest_first_attempt());
    now = t0 + 72h;
    ASSERT_EQ(box.take_ready(now, 1).size(), 1u);
    EXPECT_TRUE(box.failed(1, now, 0.5)) << "given up after give_up_after";
    EXPECT_EQ(box.delivered_through(), 1);
    EXPECT_EQ(box.pending(), 0u);
}

} // namespace
} // namespace certq::notify
