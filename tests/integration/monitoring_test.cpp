// The alert rules and the Grafana dashboard the package ships (monitoring/) ask only for metrics
// a running certqd exports, and the dashboard shows every one of them.

#include "harness.hpp"

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path monitoring_dir = std::filesystem::path(CERTQ_SOURCE_DIR) / "monitoring";

// The metric names a PromQL expression selects. Strings, label matchers, ranges, grouping
// clauses and Grafana variables are cut out first; what is left that looks like a name and is
// neither called (a function or an aggregation) nor a keyword is a metric.
std::set<std::string> metric_names(const std::string& expr) {
    static const std::regex cut(R"("(\\.|[^"\\])*"|'(\\.|[^'\\])*'|`[^`]*`|\{[^}]*\}|\[[^\]]*\])"
                                R"(|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"
                                R"(|\$\{[^}]*\}|\$\w+)");
    static const std::regex token(R"([0-9][0-9A-Za-z_.]*|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?)");
    static const std::set<std::string> keywords = {
        "and",        "or",          "unless", "by",     "without", "on", "ignoring",
        "group_left", "group_right", "bool",   "offset", "inf",     "nan"};
    const std::string bare = std::regex_replace(expr, cut, " ");
    std::set<std::string> names;
    for (std::sregex_iterator it(bare.begin(), bare.end(), token), end; it != end; ++it) {
        const auto& m = *it;
        if (m[1].matched && !m[2].matched && !keywords.contains(m[1].str()))
            names.insert(m[1].str());
    }
    return names;
}

std::set<std::string> rules_metrics() {
    std::set<std::string> names;
    const auto rules = YAML::LoadFile((monitoring_dir / "certq-alerts.yaml").string());
    for (const auto& group : rules["groups"])
        for (const auto& rule : group["rules"])
            names.merge(metric_names(rule["expr"].as<std::string>()));
    return names;
}

// Every panel target's `expr`, and the metric of a variable's label_values(metric, label).
void collect_dashboard_metrics(const boost::json::value& v, std::set<std::string>& names) {
    static const std::regex label_values(R"(label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,)");
    if (const auto* o = v.if_object()) {
        for (const auto& [key, member] : *o) {
            if (key == "expr" && member.is_string())
                names.merge(metric_names(std::string(member.as_string())));
            else if (key == "query" && member.is_string()) {
                const std::string query(member.as_string());
                std::smatch m;
                if (std::regex_search(query, m, label_values)) names.insert(m[1]);
            } else
                collect_dashboard_metrics(member, names);
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a)
            collect_dashboard_metrics(e, names);
    }
}

std::set<std::string> dashboard_metrics() {
    std::ifstream in(monitoring_dir / "certq-dashboard.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const auto dashboard = boost::json::parse(text.str(), ec);
    if (ec) throw std::runtime_error("certq-dashboard.json: " + ec.message());
    std::set<std::string> names;
    collect_dashboard_metrics(dashboard, names);
    return names;
}

// The metrics of a /metrics page, name and type, from its `# TYPE` lines.
std::map<std::string, std::string> exported_metrics(const std::string& page) {
    std::map<std::string, std::string> types;
    std::istringstream lines(page);
    for (std::string line, name, type; std::getline(lines, line);) {
        if (!line.starts_with("# TYPE ")) continue;
        std::istringstream(line.substr(7)) >> name >> type;
        types[name] = type;
    }
    return types;
}

// A histogram's series (`_bucket`, `_sum`, `_count`) stand for the histogram.
std::set<std::string> histograms_as_one(const std::set<std::string>& names,
                                        const std::map<std::string, std::string>& types) {
    static const std::regex series("(.+)_(bucket|sum|count)");
    std::set<std::string> out;
    for (const auto& name : names) {
        std::smatch m;
        const bool histogram_series = std::regex_match(name, m, series) && types.contains(m[1]) &&
                                      types.at(m[1]) == "histogram";
        out.insert(histogram_series ? m[1].str() : name);
    }
    return out;
}

std::string joined(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

TEST(Monitoring, MetricNamesAreReadFromPromQL) {
    EXPECT_EQ(
        metric_names(
            R"(sum by (job, instance) (rate(certq_transitions_total{to=~"failed|active"}[1h])) )"
            R"(/ on (instance) group_left sum(certq_domains{state="x"}) > 0.1 and up{job="certq"} == 0)"),
        (std::set<std::string>{"certq_transitions_total", "certq_domains", "up"}));
    EXPECT_EQ(
        metric_names(
            R"(histogram_quantile(0.95, sum by (op, le) (rate(a_bucket{instance=~"$instance"}[$__rate_interval]))))"),
        (std::set<std::string>{"a_bucket"}));
    EXPECT_EQ(metric_names("b > 6 * 3600 unless c offset 1h30m or 1e3 < d"),
              (std::set<std::string>{"b", "c", "d"}));
}

TEST(Monitoring, RulesAndDashboardUseOnlyMetricsCertqdExports) {
    daemon_settings settings;
    settings.http_listen = "127.0.0.1:0";
    environment env({}, settings);
    auto daemon = env.start_daemon();
    const auto port = logged_http_port(*daemon);
    ASSERT_NE(port, 0) << daemon->output();
    const auto [status, page] = http_get(port, "/metrics");
    ASSERT_EQ(status, 200u) << page;
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();

    const auto types = exported_metrics(page);
    ASSERT_TRUE(types.contains("certq_domains")) << page;
    std::set<std::string> exported;
    for (const auto& [name, type] : types)
        exported.insert(name);
    std::set<std::string> known = exported;
    known.insert("up"); // Prometheus's own, per scrape target

    const auto in_rules = histograms_as_one(rules_metrics(), types);
    const auto on_dashboard = histograms_as_one(dashboard_metrics(), types);
    EXPECT_TRUE(in_rules.contains("certq_domains") && in_rules.contains("up")) << joined(in_rules);
    std::set<std::string> unknown;
    for (const auto* used : {&in_rules, &on_dashboard})
        for (const auto& name : *used)
            if (!known.contains(name)) unknown.insert(name);
    EXPECT_TRUE(unknown.empty())
        << "the rules or the dashboard use metrics certqd does not export: " << joined(unknown)
        << "\nexported: " << joined(exported);

    std::set<std::string> not_shown;
    for (const auto& name : exported)
        if (!on_dashboard.contains(name)) not_shown.insert(name);
    EXPECT_TRUE(not_shown.empty())
        << "give these metrics a panel in monitoring/certq-dashboard.json: " << joined(not_shown);
}

} // namespace
} // namespace certq::testing
