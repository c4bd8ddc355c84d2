#pragma once
// A row's DNS pre-check as people read it: the words for a verdict, and each name's report as
// JSON (`certq check --json` and the web API's live check say the same).

#include "dns/checker.hpp"

#include <boost/json/array.hpp>

#include <string>
#include <vector>

namespace certq::dns {

/// "points to Azion", "not ready" or "inconclusive".
std::string verdict_word(outcome o);

/// True when there are names and every one points to Azion (a request would go ahead).
bool all_point(const std::vector<name_report>& reports);

/// Each name: {name, verdict, pointing, caa, problem (null when it points)}.
boost::json::array to_json(const std::vector<name_report>& reports);

} // namespace certq::dns
