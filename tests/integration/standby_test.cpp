// certqd on PostgreSQL with a standby: the real binaries, a real PostgreSQL server started by the
// test, the simulated Azion API. One daemon holds the leader lock and works the queue; the other
// is ready and healthy, calling nobody, and takes over when the leader is killed or cut from the
// database, reconciling what the leader left behind. A user's INSERT through psql is picked up
// at once (LISTEN/NOTIFY).

#include "pg_fixture.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class Standby : public postgres_fixture {
protected:
    void SetUp() override {
        postgres_fixture::SetUp();
        if (IsSkipped()) return;
        db_ = std::make_unique<pg::connection>(uri_);
        store::migrate(*db_);
    }

    // Nothing requested twice: one live certificate per hostname at Azion, `rows` of them.
    static void expect_one_certificate_per_hostname(environment& env, std::size_t rows) {
        std::map<std::string, int> per_name;
        for (const auto& c : env.sim().certificates())
            if (!c.deleted) ++per_name[c.common_name];
        EXPECT_EQ(per_name.size(), rows);
        for (const auto& [name, n] : per_name)
            EXPECT_EQ(n, 1) << name;
    }

    std::int64_t count(const std::string& sql) { return db_->query(sql).integer(0, 0); }

    // `rows` queued rows named <prefix><i>.customer<i>.com, one registered domain each.
    void queue_rows(const std::string& prefix, int rows) {
        db_->exec("INSERT INTO domains (hostname) SELECT '" + prefix +
                  "' || i || '.customer' || i || '.com' "
                  "FROM generate_series(1, " +
                  std::to_string(rows) + ") i");
    }

    // The server process of the session holding the leader lock ('certq' = 0x63 << 32 |
    // 0x65727471).
    std::int64_t leader_backend() {
        return count(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 99 "
            "AND objid = 1701999729 AND objsubid = 1");
    }

    daemon_settings settings() const {
        daemon_settings s;
        s.database = uri_;
        s.http_listen = "127.0.0.1:0";
        s.requests_per_second = 40;
        s.burst = 1;
        s.poll_first = "500ms";
        s.poll_max = "1s";
        return s;
    }

    std::unique_ptr<pg::connection> db_;
};

// The most requests the simulator may see in any one second from the daemons together: the
// rate (40/s) and burst (1) the tests configure, plus 4 for the arrival times' jitter. Times are
// taken where requests arrive, so a sender the loaded 2-core machine held back for 100 ms sends
// its due requests together (a CI run saw 43). Two daemons sending at once would show about 80.
constexpr int cluster_second_bound = 41 + 4;

TEST_F(Standby,
       OneDaemonWorksTheQueueTheOtherWaitsCallingNobodyAndTakesOverWithinTenSecondsOfAKill) {
    sim::sim_options o;
    o.issue_delay = 1s;
    environment env(o, settings());
    queue_rows("shop", 300);
    notify_socket notify_a(env.dir() / "a.sock"), notify_b(env.dir() / "b.sock");
    auto a = env.start_daemon({}, {{"NOTIFY_SOCKET", notify_a.path().string()}});
    ASSERT_TRUE(wait_for([&] { return notify_a.saw("leading"); }, 30s)) << a->output();
    auto b = env.start_daemon({}, {{"NOTIFY_SOCKET", notify_b.path().string()}});
    ASSERT_TRUE(wait_for([&] { return notify_b.saw("READY=1"); }, 30s)) << b->output();
    EXPECT_TRUE(wait_for([&] { return notify_b.saw("standby"); }, 10s));
    const auto port_a = logged_http_port(*a), port_b = logged_http_port(*b);
    EXPECT_EQ(metric_value(port_a, "certq_leader"), 1);
    EXPECT_EQ(metric_value(port_b, "certq_leader"), 0);
    EXPECT_EQ(http_get(port_b, "/healthz").first, 200u) << "a standby is healthy";
    // A standby answers the page and the API from the same database, saying what it is.
    const auto standby_status = http_get(port_b, "/api/v1/status");
    EXPECT_EQ(standby_status.first, 200u);
    EXPECT_NE(standby_status.second.find("\"role\":\"standby\""), std::string::npos) << standby_status.second;
    EXPECT_NE(http_get(port_a, "/api/v1/status").second.find("\"role\":\"leader\""), std::string::npos);
    const auto page = http_get(port_b, "/api/v1/domains?q=shop&limit=5");
    EXPECT_EQ(page.first, 200u) << page.second;
    EXPECT_NE(page.second.find("\"next\":\""), std::string::npos) << page.second;

    ASSERT_TRUE(wait_for(
        [&] { return count("SELECT count(*) FROM domains WHERE state = 'active'") >= 60; }, 60s))
        << a->output();
    EXPECT_EQ(b->output().find(" -> "), std::string::npos) << "the standby changed no row:\n"
                                                           << b->output();
    a->signal(SIGKILL);
    const auto killed = steady::now();
    a->wait(10s);
    ASSERT_TRUE(wait_for([&] { return notify_b.saw("leading"); }, 15s)) << b->output();
    ASSERT_TRUE(wait_for(
        [&] { return count("SELECT count(*) FROM domains WHERE state = 'active'") == 300; }, 90s))
        << b->output();

    const auto requests = env.sim().requests();
    std::optional<steady::time_point> first_after;
    for (const auto& r : requests)
        if (r.at > killed && (!first_after || r.at < *first_after)) first_after = r.at;
    ASSERT_TRUE(first_after);
    const auto takeover = std::chrono::duration<double>(*first_after - killed).count();
    EXPECT_LE(takeover, 10.0) << "the standby's first API call came " << takeover
                              << " s after the kill";
    RecordProperty("takeover_seconds", std::to_string(takeover));
    std::printf("takeover after kill -9: %.2f s\n", takeover);

    expect_one_certificate_per_hostname(env, 300);
    EXPECT_EQ(check_transitions(env), "");
    // The rate is the cluster's: never above rate + burst in any second, both daemons together.
    EXPECT_LE(most_requests_in_one_second(requests), cluster_second_bound);
    b->signal(SIGTERM);
    EXPECT_EQ(b->wait(30s), 0);
}

