// Numbers in certq's --json output as people and JSON tools expect them.

#include "util/json_text.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace certq {
namespace {

TEST(JsonNumber, IntegralDoublesKeepAFractionOthersTheShortestRoundTrip) {
    EXPECT_EQ(json_number(200.0), "200.0"); // Boost.JSON alone writes 2E2
    EXPECT_EQ(json_number(0.0), "0.0");
    EXPECT_EQ(json_number(-3.0), "-3.0");
    EXPECT_EQ(json_number(1200.0), "1200.0");
    EXPECT_EQ(json_number(0.1), "0.1");
    EXPECT_EQ(json_number(1234.5), "1234.5");
    EXPECT_EQ(json_number(2.0 / 3.0), "0.6666666666666666");
    EXPECT_EQ(json_number(1e300), "1e+300");
    EXPECT_EQ(json_number(std::numeric_limits<double>::quiet_NaN()), "null");
    EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
    for (double d : {0.1, 1234.5, 2.0 / 3.0, 1e300, 5e-324, 123456789012.25, 1e21, 200.0})
        EXPECT_EQ(boost::json::parse(json_number(d)).to_number<double>(), d) << json_number(d);
}

TEST(JsonText, SerialisesLikeBoostJsonExceptDoubles) {
    const boost::json::value v = {
        {"rate", 200.0},
        {"span", 50.25},
        {"none", nullptr},
        {"ok", true},
        {"count", 1000},
        {"text", "a \"quoted\" \x01 name"},
        {"list", boost::json::array{1, 2.0, "x", boost::json::object{{"d", 1e-7}}}}};
    const auto text = to_json_text(v);
    EXPECT_EQ(text, R"({"rate":200.0,"span":50.25,"none":null,"ok":true,"count":1000,)"
                    R"("text":"a \"quoted\" \u0001 name","list":[1,2.0,"x",{"d":1e-07}]})");
    EXPECT_EQ(boost::json::parse(text), v);
    EXPECT_EQ(to_json_text(boost::json::array{}), "[]");
    EXPECT_EQ(to_json_text(boost::json::object{}), "{}");
}

} // namespace
} // namespace certq
