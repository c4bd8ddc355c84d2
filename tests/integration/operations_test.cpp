// What operators see: the systemd notify protocol, /metrics and /healthz, and logs that never
// carry the token.

#include "harness.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <regex>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

TEST(Operations, SystemdNotifyReadyStatusWatchdogStopping) {
    daemon_settings settings;
    environment env({}, settings);
    env.db().exec("INSERT INTO domains (hostname) VALUES ('a.example.com'), ('b.example.com')");
    notify_socket notify(env.dir() / "notify.sock");
    auto daemon = env.start_daemon({}, {{"NOTIFY_SOCKET", (env.dir() / "notify.sock").string()},
                                        {"WATCHDOG_USEC", "2000000"}});
    ASSERT_TRUE(wait_for([&] { return notify.saw("READY=1"); }, 30s)) << daemon->output();
    ASSERT_TRUE(wait_for([&] { return notify.saw("STATUS=2 active"); }, 60s)) << daemon->output();
    ASSERT_TRUE(wait_for([&] { return notify.saw("WATCHDOG=1"); }, 30s));
    daemon->signal(SIGTERM);
    ASSERT_EQ(daemon->wait(30s), 0);
    EXPECT_TRUE(notify.saw("STOPPING=1"));
}

TEST(Operations, MetricsAndHealthWhileRowsMove) {
    daemon_settings settings;
    settings.requests_per_second = 20;
    settings.http_listen = "127.0.0.1:0"; // the daemon logs the port it got
    sim::sim_options options;
    options.issue_delay = 500ms;
    environment env(options, settings);
    env.insert_hostnames(60, [](int i) { return "m" + std::to_string(i) + ".example" + std::to_string(i % 3) + ".com"; });
    auto daemon = env.start_daemon();
    const auto port = logged_http_port(*daemon);
    ASSERT_NE(port, 0) << daemon->output();

    // While rows move: some requested, not all active yet.
    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM domains WHERE state = 'pending'") > 0; }, 30s));
    auto [health, ok] = http_get(port, "/healthz");
    EXPECT_EQ(health, 200u);
    EXPECT_EQ(ok, "ok\n");
    auto [status, body] = http_get(port, "/metrics");
    EXPECT_EQ(status, 200u);
    for (const char* line : {"# TYPE certq_domains gauge", "# TYPE certq_transitions_total counter",
                             "certq_transitions_total{to=\"requesting\"}", "certq_api_requests_total{op=\"request\",code=\"201\"}",
                             "# TYPE certq_api_request_duration_seconds histogram",
                             "certq_api_request_duration_seconds_bucket{op=\"request\",le=\"+Inf\"}",
                             "certq_api_throttled_total 0", "# TYPE certq_dns_checks_total counter",
                             "certq_rate_limit_configured_per_second 20", "certq_rate_limit_current_per_second 20"})
        EXPECT_NE(body.find(line), std::string::npos) << line << "\n" << body;

    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 60; }, 60s));
    ASSERT_TRUE(wait_for([&] {
        return http_get(port, "/metrics").second.find("certq_domains{state=\"active\"} 60") != std::string::npos;
    }, 30s)) << http_get(port, "/metrics").second;
    const auto final_body = http_get(port, "/metrics").second;
    EXPECT_NE(final_body.find("certq_transitions_total{to=\"active\"} 60"), std::string::npos) << final_body;
    EXPECT_EQ(http_get(port, "/nothing").first, 404u);
    EXPECT_EQ(final_body.find("sim-token"), std::string::npos);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0);
}

TEST(Operations, TheTokenNeverAppearsInLogsOrTheDatabase) {
    // JSON logs at debug level, a normal run and a run with a token Azion refuses: the token
    // is in none of it.
    daemon_settings settings;
    settings.log_yaml = "log: { level: debug, format: json }\n";
    environment env({}, settings);
    env.db().exec("INSERT INTO domains (hostname) VALUES ('t.example.com')");
    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    const auto log = daemon->output();
    EXPECT_NE(log.find("{\"ts\":\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"msg\":\"row 1 t.example.com: pending -> active\""), std::string::npos) << log;
    EXPECT_EQ(log.find("sim-token"), std::string::npos);

    // A wrong token: Azion's refusal is logged, the token is not.
    env.db().exec("INSERT INTO domains (hostname) VALUES ('u.example.com')");
    auto refused = env.start_daemon({}, {{"AZION_TOKEN", "wrong-secret-value"}});
    ASSERT_TRUE(wait_for([&] { return refused->output().find("Azion refused the token") != std::string::npos; }, 30s))
        << refused->output();
    refused->signal(SIGTERM);
    ASSERT_EQ(refused->wait(30s), 0);
    EXPECT_EQ(refused->output().find("wrong-secret-value"), std::string::npos);
    auto dump = env.db().prepare("SELECT group_concat(coalesce(detail, ''), '|') FROM domains");
    ASSERT_TRUE(dump.step());
    EXPECT_EQ(dump.column_text(0).find("wrong-secret-value"), std::string::npos);
    EXPECT_EQ(dump.column_text(0).find("sim-token"), std::string::npos);
}

