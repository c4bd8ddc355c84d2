#include "dns/report.hpp"

#include <boost/json/value.hpp>

#include <algorithm>

namespace certq::dns {

std::string verdict_word(outcome o) {
    return o == outcome::points ? "points to Azion" : o == outcome::not_pointing ? "not ready" : "inconclusive";
}

bool all_point(const std::vector<name_report>& reports) {
    return !reports.empty() && std::all_of(reports.begin(), reports.end(), [](const name_report& r) {
        return r.verdict().result == outcome::points;
    });
}

boost::json::array to_json(const std::vector<name_report>& reports) {
    namespace json = boost::json;
    json::array names;
    for (const auto& r : reports) {
        const auto v = r.verdict();
        names.push_back({{"name", r.name},
                         {"verdict", verdict_word(v.result)},
                         {"pointing", r.pointing.line},
                         {"caa", r.caa_found},
                         {"problem", v.result == outcome::points ? json::value(nullptr) : json::value(v.line)}});
    }
    return names;
}

} // namespace certq::dns
