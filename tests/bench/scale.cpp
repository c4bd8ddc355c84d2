// Large tables: certqd's memory with a deep queue, and how fast it is ready (and `certq
// status` answers) on a database of a million rows.

#include "bench.hpp"

#include <boost/json.hpp>

#include <algorithm>
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

// The median of three answers to GET target, in milliseconds; throws unless each is a 200.
double median_get_ms(unsigned short port, const std::string& target) {
    std::vector<double> ms;
    for (int i = 0; i < 3; ++i) {
        const auto began = std::chrono::steady_clock::now();
        const auto r = testing::http_fetch(port, target);
        ms.push_back(seconds_since(began) * 1000);
        if (r.status != 200)
            throw std::runtime_error("GET " + target + " answered " + std::to_string(r.status) + ": " + r.body);
    }
    return percentile(ms, 0.5);
}

// The web API's reads on the large table, as a control panel and the page make them.
void time_web_reads(unsigned short port, int rows, const std::string& section, report& r, boost::json::object& raw) {
    const auto last = std::to_string(rows - 1);
    const std::vector<std::pair<std::string, std::string>> reads{
        {"status", "/api/v1/status"},
        {"first page (50 rows)", "/api/v1/domains?limit=50"},
        {"a page half-way (keyset)", "/api/v1/domains?limit=50&after=" + std::to_string(rows / 2)},
        {"the last page, oldest first", "/api/v1/domains?limit=50&order=oldest&after=" + std::to_string(rows - 50)},
        {"one state (5 %)", "/api/v1/domains?state=dns_waiting&limit=50"},
        {"search, many matches", "/api/v1/domains?q=customer99&limit=50"},
        {"search, one match (whole table read)", "/api/v1/domains?q=customer" + last + ".&limit=50"},
        {"search, a whole name", "/api/v1/domains?q=shop" + last + ".customer" + last + ".com&limit=50"},
        {"one row's story", "/api/v1/domains/shop" + last + ".customer" + last + ".com"},
        {"problems grouped", "/api/v1/problems"},
        {"throughput, 24 h", "/api/v1/throughput?hours=24"},
    };
    for (const auto& [name, target] : reads) {
        const auto ms = median_get_ms(port, target);
        raw[name] = ms;
        r.add({section, "API: " + name, fixed(ms, 1) + " ms", "", std::nullopt});
    }
    // Paging on: 100 pages one after the other, each from the previous page's `next`.
    std::vector<double> pages;
    std::string next;
    for (int i = 0; i < 100; ++i) {
        const auto began = std::chrono::steady_clock::now();
        const auto page = testing::http_fetch(port, "/api/v1/domains?limit=50" + (next.empty() ? "" : "&after=" + next));
        pages.push_back(seconds_since(began) * 1000);
        const auto v = boost::json::parse(page.body).as_object();
        if (v.at("next").is_null()) break;
        next = std::string(v.at("next").as_string());
    }
    const auto worst = *std::max_element(pages.begin(), pages.end());
    raw["100 pages: max ms"] = worst;
    raw["100 pages: p50 ms"] = percentile(pages, 0.5);
    r.add({section, "API: 100 pages in a row, slowest", fixed(worst, 1) + " ms", "<= 50 ms", worst <= 50});
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
        stop(*daemon);
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
        settings.http_listen = "127.0.0.1:0";
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
        boost::json::object web;
        const auto port = testing::logged_http_port(*daemon);
        if (port == 0) throw std::runtime_error("certqd did not log its HTTP port\n" + daemon->output());
        time_web_reads(port, o.ready_rows, section, r, web);
        const auto usage = usage_of(daemon->pid());
        stop(*daemon);
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
                                {"build_seconds", build_seconds},
                                {"web_ms", std::move(web)}};
    }
}

} // namespace certq::bench
