#pragma once
// JSON as people and JSON tools read it. Boost.JSON writes doubles in their shortest
// scientific form (200.0 becomes `2E2`), which jq and a person both stumble on.

#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace certq {

/// The value, or JSON null when there is none.
template <class T> boost::json::value nullable(const std::optional<T>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

/// A double as JSON: `200.0` for an integral value, else the shortest text that reads back to
/// the same double (`0.1`, `1234.5`, `1e+300`); `null` for NaN and infinities, which JSON
/// cannot hold.
std::string json_number(double d);

/// `v` serialised like boost::json::serialize, compact, except that doubles are written by
/// json_number. Does not fail.
std::string to_json_text(const boost::json::value& v);

} // namespace certq
