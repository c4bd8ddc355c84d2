#pragma once
// What the sections of certq-bench share: the report they fill (one table, one JSON document),
// readings of a child process from /proc, and figures over the simulator's request log.

#include "harness.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace certq::bench {

/// Everything a run is told on the command line (see bench_main.cpp for the defaults).
struct bench_options {
    double rate = 100;          ///< certqd's configured requests per second
    int pipeline_rows = 10'000; ///< the pacing run
    int pickup_rows = 1'000;    ///< rows inserted one by one while certqd works
    int queued_rows = 100'000;  ///< peak RSS with this many rows queued
    int ready_rows = 1'000'000; ///< start to READY on a database this large
    int naive_rows = 100;       ///< the hand-written client's comparison
    double convergence_seconds = 60;
    bool all_convergence = true; ///< false: only the limit-below scenario
    /// Azion's minutes become the simulator's seconds: everything with a time in it (issuance,
    /// certqd's poll schedule, the hand-written loop's poll interval) is divided by this.
    double time_scale = 150;
    std::chrono::milliseconds latency_min{30};
    std::chrono::milliseconds latency_max{80};
};

/// One line of the table; `goal` empty when the figure has none.
struct figure {
    std::string section;
    std::string name;
    std::string value;
    std::string goal;
    std::optional<bool> met;
};

class report {
public:
    void add(figure f) { figures_.push_back(std::move(f)); }
    /// The section's raw numbers, for the JSON document.
    boost::json::object& section(const std::string& name) {
        return sections_[name].emplace_object();
    }
    void print() const;
    boost::json::object to_json(const bench_options& o) const;

private:
    std::vector<figure> figures_;
    boost::json::object sections_;
};

/// CPU and memory of a running process, from /proc/<pid>.
struct process_usage {
    double user_seconds = 0;
    double system_seconds = 0;
    double peak_rss_mib = 0; ///< VmHWM
};
process_usage usage_of(pid_t pid);

/// The value at share q (0..1) of sorted or unsorted samples; 0 when empty.
double percentile(std::vector<double> samples, double q);

/// Requests per operation as Azion would count them: POST (requests), list (batched status
/// reads), get (one certificate), find_by_name (look-ups), delete, workload.
std::map<std::string, int> calls_by_operation(const std::vector<sim::recorded_request>& requests);

/// "12.3" with `digits` decimals.
std::string fixed(double v, int digits);

/// SIGTERM, then the exit; throws when certqd has not stopped within 60 s.
void stop(testing::process& daemon);

/// Waits until every one of `rows` is active, or throws naming `what` when certqd ends or the
/// run's deadline (twice the time the rate needs, plus two minutes) passes first.
void wait_all_active(testing::environment& env, testing::process& daemon, int rows, double rate,
                     const std::string& what);

/// A database's bytes on disk, after folding its write-ahead log into it.
std::int64_t database_bytes(const std::filesystem::path& database);

// The sections, each adding its lines to the report.
void run_pipeline(const bench_options& o, report& r);
void run_pickup(const bench_options& o, report& r);
void run_scale(const bench_options& o, report& r);
void run_convergence(const bench_options& o, report& r);
void run_naive(const bench_options& o, report& r);

/// The simulator as every section but convergence has it: Azion's latency, issuance in
/// Azion's ~5 minutes scaled down.
sim::sim_options realistic_sim(const bench_options& o);
/// certqd's settings for the bench: the configured rate, and the default poll schedule
/// (30 s, doubling to 15 min) scaled down as the simulator's time is.
testing::daemon_settings bench_daemon(const bench_options& o);
/// "shop<i>.customer<i>.com": one registered domain per row, so Let's Encrypt's budget per
/// registered domain never throttles the bench.
std::string bench_hostname(int i);

} // namespace certq::bench
