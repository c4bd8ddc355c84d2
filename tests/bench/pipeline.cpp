// The main job at scale: rows queued with SQL, the real certqd working them against the
// simulated API with Azion's latency, until every row is active. Pacing, API calls per row,
// CPU, memory and disk per row; and the time from a user's INSERT to the row's first state
// change while certqd is busy with others.

#include "bench.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace certq::bench {

using namespace std::chrono_literals;
namespace json = boost::json;

void run_pipeline(const bench_options& o, report& r) {
    const std::string section = "Pipeline: " + std::to_string(o.pipeline_rows) + " rows at " +
                                fixed(o.rate, 0) + "/s configured";
    std::printf("%s ...\n", section.c_str());
    std::fflush(stdout);
    testing::environment env(realistic_sim(o), bench_daemon(o));
    env.insert_hostnames(o.pipeline_rows, bench_hostname);
    auto daemon = env.start_daemon();
    wait_all_active(env, *daemon, o.pipeline_rows, o.rate, "pipeline");
    const auto usage = usage_of(daemon->pid());
    stop(*daemon);

    const auto requests = env.sim().requests();
    if (requests.empty()) throw std::runtime_error("pipeline: no request reached the simulator");
    // Pacing: while POSTs were still to be sent, certqd always had work for every token.
    auto last_post = requests.front().at;
    for (const auto& q : requests)
        if (q.method == "POST") last_post = std::max(last_post, q.at);
    const auto first = requests.front().at;
    std::size_t paced = 0;
    for (const auto& q : requests)
        paced += q.at <= last_post ? 1 : 0;
    const double paced_seconds =
        std::chrono::duration<double>(last_post - first).count() + 1 / o.rate;
    const double pacing = static_cast<double>(paced) / paced_seconds / o.rate;
    const int busiest = testing::most_requests_in_one_second(requests);
    auto last_request = first;
    for (const auto& q : requests)
        last_request = std::max(last_request, q.at);
    const double wall = std::chrono::duration<double>(last_request - first).count();

    const double rows = o.pipeline_rows;
    const auto ops = calls_by_operation(requests);
    const double calls_per_row = static_cast<double>(requests.size()) / rows;
    const double transitions = static_cast<double>(env.count("SELECT count(*) FROM transitions"));
    const double events = static_cast<double>(env.count("SELECT count(*) FROM events"));
    const auto bytes = database_bytes(env.database_path());
    const double cpu_user = usage.user_seconds * 1000 / rows;
    const double cpu_system = usage.system_seconds * 1000 / rows;

    r.add({section, "pacing: achieved / configured rate", fixed(pacing, 3), ">= 0.98",
           pacing >= 0.98});
    r.add({section, "most requests in one second", std::to_string(busiest),
           "<= rate + burst (" + fixed(o.rate + std::max(1.0, std::floor(o.rate / 10)), 0) + ")",
           busiest <= o.rate + std::max(1.0, std::floor(o.rate / 10))});
    r.add(
        {section, "API calls per row", fixed(calls_per_row, 3), "<= 1.03", calls_per_row <= 1.03});
    std::string split;
    for (const auto& [op, n] : ops)
        split += (split.empty() ? "" : ", ") + op + " " + fixed(n / rows, 3);
    r.add({section, "  by operation (per row)", split, "", std::nullopt});
    const double cpu = cpu_user + cpu_system;
    r.add({section, "CPU seconds per 1,000 rows (user + system)",
           fixed(cpu, 2) + " (" + fixed(cpu_user, 2) + " + " + fixed(cpu_system, 2) + ")", "<= 1",
           cpu <= 1});
    r.add({section, "peak RSS", fixed(usage.peak_rss_mib, 1) + " MiB", "", std::nullopt});
    r.add({section, "database bytes per row",
           fixed(static_cast<double>(bytes) / rows, 0) + " B (" + fixed(transitions / rows, 1) +
               " transitions, " + fixed(events / rows, 1) + " events)",
           "", std::nullopt});
    r.add({section, "first request to last, wall",
           fixed(wall, 1) + " s (" + fixed(rows / wall, 1) + " rows/s)", "", std::nullopt});

    json::object by_op;
    for (const auto& [op, n] : ops)
        by_op[op] = n;
    auto& j = r.section("pipeline");
    j = {{"rows", o.pipeline_rows},
         {"configured_rate", o.rate},
         {"pacing", pacing},
         {"busiest_second", busiest},
         {"calls", requests.size()},
         {"calls_per_row", calls_per_row},
         {"calls_by_operation", by_op},
         {"cpu_user_seconds_per_1000_rows", cpu_user},
         {"cpu_system_seconds_per_1000_rows", cpu_system},
         {"peak_rss_mib", usage.peak_rss_mib},
         {"database_bytes", bytes},
         {"database_bytes_per_row", static_cast<double>(bytes) / rows},
         {"transitions_per_row", transitions / rows},
         {"events_per_row", events / rows},
         {"wall_seconds", wall}};
}

