// Putting a certificate on a workload and taking it off, decided from the workload as Azion
// shows it, and the row's way through `attaching` — without sockets or clocks.

#include "engine/state_machine.hpp"
#include "engine/workload_plan.hpp"

#include <gtest/gtest.h>

namespace certq::engine {
namespace {

using namespace std::chrono_literals;
using store::domain_row;

const wall_time t0 = from_unix_ms(1'800'000'000'000);

azion::workload workload(std::vector<std::string> domains,
                         std::optional<std::int64_t> certificate = std::nullopt) {
    return {7, "shop", std::move(domains), certificate};
}

TEST(WorkloadPlan, CoversNamesExactlyOrByAWildcardOneLabelDeep) {
    const std::vector<std::string> names{"shop.example.com", "*.cdn.example.com"};
    EXPECT_TRUE(covers(names, "SHOP.example.com."));
    EXPECT_TRUE(covers(names, "img.cdn.example.com"));
    EXPECT_FALSE(covers(names, "a.img.cdn.example.com"));
    EXPECT_FALSE(covers(names, "cdn.example.com"));
    EXPECT_FALSE(covers(names, "www.shop.example.com"));
    EXPECT_FALSE(covers({"shop.example.com"},
                        "*.shop.example.com")); // a wildcard domain needs a wildcard name
    EXPECT_TRUE(covers({"*.shop.example.com"}, "*.shop.example.com"));
}

TEST(WorkloadPlan, AttachAddsTheRowsNamesKeepsWhatIsThereAndSetsTheCertificate) {
    const std::vector<std::string> names{"shop.example.com", "www.shop.example.com"};
    auto plan = plan_attach(workload({"www.shop.example.com"}), 9001, names);
    ASSERT_TRUE(plan.patch);
    EXPECT_FALSE(plan.refused);
    EXPECT_EQ(*plan.patch->domains,
              (std::vector<std::string>{"www.shop.example.com", "shop.example.com"}));
    EXPECT_TRUE(plan.patch->set_certificate);
    EXPECT_EQ(plan.patch->certificate, 9001);
    EXPECT_EQ(
        azion::to_json(*plan.patch),
        R"({"domains":["www.shop.example.com","shop.example.com"],"tls":{"certificate":9001}})");

    plan = plan_attach(workload({"shop.example.com", "www.shop.example.com"}), 9001, names);
    ASSERT_TRUE(plan.patch);
    EXPECT_FALSE(plan.patch->domains) << "domains unchanged: not sent";

    EXPECT_TRUE(
        plan_attach(workload({"www.shop.example.com", "shop.example.com"}, 9001), 9001, names)
            .done);
}

TEST(WorkloadPlan, AttachIsRefusedWhenItWouldBreakANameOrPassFifty) {
    const std::vector<std::string> names{"shop.example.com"};
    auto plan = plan_attach(workload({"blog.example.com", "shop.example.com", "*.example.com"}),
                            9001, names);
    ASSERT_TRUE(plan.refused);
    EXPECT_FALSE(plan.patch);
    EXPECT_EQ(*plan.refused, "not put on workload 7: it serves blog.example.com, *.example.com, "
                             "which certificate 9001 does not "
                             "cover, and would stop serving them over HTTPS (add them to the row's "
                             "alternative_names, or take "
                             "them off the workload)");

    std::vector<std::string> many;
    for (int i = 0; i < 49; ++i)
        many.push_back("n" + std::to_string(i) + ".example.com");
    auto with_all = many;
    with_all.push_back("shop.example.com");
    with_all.push_back("www.shop.example.com");
    plan = plan_attach(workload(many), 9001, with_all);
    ASSERT_TRUE(plan.refused);
    EXPECT_NE(plan.refused->find("it would serve 51 domains"), std::string::npos) << *plan.refused;
    with_all.pop_back();
    EXPECT_TRUE(plan_attach(workload(many), 9001, with_all).patch) << "exactly 50 is fine";
}

TEST(WorkloadPlan, DetachTakesOnlyTheRowsNamesOffAndItsCertificateOnlyWhenServed) {
    const std::vector<std::string> names{"shop.example.com"};
    auto plan = plan_detach(workload({"shop.example.com", "other.example.com"}, 9001), {9001}, names);
    ASSERT_TRUE(plan.patch);
    EXPECT_EQ(azion::to_json(*plan.patch),
              R"({"domains":["other.example.com"],"tls":{"certificate":null}})");
    plan = plan_detach(workload({"shop.example.com"}, 1234), {9001}, names);
    EXPECT_EQ(azion::to_json(*plan.patch), R"({"domains":[]})")
        << "another certificate is left alone";
    EXPECT_TRUE(plan_detach(workload({"other.example.com"}, 1234), {9001}, names).done);
    EXPECT_TRUE(plan_detach(workload({}), {}, names).done);
}

// ---- the row ---------------------------------------------------------------------------------

policy test_policy() {
    policy p;
    p.dns_recheck = {1min, 30min, 72h};
    return p;
}

moment at(wall_time t) {
    return {t, 0.5};
}

domain_row pending_row_with_workload() {
    domain_row r;
    r.id = 42;
    r.hostname = "shop.example.com";
    r.alternative_names = R"(["www.shop.example.com"])";
    r.state = domain_state::pending;
    r.state_since = t0;
    r.certificate_id = 9001;
    r.workload_id = 7;
    return r;
}

azion::certificate active_certificate() {
    azion::certificate c;
    c.id = 9001;
    c.status = "active";
    c.validity = "2027-03-01 00:00:00+00:00";
    return c;
}

workload_seen seen(azion::workload w, bool pending = false, bool after_patch = false) {
    return {{std::move(w), pending}, after_patch};
}

TEST(Attaching, AnActiveCertificateGoesOnTheWorkloadBeforeTheRowIsActive) {
    auto row = pending_row_with_workload();
    auto d = on_event(row, certificate_seen{active_certificate()}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching);
    EXPECT_EQ(d.next, action::read_workload);
    EXPECT_EQ(d.workload, 7);
    row = d.after;

    d = on_event(row, seen(workload({"www.shop.example.com"})), test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching);
    ASSERT_EQ(d.next, action::patch_workload);
    EXPECT_EQ(d.workload, 7);
    ASSERT_TRUE(d.patch);

    const auto after = workload({"www.shop.example.com", "shop.example.com"}, 9001);
    d = on_event(row, seen(after, false, true), test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::active);
    EXPECT_EQ(d.after.attached_workload_id, 7);
    EXPECT_EQ(d.after.detail, "serving on workload 7 (2 domains)");
    EXPECT_EQ(d.next, action::none);
}

TEST(Attaching, WithoutAWorkloadTheRowIsActiveAtOnce) {
    auto row = pending_row_with_workload();
    row.workload_id.reset();
    const auto d = on_event(row, certificate_seen{active_certificate()}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::active);
    EXPECT_FALSE(d.after.attached_workload_id);
}

TEST(Attaching, A202IsReadAgainUntilTheWorkloadShowsIt) {
    auto row = pending_row_with_workload();
    row.state = domain_state::attaching;
    auto d = on_event(row, seen(workload({}), true, true), test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching);
    EXPECT_EQ(d.next, action::none);
    EXPECT_EQ(d.after.polls, 1);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1s);
    EXPECT_EQ(d.after.detail, "workload 7 is applying the change");
    row = d.after;
    EXPECT_EQ(on_due(row, test_policy(), at(t0 + 1s)).next, action::read_workload);
    // Read back before Azion applied it: wait again, no second PATCH racing with the first.
    d = on_event(row, seen(workload({})), test_policy(), at(t0 + 1s));
    EXPECT_EQ(d.next, action::none);
    EXPECT_EQ(d.after.polls, 2);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1s + 2s);
    row = d.after;
    d = on_event(row, seen(workload({"shop.example.com", "www.shop.example.com"}, 9001)),
                 test_policy(), at(t0 + 3s));
    EXPECT_EQ(d.after.state, domain_state::active);
}

