#include "bench.hpp"

#include "store/sqlite.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace certq::bench {

namespace json = boost::json;

void report::print() const {
    std::size_t name_width = 4, value_width = 5, goal_width = 4;
    for (const auto& f : figures_) {
        name_width = std::max(name_width, f.name.size());
        value_width = std::max(value_width, f.value.size());
        goal_width = std::max(goal_width, f.goal.size());
    }
    std::string section;
    for (const auto& f : figures_) {
        if (f.section != section) {
            section = f.section;
            std::printf("\n%s\n", section.c_str());
        }
        const char* verdict = !f.met ? "" : *f.met ? "met" : "MISSED";
        std::printf("  %-*s  %*s  %-*s  %s\n", static_cast<int>(name_width), f.name.c_str(),
                    static_cast<int>(value_width), f.value.c_str(), static_cast<int>(goal_width),
                    f.goal.c_str(), verdict);
    }
    std::fflush(stdout);
}

json::object report::to_json(const bench_options& o) const {
    json::array table;
    for (const auto& f : figures_) {
        json::object line{{"section", f.section}, {"figure", f.name}, {"value", f.value}};
        if (!f.goal.empty()) line["goal"] = f.goal;
        if (f.met) line["met"] = *f.met;
        table.push_back(std::move(line));
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return {{"machine", {{"cores", std::thread::hardware_concurrency()}, {"host", host}}},
            {"options",
             {{"rate", o.rate},
              {"pipeline_rows", o.pipeline_rows},
              {"pickup_rows", o.pickup_rows},
              {"queued_rows", o.queued_rows},
              {"ready_rows", o.ready_rows},
              {"naive_rows", o.naive_rows},
              {"time_scale", o.time_scale},
              {"latency_ms", {o.latency_min.count(), o.latency_max.count()}}}},
            {"table", std::move(table)},
            {"sections", sections_}};
}

process_usage usage_of(pid_t pid) {
    process_usage u;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) start after the last ')'.
    if (const auto close = text.rfind(')'); close != std::string::npos) {
        std::istringstream rest(text.substr(close + 2));
        std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
        const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
        if (fields.size() > 12) {
            u.user_seconds = std::stod(fields[11]) / ticks;   // utime, field 14
            u.system_seconds = std::stod(fields[12]) / ticks; // stime, field 15
        }
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) u.peak_rss_mib = std::stod(line.substr(6)) / 1024;
    return u;
}

double percentile(std::vector<double> samples, double q) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::min(samples.size() - 1, at == 0 ? 0 : at - 1)];
}

std::map<std::string, int> calls_by_operation(const std::vector<sim::recorded_request>& requests) {
    std::map<std::string, int> ops;
    for (const auto& r : requests) {
        const bool query = r.target.find('?') != std::string::npos;
        if (r.target.find("/workloads") != std::string::npos)
            ++ops["workload"];
        else if (r.method == "POST")
            ++ops["request"];
        else if (r.method == "DELETE")
            ++ops["delete"];
        else if (query && r.target.find("name=") != std::string::npos)
            ++ops["find_by_name"];
        else if (query)
            ++ops["list"];
        else
            ++ops["get"];
    }
    return ops;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

void stop(testing::process& daemon) {
    daemon.signal(SIGTERM);
    if (!daemon.wait(std::chrono::seconds{60})) throw std::runtime_error("certqd did not stop within 60 s of SIGTERM");
}

void wait_all_active(testing::environment& env, testing::process& daemon, int rows, double rate,
                     const std::string& what) {
    const auto all_active = [&] {
        return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == rows;
    };
    const auto deadline =
        std::chrono::milliseconds{static_cast<long>(rows / rate * 2000) + 120'000};
    if (!testing::wait_for([&] { return all_active() || !daemon.running(); }, deadline,
                           std::chrono::milliseconds{200}) ||
        !all_active())
        throw std::runtime_error(what + ": not every row became active; see " +
                                 env.dir().path().string() + "\n" +
                                 daemon.output().substr(0, 4000));
}

std::int64_t database_bytes(const std::filesystem::path& database) {
    {
        sqlite::database db(database);
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    std::int64_t bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(database.string() + suffix, ec);
        if (!ec) bytes += static_cast<std::int64_t>(size);
    }
    return bytes;
}

namespace {
std::string scaled(std::chrono::seconds azion_time, double scale) {
    const auto ms = std::chrono::duration<double, std::milli>(azion_time).count() / scale;
    return std::to_string(std::max<long>(1, std::lround(ms))) + "ms";
}
} // namespace

sim::sim_options realistic_sim(const bench_options& o) {
    sim::sim_options s;
    // Azion tries the HTTP-01 challenge within about 5 minutes of the request (API.md).
    s.issue_delay = std::chrono::milliseconds{std::lround(300'000 / o.time_scale)};
    s.latency_min = o.latency_min;
    s.latency_max = o.latency_max;
    return s;
}

testing::daemon_settings bench_daemon(const bench_options& o) {
    testing::daemon_settings s;
    s.requests_per_second = o.rate;
    s.burst = std::max(1, static_cast<int>(o.rate / 10));
    s.max_in_flight = 16;
    s.poll_first = scaled(std::chrono::seconds{30}, o.time_scale);
    s.poll_max = scaled(std::chrono::minutes{15}, o.time_scale);
    s.poll_give_up_after = "168h";
    return s;
}

std::string bench_hostname(int i) {
    return "shop" + std::to_string(i) + ".customer" + std::to_string(i) + ".com";
}

} // namespace certq::bench
