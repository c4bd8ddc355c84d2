#pragma once
// The JSON shapes of the web API (README "JSON API"), shared with `certq check --json`.

#include "dns/checker.hpp"
#include "store/reads.hpp"
#include "store/status.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace certq::web {

/// "points to Azion", "not ready" or "inconclusive".
std::string verdict_word(dns::outcome o);

/// Each name: {name, verdict, pointing, caa, problem}.
boost::json::array to_json(const std::vector<dns::name_report>& reports);

boost::json::object to_json(const store::row_summary& row);
/// {"domain": {...}, "transitions": [...], "transitions_omitted": n}.
boost::json::object to_json(const store::row_story& row);
boost::json::object to_json(const store::problem_report& report);
boost::json::object to_json(const std::vector<store::throughput_bucket>& buckets, std::chrono::minutes span,
                            std::chrono::minutes bucket);

} // namespace certq::web
