#pragma once
// A simulated Azion API v4 (certificates) over TLS on 127.0.0.1, for integration tests and the
// demo. It follows ../shared/azion/API.md and Azion's published spec: both path prefixes, the
// `Token` scheme, the response envelope, paginated lists with `id=`/`name=`/`fields=`, error
// bodies, a server-side rate limit answering 429 with Retry-After, and issuance that takes time
// and can fail with Azion's own words. It records every request it gets.

#include "sim_workloads.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace certq::sim {

struct sim_options {
    std::string token = "sim-token";
    /// From the POST until the certificate is `active` (or `failed`); halfway it shows
    /// `challenge_verification`.
    std::chrono::milliseconds issue_delay{std::chrono::seconds{2}};
    /// How long an issued (or renewed) certificate is valid: Let's Encrypt's 90 days.
    std::chrono::hours validity{24 * 90};
    /// Names (common or alternative) whose issuance fails, as a name whose DNS is wrong does.
    std::set<std::string> failing_names;
    /// Server-side limit on all requests; 0 turns it off.
    double rate_limit = 0;
    int rate_burst = 1;
    /// Time Azion takes to answer, drawn uniformly per request (Azion's API answers in tens of
    /// milliseconds); both 0: at once. The request is carried out on arrival.
    std::chrono::milliseconds latency_min{0};
    std::chrono::milliseconds latency_max{0};

    // Faults, as shares of all requests (0..1), drawn independently per request. All but
    // server errors strike after the request was carried out: the nasty case for a client is
    // a POST that created a certificate whose answer never arrived.
    double server_error_rate = 0; ///< 500 with an error body; nothing done
    double cut_rate = 0;          ///< done, then the connection is closed without an answer
    double hang_rate = 0;         ///< done, never answered (until the client gives up)
    double malformed_rate = 0;    ///< done, answered with a truncated JSON body
    unsigned seed = 1;
};

enum class fault { none, server_error, cut, hang, malformed };

struct recorded_request {
    std::chrono::steady_clock::time_point at;
    std::chrono::system_clock::time_point wall;
    std::string method;
    std::string target; ///< path and query, as sent
    std::string body;
    std::string authorization;
    unsigned status = 0;       ///< what the simulator answered (0: no answer)
    std::string response_body; ///< and the body it answered with
    fault injected = fault::none;
};

struct sim_certificate {
    std::int64_t id = 0;
    std::string name;
    std::string common_name;
    std::vector<std::string> alternative_names;
    std::chrono::steady_clock::time_point created;
    std::optional<std::string> failing_name;
    bool deleted = false;
    /// Azion renewed it (30 days before expiry): `renewed_at`, and validity counts from here.
    std::optional<std::chrono::system_clock::time_point> renewed;
    bool expired = false; ///< status `expired` (renewal failed, e.g. the names moved away)
};

class azion_simulator {
public:
    explicit azion_simulator(sim_options options = {});
    ~azion_simulator();
    azion_simulator(const azion_simulator&) = delete;
    azion_simulator& operator=(const azion_simulator&) = delete;

    /// Listens on 127.0.0.1 at `port` (0: any free port) and serves on a thread of its own.
    /// Returns the port. Throws if it cannot listen.
    unsigned short start(unsigned short port = 0);
    /// Stops serving and joins the thread. Idempotent.
    void stop();

    unsigned short port() const;
    /// `https://127.0.0.1:<port>/v4`
    std::string base_url() const;
    /// The PEM of the CA that signed the simulator's certificate.
    const std::string& ca_pem() const;

    /// Copies, safe to call from any thread while it serves.
    std::vector<recorded_request> requests() const;
    std::vector<sim_certificate> certificates() const;

    /// Creates or replaces a workload (what a provider already has at Azion).
    void put_workload(sim_workload w);
    /// A workload as it is now; nullopt when there is none.
    std::optional<sim_workload> workload(std::int64_t id) const;
    /// 0: workload PATCHes apply at once (200); otherwise they answer 202 and show after this.
    void set_workload_apply_delay(std::chrono::milliseconds delay);

    /// Renews a certificate now, as Azion does 30 days before expiry: new validity and
    /// renewed_at. Returns false when there is no such (live) certificate.
    bool renew_certificate(std::int64_t id);
    /// Lets a certificate expire: status `expired`.
    bool expire_certificate(std::int64_t id);

    /// Changes the faults and limits while serving.
    void set_faults(double server_error, double cut, double hang, double malformed);
    void set_rate_limit(double rate, int burst);

    /// Counts for a summary: requests per operation and status, certificates held.
    boost::json::object stats() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// Azion's failure text for a name whose challenge could not be verified.
std::string failure_text(const std::string& name);

} // namespace certq::sim