TEST(Operations, SystemdUnitIsHardenedAndVerifiesClean) {
    std::ifstream in(std::filesystem::path(CERTQ_SOURCE_DIR) / "systemd/certqd.service");
    const std::string unit((std::istreambuf_iterator<char>(in)), {});
    for (const char* line : {"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=certq", "StateDirectory=certq",
                             "LoadCredential=azion-token:", "NoNewPrivileges=yes", "ProtectSystem=strict",
                             "ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                             "SystemCallFilter=@system-service", "ExecReload="})
        EXPECT_NE(unit.find(line), std::string::npos) << line;
    if (!std::filesystem::exists("/usr/bin/systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
    // Verified as installed, with the binary where the unit expects it (here: the build tree).
    scratch_dir dir;
    std::string local = unit;
    for (std::size_t at; (at = local.find("/usr/sbin/certqd")) != std::string::npos;)
        local.replace(at, std::string("/usr/sbin/certqd").size(), CERTQD_PATH);
    {
        std::ofstream out(dir / "certqd.service");
        out << local;
    }
    process verify({"/usr/bin/systemd-analyze", "verify", (dir / "certqd.service").string()}, {}, dir / "verify.log");
    EXPECT_EQ(verify.wait(60s), 0) << verify.output();
    EXPECT_EQ(verify.output(), "") << verify.output();
}


TEST(Operations, OperatorCliWorksWhileCertqdRuns) {
    daemon_settings settings;
    settings.requests_per_second = 200;
    settings.burst = 20;
    environment env({}, settings);
    auto daemon = env.start_daemon();
    std::string lines;
    for (int i = 0; i < 2000; ++i) lines += "cli" + std::to_string(i) + ".shop" + std::to_string(i % 50) + ".com\n";
    lines += "# a comment, then a duplicate and a row with alternative names\ncli0.shop0.com\nextra.example.com www.extra.example.com, api.extra.example.com\n";
    EXPECT_EQ(run_certq(env, {"enqueue", "-"}, lines),
              "enqueued 2001 row(s); skipped 1 already in the table: cli0.shop0.com\n");
    EXPECT_EQ(run_certq(env, {"enqueue", "one.example.com", "--san", "www.one.example.com"}), "enqueued 1 row(s)\n");
    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") >= 2002; }, 120s))
        << daemon->output();

    const auto status_text = run_certq(env, {"status", "--json"});
    const auto status = boost::json::parse(status_text).as_object();
    EXPECT_EQ(status.at("total").as_int64(), 2002);
    EXPECT_EQ(status.at("counts").at("active").as_int64(), 2002);
    EXPECT_EQ(status.at("finished_in_window").as_int64(), 2002);
    EXPECT_GT(status.at("finished_per_minute").as_double(), 0);
    EXPECT_GT(status.at("finished_span_seconds").as_double(), 0);
    EXPECT_EQ(status.at("eta_seconds").as_int64(), 0);
    EXPECT_FALSE(std::regex_search(status_text, std::regex("[0-9][Ee][-+]?[0-9]"))) << status_text; // no 2E2
    const auto status_lines = run_certq(env, {"status"});
    EXPECT_NE(status_lines.find("2002 rows, 2002 active"), std::string::npos);
    EXPECT_NE(status_lines.find("2,002 finished in "), std::string::npos) << status_lines;
    EXPECT_NE(status_lines.find("/min); nothing left to do"), std::string::npos) << status_lines;

    const auto shown = boost::json::parse(run_certq(env, {"show", "extra.example.com", "--json"})).as_object();
    EXPECT_EQ(shown.at("state"), "active");
    EXPECT_EQ(shown.at("names"), "[\"extra.example.com\",\"www.extra.example.com\",\"api.extra.example.com\"]");
    EXPECT_EQ(shown.at("transitions").as_array().size(), 4u);
    EXPECT_EQ(boost::json::parse(run_certq(env, {"list", "--state", "active", "--limit", "5", "--json"})).as_array().size(), 5u);

    int rc = 0;
    run_certq(env, {"list", "--state", "bogus"}, "", &rc);
    EXPECT_EQ(rc, 2);
    run_certq(env, {"show", "nobody.example.com"}, "", &rc);
    EXPECT_EQ(rc, 1);

    env.db().exec("UPDATE domains SET state = 'failed', detail = 'test' WHERE id <= 3");
    EXPECT_EQ(run_certq(env, {"retry"}), "re-queued 3 row(s)\n");
    ASSERT_TRUE(wait_for([&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 2002; }, 60s));
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0);
    EXPECT_EQ(check_transitions(env), "");
}

} // namespace
} // namespace certq::testing