TEST_F(Standby, ALeaderCutFromTheDatabaseStopsAtOnceAndTheStandbyFinishesTheQueue) {
    sim::sim_options o;
    o.issue_delay = 1s;
    environment env(o, settings());
    queue_rows("cut", 200);
    notify_socket notify_a(env.dir() / "a.sock"), notify_b(env.dir() / "b.sock");
    auto a = env.start_daemon({}, {{"NOTIFY_SOCKET", notify_a.path().string()}});
    ASSERT_TRUE(wait_for([&] { return notify_a.saw("leading"); }, 30s)) << a->output();
    auto b = env.start_daemon({}, {{"NOTIFY_SOCKET", notify_b.path().string()}});
    ASSERT_TRUE(wait_for([&] { return notify_b.saw("standby"); }, 30s)) << b->output();
    ASSERT_TRUE(wait_for(
        [&] { return count("SELECT count(*) FROM domains WHERE state = 'active'") >= 40; }, 60s));

    const auto leader = leader_backend();
    db_->query("SELECT pg_terminate_backend($1)", {pg::param(leader)});
    const auto cut = steady::now();
    const auto status = a->wait(1500ms);
    ASSERT_TRUE(status) << "the leader must stop within 1.5 s of being cut from its database:\n" << a->output();
    const auto stopped = std::chrono::duration<double>(steady::now() - cut).count();
    EXPECT_NE(*status, 0);
    EXPECT_NE(a->output().find("lost the database connection"), std::string::npos) << a->output();
    std::printf("leader stopped %.2f s after pg_terminate_backend\n", stopped);

    ASSERT_TRUE(wait_for([&] { return notify_b.saw("leading"); }, 15s)) << b->output();
    ASSERT_TRUE(wait_for(
        [&] { return count("SELECT count(*) FROM domains WHERE state = 'active'") == 200; }, 90s))
        << b->output();
    expect_one_certificate_per_hostname(env, 200);
    EXPECT_EQ(check_transitions(env), "");
    b->signal(SIGTERM);
    b->wait(30s);
}

TEST_F(Standby, AUsersInsertThroughPsqlIsPickedUpInWellUnderASecond) {
    environment env({}, settings());
    notify_socket notify(env.dir() / "n.sock");
    auto daemon = env.start_daemon({}, {{"NOTIFY_SOCKET", notify.path().string()}});
    ASSERT_TRUE(wait_for([&] { return notify.saw("leading"); }, 30s)) << daemon->output();
    std::vector<double> latency_ms;
    for (int i = 0; i < 20; ++i) {
        const auto host = "psql" + std::to_string(i) + ".customer" + std::to_string(i) + ".com";
        process psql({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri_, "-c",
                      "INSERT INTO domains (hostname) VALUES ('" + host + "')"},
                     {}, env.dir() / ("psql" + std::to_string(i) + ".log"));
        ASSERT_EQ(psql.wait(30s), 0) << psql.output();
        ASSERT_TRUE(wait_for(
            [&] {
                return count("SELECT count(*) FROM transitions t JOIN domains d ON d.id = "
                             "t.domain_id WHERE d.hostname = '" +
                             host + "' AND t.from_state IS NOT NULL") > 0;
            },
            10s));
    }
    auto r = db_->query("SELECT extract(epoch FROM CAST(min(c.at) AS timestamptz) - CAST(i.at AS "
                        "timestamptz)) * 1000 "
                        "FROM transitions i JOIN transitions c ON c.domain_id = i.domain_id AND "
                        "c.from_state IS NOT NULL "
                        "WHERE i.from_state IS NULL GROUP BY i.domain_id, i.at");
    for (int i = 0; i < r.rows(); ++i)
        latency_ms.push_back(std::stod(r.text(i, 0)));
    ASSERT_EQ(latency_ms.size(), 20u);
    std::sort(latency_ms.begin(), latency_ms.end());
    std::printf("INSERT -> first change on PostgreSQL: median %.0f ms, max %.0f ms\n",
                latency_ms[10], latency_ms.back());
    // A correctness bound, not a benchmark: the wake-up is LISTEN/NOTIFY, not the 10-s safety scan.
    EXPECT_LT(latency_ms.back(), 2000) << "a row waited for the safety scan";
    daemon->signal(SIGTERM);
    daemon->wait(30s);
}

