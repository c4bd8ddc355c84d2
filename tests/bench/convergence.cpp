// How certqd finds Azion's real rate limit (the findings issue): the real daemon against the
// simulated API with a server-side limit below, above, and changing under the configured rate.

#include "bench.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <thread>

namespace certq::bench {

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
    stop(*daemon);
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

void run_convergence(const bench_options& o, report& rep) {
    const double seconds = o.convergence_seconds;
    const std::string section = "Rate convergence: configured " + fixed(configured, 0) +
                                "/s, server burst one second of its limit, steady from second " +
                                std::to_string(static_cast<int>(seconds / 3));
    std::printf("%s ...\n", section.c_str());
    std::fflush(stdout);
    const auto burst_one_second = [](double limit) { return std::max(1.0, std::round(limit)); };
    json::array scenarios;
    const int warm = static_cast<int>(seconds / 3);
    std::vector<double> shares{0.5};
    if (o.all_convergence) shares = {0.25, 0.5, 0.75, 1.5};
    for (double share : shares) {
        const double limit = configured * share;
        const double ceiling = std::min(limit, configured);
        const int rows = static_cast<int>(ceiling * seconds * 1.3) + 100;
        const auto r = run(
            configured, rows, seconds, [&](double) { return limit; }, burst_one_second);
        const auto v = over(r, warm, static_cast<int>(seconds));
        const auto whole = over(r, 1, static_cast<int>(seconds));
        const double ratio = v.admitted_per_second / ceiling;
        const std::string name = "server limit " + fixed(limit, 1) + "/s: throughput / " +
                                 (limit < configured ? "limit" : "configured");
        rep.add({section, name, fixed(ratio, 3), ">= 0.95", ratio >= 0.95});
        rep.add(
            {section, "  429 share, steady (whole run)",
             fixed(100 * v.refused_share, 2) + " % (" + fixed(100 * whole.refused_share, 2) + " %)",
             "<= 3 %", v.refused_share <= 0.03});
        scenarios.push_back({{"limit", limit},
                             {"admitted_per_second", v.admitted_per_second},
                             {"throughput_ratio", ratio},
                             {"refused_share", v.refused_share},
                             {"refused_share_whole_run", whole.refused_share},
                             {"congestion_events", r.congestion_logs}});
    }
    if (o.all_convergence) {
        // A limit that drops from 30/s to 10/s and comes back, under a configured 40/s.
        const double phase = std::max(60.0, seconds * 2 / 3);
        const auto limit_at = [&](double t) { return t >= phase && t < 2 * phase ? 10.0 : 30.0; };
        const auto r =
            run(40, static_cast<int>(30 * 3 * phase * 1.2), 3 * phase, limit_at, burst_one_second);
        const int p = static_cast<int>(phase);
        const auto down = followed_after(r, p, 2 * p, 10);
        const auto up = followed_after(r, 2 * p, 3 * p, 30);
        const auto whole = over(r, 1, 3 * p);
        rep.add({section, "limit 30 -> 10 /s (configured 40/s): followed after",
                 down ? std::to_string(*down) + " s" : "never", "<= 30 s", down && *down <= 30});
        rep.add({section, "limit 10 -> 30 /s: followed after",
                 up ? std::to_string(*up) + " s" : "never", "<= 30 s", up && *up <= 30});
        rep.add({section, "  429 share over the changing run",
                 fixed(100 * whole.refused_share, 2) + " %", "<= 3 %",
                 whole.refused_share <= 0.03});
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
    }
    rep.section("rate_convergence") = {{"configured_rate", configured}, {"scenarios", scenarios}};
}

} // namespace certq::bench
