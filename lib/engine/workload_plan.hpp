#pragma once
// What putting a row's certificate on its workload (or taking it off) would change, decided from
// the workload as Azion shows it. Pure. One workload serves one certificate for all of its
// domains, so a certificate may only go on a workload whose every domain it covers: a refusal
// names the domains it would break rather than breaking them.

#include "azion/types.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certq::engine {

/// Azion serves at most this many domains on one workload.
inline constexpr std::size_t max_workload_domains = 50;

/// Whether a certificate with `certificate_names` covers `domain` (case-insensitive; a name
/// `*.example.com` covers one label below example.com, as TLS matching does).
bool covers(const std::vector<std::string>& certificate_names, std::string_view domain);

struct workload_plan {
    bool done = false;                          ///< the workload already looks as it should
    std::optional<std::string> refused;         ///< why it must not be changed (for `detail`)
    std::optional<azion::workload_patch> patch; ///< the one PATCH that gets it there
};

/// Attach: the workload serves `certificate_id` and every one of `names`, keeping every domain
/// it already serves.
workload_plan plan_attach(const azion::workload& w, std::int64_t certificate_id,
                          const std::vector<std::string>& names);

/// Detach: none of `names` is on the workload any more, and it no longer serves any of the
/// row's certificates `ours` (when it does).
workload_plan plan_detach(const azion::workload& w, const std::vector<std::int64_t>& ours,
                          const std::vector<std::string>& names);

} // namespace certq::engine
