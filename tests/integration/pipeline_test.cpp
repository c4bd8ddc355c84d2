// The onboarding pipeline end to end: rows inserted with SQL, the real certqd binary, the
// simulated Azion API over TLS. Every assertion is about what a user or Azion would see.

#include "harness.hpp"
#include "pg_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

void insert_hosts(sql::connection& db, int first, int count, const std::string& domain) {
    sql::transaction tx(db);
    for (int i = first; i < first + count; ++i) {
        const auto host = "shop" + std::to_string(i) + "." + domain;
        // Every third row also asks for its www name.
        db.run("INSERT INTO domains (hostname, alternative_names) VALUES (?1, ?2)",
               {host, i % 3 == 0 ? "[\"www." + host + "\"]" : std::string("[]")});
    }
    tx.commit();
}

// Every test of the pipeline runs on both engines (a SQLite file; a PostgreSQL database).
class Pipeline : public engine_test {};

std::vector<json::object> posted_bodies(const sim::azion_simulator& sim) {
    std::vector<json::object> out;
    for (const auto& r : sim.requests()) {
        if (r.method != "POST") continue;
        auto v = json::parse(r.body);
        out.push_back(v.as_object());
    }
    return out;
}

TEST_P(Pipeline, ThousandRowsBecomeActiveWithOnePostEachWithinTheRate) {
    daemon_settings settings;
    settings.requests_per_second = 50;
    settings.burst = 5;
    // All 1,000 names share example.com: lift Let's Encrypt's budget, which is tested apart.
    settings.extra_yaml = "letsencrypt: { per_registered_domain: 100000 }\n";
    sim::sim_options options;
    options.issue_delay = 1500ms;
    environment env(options, settings, GetParam());
    insert_hosts(env.sql(), 0, 1000, "example.com");

    auto daemon = env.start_daemon({"--exit-when-done"});
    const auto status = daemon->wait(180s);
    ASSERT_TRUE(status.has_value()) << "certqd did not finish; log:\n" << daemon->output();
    ASSERT_EQ(*status, 0) << daemon->output();

    EXPECT_EQ(env.counts_by_state(), (std::map<std::string, std::int64_t>{{"active", 1000}}));
    EXPECT_EQ(env.count("SELECT count(*) FROM domains WHERE certificate_id IS NULL"), 0);
    EXPECT_EQ(env.count("SELECT count(DISTINCT certificate_id) FROM domains"), 1000);
    EXPECT_EQ(check_transitions(env), "");
    // queued -> requesting -> pending -> active, plus the insert: four transitions per row.
    EXPECT_EQ(env.count("SELECT count(*) FROM transitions"), 4000);

    // Exactly one POST per row, each for that row's names, and one certificate per row.
    std::map<std::string, int> posts_per_name;
    for (const auto& body : posted_bodies(env.sim())) {
        ++posts_per_name[std::string(body.at("common_name").as_string())];
        EXPECT_EQ(body.at("challenge"), "http");
        EXPECT_EQ(body.at("authority"), "lets_encrypt");
    }
    EXPECT_EQ(posts_per_name.size(), 1000u);
    for (const auto& [name, n] : posts_per_name) EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(env.sim().certificates().size(), 1000u);
    {
        auto stmt = env.sql().query("SELECT hostname, alternative_names, request_name FROM domains WHERE id % 97 = 0");
        std::map<std::string, std::string> name_of_cn;
        for (const auto& c : env.sim().certificates()) name_of_cn[c.common_name] = c.name;
        while (stmt->step()) {
            EXPECT_EQ(name_of_cn[stmt->column_text(0)], stmt->column_text(2));
        }
    }

    // No second of the run saw more requests than the configured rate plus its burst.
    std::map<std::int64_t, int> per_second;
    for (const auto& r : env.sim().requests())
        ++per_second[std::chrono::duration_cast<std::chrono::seconds>(r.wall.time_since_epoch()).count()];
    int busiest = 0;
    for (const auto& [second, n] : per_second) busiest = std::max(busiest, n);
    EXPECT_LE(busiest, static_cast<int>(settings.requests_per_second) + settings.burst);
    for (const auto& r : env.sim().requests()) EXPECT_NE(r.status, 429u) << r.target;
}

TEST_P(Pipeline, AlternativeNamesAreSentWithTheCommonName) {
    environment env({}, {}, GetParam());
    env.sql().exec("INSERT INTO domains (hostname, alternative_names) VALUES "
                  "('Example.ORG.', '[\"www.example.org\", \"WWW.example.org\", \"example.org\"]')");
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    const auto bodies = posted_bodies(env.sim());
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_EQ(bodies[0].at("common_name"), "example.org");
    EXPECT_EQ(bodies[0].at("alternative_names"), json::array({"www.example.org"}));
    EXPECT_EQ(env.state_of("example.org."), "active");
}

