// Large tables: certqd's memory with a deep queue, and how fast it is ready (and `certq
// status` answers) on a database of a million rows.

#include "bench.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <stdexcept>

namespace certq::bench {

using namespace std::chrono_literals;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Starts certqd and returns the seconds from spawning it to its READY=1.
double start_until_ready(testing::environment& env, testing::notify_socket& notify,
                         std::unique_ptr<testing::process>& daemon) {
    const auto spawned = std::chrono::steady_clock::now();
    daemon = env.start_daemon({}, {{"NOTIFY_SOCKET", notify.path().string()}});
    if (!testing::wait_for([&] { return notify.arrived("READY=1") || !daemon->running(); }, 120s,
                           1ms))
        throw std::runtime_error("certqd was not ready within 120 s\n" + daemon->output());
    const auto ready = notify.arrived("READY=1");
    if (!ready) throw std::runtime_error("certqd ended before it was ready\n" + daemon->output());
    return std::chrono::duration<double>(*ready - spawned).count();
}

} // namespace

void run_scale(const bench_options& o, report& r) {
    {
        const std::string section = "Memory: " + std::to_string(o.queued_rows) + " rows queued";
        std::printf("%s ...\n", section.c_str());
        std::fflush(stdout);
        testing::environment env(realistic_sim(o), bench_daemon(o));
        env.insert_hostnames(o.queued_rows, bench_hostname);
        testing::notify_socket notify(env.dir() / "notify.sock");
        std::unique_ptr<testing::process> daemon;
        const double ready = start_until_ready(env, notify, daemon);
        // Long enough for every part to be busy: requests, batched polls, rows turning active.
        const int working = std::min(o.queued_rows / 2, static_cast<int>(o.rate * 20));
        if (!testing::wait_for(
                [&] {
                    return env.count("SELECT count(*) FROM domains WHERE state = 'active'") >=
                               working ||
                           !daemon->running();
                },
                120s))
            throw std::runtime_error("memory: certqd made no progress\n" + daemon->output());
        const auto usage = usage_of(daemon->pid());
        daemon->signal(SIGTERM);
        daemon->wait(60s);
        r.add({section, "peak RSS while working them", fixed(usage.peak_rss_mib, 1) + " MiB",
               "<= 40 MB", usage.peak_rss_mib * 1.048576 <= 40});
        r.add({section, "start to READY", fixed(ready, 2) + " s", "", std::nullopt});
        r.section("memory") = {{"queued_rows", o.queued_rows},
                               {"rows_worked_before_reading", working},
                               {"peak_rss_mib", usage.peak_rss_mib},
                               {"ready_seconds", ready}};
    }
    {
        const std::string section = "Start-up: " + std::to_string(o.ready_rows) + " rows";
        std::printf("%s ...\n", section.c_str());
        std::fflush(stdout);
        auto settings = bench_daemon(o);
        settings.requests_per_second = 1; // the rows' API traffic is not what is measured here
        testing::environment env(realistic_sim(o), settings);
        // The mix of a large provider: most rows served, a queue, some pending, some waiting
        // for DNS. Every insert records its transition and event, as a user's INSERT does.
        const auto built = std::chrono::steady_clock::now();
        env.db().exec("BEGIN");
        env.db().exec("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                      std::to_string(o.ready_rows - 1) +
                      ") INSERT INTO domains (hostname, state, certificate_id, next_attempt_at) "
                      "SELECT 'shop' || i || '.customer' || i || '.com', "
                      "CASE WHEN i % 20 < 14 THEN 'active' WHEN i % 20 < 17 THEN 'queued' "
                      "WHEN i % 20 < 19 THEN 'pending' ELSE 'dns_waiting' END, "
                      "CASE WHEN i % 20 < 14 OR i % 20 IN (17, 18) THEN 1000000 + i END, "
                      "CASE WHEN i % 20 >= 17 THEN CAST((julianday('now') - 2440587.5) * 86400000 "
                      "AS INTEGER) + "
                      "3600000 END FROM n");
        env.db().exec("COMMIT");
        const double build_seconds = seconds_since(built);
        const auto bytes = database_bytes(env.database_path());

        testing::notify_socket notify(env.dir() / "notify.sock");
        std::unique_ptr<testing::process> daemon;
        const double ready = start_until_ready(env, notify, daemon);
        const auto status_began = std::chrono::steady_clock::now();
        int rc = -1;
        const auto status_text = testing::run_certq(env, {"status"}, "", &rc);
        const double status_seconds = seconds_since(status_began);
        if (rc != 0)
            throw std::runtime_error("certq status failed on the large database:\n" + status_text);
        const auto usage = usage_of(daemon->pid());
        daemon->signal(SIGTERM);
        daemon->wait(60s);
        r.add({section, "start to READY", fixed(ready, 2) + " s", "<= 2 s", ready <= 2});
        r.add({section, "certq status", fixed(status_seconds, 2) + " s", "", std::nullopt});
        r.add({section, "peak RSS", fixed(usage.peak_rss_mib, 1) + " MiB", "", std::nullopt});
        r.add({section, "database",
               fixed(static_cast<double>(bytes) / 1048576.0, 0) + " MiB, built in " +
                   fixed(build_seconds, 1) + " s",
               "", std::nullopt});
        r.section("startup") = {{"rows", o.ready_rows},
                                {"ready_seconds", ready},
                                {"status_seconds", status_seconds},
                                {"peak_rss_mib", usage.peak_rss_mib},
                                {"database_bytes", bytes},
                                {"build_seconds", build_seconds}};
    }
}

} // namespace certq::bench
