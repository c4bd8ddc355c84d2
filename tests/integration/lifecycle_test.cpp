// A hostname's whole life through the real certqd, with the simulated Azion API and NSD for DNS,
// on schedules shortened by config: INSERT → active and served by its workload → renewed by Azion
// → its DNS moves away and back → re-queued with another name and replaced without a gap →
// offboarded. Plus a certificate that expires, and one about to.

#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

const char* const pointing_zone = "www.good IN CNAME good.provider.net.\n"
                                  "good IN CNAME abc123.map.azionedge.net.\n"
                                  "plain IN CNAME abc123.map.azionedge.net.\n";
const char* const moved_zone = "www.good IN CNAME shop.otherhost.net.\n"
                               "good IN CNAME abc123.map.azionedge.net.\n"
                               "plain IN CNAME abc123.map.azionedge.net.\n";

std::vector<std::string> states_of(environment& env, const std::string& host) {
    auto stmt = env.db().prepare(
        "SELECT t.to_state FROM transitions t JOIN domains d ON d.id = t.domain_id "
        "WHERE d.hostname = ?1 ORDER BY t.id");
    stmt.bind(1, host);
    std::vector<std::string> out;
    while (stmt.step())
        out.push_back(stmt.column_text(0));
    return out;
}

std::int64_t column_of(environment& env, const std::string& host, const std::string& column) {
    auto stmt =
        env.db().prepare("SELECT coalesce(" + column + ", 0) FROM domains WHERE hostname = ?1");
    stmt.bind(1, host);
    return stmt.step() ? stmt.column_int(0) : -1;
}