void run_pickup(const bench_options& o, report& r) {
    const double insert_rate = o.rate / 2;
    const std::string section = "Pick-up: " + std::to_string(o.pickup_rows) + " INSERTs at " +
                                fixed(insert_rate, 0) + "/s while certqd works";
    std::printf("%s ...\n", section.c_str());
    std::fflush(stdout);
    testing::environment env(realistic_sim(o), bench_daemon(o));
    testing::notify_socket notify(env.dir() / "notify.sock");
    auto daemon = env.start_daemon({}, {{"NOTIFY_SOCKET", notify.path().string()}});
    if (!testing::wait_for([&] { return notify.saw("READY=1") || !daemon->running(); }, 30s,
                           10ms) ||
        !daemon->running())
        throw std::runtime_error("pick-up: certqd did not get ready\n" + daemon->output());
    // One autocommit INSERT at a time, as a control panel's would be, at half the API rate so
    // that certqd has room for each while its earlier rows are being requested and polled.
    auto insert = env.db().prepare("INSERT INTO domains (hostname) VALUES (?1)");
    const auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < o.pickup_rows; ++i) {
        std::this_thread::sleep_until(
            began + std::chrono::microseconds{static_cast<long>(i * 1e6 / insert_rate)});
        insert.bind(1, bench_hostname(i));
        insert.run();
        insert.reset();
    }
    wait_all_active(env, *daemon, o.pickup_rows, o.rate, "pick-up");
    stop(*daemon);

    // The insert's own transition and the first one after it, both stamped by SQLite's clock.
    std::vector<double> latency_ms;
    auto q = env.db().prepare(
        "SELECT (julianday(min(c.at)) - julianday(i.at)) * 86400000.0 FROM transitions i "
        "JOIN transitions c ON c.domain_id = i.domain_id AND c.from_state IS NOT NULL "
        "WHERE i.from_state IS NULL GROUP BY i.domain_id");
    while (q.step())
        latency_ms.push_back(q.column_double(0));
    const double p50 = percentile(latency_ms, 0.5), p99 = percentile(latency_ms, 0.99),
                 worst = percentile(latency_ms, 1.0);
    r.add({section, "INSERT -> first state change, p50", fixed(p50, 0) + " ms", "", std::nullopt});
    r.add({section, "INSERT -> first state change, p99", fixed(p99, 0) + " ms", "<= 200 ms",
           p99 <= 200});
    r.add(
        {section, "INSERT -> first state change, max", fixed(worst, 0) + " ms", "", std::nullopt});
    r.section("pickup") = {{"rows", o.pickup_rows},
                           {"insert_rate", insert_rate},
                           {"p50_ms", p50},
                           {"p99_ms", p99},
                           {"max_ms", worst}};
}

} // namespace certq::bench
