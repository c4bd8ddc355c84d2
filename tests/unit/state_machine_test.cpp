// The row state machine, driven directly: no sockets, no clock, no database.

#include "engine/state_machine.hpp"

#include <gtest/gtest.h>

namespace certq::engine {
namespace {

using namespace std::chrono_literals;
using store::domain_row;
using store::durability;

const wall_time t0 = from_unix_ms(1'800'000'000'000);

policy test_policy() {
    policy p;
    p.poll = {30s, 15min, 168h};
    p.retry = {1s, 5min, 0h};
    return p;
}

domain_row queued_row(std::string host = "shop.example.com", std::string sans = "[]") {
    domain_row r;
    r.id = 42;
    r.hostname = std::move(host);
    r.alternative_names = std::move(sans);
    r.state = domain_state::queued;
    r.state_since = t0;
    return r;
}

azion::certificate cert(std::string status, std::string detail = "") {
    azion::certificate c;
    c.id = 9001;
    c.name = "certq-42-shop.example.com";
    c.status = std::move(status);
    c.status_detail = std::move(detail);
    return c;
}

moment at(wall_time t, double jitter = 0.5) { return {t, jitter}; }

TEST(StateMachine, QueuedRowClaimsItsNamesThenGoesToTheDnsStage) {
    const auto d = on_due(queued_row(), test_policy(), at(t0));
    EXPECT_EQ(d.next, action::claim_names);
    EXPECT_FALSE(d.changed);
    const auto claimed = on_event(queued_row(), names_claimed{}, test_policy(), at(t0));
    EXPECT_EQ(claimed.next, action::check_dns);
    const auto taken = on_event(queued_row(), names_claimed{"\"shop.example.com\" is already on row #12, shop.example.com"},
                                test_policy(), at(t0));
    EXPECT_EQ(taken.after.state, domain_state::invalid);
    EXPECT_EQ(taken.after.detail, "\"shop.example.com\" is already on row #12, shop.example.com");
}

TEST(StateMachine, PointingNamesAreCommittedDurablyAsRequestingBeforeThePost) {
    const auto row = queued_row("Shop.Example.COM.", R"(["www.shop.example.com", "WWW.Shop.example.com"])");
    const auto d = on_event(row, dns_verdict{}, test_policy(), at(t0));
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(d.after.state, domain_state::requesting);
    EXPECT_EQ(d.durability, durability::full);
    EXPECT_EQ(d.next, action::send_request);
    EXPECT_EQ(d.after.attempts, 1);
    EXPECT_EQ(d.after.request_name, "certq-42-shop.example.com");
    ASSERT_TRUE(d.request);
    EXPECT_EQ(d.request->name, "certq-42-shop.example.com");
    EXPECT_EQ(d.request->common_name, "shop.example.com");
    EXPECT_EQ(d.request->alternative_names, std::vector<std::string>{"www.shop.example.com"});
    EXPECT_EQ(d.request->challenge, "http");
    EXPECT_EQ(d.request->authority, "lets_encrypt");
}

TEST(StateMachine, AcceptedRequestBecomesPendingWithItsIdAndFirstPoll) {
    auto row = queued_row();
    row.state = domain_state::requesting;
    row.attempts = 1;
    const auto d = on_event(row, certificate_seen{cert("Pending")}, test_policy(), at(t0, 0.5));
    EXPECT_EQ(d.after.state, domain_state::pending);
    EXPECT_EQ(d.after.certificate_id, 9001);
    EXPECT_EQ(d.after.polls, 0);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 30s);
    EXPECT_EQ(d.next, action::none);
}

TEST(StateMachine, PollsBackOffPerRowUpToTheMax) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    std::vector<std::chrono::milliseconds> delays;
    auto now = t0;
    for (int i = 0; i < 8; ++i) {
        const auto d = on_event(row, certificate_seen{cert(i % 2 ? "challenge_verification" : "pending")},
                                test_policy(), at(now, 0.5));
        ASSERT_EQ(d.after.state, domain_state::pending);
        delays.push_back(*d.after.next_attempt_at - now);
        now = *d.after.next_attempt_at;
        row = d.after;
    }
    EXPECT_EQ(delays.front(), 60s);
    EXPECT_EQ(delays[1], 120s);
    EXPECT_EQ(delays.back(), 15min);
}

TEST(StateMachine, StatusIsComparedWithoutCaseAndUnknownMeansNotFinished) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    EXPECT_EQ(on_event(row, certificate_seen{cert("ACTIVE")}, test_policy(), at(t0)).after.state,
              domain_state::active);
    EXPECT_EQ(on_event(row, certificate_seen{cert("Failed", "x")}, test_policy(), at(t0)).after.state,
              domain_state::failed);
    EXPECT_EQ(on_event(row, certificate_seen{cert("warming_up")}, test_policy(), at(t0)).after.state,
              domain_state::pending);
}