TEST_P(Pipeline, NameThatAzionFailsEndsFailedWithAzionsWords) {
    sim::sim_options options;
    options.issue_delay = 300ms;
    options.failing_names = {"www.broken.example.net"};
    environment env(options, {}, GetParam());
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('fine.example.net');"
                  "INSERT INTO domains (hostname, alternative_names) VALUES "
                  "('broken.example.net', '[\"www.broken.example.net\"]')");
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    EXPECT_EQ(env.state_of("fine.example.net"), "active");
    EXPECT_EQ(env.state_of("broken.example.net"), "failed");
    const auto detail = env.detail_of("broken.example.net");
    EXPECT_NE(detail.find(sim::failure_text("www.broken.example.net")), std::string::npos) << detail;
    EXPECT_EQ(check_transitions(env), "");
    auto last = env.sql().query("SELECT t.detail FROM transitions t JOIN domains d ON d.id = t.domain_id "
                                "WHERE d.hostname = 'broken.example.net' ORDER BY t.id DESC LIMIT 1");
    ASSERT_TRUE(last->step());
    EXPECT_NE(last->column_text(0).find("Please verify the following domains CNAME"), std::string::npos);
}

TEST_P(Pipeline, RowInsertedWhileRunningIsProcessedAndSigtermStopsCleanly) {
    environment env({}, {}, GetParam());
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('first.example.com')");
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return env.state_of("first.example.com") == "active"; }, 60s))
        << daemon->output();

    env.sql().exec("INSERT INTO domains (hostname) VALUES ('later.example.com')");
    ASSERT_TRUE(wait_for([&] { return env.state_of("later.example.com") == "active"; }, 60s))
        << daemon->output();
    EXPECT_TRUE(daemon->running());

    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
    EXPECT_NE(daemon->output().find("received SIGTERM"), std::string::npos);
    EXPECT_EQ(check_transitions(env), "");
}

TEST_P(Pipeline, UserRequeueStartsANewRequestUnderANewName) {
    sim::sim_options options;
    options.issue_delay = 200ms;
    options.failing_names = {"flaky.example.com"};
    environment env(options, {}, GetParam());
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('flaky.example.com')");
    {
        auto daemon = env.start_daemon({"--exit-when-done"});
        ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    }
    ASSERT_EQ(env.state_of("flaky.example.com"), "failed");
    env.sql().exec("UPDATE domains SET state = 'queued' WHERE state = 'failed'");
    {
        auto daemon = env.start_daemon({"--exit-when-done"});
        ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    }
    const auto bodies = posted_bodies(env.sim());
    ASSERT_EQ(bodies.size(), 2u);
    EXPECT_NE(bodies[0].at("name"), bodies[1].at("name"));
    EXPECT_EQ(check_transitions(env), "");
    // insert, queued->requesting->pending->failed, user's failed->queued, and again to failed.
    EXPECT_EQ(env.count("SELECT count(*) FROM transitions"), 8);
}

TEST_P(Pipeline, RefusesADatabaseFromANewerCertq) {
    environment env({}, {}, GetParam());
    env.sql().exec(GetParam() == engine::sqlite ? "PRAGMA user_version = 999" : "UPDATE certq_schema SET version = 999");
    auto daemon = env.start_daemon({"--exit-when-done"});
    EXPECT_EQ(daemon->wait(30s), 1);
    EXPECT_NE(daemon->output().find("written by a newer certq"), std::string::npos) << daemon->output();
}

TEST_P(Pipeline, BadConfigurationIsAUsageErrorNamingTheKey) {
    daemon_settings settings;
    settings.extra_yaml = "letsencrypt: { windw: 7d }\n";
    environment env({}, settings, GetParam());
    auto daemon = env.start_daemon({"--check-config"});
    EXPECT_EQ(daemon->wait(30s), 2);
    EXPECT_NE(daemon->output().find("letsencrypt.windw: unknown key"), std::string::npos)
        << daemon->output();
}

TEST_P(Pipeline, CheckConfigAcceptsAGoodFileAndNamesTheTokenSource) {
    environment env({}, {}, GetParam());
    auto daemon = env.start_daemon({"--check-config"});
    EXPECT_EQ(daemon->wait(30s), 0);
    EXPECT_NE(daemon->output().find("configuration is valid"), std::string::npos);
    EXPECT_NE(daemon->output().find("from AZION_TOKEN"), std::string::npos);
    EXPECT_EQ(daemon->output().find("sim-token"), std::string::npos) << "the token was printed";
}

} // namespace
} // namespace certq::testing

namespace certq::testing {
namespace {

TEST_P(Pipeline, OffboardingDeletesTheCertificateAtAzionAndEndsRemoved) {
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options, {}, GetParam());
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('old.example.com'), ('keep.example.com')");
    {
        auto daemon = env.start_daemon({"--exit-when-done"});
        ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    }
    ASSERT_EQ(env.state_of("old.example.com"), "active");
    env.sql().exec("UPDATE domains SET wanted = 'absent' WHERE hostname = 'old.example.com'");
    env.sql().exec("INSERT INTO domains (hostname, wanted) VALUES ('never.example.com', 'absent')");
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    EXPECT_EQ(env.state_of("old.example.com"), "removed");
    EXPECT_EQ(env.state_of("never.example.com"), "removed");
    EXPECT_EQ(env.state_of("keep.example.com"), "active");
    int deletes = 0;
    for (const auto& r : env.sim().requests()) deletes += r.method == "DELETE";
    EXPECT_EQ(deletes, 1);
    for (const auto& c : env.sim().certificates()) EXPECT_EQ(c.deleted, c.common_name == "old.example.com") << c.name;
    EXPECT_NE(env.detail_of("old.example.com").find("deleted at Azion"), std::string::npos);
    EXPECT_EQ(check_transitions(env), "");
}

CERTQ_ON_BOTH_ENGINES(Pipeline);

} // namespace
} // namespace certq::testing
