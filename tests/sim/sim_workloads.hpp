#pragma once
// The simulated API's workloads (`/workspace/workloads/{id}`, schemas Workload and
// PatchedWorkloadRequest): the domains a workload serves (at most 50) and the one certificate it
// serves them with. A PATCH answers 200, or — with an apply delay — 202 `state: pending`, the
// change showing only once applied. Guarded by the simulator's mutex.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace certq::sim {

struct sim_workload {
    std::int64_t id = 0;
    std::string name;
    std::vector<std::string> domains;
    std::optional<std::int64_t> certificate; ///< tls.certificate; none: Azion's default
};

class workload_registry {
public:
    using clock = std::chrono::steady_clock;

    /// Why a certificate cannot be served (unknown, deleted, not active), or nullopt.
    using certificate_check = std::function<std::optional<std::string>(std::int64_t)>;

    struct answer {
        unsigned status = 200;
        boost::json::value body;
    };

    /// Creates or replaces a workload (tests set up what a provider already has).
    void put(sim_workload w);
    /// The workload as it is at `now` (changes whose delay has passed are applied).
    std::optional<sim_workload> get(std::int64_t id, clock::time_point now);
    /// Ids of the workloads serving `certificate_id` at `now`.
    std::vector<std::int64_t> serving(std::int64_t certificate_id, clock::time_point now);

    /// GET or PATCH of workload `id`; `method` is "GET" or "PATCH".
    answer handle(const std::string& method, std::int64_t id, const std::string& body,
                  const std::optional<std::set<std::string>>& fields, clock::time_point now,
                  const certificate_check& check);

    /// 0: a PATCH is applied at once (200). Otherwise it answers 202 and shows after this.
    std::chrono::milliseconds apply_delay{0};

private:
    struct entry {
        sim_workload current;
        std::optional<sim_workload> next; // a PATCH being applied
        clock::time_point applies_at{};
    };
    void settle(entry& e, clock::time_point now);

    std::map<std::int64_t, entry> workloads_;
};

} // namespace certq::sim