TEST(StateMachine, AzionFailureKeepsAzionsWords) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    const std::string words = "An error has occurred while issuing the requested certificate. "
                              "Please verify the following domains CNAME: mysite.azion.com";
    const auto d = on_event(row, certificate_seen{cert("failed", words)}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::failed);
    EXPECT_EQ(d.after.detail, "Azion failed certificate 9001: " + words);
}

TEST(StateMachine, PendingPastGiveUpFails) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    row.state_since = t0;
    const auto d = on_event(row, certificate_seen{cert("pending", "waiting for DNS")}, test_policy(),
                            at(t0 + 168h));
    EXPECT_EQ(d.after.state, domain_state::failed);
    EXPECT_EQ(d.after.detail, "still pending at Azion after 168h: waiting for DNS");
}

TEST(StateMachine, ActiveCertificateRecordsValidity) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    auto c = cert("active");
    c.validity = "2028-03-24 20:09:00-03:00";
    const auto d = on_event(row, certificate_seen{c}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::active);
    EXPECT_EQ(d.after.validity, "2028-03-24 20:09:00-03:00");
    EXPECT_EQ(d.after.valid_until, from_unix_ms(1837552140000)); // 2028-03-24T23:09:00Z
    // Watched from now on, first anywhere in the first monitor period (spread, not in a herd).
    ASSERT_TRUE(d.after.next_attempt_at);
    EXPECT_GT(*d.after.next_attempt_at, t0);
    EXPECT_LE(*d.after.next_attempt_at, t0 + 24h);
}

TEST(StateMachine, FinalRefusalFailsWithAzionsWords) {
    auto row = queued_row();
    row.state = domain_state::requesting;
    row.attempts = 1;
    azion::diagnostics diag;
    diag.http_status = 400;
    diag.azion_message = "Bad Request: Enter a valid domain name. (/data/common_name)";
    const auto d = on_event(row, request_refused{diag}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::failed);
    EXPECT_EQ(d.after.detail,
              "Azion refused the request: HTTP 400: Bad Request: Enter a valid domain name. (/data/common_name)");
}

TEST(StateMachine, RefusalNamingAnExistingCertificateAdoptsIt) {
    auto row = queued_row();
    row.state = domain_state::requesting;
    row.attempts = 1;
    azion::diagnostics diag;
    diag.http_status = 400;
    diag.existing_certificate = 777;
    const auto d = on_event(row, request_refused{diag}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::pending);
    EXPECT_EQ(d.after.certificate_id, 777);
    EXPECT_EQ(d.after.next_attempt_at, t0);
}

TEST(StateMachine, RetryableFailureWaitsWithFullJitterAndHonoursRetryAfter) {
    auto row = queued_row();
    row.state = domain_state::requesting;
    row.attempts = 3; // third try: base delay 4 s
    azion::diagnostics diag;
    diag.http_status = 503;
    auto d = on_event(row, call_failed{diag}, test_policy(), at(t0, 0.25));
    EXPECT_EQ(d.after.state, domain_state::requesting);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1s);
    EXPECT_EQ(d.next, action::none);
    diag.retry_after = 30s;
    d = on_event(row, call_failed{diag}, test_policy(), at(t0, 0.25));
    EXPECT_EQ(d.after.next_attempt_at, t0 + 30s);
    EXPECT_NE(d.after.detail->find("HTTP 503"), std::string::npos);
}

TEST(StateMachine, A429LeavesPacingToTheSharedLimiterAndCostsNoLookUp) {
    // The POST itself was refused: nothing was created, so the row sends again (no look-up),
    // after Retry-After and a spread of at most a second, whatever its attempt count.
    auto row = queued_row();
    const auto sent = on_event(row, dns_verdict{}, test_policy(), at(t0));
    ASSERT_EQ(sent.next, action::send_request);
    row = sent.after;
    row.attempts = 6; // exponential backoff would be a minute by now
    azion::diagnostics diag;
    diag.http_status = 429;
    diag.retry_after = 2s;
    auto d = on_event(row, call_failed{diag, true}, test_policy(), at(t0, 0.5));
    EXPECT_EQ(d.after.state, domain_state::requesting);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 2s + 500ms);
    EXPECT_EQ(d.after.attempts, 5);
    EXPECT_NE(d.after.detail->find("429"), std::string::npos);
    row.attempts = 1;
    d = on_event(row, call_failed{diag, true}, test_policy(), at(t0, 0.5));
    EXPECT_EQ(on_due(d.after, test_policy(), at(t0 + 3s)).next, action::send_request);

    // A 429 answering the look-up says nothing about the earlier POST: look up again.
    d = on_event(row, call_failed{diag, false}, test_policy(), at(t0, 0.5));
    EXPECT_EQ(d.after.attempts, 1);
    EXPECT_EQ(on_due(d.after, test_policy(), at(t0 + 3s)).next, action::lookup_by_name);
}