TEST(Attaching, ARefusalKeepsTheCertificateRetriesOnTheRecheckScheduleThenFails) {
    auto row = pending_row_with_workload();
    row.state = domain_state::attaching;
    auto d = on_event(row, seen(workload({"blog.example.com"})), test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching);
    EXPECT_EQ(d.next, action::none);
    EXPECT_EQ(d.after.certificate_id, 9001);
    EXPECT_EQ(d.after.attach_tries, 1);
    EXPECT_EQ(d.after.next_attempt_at, t0 + 1min);
    EXPECT_NE(d.after.detail->find("blog.example.com"), std::string::npos);

    azion::diagnostics diag;
    diag.http_status = 400;
    diag.azion_message = "Bad Request: Ensure this field has no more than 50 elements.";
    d = on_event(row, request_refused{diag}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching) << "a refused PATCH is not a failed row";
    EXPECT_NE(d.after.detail->find("Azion refused to change workload 7"), std::string::npos);

    d = on_event(row, workload_missing{}, test_policy(), at(t0 + 72h));
    EXPECT_EQ(d.after.state, domain_state::failed);
    EXPECT_EQ(d.after.certificate_id, 9001);
    EXPECT_EQ(d.after.detail,
              "certificate 9001 is active but could not be put on workload 7 in 72h: workload 7 "
              "does not exist at Azion (404)");
}

