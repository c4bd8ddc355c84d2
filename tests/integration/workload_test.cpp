// Onboarding that ends with the hostname served: the real certqd puts each row's certificate on
// the workload it names at the simulated Azion API, refuses what would break a site, follows 202s,
// and takes the names and the certificate off again when the row is offboarded.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t certificate_of(environment& env, const std::string& host) {
    auto stmt =
        env.db().prepare("SELECT coalesce(certificate_id, 0) FROM domains WHERE hostname = ?1");
    stmt.bind(1, host);
    return stmt.step() ? stmt.column_int(0) : 0;
}

bool has(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

daemon_settings attach_settings() {
    daemon_settings s;
    s.requests_per_second = 100;
    s.burst = 10;
    s.poll_first = "200ms";
    s.poll_max = "1s";
    // Refused attaches are tried again on dns.recheck.
    s.dns_yaml = "dns: { check: false, recheck: { first: 300ms, max: 1s, give_up_after: 1h } }\n";
    return s;
}

TEST(Workloads, TwentyRowsOnTwentyWorkloadsAttachRefuseWhatWouldBreakAndGoOnOnceFixed) {
    sim::sim_options options;
    options.issue_delay = 300ms;
    environment env(options, attach_settings());
    // Workloads 1..17 are empty; 18 already serves the row's www name (covered: kept); 19 serves
    // a name the certificate does not cover (refused until a person fixes it); 20 does not exist
    // yet (created later).
    for (int w = 1; w <= 17; ++w)
        env.sim().put_workload({w, "site" + std::to_string(w), {}, std::nullopt});
    env.sim().put_workload({18, "site18", {"www.shop18.customer18.com"}, std::nullopt});
    env.sim().put_workload({19, "site19", {"blog.elsewhere.com"}, std::nullopt});
    {
        sqlite::transaction tx(env.db());
        auto stmt = env.db().prepare(
            "INSERT INTO domains (hostname, alternative_names, workload_id) VALUES (?1, ?2, ?3)");
        for (int i = 1; i <= 20; ++i) {
            const auto host = "shop" + std::to_string(i) + ".customer" + std::to_string(i) + ".com";
            stmt.bind(1, host)
                .bind(2, "[\"www." + host + "\"]")
                .bind(3, static_cast<std::int64_t>(i));
            stmt.run();
        }
        tx.commit();
    }
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for(
        [&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 18; },
        60s))
        << daemon->output();
    ASSERT_TRUE(wait_for(
        [&] {
            return env.detail_of("shop19.customer19.com").find("blog.elsewhere.com") !=
                       std::string::npos &&
                   env.detail_of("shop20.customer20.com").find("does not exist") !=
                       std::string::npos;
        },
        30s))
        << daemon->output();
    EXPECT_EQ(env.state_of("shop19.customer19.com"), "attaching");
    EXPECT_EQ(env.state_of("shop20.customer20.com"), "attaching");
    // The refused workload was left as it was.
    EXPECT_EQ(env.sim().workload(19)->domains, std::vector<std::string>{"blog.elsewhere.com"});
    EXPECT_FALSE(env.sim().workload(19)->certificate);

    for (int i = 1; i <= 18; ++i) {
        const auto host = "shop" + std::to_string(i) + ".customer" + std::to_string(i) + ".com";
        const auto w = env.sim().workload(i);
        ASSERT_TRUE(w);
        EXPECT_EQ(w->certificate, certificate_of(env, host)) << host;
        EXPECT_TRUE(has(w->domains, host) && has(w->domains, "www." + host)) << host;
        EXPECT_EQ(w->domains.size(), 2u) << "the www name already there is not added twice";
        EXPECT_EQ(env.detail_of(host), "serving on workload " + std::to_string(i) + " (2 domains)");
    }

    // A person fixes workload 19 and creates 20: both are attached without a restart.
    env.sim().put_workload({19, "site19", {}, std::nullopt});
    env.sim().put_workload({20, "site20", {}, std::nullopt});
    ASSERT_TRUE(wait_for(
        [&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 20; },
        60s))
        << daemon->output();
    EXPECT_EQ(env.sim().workload(19)->certificate, certificate_of(env, "shop19.customer19.com"));

    // The transitions tell the story: pending -> attaching -> active.
    EXPECT_EQ(env.count("SELECT count(*) FROM transitions WHERE from_state = 'attaching' AND "
                        "to_state = 'active'"),
              20);
    EXPECT_EQ(check_transitions(env), "");
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Workloads, AWorkloadOnTwoRowsAndFiftyOneNamesAreRefusedAtIntake) {
    environment env({}, attach_settings());
    env.sim().put_workload({5, "site5", {}, std::nullopt});
    std::string sans = "[";
    for (int i = 0; i < 50; ++i)
        sans += std::string(i ? "," : "") + "\"n" + std::to_string(i) + ".big.com\"";
    sans += "]";
    {
        auto stmt = env.db().prepare(
            "INSERT INTO domains (hostname, alternative_names, workload_id) VALUES (?1, ?2, ?3)");
        stmt.bind(1, "first.example.net").bind(2, "[]").bind(3, std::int64_t{5});
        stmt.run();
        stmt.reset();
        stmt.bind(1, "second.example.net").bind(2, "[]").bind(3, std::int64_t{5});
        stmt.run();
        stmt.reset();
        stmt.bind(1, "big.com").bind(2, sans).bind(3, std::int64_t{6});
        stmt.run();
        stmt.reset();
        stmt.bind(1, "typo.example.net").bind(2, "[]").bind(3, "five");
        stmt.run();
    }
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    EXPECT_EQ(env.state_of("first.example.net"), "active");
    EXPECT_EQ(env.state_of("second.example.net"), "invalid");
    EXPECT_EQ(env.detail_of("second.example.net"),
              "workload 5 is already named by row #1, first.example.net (a workload serves one "
              "certificate for all its domains)");
    EXPECT_EQ(env.state_of("big.com"), "invalid");
    EXPECT_EQ(env.detail_of("big.com"),
              "51 names (common name and alternative names) on a row with workload_id 6: "
              "Azion serves at most 50 domains on one workload");
    EXPECT_EQ(env.state_of("typo.example.net"), "invalid");
    EXPECT_EQ(env.detail_of("typo.example.net"),
              "workload_id \"five\" is not a workload id (a positive whole number)");
    // Only the first row's certificate was requested.
    int posts = 0;
    for (const auto& r : env.sim().requests())
        posts += r.method == "POST";
    EXPECT_EQ(posts, 1);
}