TEST(StateMachine, RequestingRowFoundAgainIsReconciledByNameBeforeAnyNewPost) {
    auto row = queued_row();
    row.state = domain_state::requesting;
    row.attempts = 1;
    row.request_name = "certq-42-shop.example.com";
    const auto due = on_due(row, test_policy(), at(t0));
    EXPECT_EQ(due.next, action::lookup_by_name);
    EXPECT_FALSE(due.changed);

    const auto found = on_event(row, certificate_seen{cert("pending")}, test_policy(), at(t0));
    EXPECT_EQ(found.after.state, domain_state::pending);
    EXPECT_EQ(found.after.certificate_id, 9001);

    const auto missing = on_event(row, name_not_found{}, test_policy(), at(t0));
    EXPECT_EQ(missing.next, action::send_request);
    EXPECT_EQ(missing.after.attempts, 2);
    EXPECT_EQ(missing.durability, durability::full);
    EXPECT_EQ(missing.after.request_name, "certq-42-shop.example.com");
}

TEST(StateMachine, PendingRowIsReadByItsId) {
    auto row = queued_row();
    row.state = domain_state::pending;
    row.certificate_id = 9001;
    EXPECT_EQ(on_due(row, test_policy(), at(t0)).next, action::read_status);
    EXPECT_EQ(on_event(row, certificate_gone{}, test_policy(), at(t0)).after.detail,
              "certificate 9001 no longer exists at Azion");
}

TEST(StateMachine, UnusableInputIsInvalidWithAReason) {
    EXPECT_EQ(on_due(queued_row("   "), test_policy(), at(t0)).after.detail, "hostname: the name is empty");
    const auto bad_json = on_due(queued_row("a.example.com", "www.a.example.com"), test_policy(), at(t0));
    EXPECT_EQ(bad_json.after.state, domain_state::invalid);
    EXPECT_EQ(bad_json.after.detail.value().rfind("alternative_names is not a JSON array of host names", 0), 0u);
    EXPECT_EQ(on_due(queued_row("a.example.com", "[1]"), test_policy(), at(t0)).after.state,
              domain_state::invalid);
    EXPECT_EQ(on_due(queued_row("a.example.com", "{}"), test_policy(), at(t0)).after.state,
              domain_state::invalid);
    auto null_sans = queued_row("a.example.com");
    null_sans.alternative_names.reset();
    EXPECT_EQ(on_due(null_sans, test_policy(), at(t0)).next, action::claim_names);
}

