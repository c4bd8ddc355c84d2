// The DNS pre-check through the real certqd binary: NSD on loopback answers for the customer
// zones, the simulated Azion API records what reaches it.

#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

std::set<std::string> posted_names(const sim::azion_simulator& sim) {
    std::set<std::string> names;
    for (const auto& r : sim.requests()) {
        if (r.method != "POST") continue;
        const auto body = boost::json::parse(r.body).as_object();
        names.insert(std::string(body.at("common_name").as_string()));
    }
    return names;
}

daemon_settings dns_settings(const std::string& server, const std::string& give_up_after) {
    daemon_settings s;
    s.dns_yaml = "dns:\n  check: true\n  servers: [\"" + server + "\"]\n"
                 "  edge_hostname: abc123.map.azionedge.net\n"
                 "  recheck: { first: 300ms, max: 1s, give_up_after: " + give_up_after + " }\n";
    return s;
}

TEST(DnsPipeline, OnlyRowsWhoseNamesAllPointReachAzionAndFixedRowsGoThrough) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options, dns_settings(nsd.address(), "1h"));
    env.db().exec(R"(
        INSERT INTO domains (hostname) VALUES ('www.good.example.com');
        INSERT INTO domains (hostname, alternative_names) VALUES ('example.org', '["www.example.org"]');
        INSERT INTO domains (hostname) VALUES ('shop.caa-ok.net');
        INSERT INTO domains (hostname) VALUES ('www.shop.example.com');
        INSERT INTO domains (hostname) VALUES ('later.example.com');
        INSERT INTO domains (hostname) VALUES ('shop.caa-strict.net');
        INSERT INTO domains (hostname, alternative_names) VALUES ('cn-ok.example.com', '["san-bad.example.com"]');
        INSERT INTO domains (hostname) VALUES ('shop.unserved.net');
    )");
    auto daemon = env.start_daemon();
    const auto settled = [&] {
        return env.state_of("www.good.example.com") == "active" && env.state_of("example.org") == "active" &&
               env.state_of("shop.caa-ok.net") == "active" &&
               env.state_of("www.shop.example.com") == "dns_waiting" &&
               env.state_of("later.example.com") == "dns_waiting" &&
               env.state_of("shop.caa-strict.net") == "dns_waiting" &&
               env.state_of("cn-ok.example.com") == "dns_waiting" &&
               env.detail_of("shop.unserved.net").find("inconclusive") != std::string::npos;
    };
    ASSERT_TRUE(wait_for(settled, 60s)) << daemon->output();

    EXPECT_EQ(env.detail_of("www.shop.example.com"),
              "www.shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)");
    EXPECT_EQ(env.detail_of("later.example.com"), "later.example.com: no such name (NXDOMAIN)");
    EXPECT_EQ(env.detail_of("shop.caa-strict.net"),
              "shop.caa-strict.net: points to Azion, but CAA at caa-strict.net allows only digicert.com "
              "(0 issue \"digicert.com\"); Let's Encrypt needs 0 issue \"letsencrypt.org\" there");
    const auto san_detail = env.detail_of("cn-ok.example.com");
    EXPECT_EQ(san_detail.find("cn-ok.example.com"), std::string::npos) << san_detail;
    EXPECT_NE(san_detail.find("san-bad.example.com \u2192 A 203.0.113.9"), std::string::npos) << san_detail;
    // Inconclusive is no reason to request: the row waits for DNS like one not pointing.
    EXPECT_EQ(env.state_of("shop.unserved.net"), "dns_waiting");
    EXPECT_EQ(env.detail_of("shop.unserved.net"),
              "DNS did not answer conclusively; checking again later:\n"
              "shop.unserved.net: DNS check inconclusive (no server gave an answer: SERVFAIL, REFUSED or unreachable)");

    // The customer fixes DNS; certqd notices on its next re-check, without a restart.
    nsd.replace_zone("example.com", "www.good IN CNAME good.provider.net.\n"
                                    "www.shop IN CNAME shop.otherhost.net.\n"
                                    "cn-ok IN CNAME abc123.map.azionedge.net.\n"
                                    "san-bad IN A 203.0.113.9\n"
                                    "later IN CNAME abc123.map.azionedge.net.\n");
    ASSERT_TRUE(wait_for([&] { return env.state_of("later.example.com") == "active"; }, 60s)) << daemon->output();

    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
    EXPECT_EQ(posted_names(env.sim()),
              (std::set<std::string>{"www.good.example.com", "example.org", "shop.caa-ok.net", "later.example.com"}));
    EXPECT_EQ(check_transitions(env), "");
}

