#pragma once
// The read-only JSON API under /api/v1/ (README "JSON API"): the queue's status, throughput,
// what fails and why, a keyset-paged list of rows, one row's story, and a live DNS check of a
// row's names. Reads go to the web's own reader; only the DNS check and the live facts (rate
// in force, leadership) touch the daemon's loop.

#include "dns/checker.hpp"
#include "ratelimit/token_bucket.hpp"
#include "store/reads.hpp"
#include "store/status.hpp"
#include "web/http_server.hpp"
#include "web/reader.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <vector>

namespace certq::web {

/// What only the running daemon knows, read on its loop when a status is asked for.
struct live_facts {
    bool leader = true;
    double rate_configured = 0;
    double rate_in_force = 0;
    std::uint64_t congestion_events = 0;
    struct webhook {
        std::string url;
        std::string label; ///< shown instead of the URL, which may carry a secret
        std::vector<std::string> events;
    };
    std::vector<webhook> webhooks;
    std::chrono::milliseconds expiry_warning{0};
};

class api {
public:
    using facts_source = std::function<live_facts()>;
    /// The DNS pre-check's explanation of some names (dns::checker::explain).
    using dns_explainer = std::function<boost::asio::awaitable<std::vector<dns::name_report>>(std::vector<std::string>)>;

    /// `dns` may be empty: the checks then answer 503. Live DNS checks are limited to `dns_rate` a second with a burst of `dns_burst`: each
    /// one sends real queries, so a page left open, or a script, must not turn certqd into a
    /// resolver's load generator.
    api(reader& db, facts_source facts, dns_explainer dns, double dns_rate = 1, int dns_burst = 5);

    /// Answers `req`, whose target starts with /api/v1. Never throws: failures are JSON errors.
    boost::asio::awaitable<response> handle(request req);

    /// How long a summary is reused: every open page asks for the status every 5 s, and on a
    /// million rows counting them takes 0.2 s, so ten open pages share one count.
    static constexpr std::chrono::seconds status_reuse{2}, problems_reuse{5}, throughput_reuse{30};

private:
    boost::asio::awaitable<response> dns_check(std::string host);

    // The last answer of one kind, with when it was read and for which parameter.
    template <class T> struct recent {
        std::optional<T> value;
        std::chrono::steady_clock::time_point at;
        wall_time read_at{}; ///< for the answer's generated_at
        std::int64_t key = 0;
        const T* fresh(std::chrono::steady_clock::duration reuse, std::int64_t k = 0) const {
            return value && key == k && std::chrono::steady_clock::now() - at < reuse ? &*value : nullptr;
        }
        const T& keep(T v, std::int64_t k = 0) {
            value = std::move(v);
            at = std::chrono::steady_clock::now();
            read_at = wall_now();
            key = k;
            return *value;
        }
    };
    recent<store::queue_status> status_;
    recent<store::problem_report> problems_;
    recent<std::vector<store::throughput_bucket>> throughput_;

    reader& db_;
    facts_source facts_;
    dns_explainer dns_;
    token_bucket dns_budget_;
};

/// A JSON error answer: {"error": message, "status": status}.
response json_error(unsigned status, const std::string& message);

} // namespace certq::web
