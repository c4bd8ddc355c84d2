// DESIGN §4's invariants under crashes, faults, a locked database and spent budgets, proven on
// the real certqd binary against the simulated API. Durations are shrunk by configuration;
// case counts are not.

#include "harness.hpp"
#include "pg_fixture.hpp"
#include "util/time.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

// 100 registered domains, so Let's Encrypt's per-domain budget is not what is tested.
void insert_spread(environment& env, int count) {
    env.insert_hostnames(count, [](int i) {
        return "shop" + std::to_string(i) + ".customer" + std::to_string(i % 100) + ".com";
    });
}

// Every row has exactly one live certificate at Azion, named as the row says, and Azion holds
// no certificate that no row follows.
void expect_one_certificate_per_row(environment& env) {
    std::map<std::string, int> by_name;
    for (const auto& c : env.sim().certificates()) ++by_name[c.name];
    std::set<std::int64_t> sim_ids;
    for (const auto& c : env.sim().certificates()) sim_ids.insert(c.id);
    auto stmt = env.sql().query("SELECT id, request_name, certificate_id FROM domains");
    std::size_t rows = 0;
    while (stmt->step()) {
        ++rows;
        const auto name = stmt->column_text(1);
        EXPECT_EQ(by_name[name], 1) << "row " << stmt->column_int(0) << " (" << name << ")";
        EXPECT_TRUE(sim_ids.count(stmt->column_int(2))) << "row " << stmt->column_int(0);
    }
    EXPECT_EQ(env.sim().certificates().size(), rows);
}

std::int64_t transitions(environment& env) { return env.count("SELECT count(*) FROM transitions"); }

// Every resilience test runs on both engines (a SQLite file; a PostgreSQL database).
class Resilience : public engine_test {};

TEST_P(Resilience, KillNineTwentyTimesLosesNothingAndRequestsNothingTwice) {
    daemon_settings settings;
    settings.requests_per_second = 150;
    settings.burst = 10;
    settings.max_in_flight = 16;
    settings.poll_first = "300ms";
    settings.poll_max = "1s";
    sim::sim_options options;
    options.issue_delay = 300ms;
    environment env(options, settings, GetParam());
    insert_spread(env, 2000);

    std::mt19937 random(20261129);
    std::uniform_int_distribution<int> progress(20, 250);
    for (int kill = 0; kill < 20; ++kill) {
        auto daemon = env.start_daemon();
        // A random moment: after a random amount of progress since this start.
        const auto target = transitions(env) + progress(random);
        const bool moved = wait_for([&] { return transitions(env) >= target || !daemon->running(); }, 60s);
        ASSERT_TRUE(moved) << "no progress after restart " << kill << ":\n" << daemon->output();
        ASSERT_TRUE(daemon->running()) << daemon->output();
        daemon->signal(SIGKILL);
        ASSERT_EQ(daemon->wait(10s), 128 + SIGKILL);
    }
    auto last = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(last->wait(180s), 0) << last->output();

    EXPECT_EQ(env.counts_by_state(), (std::map<std::string, std::int64_t>{{"active", 2000}}));
    expect_one_certificate_per_row(env);
    EXPECT_EQ(check_transitions(env), "");
}

TEST_P(Resilience, FaultsAndAStricterServerLimitCostTimeNotRows) {
    daemon_settings settings;
    settings.requests_per_second = 40; // above what the server allows
    settings.burst = 5;
    settings.timeout = "1s";           // unanswered requests are given up after this
    settings.poll_first = "300ms";
    settings.poll_max = "1s";
    sim::sim_options options;
    options.issue_delay = 300ms;
    options.rate_limit = 30;
    options.rate_burst = 5;
    options.server_error_rate = 0.10;
    options.cut_rate = 0.03;
    options.hang_rate = 0.02;
    options.malformed_rate = 0.02;
    options.seed = 42;
    environment env(options, settings, GetParam());
    insert_spread(env, 400);

    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(240s), 0) << daemon->output();
    EXPECT_EQ(env.counts_by_state(), (std::map<std::string, std::int64_t>{{"active", 400}}));
    expect_one_certificate_per_row(env);
    EXPECT_EQ(check_transitions(env), "");

    std::map<sim::fault, int> faults;
    int throttled = 0;
    const auto log = env.sim().requests();
    for (const auto& r : log) {
        ++faults[r.injected];
        throttled += r.status == 429;
    }
    // Every kind of fault happened, and the server's 429s stayed a small share of all calls.
    for (auto f : {sim::fault::server_error, sim::fault::cut, sim::fault::hang, sim::fault::malformed})
        EXPECT_GT(faults[f], 0) << static_cast<int>(f);
    EXPECT_LT(throttled * 10, static_cast<int>(log.size())) << throttled << " of " << log.size();
    // The log tells of each congestion event once, not of each 429, and no row warns about one.
    const auto output = daemon->output();
    int events = 0;
    for (auto at = output.find("Azion is throttling (429)"); at != std::string::npos;
         at = output.find("Azion is throttling (429)", at + 1))
        ++events;
    EXPECT_GE(events, throttled > 0 ? 1 : 0);
    EXPECT_LE(events, throttled);
    EXPECT_EQ(output.find("HTTP 429; retrying"), std::string::npos);
    // Retries never made a herd: no second saw more than the configured rate plus its burst.
    std::map<std::int64_t, int> per_second;
    for (const auto& r : log)
        ++per_second[std::chrono::duration_cast<std::chrono::seconds>(r.wall.time_since_epoch()).count()];
    for (const auto& [second, n] : per_second) EXPECT_LE(n, 40 + 5) << "second " << second;
    RecordProperty("requests", static_cast<int>(log.size()));
    RecordProperty("throttled", throttled);
}

