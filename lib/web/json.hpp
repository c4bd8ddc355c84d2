#pragma once
// The JSON shapes of the web API (README "The web page and the JSON API").

#include "store/reads.hpp"
#include "store/status.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace certq::web {

boost::json::object to_json(const store::row_summary& row);
/// {"domain": {...}, "transitions": [...], "transitions_omitted": n}.
boost::json::object to_json(const store::row_story& row);
boost::json::object to_json(const store::problem_report& report);
boost::json::object to_json(const std::vector<store::throughput_bucket>& buckets, std::chrono::minutes span,
                            std::chrono::minutes bucket);

} // namespace certq::web