TEST(DnsPipeline, NotPointingCaaAndNeverConclusiveAllGiveUpEachSayingWhyAndRequeueChecksAtOnce) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    environment env({}, dns_settings(nsd.address(), "2s"));
    env.db().exec("INSERT INTO domains (hostname) VALUES ('missing.example.com');"
                  "INSERT INTO domains (hostname) VALUES ('shop.lame.net');"
                  "INSERT INTO domains (hostname) VALUES ('shop.caa-strict.net');");
    auto daemon = env.start_daemon({"--exit-when-done"});
    // Nothing here can ever be issued: certqd finishes by itself.
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    EXPECT_EQ(env.state_of("missing.example.com"), "dns_failed");
    EXPECT_EQ(env.detail_of("missing.example.com"),
              "still not pointing to Azion after 2s:\nmissing.example.com: no such name (NXDOMAIN)");
    EXPECT_EQ(env.state_of("shop.lame.net"), "dns_failed");
    EXPECT_EQ(env.detail_of("shop.lame.net"),
              "DNS never answered conclusively in 2s:\n"
              "shop.lame.net: DNS check inconclusive (no server gave an answer: SERVFAIL, REFUSED or unreachable)");
    EXPECT_EQ(env.state_of("shop.caa-strict.net"), "dns_failed");
    EXPECT_EQ(env.detail_of("shop.caa-strict.net").rfind("CAA still forbids Let's Encrypt after 2s:\n"
                                                          "shop.caa-strict.net: points to Azion, but CAA at caa-strict.net", 0),
              0u) << env.detail_of("shop.caa-strict.net");
    // Inconclusive names are re-checked with the same backoff as the others, not every 30 s.
    const auto checks = env.count("SELECT dns_checks FROM domains WHERE hostname = 'shop.lame.net'");
    EXPECT_GE(checks, 2);
    EXPECT_LE(checks, 6); // 300 ms, 600 ms, 1 s, 1 s, ... within 2 s

    daemon = env.start_daemon();
    env.db().exec("UPDATE domains SET state = 'queued' WHERE hostname = 'missing.example.com'");
    ASSERT_TRUE(wait_for([&] { return env.state_of("missing.example.com") == "dns_waiting"; }, 30s))
        << daemon->output();
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
    EXPECT_TRUE(posted_names(env.sim()).empty());
    EXPECT_EQ(check_transitions(env), "");
}

TEST(DnsPipeline, WhenCertqsOwnResolversAnswerNothingNoRowIsFailedOrChargedAndWorkResumes) {
    const auto port = free_loopback_port(); // no DNS server here yet
    scratch_dir nsd_dir;
    auto s = dns_settings("127.0.0.1:" + std::to_string(port), "3s");
    s.http_listen = "127.0.0.1:0";
    environment env({}, s);
    env.db().exec("INSERT INTO domains (hostname) VALUES ('www.good.example.com');"
                  "INSERT INTO domains (hostname) VALUES ('missing.example.com');");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return daemon->output().find("are not answering") != std::string::npos; }, 30s))
        << daemon->output();
    const auto metrics_port = logged_http_port(*daemon);
    ASSERT_NE(metrics_port, 0) << daemon->output();
    const auto health = http_get(metrics_port, "/healthz");
    EXPECT_EQ(health.first, 503u);
    EXPECT_NE(health.second.find("DNS resolvers are not answering"), std::string::npos) << health.second;
    EXPECT_NE(http_get(metrics_port, "/metrics").second.find("certq_dns_resolvers_up 0"), std::string::npos);
    // Longer than give_up_after passes with every check postponed: 30 checks of two rows, each
    // row's at least 240 ms apart (300 ms ± 20 %), take over 3.6 s. Nothing is failed.
    ASSERT_TRUE(wait_for([&] { return metric_value(metrics_port, "certq_dns_checks_total{result=\"resolvers_down\"}") >= 30; }, 30s))
        << daemon->output();
    EXPECT_EQ(env.state_of("www.good.example.com"), "queued");
    EXPECT_EQ(env.state_of("missing.example.com"), "queued");
    EXPECT_NE(env.detail_of("missing.example.com").find("resolvers are not answering"), std::string::npos);

    // The resolvers come back: work resumes without a restart.
    nsd_server nsd(nsd_dir, port);
    ASSERT_TRUE(wait_for([&] { return env.state_of("www.good.example.com") == "active"; }, 60s)) << daemon->output();
    EXPECT_EQ(http_get(metrics_port, "/healthz").first, 200u);
    ASSERT_TRUE(wait_for([&] { return env.state_of("missing.example.com") == "dns_failed"; }, 60s)) << daemon->output();
    EXPECT_NE(daemon->output().find("DNS resolvers answer again"), std::string::npos);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
    EXPECT_EQ(check_transitions(env), "");
}

} // namespace
} // namespace certq::testing