// SQLite only: PostgreSQL has no database-wide write lock to hold (its row locks are not tested yet).
TEST(ResilienceSqlite, ExternalWriteLockForTenSecondsPausesWorkAndLosesNothing) {
    daemon_settings settings;
    // 24 s of work: the operator's session, which may wait seconds for its turn on a busy
    // machine, still takes the lock while rows are left.
    settings.requests_per_second = 25;
    settings.poll_first = "300ms";
    settings.poll_max = "1s";
    sim::sim_options options;
    options.issue_delay = 300ms;
    environment env(options, settings, engine::sqlite);
    insert_spread(env, 600);

    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") >= 50; }, 60s))
        << daemon->output();
    // An operator's sqlite3 session holds the write lock for ten seconds.
    const auto script = env.dir() / "lock.sql";
    {
        std::ofstream out(script);
        // .timeout: certqd itself writes all the time; the operator's session waits its turn.
        out << ".timeout 10000\nBEGIN IMMEDIATE;\nUPDATE domains SET detail = detail WHERE id = 1;\n.shell sleep 10\n"
               "COMMIT;\n";
    }
    process holder({"/bin/sh", "-c", "sqlite3 '" + env.database_path().string() + "' < '" + script.string() + "'"}, {},
                   env.dir() / "sqlite3.log");
    ASSERT_EQ(holder.wait(60s), 0) << holder.output();
    EXPECT_TRUE(daemon->running()) << daemon->output();

    ASSERT_EQ(daemon->wait(120s), 0) << daemon->output();
    EXPECT_NE(daemon->output().find("pausing work"), std::string::npos)
        << "the lock never stopped certqd: the test did not test anything";
    EXPECT_EQ(env.counts_by_state(), (std::map<std::string, std::int64_t>{{"active", 600}}));
    expect_one_certificate_per_row(env);
    EXPECT_EQ(check_transitions(env), "");
}

TEST_P(Resilience, RegisteredDomainBudgetThrottlesTheRestUntilASlotFrees) {
    daemon_settings settings;
    settings.extra_yaml = "letsencrypt: { per_registered_domain: 50, window: 168h }\n";
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options, settings, GetParam());
    env.insert_hostnames(120, [](int i) { return "shop" + std::to_string(i) + ".bigcustomer.co.uk"; });
    auto daemon = env.start_daemon();
    const auto split = [&] {
        const auto c = env.counts_by_state();
        return c.count("active") && c.at("active") == 50 && c.count("throttled") && c.at("throttled") == 70;
    };
    ASSERT_TRUE(wait_for(split, 60s)) << daemon->output();
    {
        // Scoped: a statement left open would hold this connection's read snapshot.
        auto stmt = env.sql().query("SELECT detail, next_attempt_at FROM domains WHERE state = 'throttled' LIMIT 1");
        ASSERT_TRUE(stmt->step());
        EXPECT_EQ(stmt->column_text(0).rfind("Let's Encrypt budget for bigcustomer.co.uk is spent (50 requests in "
                                             "168h, at most 50); goes on at 20", 0),
                  0u)
            << stmt->column_text(0);
        const auto resume = from_unix_ms(stmt->column_int(1));
        EXPECT_GT(resume, wall_now() + std::chrono::hours{167});
    }
    daemon->signal(SIGTERM);
    ASSERT_EQ(daemon->wait(30s), 0);

    // A restart forgets nothing: re-queued by a user, the rows are throttled again from the
    // ledger, and Azion sees no further request.
    env.sql().exec("UPDATE domains SET state = 'queued' WHERE state = 'throttled'");
    daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM transitions WHERE to_state = 'throttled'") >= 140; },
                         60s))
        << env.count("SELECT count(*) FROM transitions WHERE to_state = 'throttled'") << "\n" << daemon->output();
    EXPECT_EQ(env.count("SELECT count(*) FROM domains WHERE state = 'throttled'"), 70);
    daemon->signal(SIGTERM);
    ASSERT_EQ(daemon->wait(30s), 0);
    int posts = 0;
    for (const auto& r : env.sim().requests()) posts += r.method == "POST";
    EXPECT_EQ(posts, 50);
    EXPECT_EQ(check_transitions(env), "");
}

TEST_P(Resilience, SighupReloadsRatesAndKeepsTheOldConfigurationOnErrors) {
    environment env({}, {}, GetParam());
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for([&] { return daemon->output().find("ready:") != std::string::npos; }, 30s));
    daemon_settings faster;
    faster.requests_per_second = 75;
    env.write_config(faster);
    daemon->signal(SIGHUP);
    ASSERT_TRUE(wait_for([&] { return daemon->output().find("reloaded") != std::string::npos; }, 30s))
        << daemon->output();
    EXPECT_NE(daemon->output().find("75/s"), std::string::npos) << daemon->output();

    faster.extra_yaml = "letsencrypt: { window: soon }\n";
    env.write_config(faster);
    daemon->signal(SIGHUP);
    ASSERT_TRUE(wait_for([&] { return daemon->output().find("reload failed") != std::string::npos; }, 30s))
        << daemon->output();
    EXPECT_TRUE(daemon->running());
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('after-reload.example.com')");
    ASSERT_TRUE(wait_for([&] { return env.state_of("after-reload.example.com") == "active"; }, 30s))
        << daemon->output();
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0);
}

CERTQ_ON_BOTH_ENGINES(Resilience);

} // namespace
} // namespace certq::testing