// The issue's acceptance run: three certqd on one database, 2,000 rows, the leader killed with
// SIGKILL three times and cut from the database once, at moments drawn at random; a dead daemon is
// started again, as systemd would.
TEST_F(Standby, ThreeDaemonsLoseNothingAndRequestNothingTwiceWhileTheirLeaderIsKilledAndCut) {
    constexpr int rows = 2000;
    sim::sim_options o;
    o.issue_delay = 1s;
    environment env(o, settings());
    queue_rows("chaos", rows);
    struct member {
        std::unique_ptr<notify_socket> notify;
        std::unique_ptr<process> daemon;
    };
    std::vector<member> members;
    int started = 0;
    const auto start_one = [&] {
        member m;
        m.notify = std::make_unique<notify_socket>(env.dir() /
                                                   ("n" + std::to_string(++started) + ".sock"));
        m.daemon = env.start_daemon({}, {{"NOTIFY_SOCKET", m.notify->path().string()}});
        members.push_back(std::move(m));
    };
    for (int i = 0; i < 3; ++i)
        start_one();
    const auto leader = [&]() -> member* {
        for (auto& m : members)
            if (m.daemon->running() && m.notify->saw("leading")) return &m;
        return nullptr;
    };
    ASSERT_TRUE(wait_for([&] { return leader() != nullptr; }, 30s));
    const auto active = [&] {
        return count("SELECT count(*) FROM domains WHERE state = 'active'");
    };

    // Four disruptions at random points of the run: kill, kill, cut, kill in a random order.
    // A new draw each run, recorded so that a failing one can be replayed: CERTQ_CHAOS_SEED=<seed>.
    const char* fixed = std::getenv("CERTQ_CHAOS_SEED");
    const std::uint32_t seed = fixed ? static_cast<std::uint32_t>(std::stoul(fixed)) : std::random_device{}();
    RecordProperty("seed", std::to_string(seed));
    std::printf("disruption points drawn with seed %u (CERTQ_CHAOS_SEED replays them)\n", seed);
    std::mt19937 random{seed};
    std::vector<int> at_active;
    for (int i = 0; i < 4; ++i)
        at_active.push_back(std::uniform_int_distribution<int>(100, rows - 300)(random));
    std::sort(at_active.begin(), at_active.end());
    std::vector<bool> cut{false, false, true, false};
    std::shuffle(cut.begin(), cut.end(), random);
    std::vector<double> takeovers;
    for (std::size_t i = 0; i < at_active.size(); ++i) {
        ASSERT_TRUE(wait_for([&] { return active() >= at_active[i]; }, 120s))
            << "stalled before disruption " << i;
        member* old = leader();
        ASSERT_NE(old, nullptr);
        const auto before = steady::now();
        if (cut[i]) {
            const auto pid = leader_backend();
            db_->query("SELECT pg_terminate_backend($1)", {pg::param(pid)});
            ASSERT_TRUE(old->daemon->wait(5s)) << "a leader cut from its database must stop";
        } else {
            old->daemon->signal(SIGKILL);
            old->daemon->wait(10s);
        }
        member* next = nullptr;
        ASSERT_TRUE(wait_for(
            [&] {
                next = leader();
                return next != nullptr;
            },
            15s))
            << "no standby took over after disruption " << i;
        const auto took =
            std::chrono::duration<double>(*next->notify->arrived("leading") - before).count();
        takeovers.push_back(took);
        std::printf("disruption %zu (%s at %d active): a standby led after %.2f s\n", i,
                    cut[i] ? "cut" : "kill -9", at_active[i], took);
        start_one(); // systemd restarts the lost one; it waits as a standby
    }
    ASSERT_TRUE(wait_for([&] { return active() == rows; }, 180s)) << leader()->daemon->output();
    for (const auto t : takeovers)
        EXPECT_LE(t, 10.0);

    expect_one_certificate_per_hostname(env, rows);
    EXPECT_EQ(check_transitions(env), "");
    EXPECT_LE(most_requests_in_one_second(env.sim().requests()), cluster_second_bound)
        << "the cluster's rate is 40/s with a burst of 1, in any second";
    for (auto& m : members)
        if (m.daemon->running()) m.daemon->signal(SIGTERM);
    for (auto& m : members)
        m.daemon->wait(30s);
}