TEST(Lifecycle, InsertServedRenewedMovedBackReplacedRemovedEveryStepRecorded) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    nsd.replace_zone("example.com", pointing_zone);
    sim::sim_options options;
    options.issue_delay = 300ms;
    options.validity = std::chrono::hours{24 * 10}; // within monitor.expiry_warning (14d)
    daemon_settings s;
    s.requests_per_second = 50;
    s.poll_first = "200ms";
    s.poll_max = "1s";
    s.http_listen = "127.0.0.1:0";
    s.dns_yaml = "dns:\n  check: true\n  servers: [\"" + nsd.address() +
                 "\"]\n"
                 "  recheck: { first: 300ms, max: 1s, give_up_after: 1h }\n";
    s.extra_yaml = "monitor: { every: 1s, expiry_warning: 14d }\n";
    environment env(options, s);
    env.sim().put_workload({77, "shop", {}, std::nullopt});
    env.db().exec("INSERT INTO domains (hostname, workload_id) VALUES ('www.good.example.com', 77);"
                  "INSERT INTO domains (hostname) VALUES ('plain.example.com');");
    auto daemon = env.start_daemon();
    const auto port = logged_http_port(*daemon);
    ASSERT_NE(port, 0) << daemon->output();
    const std::string host = "www.good.example.com";

    // 1. Served by its workload.
    ASSERT_TRUE(wait_for(
        [&] {
            return env.state_of(host) == "active" && env.state_of("plain.example.com") == "active";
        },
        60s))
        << daemon->output();
    const auto first = column_of(env, host, "certificate_id");
    EXPECT_EQ(env.sim().workload(77)->certificate, first);
    EXPECT_EQ(env.sim().workload(77)->domains, std::vector<std::string>{host});
    // Ten days of validity is within the 14-day warning.
    ASSERT_TRUE(
        wait_for([&] { return metric_value(port, "certq_certificates_expiring") == 2; }, 30s))
        << http_get(port, "/metrics").second;
    const auto status = run_certq(env, {"status"});
    EXPECT_NE(status.find("2 certificate(s) end within 14d without renewal"), std::string::npos)
        << status;
    EXPECT_NE(run_certq(env, {"status", "--json"}).find("\"expiring\":2"), std::string::npos);

    // 2. Azion renews it: seen, recorded, counted.
    ASSERT_TRUE(env.sim().renew_certificate(first));
    ASSERT_TRUE(wait_for([&] { return column_of(env, host, "renewed_at IS NOT NULL") == 1; }, 30s))
        << daemon->output();
    EXPECT_NE(daemon->output().find("certificate " + std::to_string(first) + " renewed by Azion"),
              std::string::npos);
    EXPECT_EQ(metric_value(port, "certq_certificates_renewed_total"), 1);

    // 3. The customer points the name elsewhere, then back.
    nsd.replace_zone("example.com", moved_zone);
    ASSERT_TRUE(wait_for([&] { return env.state_of(host) == "moved"; }, 30s)) << daemon->output();
    EXPECT_NE(env.detail_of(host).find("shop.otherhost.net"), std::string::npos)
        << env.detail_of(host);
    nsd.replace_zone("example.com", pointing_zone);
    ASSERT_TRUE(wait_for([&] { return env.state_of(host) == "active"; }, 30s)) << daemon->output();
    EXPECT_EQ(env.detail_of(host), "names point to Azion again");

    // 4. Re-queued with another name: a new certificate, attached in place of the old one, which
    //    is deleted only afterwards.
    env.db().exec(
        "UPDATE domains SET alternative_names = '[\"good.example.com\"]', state = 'queued' "
        "WHERE hostname = 'www.good.example.com'");
    ASSERT_TRUE(wait_for(
        [&] {
            return env.state_of(host) == "active" &&
                   column_of(env, host, "certificate_id") != first;
        },
        60s))
        << daemon->output();
    const auto second = column_of(env, host, "certificate_id");
    EXPECT_EQ(env.sim().workload(77)->certificate, second);
    EXPECT_EQ(env.sim().workload(77)->domains,
              (std::vector<std::string>{host, "good.example.com"}));
    ASSERT_TRUE(wait_for(
        [&] {
            for (const auto& c : env.sim().certificates())
                if (c.id == first) return c.deleted;
            return false;
        },
        30s))
        << daemon->output();
    // No gap: the workload was switched to the new certificate before the old one was deleted.
    std::size_t patched = 0, deleted = 0;
    const auto log = env.sim().requests();
    for (std::size_t i = 0; i < log.size(); ++i) {
        if (log[i].method == "PATCH" &&
            log[i].body.find(std::to_string(second)) != std::string::npos && !patched)
            patched = i + 1;
        if (log[i].method == "DELETE" &&
            log[i].target.find(std::to_string(first)) != std::string::npos && log[i].status == 200)
            deleted = i + 1;
    }
    EXPECT_GT(patched, 0u);
    EXPECT_GT(deleted, patched);
    EXPECT_EQ(env.count("SELECT count(*) FROM retired_certificates"), 0);

    // 5. A certificate Azion lets expire fails its row with Azion's word.
    ASSERT_TRUE(
        env.sim().expire_certificate(column_of(env, "plain.example.com", "certificate_id")));
    ASSERT_TRUE(wait_for([&] { return env.state_of("plain.example.com") == "failed"; }, 30s))
        << daemon->output();
    EXPECT_EQ(env.detail_of("plain.example.com").rfind("Azion reports certificate", 0), 0u)
        << env.detail_of("plain.example.com");

    // 6. Offboarded: off the workload, then deleted, then removed.
    env.db().exec("UPDATE domains SET wanted = 'absent' WHERE hostname = 'www.good.example.com'");
    ASSERT_TRUE(wait_for([&] { return env.state_of(host) == "removed"; }, 30s)) << daemon->output();
    EXPECT_TRUE(env.sim().workload(77)->domains.empty());
    EXPECT_FALSE(env.sim().workload(77)->certificate);
    for (const auto& c : env.sim().certificates())
        if (c.id == second) {
            EXPECT_TRUE(c.deleted);
        }

    EXPECT_EQ(states_of(env, host),
              (std::vector<std::string>{"queued", "requesting", "pending", "attaching", "active",
                                        "moved", "active", "queued", "requesting", "pending",
                                        "attaching", "active", "removing", "removed"}));
    EXPECT_EQ(check_transitions(env), "");
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Lifecycle, ARetryAfterAFailedAttachUsesTheSameCertificateAndNoBudget) {
    sim::sim_options options;
    options.issue_delay = 200ms;
    daemon_settings s;
    s.poll_first = "200ms";
    s.poll_max = "1s";
    // A failed attach gives up at once; the certificate is kept.
    s.dns_yaml = "dns: { check: false, recheck: { first: 200ms, max: 1s, give_up_after: 1s } }\n";
    environment env(options, s);
    env.sim().put_workload({9, "site", {"blog.elsewhere.com"}, std::nullopt});
    env.db().exec("INSERT INTO domains (hostname, workload_id) VALUES ('shop.retry.com', 9)");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return env.state_of("shop.retry.com") == "failed"; }, 60s))
        << daemon->output();
    EXPECT_NE(env.detail_of("shop.retry.com").find("blog.elsewhere.com"), std::string::npos);
    const auto cert = column_of(env, "shop.retry.com", "certificate_id");
    ASSERT_NE(cert, 0);

    // A person fixes the workload and re-queues the row: the same certificate goes on it.
    env.sim().put_workload({9, "site", {}, std::nullopt});
    env.db().exec("UPDATE domains SET state = 'queued' WHERE hostname = 'shop.retry.com'");
    ASSERT_TRUE(wait_for([&] { return env.state_of("shop.retry.com") == "active"; }, 60s))
        << daemon->output();
    EXPECT_EQ(column_of(env, "shop.retry.com", "certificate_id"), cert);
    EXPECT_EQ(env.sim().workload(9)->certificate, cert);
    int posts = 0;
    for (const auto& r : env.sim().requests())
        posts += r.method == "POST";
    EXPECT_EQ(posts, 1) << "no second request to Let's Encrypt";
    EXPECT_EQ(env.count("SELECT count(*) FROM le_requests"), 1);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Lifecycle, CertqCheckExplainsOneHostnameFromDnsTheRowAndAzion) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    sim::sim_options options;
    options.issue_delay = 200ms;
    daemon_settings s;
    s.poll_first = "200ms";
    s.dns_yaml = "dns:\n  check: true\n  servers: [\"" + nsd.address() + "\"]\n";
    environment env(options, s);
    env.sim().put_workload({5, "shop", {}, std::nullopt});
    env.db().exec("INSERT INTO domains (hostname, workload_id) VALUES ('www.good.example.com', 5)");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return env.state_of("www.good.example.com") == "active"; }, 60s))
        << daemon->output();
    const auto cert = std::to_string(column_of(env, "www.good.example.com", "certificate_id"));
    const std::map<std::string, std::string> token{{"AZION_TOKEN", "sim-token"}};

    int rc = -1;
    auto out = run_certq(env, {"check", "www.good.example.com"}, "", &rc, token);
    EXPECT_EQ(rc, 0) << out;
    for (const auto& line : std::vector<std::string>{
             "www.good.example.com: points to Azion",
             "www.good.example.com \u2192 CNAME good.provider.net \u2192 CNAME "
             "abc123.map.azionedge.net",
             "no CAA record set up to example.com (any certificate authority may issue)",
             "every name points to Azion", "row #1: active \u2014 serving on workload 5 (1 domain)",
             "certificate " + cert + " at Azion: active, valid until ",
             "workload 5 at Azion: serves certificate " + cert +
                 " (this row's) for www.good.example.com"})
        EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;

    // A name with no row, whose DNS points elsewhere: exit 1 and the reason; JSON says the same.
    out = run_certq(env, {"check", "www.shop.example.com"}, "", &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("www.shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("no row for this hostname"), std::string::npos) << out;
    out = run_certq(env, {"check", "shop.caa-strict.net", "--json"}, "", &rc);
    EXPECT_EQ(rc, 1) << out;
    const auto j = boost::json::parse(out).as_object();
    EXPECT_FALSE(j.at("would_request").as_bool());
    EXPECT_EQ(j.at("names").as_array().at(0).at("verdict").as_string(), "not ready");
    EXPECT_NE(std::string(j.at("names").as_array().at(0).at("problem").as_string())
                  .find("CAA at caa-strict.net allows only digicert.com"),
              std::string::npos)
        << out;
    out = run_certq(env, {"check"}, "", &rc);
    EXPECT_EQ(rc, 2) << out;
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0);
}

} // namespace
} // namespace certq::testing
