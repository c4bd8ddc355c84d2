// JSON mapping of Azion's bodies: what the client sends, and what it makes of any answer.

#include "azion/error.hpp"
#include "azion/types.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace certq::azion {
namespace {

TEST(AzionJson, RequestBodyHasTheDocumentedFields) {
    certificate_request r;
    r.name = "certq-42-shop.example.com";
    r.common_name = "shop.example.com";
    r.alternative_names = {"www.shop.example.com"};
    const auto v = boost::json::parse(to_json(r));
    EXPECT_EQ(v, boost::json::parse(R"({"name":"certq-42-shop.example.com","challenge":"http",
        "authority":"lets_encrypt","common_name":"shop.example.com",
        "alternative_names":["www.shop.example.com"]})"));
    r.key_algorithm = "ecc_384";
    EXPECT_EQ(boost::json::parse(to_json(r)).at("key_algorithm"), "ecc_384");
}

TEST(AzionJson, CertificateResponseEnvelope) {
    boost::system::error_code ec;
    auto c = parse_certificate_response(R"({"state":"executed","data":{"id":103,"name":"n",
        "status":"Pending","status_detail":"","validity":null,"subject_name":["a.example.com"],
        "managed":true,"something_new":{"x":1}}})", ec);
    ASSERT_FALSE(ec);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, 103);
    EXPECT_EQ(c->status, "Pending");
    EXPECT_EQ(c->kind(), certificate_status::pending);
    EXPECT_FALSE(c->validity);
    EXPECT_EQ(c->subject_name, std::vector<std::string>{"a.example.com"});
}

TEST(AzionJson, MalformedAnswersAreErrorsNotExceptions) {
    for (const char* body : {"", "{", "[]", "null", "{\"data\":{}}", "{\"data\":{\"id\":\"x\"}}",
                             "{\"data\":{\"id\":1.5}}", "<html>502 Bad Gateway</html>", "\xff\xfe"}) {
        boost::system::error_code ec;
        EXPECT_FALSE(parse_certificate_response(body, ec)) << body;
        EXPECT_EQ(ec, error::bad_response) << body;
        EXPECT_TRUE(is_retryable(ec));
    }
}

TEST(AzionJson, PaginatedListSkipsEntriesWithoutAnId) {
    boost::system::error_code ec;
    auto page = parse_certificate_page(R"({"count":3,"total_pages":1,"page":1,"page_size":100,
        "next":null,"previous":null,"results":[{"id":1,"name":"a","status":"active",
        "validity":"2028-03-24 20:09:00-03:00"},{"name":"no id"},{"id":2,"status":"failed",
        "status_detail":"An error has occurred"}]})", ec);
    ASSERT_FALSE(ec);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->results.size(), 2u);
    EXPECT_EQ(page->results[0].validity, "2028-03-24 20:09:00-03:00");
    EXPECT_EQ(page->results[1].kind(), certificate_status::failed);
    EXPECT_FALSE(page->next);
    EXPECT_FALSE(parse_certificate_page(R"({"results":{}})", ec));
    EXPECT_EQ(ec, error::bad_response);
}

TEST(AzionJson, ErrorBodiesKeepAzionsWordsAndTheExistingCertificate) {
    const auto errors = parse_errors(R"({"errors":[{"status":"400","code":"10000","title":"Bad Request",
        "detail":"A certificate for these names already exists.","source":{"pointer":"/data/common_name"},
        "meta":{"certificate":"4242"}}]})");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].existing_certificate, 4242);
    EXPECT_EQ(describe_errors(errors, ""),
              "Bad Request: A certificate for these names already exists. (/data/common_name)");
    EXPECT_EQ(describe_errors(parse_errors("<h1>Gateway\nTimeout</h1>"), "<h1>Gateway\nTimeout</h1>"),
              "<h1>Gateway Timeout</h1>");
}

TEST(AzionJson, StatusWordsAreComparedWithoutCase) {
    EXPECT_EQ(classify_status("Active"), certificate_status::active);
    EXPECT_EQ(classify_status("FAILED"), certificate_status::failed);
    EXPECT_EQ(classify_status("challenge_verification"), certificate_status::pending);
    EXPECT_EQ(classify_status("expired_soon_new_word"), certificate_status::pending);
    EXPECT_EQ(classify_status(""), certificate_status::pending);
}

TEST(AzionErrors, OneClassifierDecidesWhatIsRetried) {
    EXPECT_TRUE(is_retryable(error::rate_limited));
    EXPECT_TRUE(is_retryable(error::server_error));
    EXPECT_FALSE(is_retryable(error::client_error));
    EXPECT_FALSE(is_retryable(error::not_found));
    EXPECT_TRUE(is_retryable(boost::beast::error::timeout));
    EXPECT_TRUE(is_retryable(boost::asio::error::connection_reset));
    EXPECT_TRUE(is_retryable(boost::asio::error::connection_refused));
    EXPECT_FALSE(is_retryable(boost::asio::error::operation_aborted));
    EXPECT_FALSE(is_retryable({}));
}

TEST(AzionTypes, TimesAsAzionWritesThem) {
    using namespace std::chrono;
    const auto utc = sys_days{2028y / March / 24} + 23h + 9min;
    EXPECT_EQ(parse_time("2028-03-24 20:09:00-03:00"), utc);
    EXPECT_EQ(parse_time("2028-03-24T23:09:00Z"), utc);
    EXPECT_EQ(parse_time("2028-03-24T23:09:00.250Z"), utc + 250ms);
    EXPECT_EQ(parse_time("2028-03-25 01:39:00+0230"), utc);
    EXPECT_EQ(parse_time("2028-03-24 23:09:00"), utc);
    EXPECT_FALSE(parse_time("2028-02-30 00:00:00"));
    EXPECT_FALSE(parse_time("yesterday"));
    EXPECT_FALSE(parse_time("2028-03-24 23:09:00 PST"));
    EXPECT_EQ(classify_status("Expired"), certificate_status::expired);
}

} // namespace
} // namespace certq::azion