TEST_F(Standby, ASqliteQueueMovesToPostgresqlWithExportAndImportAndGoesOnWithoutRequestingAgain) {
    sim::sim_options o;
    o.issue_delay = 300ms;
    o.failing_names = {"bad.example.com"};
    environment env(o, {});
    env.insert_hostnames(20, [](int i) {
        return "moved" + std::to_string(i) + ".customer" + std::to_string(i) + ".com";
    });
    env.sql().exec(
        "INSERT INTO domains (hostname, alternative_names) VALUES ('bad.example.com', '[]'), "
        "('shop.example.org', '[\"www.shop.example.org\"]')");
    {
        auto daemon = env.start_daemon({"--exit-when-done"});
        ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    }
    env.sql().exec("INSERT INTO domains (hostname) VALUES ('late.example.com')"); // not worked yet
    const auto before = env.counts_by_state();
    ASSERT_EQ(before.at("active"), 21);
    int rc = -1;
    std::string exported;
    {
        const auto out = run_certq(env, {"export"}, "", &rc);
        ASSERT_EQ(rc, 0) << out;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);)
            if (!line.empty() && line.front() == '{') exported += line + "\n";
        EXPECT_NE(out.find("exported 23 row(s) and 22 Let's Encrypt request(s)"), std::string::npos)
            << out;
    }

    auto moved = settings();
    moved.database = uri_;
    env.write_config(moved);
    auto out = run_certq(env, {"import"}, exported, &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(env.counts_by_state(), before);
    EXPECT_EQ(count("SELECT count(*) FROM row_names"), 23) << "the names rows claim came along";
    EXPECT_EQ(count("SELECT count(*) FROM le_requests"), 22) << "and the Let's Encrypt ledger";
    EXPECT_EQ(count("SELECT count(*) FROM transitions WHERE detail = 'imported'"), 23);
    out = run_certq(env, {"import"}, exported, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("already holds rows"), std::string::npos) << out;

    std::size_t posts_before = 0;
    for (const auto& r : env.sim().requests())
        posts_before += r.method == "POST";
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    std::size_t posts_after = 0;
    for (const auto& r : env.sim().requests())
        posts_after += r.method == "POST";
    EXPECT_EQ(posts_after, posts_before + 1) << "only the row not yet worked is requested";
    EXPECT_EQ(env.state_of("late.example.com"), "active");
    EXPECT_EQ(env.state_of("bad.example.com"), "failed");
    EXPECT_EQ(check_transitions(env), "");
}

TEST_F(Standby, EveryCertqVerbWorksOnPostgresql) {
    environment env({}, settings());
    int rc = -1;
    EXPECT_NE(run_certq(env, {"migrate"}, "", &rc).find("up to date"), std::string::npos);
    EXPECT_EQ(rc, 0);
    auto out = run_certq(env, {"enqueue", "-"},
                         "Shop.Example.com www.shop.example.com\nother.example.com\n", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("enqueued 2 row(s)"), std::string::npos) << out;
    out = run_certq(env, {"enqueue", "shop.example.com"}, "", &rc);
    EXPECT_NE(out.find("skipped 1 already in the table"), std::string::npos)
        << "hostnames compare without case: " << out;
    out = run_certq(env, {"status", "--json"}, "", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("\"queued\":2"), std::string::npos) << out;
    out = run_certq(env, {"list", "--state", "queued"}, "", &rc);
    EXPECT_NE(out.find("other.example.com"), std::string::npos) << out;
    out = run_certq(env, {"show", "shop.example.com.", "--json"}, "", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("www.shop.example.com"), std::string::npos) << out;
    db_->exec("UPDATE domains SET state = 'failed', detail = 'test' WHERE hostname = "
              "'other.example.com'");
    out = run_certq(env, {"retry"}, "", &rc);
    EXPECT_NE(out.find("re-queued 1 row(s)"), std::string::npos) << out;
    out = run_certq(env, {"remove", "other.example.com"}, "", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(count("SELECT count(*) FROM domains WHERE wanted = 'absent'"), 1);
}

} // namespace
} // namespace certq::testing
