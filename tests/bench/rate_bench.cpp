// How certqd finds Azion's real rate limit: the real daemon against the simulated API with a
// server-side limit below, above, and changing under the configured rate. Prints a table and
// writes it as JSON. Figures, not pass/fail (the goals are in the issue and the README).
//
//   rate_bench [--json FILE] [--seconds N]   N: length of each steady scenario (default 90)

#include "harness.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

using namespace certq;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr double configured = 30;

struct second_bin {
    int admitted = 0;
    int refused = 0;
};

struct run_result {
    std::vector<second_bin> bins; // per second from the daemon's start
    int congestion_logs = 0;
};

// One daemon run: `rows` rows queued, the limit set by `schedule` (seconds → limit), for
// `seconds`.
run_result run(double rate, int rows, double seconds, const std::function<double(double)>& limit_at,
               const std::function<double(double)>& burst_for) {
    sim::sim_options o;
    o.rate_limit = limit_at(0);
    o.rate_burst = static_cast<int>(burst_for(o.rate_limit));
    o.issue_delay = 1s;
    testing::daemon_settings s;
    s.requests_per_second = rate;
    s.burst = 5;
    s.max_in_flight = 16;
    s.poll_first = "1s";
    s.poll_max = "4s";
    testing::environment env(o, s);
    env.insert_hostnames(rows, [](int i) {
        return "b" + std::to_string(i) + ".bench" + std::to_string(i) + ".com";
    });
    const auto began = std::chrono::steady_clock::now();
    auto daemon = env.start_daemon();
    double current = o.rate_limit;
    while (true) {
        const double t =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        if (t >= seconds) break;
        if (const double want = limit_at(t); want != current) {
            env.sim().set_rate_limit(want, static_cast<int>(burst_for(want)));
            current = want;
        }
        std::this_thread::sleep_for(50ms); // a bench paces itself; tests never do this
    }
    daemon->signal(SIGTERM);
    daemon->wait(30s);
    run_result r;
    r.bins.resize(static_cast<std::size_t>(seconds) + 1);
    for (const auto& req : env.sim().requests()) {
        const double t = std::chrono::duration<double>(req.at - began).count();
        if (t < 0 || t >= seconds) continue;
        auto& bin = r.bins[static_cast<std::size_t>(t)];
        if (req.status == 429)
            ++bin.refused;
        else if (req.status != 0)
            ++bin.admitted;
    }
    const auto log = daemon->output();
    for (auto at = log.find("Azion is throttling"); at != std::string::npos;
         at = log.find("Azion is throttling", at + 1))
        ++r.congestion_logs;
    return r;
}

struct window {
    double admitted_per_second;
    double refused_share;
};

window over(const run_result& r, int from, int to) {
    double admitted = 0, refused = 0;
    for (int s = from; s < to; ++s) {
        admitted += r.bins[static_cast<std::size_t>(s)].admitted;
        refused += r.bins[static_cast<std::size_t>(s)].refused;
    }
    return {admitted / (to - from), admitted + refused > 0 ? refused / (admitted + refused) : 0};
}

// Seconds after `change` until the new limit is followed: the first 10-second window that
// admits at least 0.9 of it with at most 3 % refused.
std::optional<int> followed_after(const run_result& r, int change, int until, double limit) {
    for (int s = change; s + 10 <= until; ++s) {
        const auto v = over(r, s, s + 10);
        if (v.admitted_per_second >= 0.9 * limit && v.refused_share <= 0.03) return s - change;
    }
    return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
    std::string json_path;
    double seconds = 90;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--json")
            json_path = argv[i + 1];
        else if (arg == "--seconds")
            seconds = std::stod(argv[i + 1]);
    }
    const auto burst_one_second = [](double limit) { return std::max(1.0, std::round(limit)); };
    json::array scenarios;
    std::printf("configured rate %.0f/s; server burst = one second of its limit; steady figures "
                "from second %d\n",
                configured, static_cast<int>(seconds / 3));
    std::printf("%-28s %10s %12s %10s %8s\n", "scenario", "limit/s", "admitted/s", "÷ limit",
                "429 %");
    const int warm = static_cast<int>(seconds / 3);
    for (double share : {0.25, 0.5, 0.75, 1.5}) {
        const double limit = configured * share;
        const double ceiling = std::min(limit, configured);
        const int rows = static_cast<int>(ceiling * seconds * 1.3) + 100;
        const auto r = run(
            configured, rows, seconds, [&](double) { return limit; }, burst_one_second);
        const auto v = over(r, warm, static_cast<int>(seconds));
        const auto whole = over(r, 1, static_cast<int>(seconds));
        const std::string name =
            "limit " + std::to_string(static_cast<int>(share * 100)) + " % of configured";
        std::printf(
            "%-28s %10.1f %12.2f %10.3f %7.2f%%  (whole run %.2f%% 429, %d congestion events)\n",
            name.c_str(), limit, v.admitted_per_second, v.admitted_per_second / ceiling,
            100 * v.refused_share, 100 * whole.refused_share, r.congestion_logs);
        scenarios.push_back({{"scenario", name},
                             {"limit", limit},
                             {"admitted_per_second", v.admitted_per_second},
                             {"throughput_ratio", v.admitted_per_second / ceiling},
                             {"refused_share", v.refused_share},
                             {"refused_share_whole_run", whole.refused_share},
                             {"congestion_events", r.congestion_logs}});
    }
    // A limit that drops from 30/s to 10/s and comes back, under a configured 40/s.
    const double phase = std::max(60.0, seconds * 2 / 3);
    const auto limit_at = [&](double t) { return t >= phase && t < 2 * phase ? 10.0 : 30.0; };
    const auto r =
        run(40, static_cast<int>(30 * 3 * phase * 1.2), 3 * phase, limit_at, burst_one_second);
    const int p = static_cast<int>(phase);
    const auto down = followed_after(r, p, 2 * p, 10);
    const auto up = followed_after(r, 2 * p, 3 * p, 30);
    const auto whole = over(r, 1, 3 * p);
    std::printf(
        "%-28s %10s %12s %10s %7.2f%%  followed down in %s s, up in %s s (%d congestion events)\n",
        "limit 30 -> 10 -> 30 /s", "", "", "", 100 * whole.refused_share,
        down ? std::to_string(*down).c_str() : "never", up ? std::to_string(*up).c_str() : "never",
        r.congestion_logs);
    json::array per_second;
    for (const auto& b : r.bins)
        per_second.push_back({b.admitted, b.refused});
    scenarios.push_back(
        {{"scenario", "limit 30 -> 10 -> 30 /s, configured 40/s"},
         {"phase_seconds", phase},
         {"followed_down_seconds", down ? json::value(*down) : json::value(nullptr)},
         {"followed_up_seconds", up ? json::value(*up) : json::value(nullptr)},
         {"refused_share", whole.refused_share},
         {"congestion_events", r.congestion_logs},
         {"per_second_admitted_refused", per_second}});
    if (!json_path.empty()) {
        std::ofstream(json_path) << json::serialize(json::object{{"rate_convergence", scenarios}})
                                 << "\n";
        std::printf("written to %s\n", json_path.c_str());
    }
    return 0;
}