TEST(Workloads, A202IsFollowedToTheEndAndOffboardingDetachesBeforeItDeletes) {
    sim::sim_options options;
    options.issue_delay = 300ms;
    environment env(options, attach_settings());
    env.sim().set_workload_apply_delay(1500ms);
    env.sim().put_workload({31, "site31", {"keep.other.com"}, std::nullopt});
    env.sim().put_workload({32, "site32", {}, std::nullopt});
    env.db().exec("INSERT INTO domains (hostname, alternative_names, workload_id) VALUES "
                  "('shop.slow.com', '[\"keep.other.com\"]', 31), ('gone.slow.com', '[]', 32)");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for(
        [&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 2; }, 60s))
        << daemon->output();
    const auto cert = certificate_of(env, "shop.slow.com");
    EXPECT_EQ(env.sim().workload(31)->certificate, cert);
    EXPECT_EQ(env.sim().workload(31)->domains,
              (std::vector<std::string>{"keep.other.com", "shop.slow.com"}));
    // Seen on its way: each PATCH was answered 202, and the workload was read again after it
    // before the row became active.
    const auto log = env.sim().requests();
    int answered_202 = 0;
    bool read_after = false;
    for (std::size_t i = 0; i < log.size(); ++i) {
        if (log[i].method != "PATCH" || log[i].status != 202) continue;
        ++answered_202;
        for (std::size_t j = i + 1; j < log.size() && !read_after; ++j)
            read_after = log[j].method == "GET" && log[j].target == log[i].target.substr(0, log[i].target.find('?')) + "?fields=id,name,domains,tls";
    }
    EXPECT_EQ(answered_202, 2);
    EXPECT_TRUE(read_after);

    // Offboarding: names off the workload (keep.other.com is the row's too), certificate off,
    // then DELETE; the simulator refuses to delete a certificate a workload still serves.
    env.db().exec("UPDATE domains SET wanted = 'absent'");
    ASSERT_TRUE(wait_for(
        [&] { return env.count("SELECT count(*) FROM domains WHERE state = 'removed'") == 2; },
        60s))
        << daemon->output();
    EXPECT_TRUE(env.sim().workload(31)->domains.empty());
    EXPECT_FALSE(env.sim().workload(31)->certificate);
    EXPECT_FALSE(env.sim().workload(32)->certificate);
    for (const auto& c : env.sim().certificates())
        EXPECT_TRUE(c.deleted) << c.id;
    for (const auto& r : env.sim().requests())
        EXPECT_NE(r.method == "DELETE" ? r.status : 200u, 400u)
            << "a DELETE of a certificate still served";
    EXPECT_EQ(check_transitions(env), "");
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Workloads, KillNineWhileAttachingReplacingAndOffboardingLeavesEveryWorkloadServingALiveCertificate) {
    sim::sim_options options;
    options.issue_delay = 200ms;
    auto settings = attach_settings();
    settings.requests_per_second = 40;
    environment env(options, settings);
    env.sim().set_workload_apply_delay(300ms);
    constexpr int rows = 60;
    for (int w = 1; w <= rows; ++w)
        env.sim().put_workload({w, "site" + std::to_string(w), {}, std::nullopt});
    {
        sqlite::transaction tx(env.db());
        auto stmt = env.db().prepare("INSERT INTO domains (hostname, workload_id) VALUES (?1, ?2)");
        for (int i = 1; i <= rows; ++i) {
            stmt.bind(1, "k" + std::to_string(i) + ".kill" + std::to_string(i) + ".com")
                .bind(2, static_cast<std::int64_t>(i));
            stmt.run();
        }
        tx.commit();
    }
    std::mt19937 random(20261201);
    std::uniform_int_distribution<int> progress(3, 25);
    const auto transitions = [&] { return env.count("SELECT count(*) FROM transitions"); };
    const auto kill_at_random = [&](const std::function<bool()>& done) {
        for (int kill = 0; kill < 8 && !done(); ++kill) {
            auto daemon = env.start_daemon();
            const auto target = transitions() + progress(random);
            ASSERT_TRUE(wait_for([&] { return transitions() >= target || done(); }, 60s))
                << daemon->output();
            daemon->signal(SIGKILL);
            ASSERT_EQ(daemon->wait(10s), 128 + SIGKILL);
        }
    };
    const auto all_in = [&](const char* state) {
        return [&env, state] {
            return env.count(std::string("SELECT count(*) FROM domains WHERE state = '") + state +
                             "'") == rows;
        };
    };
    const auto finish = [&](const std::function<bool()>& done) {
        auto daemon = env.start_daemon();
        ASSERT_TRUE(
            wait_for([&] { return daemon->output().find("ready:") != std::string::npos; }, 30s));
        ASSERT_TRUE(wait_for(done, 60s)) << daemon->output();
        daemon->signal(SIGTERM);
        ASSERT_EQ(daemon->wait(30s), 0) << daemon->output();
    };
    kill_at_random(all_in("active"));
    finish(all_in("active"));
    // Every workload serves the live certificate of its row, which covers its names.
    for (int i = 1; i <= rows; ++i) {
        const auto host = "k" + std::to_string(i) + ".kill" + std::to_string(i) + ".com";
        const auto w = env.sim().workload(i);
        EXPECT_EQ(w->certificate, certificate_of(env, host)) << host;
        EXPECT_EQ(w->domains, std::vector<std::string>{host});
    }
    EXPECT_EQ(env.sim().certificates().size(), static_cast<std::size_t>(rows))
        << "one certificate per row";

    // Replacing: every row asks for one more name; new certificates take the old ones' places.
    env.db().exec("UPDATE domains SET alternative_names = json_array('www.' || hostname), state = 'queued'");
    const auto replaced = [&] {
        return env.count("SELECT count(*) FROM domains WHERE state = 'active' AND previous_certificate_id IS NULL") == rows &&
               env.count("SELECT count(*) FROM retired_certificates") == 0;
    };
    kill_at_random(replaced);
    finish(replaced);
    std::set<std::int64_t> live;
    for (int i = 1; i <= rows; ++i) {
        const auto host = "k" + std::to_string(i) + ".kill" + std::to_string(i) + ".com";
        const auto w = env.sim().workload(i);
        EXPECT_EQ(w->certificate, certificate_of(env, host)) << host;
        EXPECT_EQ(w->domains, (std::vector<std::string>{host, "www." + host}));
        live.insert(certificate_of(env, host));
    }
    for (const auto& c : env.sim().certificates())
        EXPECT_TRUE(c.deleted || live.count(c.id)) << "certificate " << c.id << " orphaned";

    env.db().exec("UPDATE domains SET wanted = 'absent'");
    kill_at_random(all_in("removed"));
    finish(all_in("removed"));
    for (int i = 1; i <= rows; ++i) {
        const auto w = env.sim().workload(i);
        EXPECT_FALSE(w->certificate) << i;
        EXPECT_TRUE(w->domains.empty()) << i;
    }
    for (const auto& c : env.sim().certificates())
        EXPECT_TRUE(c.deleted) << "certificate " << c.id << " left behind";
    for (const auto& r : env.sim().requests()) {
        if (r.method == "DELETE") {
            EXPECT_NE(r.status, 400u) << "a certificate was deleted while served";
        }
    }
    EXPECT_EQ(check_transitions(env), "");
}

} // namespace
} // namespace certq::testing
