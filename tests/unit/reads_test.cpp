// What the page, the API and `certq list/show` read (store/reads.hpp), on both engines: keyset
// pages that never skip or repeat a row, a search that takes the user's text literally, one row's
// story, failures grouped by reason, and finishes per bucket.

#include "store/reads.hpp"
#include "temp_db.hpp"

#include <gtest/gtest.h>

#include <set>

namespace certq::store {
namespace {

using namespace std::chrono_literals;

class Reads : public testing::temp_store_test {
protected:
    std::vector<std::string> all_pages(row_filter f) {
        std::vector<std::string> seen;
        for (int guard = 0; guard < 1000; ++guard) {
            const auto page = list_rows(sql(), f);
            for (const auto& r : page.rows) seen.push_back(r.hostname);
            if (!page.next) break;
            f.after = page.next;
        }
        return seen;
    }
};

TEST_P(Reads, KeysetPagesVisitEveryRowOnceInEitherOrder) {
    for (int i = 0; i < 23; ++i) add_row("row" + std::to_string(i) + ".example.com", i % 3 ? "active" : "failed", "x");
    row_filter f;
    f.limit = 4;
    const auto newest = all_pages(f);
    ASSERT_EQ(newest.size(), 23u);
    EXPECT_EQ(newest.front(), "row22.example.com");
    EXPECT_EQ(std::set<std::string>(newest.begin(), newest.end()).size(), 23u);
    f.newest_first = false;
    const auto oldest = all_pages(f);
    EXPECT_EQ(std::vector<std::string>(newest.rbegin(), newest.rend()), oldest);
    f.state = domain_state::failed;
    EXPECT_EQ(all_pages(f).size(), 8u); // 0, 3, …, 21
    // A page that ends exactly at the last row says so.
    row_filter exact;
    exact.limit = 23;
    EXPECT_FALSE(list_rows(sql(), exact).next);
}

TEST_P(Reads, PagesOfASearchGoOnFromTheirCursorAndRowsInsertedMeanwhileDoNotShiftThem) {
    for (int i = 0; i < 10; ++i) add_row("match" + std::to_string(i) + ".example.com");
    for (int i = 0; i < 10; ++i) add_row("other" + std::to_string(i) + ".example.com");
    row_filter f;
    f.contains = "match";
    f.limit = 3;
    f.newest_first = false;
    auto page = list_rows(sql(), f);
    std::vector<std::string> seen;
    for (const auto& r : page.rows) seen.push_back(r.hostname);
    add_row("match-late.example.com"); // committed between two pages: found at the end, nothing repeats
    while (page.next) {
        f.after = page.next;
        page = list_rows(sql(), f);
        for (const auto& r : page.rows) seen.push_back(r.hostname);
    }
    ASSERT_EQ(seen.size(), 11u);
    EXPECT_EQ(seen.front(), "match0.example.com");
    EXPECT_EQ(seen[9], "match9.example.com");
    EXPECT_EQ(seen.back(), "match-late.example.com");
}

TEST_P(Reads, SearchIsCaseInsensitiveAndTakesLikeCharactersLiterally) {
    add_row("Shop.Example.com");
    add_row("shop_x.example.com");
    add_row("shopax.example.com");
    add_row("other.example.net");
    row_filter f;
    f.contains = "SHOP";
    EXPECT_EQ(all_pages(f).size(), 3u);
    f.contains = "shop_";
    EXPECT_EQ(all_pages(f), std::vector<std::string>{"shop_x.example.com"}); // _ is not a wildcard
    f.contains = "%";
    EXPECT_TRUE(all_pages(f).empty());
    f.contains = ".example.";
    EXPECT_EQ(all_pages(f).size(), 4u);
}

TEST_P(Reads, AWholeNameAlsoFindsTheRowThatHasItAsAnAlternativeNameOrInItsALabelForm) {
    const auto id = add_row("shop.example.com");
    sql().run("INSERT INTO row_names (domain_id, name) VALUES (?1, 'shop.example.com'), (?1, 'www.shop.example.org')",
              {id});
    add_row("xn--bcher-kva.example.net");
    row_filter f;
    f.contains = "www.shop.example.org";
    EXPECT_TRUE(all_pages(f).empty());
    f.whole_name = "www.shop.example.org";
    EXPECT_EQ(all_pages(f), std::vector<std::string>{"shop.example.com"});
    row_filter unicode;
    unicode.contains = "bücher.example.net";
    unicode.whole_name = "xn--bcher-kva.example.net";
    EXPECT_EQ(all_pages(unicode), std::vector<std::string>{"xn--bcher-kva.example.net"});
}

TEST_P(Reads, ARowsStoryHasItsTransitionsOldestFirstAndFindsAnAbsoluteName) {
    const auto id = add_row("story.example.com");
    sql().run("UPDATE domains SET state = 'dns_waiting', detail = 'not yet' WHERE id = ?1", {id});
    sql().run("UPDATE domains SET state = 'failed', detail = 'Azion said <no>' WHERE id = ?1", {id});
    auto row = find_row(sql(), "STORY.example.com.");
    ASSERT_TRUE(row);
    EXPECT_TRUE(row->transitions.empty()) << "the row's columns only";
    read_history(sql(), *row);
    EXPECT_EQ(row->id, id);
    EXPECT_EQ(row->state, "failed");
    ASSERT_EQ(row->transitions.size(), 3u);
    EXPECT_FALSE(row->transitions[0].from_state);
    EXPECT_EQ(row->transitions[1].to_state, "dns_waiting");
    EXPECT_EQ(row->transitions[2].detail, "Azion said <no>");
    EXPECT_EQ(row->transitions_omitted, 0);
    auto newest_two = find_row(sql(), "story.example.com");
    read_history(sql(), *newest_two, 2);
    ASSERT_EQ(newest_two->transitions.size(), 2u);
    EXPECT_EQ(newest_two->transitions[0].to_state, "dns_waiting");
    EXPECT_EQ(newest_two->transitions_omitted, 1);
    EXPECT_FALSE(find_row(sql(), "absent.example.com"));
}

TEST_P(Reads, ProblemsAreGroupedByReasonBiggestFirst) {
    for (int i = 0; i < 5; ++i)
        add_row("c" + std::to_string(i) + ".example.com", "dns_waiting",
            "c" + std::to_string(i) + ".example.com: points to Azion, but CAA at example.com allows only digicert.com");
    for (int i = 0; i < 2; ++i)
        add_row("f" + std::to_string(i) + ".example.org", "failed", "Azion: rate limited by Let's Encrypt (429)");
    add_row("ok.example.com", "active");
    const auto report = problems(sql());
    EXPECT_EQ(report.rows_examined, 7);
    EXPECT_FALSE(report.limited);
    ASSERT_EQ(report.groups.size(), 2u);
    EXPECT_EQ(report.groups[0].state, "dns_waiting");
    EXPECT_EQ(report.groups[0].rows, 5);
    EXPECT_EQ(report.groups[0].reason, "…: points to Azion, but CAA at … allows only …");
    EXPECT_EQ(report.groups[0].example, "c4.example.com");
    EXPECT_EQ(report.groups[1].rows, 2);
    const auto first_three = problems(sql(), 3);
    EXPECT_TRUE(first_three.limited);
    EXPECT_EQ(first_three.rows_examined, 3);
}

TEST_P(Reads, ThroughputCountsFinishesPerBucketWithEmptyBucketsKept) {
    const auto now = from_unix_ms(1'800'000'000'000); // on a 10-minute boundary
    finish_row("a.example.com", now - 25min);
    finish_row("b.example.com", now - 21min);
    finish_row("c.example.com", now - 21min, "failed");
    finish_row("d.example.com", now - 3h); // outside the hour
    const auto buckets = throughput(sql(), 60min, 10min, now);
    ASSERT_EQ(buckets.size(), 7u); // from now - 60 min to the bucket holding now
    EXPECT_EQ(buckets.front().start, now - 60min);
    const auto& b = buckets[3]; // [now - 30 min, now - 20 min)
    EXPECT_EQ(b.start, now - 30min);
    EXPECT_EQ(b.count(domain_state::active), 2);
    EXPECT_EQ(b.count(domain_state::failed), 1);
    std::int64_t total = 0;
    for (const auto& x : buckets) total += x.count(domain_state::active) + x.count(domain_state::failed);
    EXPECT_EQ(total, 3);
}

CERTQ_ON_BOTH_ENGINES(Reads);

TEST(ReasonOf, NamesNumbersAndAddressesGoAndWordsStay) {
    EXPECT_EQ(reason_of("shop.example.com → CNAME shop.other-cdn.net (not Azion)"), "… → CNAME … (not Azion)");
    EXPECT_EQ(reason_of("a.example.com: no such name (NXDOMAIN)\nb.example.com: …"), "…: no such name (NXDOMAIN)");
    EXPECT_EQ(reason_of("Let's Encrypt budget for example.com spent until 2026-12-01T05:00:00.000Z"),
              "Let's Encrypt budget for … spent until …");
    EXPECT_EQ(reason_of("x.example.com → A 192.0.2.1, 2001:db8::1"), "… → A …, …");
    EXPECT_EQ(reason_of("bücher.example: invalid"), "…: invalid");
    EXPECT_EQ(reason_of(""), "");
}

} // namespace
} // namespace certq::store
