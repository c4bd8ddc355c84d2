// The events log on a real SQLite file: written by the transitions trigger, read in order past a
// webhook's cursor, and pruned once every configured receiver has passed it and it is old enough.

#include "store/domain_store.hpp"
#include "temp_db.hpp"

#include <gtest/gtest.h>

namespace certq::store {
namespace {

using namespace std::chrono_literals;

class Events : public testing::temp_store_test {
protected:
    std::int64_t count() {
        auto stmt = sql().query("SELECT count(*) FROM events");
        return stmt->step() ? stmt->column_int(0) : -1;
    }
};

TEST_P(Events, EveryStateChangeIsAnEventWithTheRowAsItWas) {
    sql().exec("INSERT INTO domains (hostname, workload_id) VALUES ('a.example.com', 7);"
                      "UPDATE domains SET state = 'requesting' WHERE id = 1;");
    const auto events = store_->events_after(0, 10);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, "state");
    EXPECT_FALSE(events[0].from_state);
    EXPECT_EQ(events[0].to_state, "queued");
    EXPECT_EQ(events[1].from_state, "queued");
    EXPECT_EQ(events[1].to_state, "requesting");
    EXPECT_EQ(events[1].hostname, "a.example.com");
    EXPECT_EQ(events[1].workload_id, 7);
    EXPECT_EQ(store_->events_after(1, 10).size(), 1u);
}

TEST_P(Events, ANewWebhookStartsAtTheNewestEventAndItsCursorOnlyMovesOn) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com')");
    EXPECT_EQ(store_->webhook_cursor("https://x/h"), 2);
    store_->set_webhook_cursor("https://x/h", 1); // never back
    EXPECT_EQ(store_->webhook_cursor("https://x/h"), 2);
    EXPECT_FALSE(store_->instance_id().empty());
}

TEST_P(Events, OldEventsEveryReceiverPassedArePrunedAndNoOthers) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com'), ('c.example.com')");
    sql().exec("INSERT INTO webhook_cursors (webhook, delivered_through) VALUES ('https://slow/h', 1), "
                      "('https://fast/h', 3), ('https://gone/h', 0)");
    sql().exec("UPDATE events SET at = '2026-01-01T00:00:00.000Z' WHERE id <= 2"); // old
    const auto now = wall_now();
    // The slow receiver is at #1: only #1 may go; #3 is recent; "gone" is not configured.
    EXPECT_EQ(store_->prune_events(now - 168h, {"https://slow/h", "https://fast/h"}, 100), 1);
    EXPECT_EQ(count(), 2);
    store_->set_webhook_cursor("https://slow/h", 3);
    EXPECT_EQ(store_->prune_events(now - 168h, {"https://slow/h", "https://fast/h"}, 100), 1);
    EXPECT_EQ(count(), 1) << "the recent one stays";
    // Without webhooks, age alone decides; and in chunks.
    sql().exec("INSERT INTO domains (hostname) VALUES ('d.example.com'), ('e.example.com');"
                      "UPDATE events SET at = '2026-01-01T00:00:00.000Z'");
    EXPECT_EQ(store_->prune_events(now - 168h, {}, 2), 2);
    EXPECT_EQ(store_->prune_events(now - 168h, {}, 2), 0);
    EXPECT_EQ(count(), 1) << "the newest event stays, however old";
}

TEST_P(Events, EventsAfterAPruneThatTookEverythingOldAreNumberedPastEveryCursor) {
    sql().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com');"
                      "UPDATE events SET at = '2026-01-01T00:00:00.000Z'");
    ASSERT_EQ(store_->webhook_cursor("https://x/h"), 2); // the receiver has seen both
    store_->prune_events(wall_now() - 168h, {"https://x/h"}, 100);
    sql().exec("INSERT INTO domains (hostname) VALUES ('c.example.com')");
    const auto fresh = store_->events_after(store_->webhook_cursor("https://x/h"), 10);
    ASSERT_EQ(fresh.size(), 1u) << "the new row's event must be past the receiver's cursor";
    EXPECT_EQ(fresh[0].hostname, "c.example.com");
}

CERTQ_ON_BOTH_ENGINES(Events);

} // namespace
} // namespace certq::store