TEST(Attaching, IntakeRefusesMoreThanFiftyNamesAndAWorkloadIdThatIsNoNumber) {
    domain_row row;
    row.id = 1;
    row.hostname = "a.example.com";
    std::string sans = "[";
    for (int i = 0; i < 50; ++i)
        sans += std::string(i ? "," : "") + "\"n" + std::to_string(i) + ".example.com\"";
    row.alternative_names = sans + "]";
    row.workload_id = 7;
    auto d = on_due(row, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::invalid);
    EXPECT_EQ(d.after.detail,
              "51 names (common name and alternative names) on a row with workload_id 7: Azion "
              "serves at most 50 domains on one workload");
    row.workload_id.reset();
    EXPECT_EQ(on_due(row, test_policy(), at(t0)).next, action::claim_names)
        << "without a workload 51 is fine";
    row.alternative_names = "[]";
    row.workload_id_text = "seven";
    d = on_due(row, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::invalid);
    EXPECT_EQ(d.after.detail,
              "workload_id \"seven\" is not a workload id (a positive whole number)");
}

TEST(Offboarding, AnAttachedRowLeavesTheWorkloadBeforeItsCertificateIsDeleted) {
    auto row = pending_row_with_workload();
    row.state = domain_state::active;
    row.attached_workload_id = 7;
    row.wanted_absent = true;
    auto d = on_due(row, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::removing);
    EXPECT_EQ(d.next, action::read_workload);
    EXPECT_EQ(d.workload, 7);
    row = d.after;
    d = on_event(
        row,
        seen(workload({"shop.example.com", "www.shop.example.com", "other.example.com"}, 9001)),
        test_policy(), at(t0));
    ASSERT_EQ(d.next, action::patch_workload);
    EXPECT_EQ(azion::to_json(*d.patch),
              R"({"domains":["other.example.com"],"tls":{"certificate":null}})");
    d = on_event(row, seen(workload({"other.example.com"}), false, true), test_policy(), at(t0));
    EXPECT_EQ(d.next, action::delete_certificate);
    EXPECT_FALSE(d.after.attached_workload_id);
    EXPECT_EQ(d.after.certificate_id, 9001);
    d = on_event(d.after, certificate_deleted{}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::removed);

    // The certificate already gone at Azion: the names still come off the workload first.
    d = on_event(row, certificate_gone{}, test_policy(), at(t0));
    EXPECT_EQ(d.next, action::read_workload);
    // And a workload that no longer exists has nothing to take off.
    d = on_event(row, workload_missing{}, test_policy(), at(t0));
    EXPECT_EQ(d.next, action::delete_certificate);
}

// ---- re-queue without waste, and the slow schedule ------------------------------------------

