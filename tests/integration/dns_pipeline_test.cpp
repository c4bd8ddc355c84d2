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

std::string detail_of(environment& env, const std::string& host) {
    auto stmt = env.db().prepare("SELECT coalesce(detail, '') FROM domains WHERE hostname = ?1");
    stmt.bind(1, host);
    return stmt.step() ? stmt.column_text(0) : "(no row)";
}

std::set<std::string> posted_names(const sim::azion_simulator& sim) {
    std::set<std::string> names;
    for (const auto& r : sim.requests()) {
        if (r.method != "POST") continue;
        const auto body = boost::json::parse(r.body).as_object();
        names.insert(std::string(body.at("common_name").as_string()));
    }
    return names;
}

daemon_settings dns_settings(const nsd_server& nsd, const std::string& give_up_after) {
    daemon_settings s;
    s.dns_yaml = "dns:\n  check: true\n  servers: [\"" + nsd.address() + "\"]\n"
                 "  edge_hostname: abc123.map.azionedge.net\n"
                 "  recheck: { first: 300ms, max: 1s, give_up_after: " + give_up_after + " }\n";
    return s;
}

TEST(DnsPipeline, OnlyRowsWhoseNamesAllPointReachAzionAndFixedRowsGoThrough) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options, dns_settings(nsd, "1h"));
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
               detail_of(env, "shop.unserved.net").find("inconclusive") != std::string::npos;
    };
    ASSERT_TRUE(wait_for(settled, 60s)) << daemon->output();

    EXPECT_EQ(detail_of(env, "www.shop.example.com"),
              "www.shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)");
    EXPECT_EQ(detail_of(env, "later.example.com"), "later.example.com: no such name (NXDOMAIN)");
    EXPECT_EQ(detail_of(env, "shop.caa-strict.net"),
              "caa-strict.net: CAA 0 issue \"digicert.com\" forbids Let's Encrypt");
    const auto san_detail = detail_of(env, "cn-ok.example.com");
    EXPECT_EQ(san_detail.find("cn-ok.example.com"), std::string::npos) << san_detail;
    EXPECT_NE(san_detail.find("san-bad.example.com \u2192 A 203.0.113.9"), std::string::npos) << san_detail;
    // Inconclusive is neither a verdict nor a reason to request: the row waits where it was.
    EXPECT_EQ(env.state_of("shop.unserved.net"), "queued");

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
    EXPECT_EQ(check_transitions(env.db()), "");
}

TEST(DnsPipeline, NotPointingGivesUpButInconclusiveNeverDoesAndRequeueChecksAtOnce) {
    scratch_dir nsd_dir;
    nsd_server nsd(nsd_dir);
    environment env({}, dns_settings(nsd, "2s"));
    env.db().exec("INSERT INTO domains (hostname) VALUES ('missing.example.com');"
                  "INSERT INTO domains (hostname) VALUES ('shop.unserved.net');");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return env.state_of("missing.example.com") == "dns_failed"; }, 60s))
        << daemon->output();
    EXPECT_EQ(detail_of(env, "missing.example.com"),
              "still not pointing to Azion after 2s:\nmissing.example.com: no such name (NXDOMAIN)");
    EXPECT_EQ(env.state_of("shop.unserved.net"), "queued");

    env.db().exec("UPDATE domains SET state = 'queued' WHERE state = 'dns_failed'");
    ASSERT_TRUE(wait_for([&] { return env.state_of("missing.example.com") == "dns_waiting"; }, 30s))
        << daemon->output();
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
    EXPECT_TRUE(posted_names(env.sim()).empty());
    EXPECT_EQ(check_transitions(env.db()), "");
}

} // namespace
} // namespace certq::testing
