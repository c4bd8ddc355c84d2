#pragma once
// certq's figures for Prometheus (DESIGN §2.4), kept on the loop thread and rendered in the
// text exposition format. No locks: every update and every scrape runs on the one loop.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace certq::metrics {

class histogram {
public:
    static constexpr std::array<double, 10> bounds{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    void observe(double seconds);
    std::array<std::uint64_t, bounds.size()> buckets{}; // cumulative counts rendered
    std::uint64_t count = 0;
    double sum = 0;
};

struct registry {
    std::map<std::string, std::int64_t> domains;                          // certq_domains{state}
    std::map<std::string, std::uint64_t> transitions;                     // certq_transitions_total{to}
    std::map<std::pair<std::string, std::string>, std::uint64_t> api_requests; // {op, code}
    std::map<std::string, histogram> api_duration;                        // {op}
    std::uint64_t api_throttled = 0;                                      // 429s
    std::map<std::string, std::uint64_t> dns_checks;                      // {result}
    std::uint64_t certificates_renewed = 0;                               // renewals seen
    std::int64_t certificates_expiring = 0; // within monitor.expiry_warning of their end
    std::map<std::pair<std::string, std::string>, std::uint64_t> webhook_deliveries; // {webhook, result}
    std::map<std::string, std::int64_t> webhook_backlog;                             // {webhook}
    std::map<std::string, double> webhook_oldest_seconds;                            // {webhook}
    // Figures read from their owners when scraped.
    double rate_configured = 0;
    double rate_current = 0;
    std::uint64_t rate_congestion_events = 0;
    std::uint64_t api_connections = 0;
    std::uint64_t dns_queries = 0;
    std::uint64_t dns_reused = 0;
    int dns_resolvers_up = 1; // 0 while certq's own resolvers answer nothing at all
    int leader = 1;           // 0 while a standby (PostgreSQL: another certqd works the queue)
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    void api_call(const std::string& op, const std::string& code, std::chrono::steady_clock::duration took);
    /// The Prometheus text exposition of everything above.
    std::string render() const;
};

} // namespace certq::metrics
