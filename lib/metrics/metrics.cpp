#include "metrics/metrics.hpp"

#include <cstdio>

namespace certq::metrics {
namespace {

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string label_value(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

} // namespace

void histogram::observe(double seconds) {
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (seconds <= bounds[i]) ++buckets[i];
    ++count;
    sum += seconds;
}

void registry::api_call(const std::string& op, const std::string& code, std::chrono::steady_clock::duration took) {
    ++api_requests[{op, code}];
    api_duration[op].observe(std::chrono::duration<double>(took).count());
    if (code == "429") ++api_throttled;
}

std::string registry::render() const {
    std::string out;
    header(out, "certq_domains", "gauge", "Rows of the domains table per state.");
    for (const auto& [state, n] : domains) out += "certq_domains{state=\"" + label_value(state) + "\"} " + std::to_string(n) + "\n";
    header(out, "certq_transitions_total", "counter", "State changes made by this certqd, by target state.");
    for (const auto& [to, n] : transitions) out += "certq_transitions_total{to=\"" + label_value(to) + "\"} " + std::to_string(n) + "\n";
    header(out, "certq_api_requests_total", "counter", "Azion API calls by operation and HTTP status (or network error).");
    for (const auto& [key, n] : api_requests)
        out += "certq_api_requests_total{op=\"" + label_value(key.first) + "\",code=\"" + label_value(key.second) + "\"} " +
               std::to_string(n) + "\n";
    header(out, "certq_api_request_duration_seconds", "histogram", "Duration of Azion API calls, token wait excluded.");
    for (const auto& [op, h] : api_duration) {
        const auto l = "op=\"" + label_value(op) + "\"";
        for (std::size_t i = 0; i < histogram::bounds.size(); ++i)
            out += "certq_api_request_duration_seconds_bucket{" + l + ",le=\"" + number(histogram::bounds[i]) + "\"} " +
                   std::to_string(h.buckets[i]) + "\n";
        out += "certq_api_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
        out += "certq_api_request_duration_seconds_sum{" + l + "} " + number(h.sum) + "\n";
        out += "certq_api_request_duration_seconds_count{" + l + "} " + std::to_string(h.count) + "\n";
    }
    header(out, "certq_api_throttled_total", "counter", "Azion API calls answered 429.");
    out += "certq_api_throttled_total " + std::to_string(api_throttled) + "\n";
    header(out, "certq_dns_checks_total", "counter", "DNS pre-checks of rows by result.");
    for (const auto& [result, n] : dns_checks) out += "certq_dns_checks_total{result=\"" + label_value(result) + "\"} " + std::to_string(n) + "\n";
    header(out, "certq_rate_limit_configured_per_second", "gauge", "Configured Azion API rate.");
    out += "certq_rate_limit_configured_per_second " + number(rate_configured) + "\n";
    header(out, "certq_rate_limit_current_per_second", "gauge", "Azion API rate in force (lower after 429s).");
    out += "certq_rate_limit_current_per_second " + number(rate_current) + "\n";
    header(out, "certq_certificates_renewed_total", "counter", "Renewals by Azion seen on the slow schedule.");
    out += "certq_certificates_renewed_total " + std::to_string(certificates_renewed) + "\n";
    header(out, "certq_certificates_expiring", "gauge",
           "Active certificates ending within monitor.expiry_warning (not renewed in time).");
    out += "certq_certificates_expiring " + std::to_string(certificates_expiring) + "\n";
    header(out, "certq_webhook_deliveries_total", "counter",
           "Webhook delivery attempts by receiver and result (delivered, failed, given_up).");
    for (const auto& [key, n] : webhook_deliveries)
        out += "certq_webhook_deliveries_total{webhook=\"" + label_value(key.first) + "\",result=\"" +
               label_value(key.second) + "\"} " + std::to_string(n) + "\n";
    header(out, "certq_webhook_backlog", "gauge", "Events held for a receiver, not yet delivered or given up.");
    for (const auto& [hook, n] : webhook_backlog)
        out += "certq_webhook_backlog{webhook=\"" + label_value(hook) + "\"} " + std::to_string(n) + "\n";
    header(out, "certq_webhook_oldest_undelivered_seconds", "gauge",
           "Age of the oldest event a receiver has not taken yet, from its first attempt.");
    for (const auto& [hook, age] : webhook_oldest_seconds)
        out += "certq_webhook_oldest_undelivered_seconds{webhook=\"" + label_value(hook) + "\"} " + number(age) + "\n";
    header(out, "certq_dns_resolvers_up", "gauge",
           "1 while certq's DNS resolvers answer; 0 while every query times out or is refused.");
    out += "certq_dns_resolvers_up " + std::to_string(dns_resolvers_up) + "\n";
    header(out, "certq_leader", "gauge",
           "1 while this certqd works the queue; 0 while it waits as a standby for the leader lock.");
    out += "certq_leader " + std::to_string(leader) + "\n";
    header(out, "certq_rate_limit_congestion_events_total", "counter",
           "Times Azion's 429s cut the rate in force (the 429s of one burst count once).");
    out += "certq_rate_limit_congestion_events_total " + std::to_string(rate_congestion_events) + "\n";
    header(out, "certq_api_connections_opened_total", "counter", "TLS connections opened to Azion.");
    out += "certq_api_connections_opened_total " + std::to_string(api_connections) + "\n";
    header(out, "certq_dns_queries_total", "counter", "DNS queries sent.");
    out += "certq_dns_queries_total " + std::to_string(dns_queries) + "\n";
    header(out, "certq_dns_answers_reused_total", "counter", "DNS questions answered from the wave's shared answers.");
    out += "certq_dns_answers_reused_total " + std::to_string(dns_reused) + "\n";
    header(out, "certq_uptime_seconds", "gauge", "Seconds since certqd started.");
    out += "certq_uptime_seconds " +
           number(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()) + "\n";
    return out;
}

} // namespace certq::metrics
