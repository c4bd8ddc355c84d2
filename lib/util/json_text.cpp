#include "util/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace certq {
namespace {

void append(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::double_:
        out += json_number(v.get_double());
        break;
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& item : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append(out, item);
        }
        out += ']';
        break;
    }
    case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& [key, item] : v.get_object()) {
            if (!first) out += ',';
            first = false;
            out += boost::json::serialize(key);
            out += ':';
            append(out, item);
        }
        out += '}';
        break;
    }
    default: // strings, integers, booleans and null: Boost.JSON's own text is already right
        out += boost::json::serialize(v);
    }
}

} // namespace

std::string json_number(double d) {
    if (!std::isfinite(d)) return "null";
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    if (ec != std::errc{}) return "null"; // 32 bytes hold any double; kept for the compiler's sake
    std::string text(buf, end);
    // A reader should still see a double where the value happens to be integral.
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

std::string to_json_text(const boost::json::value& v) {
    std::string out;
    append(out, v);
    return out;
}

} // namespace certq