TEST(StateMachine, DnsWaitingRechecksWithGrowingDelayThenGivesUp) {
    auto p = test_policy();
    p.dns_recheck = {1min, 30min, 72h};
    auto row = queued_row();
    const dns_verdict not_yet{dns_verdict::outcome::not_yet, "shop.example.com: no such name (NXDOMAIN)"};
    auto d = on_event(row, not_yet, p, at(t0, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_waiting);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1min);
    EXPECT_EQ(d.after.dns_checks, 1);
    row = d.after;
    row.state_since = t0;
    d = on_event(row, not_yet, p, at(t0 + 1min, 0.5));
    EXPECT_EQ(*d.after.next_attempt_at - (t0 + 1min), 2min);
    row.dns_checks = 10;
    d = on_event(row, not_yet, p, at(t0 + 2h, 0.5));
    EXPECT_EQ(*d.after.next_attempt_at - (t0 + 2h), 30min);
    d = on_event(row, not_yet, p, at(t0 + 72h, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_failed);
    EXPECT_EQ(d.after.detail, "still not pointing to Azion after 72h:\nshop.example.com: no such name (NXDOMAIN)");
}

TEST(StateMachine, InconclusiveDnsBacksOffLikeNotPointingThenGivesUp) {
    // A lame delegation answers SERVFAIL for ever: as final as NXDOMAIN after long enough.
    auto p = test_policy();
    p.dns_recheck = {1min, 30min, 72h};
    dns_verdict unsure{dns_verdict::outcome::inconclusive, "shop.example.com: DNS check inconclusive (SERVFAIL)"};
    unsure.names_inconclusive = true;
    auto row = queued_row();
    auto d = on_event(row, unsure, p, at(t0, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_waiting);
    EXPECT_EQ(d.next, action::none);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1min);
    EXPECT_EQ(d.after.detail, "DNS did not answer conclusively; checking again later:\n"
                              "shop.example.com: DNS check inconclusive (SERVFAIL)");
    row = d.after;
    row.state_since = t0;
    row.dns_checks = 4;
    d = on_event(row, unsure, p, at(t0 + 3h, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_waiting);
    EXPECT_EQ(*d.after.next_attempt_at - (t0 + 3h), 16min);
    d = on_event(row, unsure, p, at(t0 + 72h, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_failed);
    EXPECT_EQ(d.after.detail, "DNS never answered conclusively in 72h:\nshop.example.com: DNS check inconclusive (SERVFAIL)");
}

TEST(StateMachine, ResolversDownJudgeNoRowAndTheirOutageIsNotCharged) {
    auto p = test_policy();
    p.dns_recheck = {1min, 30min, 72h};
    const dns_verdict down{dns_verdict::outcome::unavailable, "shop.example.com: DNS check inconclusive (timeout)"};
    auto row = queued_row();
    auto d = on_event(row, down, p, at(t0, 0.5));
    EXPECT_EQ(d.after.state, domain_state::queued);
    EXPECT_EQ(d.after.dns_checks, 0);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 30s);
    EXPECT_NE(d.after.detail->find("resolvers are not answering"), std::string::npos);

    row.state = domain_state::dns_waiting;
    row.state_since = t0;
    row.detail = "shop.example.com: no such name (NXDOMAIN)";
    d = on_event(row, down, p, at(t0 + 100h, 0.5)); // long past give_up_after: still not failed
    EXPECT_EQ(d.after.state, domain_state::dns_waiting);
    EXPECT_EQ(d.after.detail, row.detail);

    // The resolvers were down for 30 h of the row's 80: it has 22 h left, not -8.
    dns_verdict not_yet{dns_verdict::outcome::not_yet, "shop.example.com: no such name (NXDOMAIN)"};
    not_yet.resolver_outage = 20h; // reported on this very verdict
    row.dns_excused = 10h;         // excused earlier
    d = on_event(row, not_yet, p, at(t0 + 80h, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_waiting);
    d = on_event(row, not_yet, p, at(t0 + 102h, 0.5));
    EXPECT_EQ(d.after.state, domain_state::dns_failed);
}

TEST(StateMachine, GivingUpSaysWhatTheWaitWasAbout) {
    auto p = test_policy();
    p.dns_recheck = {1min, 30min, 72h};
    auto row = queued_row();
    row.state = domain_state::dns_waiting;
    row.state_since = t0;
    dns_verdict v{dns_verdict::outcome::not_yet, "shop.example.com: points to Azion, but CAA at example.com ..."};
    v.caa_forbids = true;
    EXPECT_EQ(on_event(row, v, p, at(t0 + 73h)).after.detail->substr(0, 40), "CAA still forbids Let's Encrypt after 72");
    v.names_not_pointing = true;
    EXPECT_EQ(on_event(row, v, p, at(t0 + 73h)).after.detail->substr(0, 44), "DNS still not ready for a certificate after ");
}

TEST(StateMachine, RowWhoseNamesNowPointLeavesDnsWaitingForRequesting) {
    auto row = queued_row();
    row.state = domain_state::dns_waiting;
    row.detail = "shop.example.com: no such name (NXDOMAIN)";
    row.dns_checks = 3;
    const auto d = on_event(row, dns_verdict{}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::requesting);
    EXPECT_FALSE(d.after.detail);
    EXPECT_EQ(d.next, action::send_request);
}

TEST(CertificateName, DerivedUniquePerRowAndGeneration) {
    auto row = queued_row();
    EXPECT_EQ(certificate_name_for(row), "certq-42-shop.example.com");
    row.generation = 2;
    EXPECT_EQ(certificate_name_for(row), "certq-42-shop.example.com-r2");
    row.certificate_name = "Customer 7 shop";
    EXPECT_EQ(certificate_name_for(row), "Customer 7 shop-r2");
    row.certificate_name = std::string(300, 'n');
    EXPECT_EQ(certificate_name_for(row).size(), 250u);
    EXPECT_EQ(certificate_name_for(row).substr(247), "-r2");
}

TEST(Backoff, DoublesUpToTheMax) {
    const backoff_config b{1s, 10s, 1h};
    EXPECT_EQ(backoff_delay(b, 0), 1s);
    EXPECT_EQ(backoff_delay(b, 1), 2s);
    EXPECT_EQ(backoff_delay(b, 3), 8s);
    EXPECT_EQ(backoff_delay(b, 4), 10s);
    EXPECT_EQ(backoff_delay(b, 1000), 10s);
}

} // namespace
} // namespace certq::engine