TEST(Requeue, AnActiveCertificateForTheSameNamesIsUsedAgainInsteadOfANewRequest) {
    auto row = pending_row_with_workload();
    row.state = domain_state::queued;
    row.certificate_id.reset();
    row.previous_certificate_id = 9001;
    auto d = on_event(row, names_claimed{}, test_policy(), at(t0));
    EXPECT_EQ(d.next, action::read_previous);

    auto same = active_certificate();
    same.subject_name = {"WWW.shop.example.com", "shop.example.com"};
    d = on_event(row, previous_seen{same}, test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::attaching);
    EXPECT_EQ(d.after.certificate_id, 9001);
    EXPECT_FALSE(d.after.previous_certificate_id);
    EXPECT_EQ(d.next, action::read_workload);
    EXPECT_FALSE(d.claim) << "no Let's Encrypt budget is spent";

    auto other = same;
    other.subject_name = {"shop.example.com"}; // the row asks for www too now
    d = on_event(row, previous_seen{other}, test_policy(), at(t0));
    EXPECT_EQ(d.next, action::check_dns);
    EXPECT_EQ(d.after.previous_certificate_id, 9001) << "kept serving until the new one replaces it";
    EXPECT_EQ(on_event(row, previous_seen{}, test_policy(), at(t0)).next, action::check_dns);

    // The new certificate on the workload lets the previous one go (the store retires it).
    row.state = domain_state::attaching;
    row.certificate_id = 9100;
    d = on_event(row, seen(workload({"shop.example.com", "www.shop.example.com"}, 9100)), test_policy(), at(t0));
    EXPECT_EQ(d.after.state, domain_state::active);
    EXPECT_FALSE(d.after.previous_certificate_id);
}

TEST(Watching, RecordsRenewalsFailsExpiredCertificatesAndFollowsNamesThatMove) {
    auto p = test_policy();
    p.monitor_every = 24h;
    p.moved_remove_after = 30 * 24h;
    auto row = pending_row_with_workload();
    row.state = domain_state::active;
    row.renewed_at = std::nullopt;
    monitor_report report;
    report.certificate = active_certificate();
    report.certificate->renewed_at = "2027-01-30 00:00:00+00:00";
    report.dns = dns_verdict{};
    auto md = on_monitor(row, report, p, at(t0));
    EXPECT_TRUE(md.renewed);
    EXPECT_EQ(md.d.after.state, domain_state::active);
    EXPECT_EQ(md.d.after.renewed_at, "2027-01-30 00:00:00+00:00");
    EXPECT_GE(*md.d.after.next_attempt_at, t0 + 24h * 9 / 10);
    EXPECT_LE(*md.d.after.next_attempt_at, t0 + 24h * 11 / 10);
    row.renewed_at = "2027-01-30 00:00:00+00:00";
    EXPECT_FALSE(on_monitor(row, report, p, at(t0)).renewed) << "the same renewal is seen once";

    dns_verdict away{dns_verdict::outcome::not_yet, "shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)"};
    report.dns = away;
    md = on_monitor(row, report, p, at(t0));
    EXPECT_EQ(md.d.after.state, domain_state::moved);
    EXPECT_EQ(*md.d.after.detail, "names no longer point to Azion (its renewal needs them to):\n"
                                  "shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)");
    row = md.d.after;
    row.state_since = t0;
    report.dns = dns_verdict{dns_verdict::outcome::inconclusive, "x"};
    EXPECT_EQ(on_monitor(row, report, p, at(t0 + 1h)).d.after.state, domain_state::moved);
    report.dns = dns_verdict{};
    md = on_monitor(row, report, p, at(t0 + 2h));
    EXPECT_EQ(md.d.after.state, domain_state::active);
    EXPECT_EQ(md.d.after.detail, "names point to Azion again");

    report.dns = away;
    md = on_monitor(row, report, p, at(t0 + 31 * 24h));
    EXPECT_EQ(md.d.after.state, domain_state::moved);
    EXPECT_TRUE(md.d.after.wanted_absent) << "moved past moved.remove_after: offboarded";
    EXPECT_EQ(md.d.after.next_attempt_at, t0 + 31 * 24h);
    p.moved_remove_after = 0ms;
    EXPECT_FALSE(on_monitor(row, report, p, at(t0 + 365 * 24h)).d.after.wanted_absent) << "0: never";

    report.certificate->status = "expired";
    md = on_monitor(row, report, p, at(t0));
    EXPECT_EQ(md.d.after.state, domain_state::failed);
    EXPECT_EQ(*md.d.after.detail, "Azion reports certificate 9001 expired");
    report.certificate.reset();
    report.gone = true;
    EXPECT_EQ(*on_monitor(row, report, p, at(t0)).d.after.detail, "certificate 9001 no longer exists at Azion");
}

} // namespace
} // namespace certq::engine
