// The Azion client against the simulated API over real TLS on loopback.

#include "azion/client.hpp"
#include "azion_sim.hpp"
#include "harness.hpp"
#include "run_with_deadline.hpp"
#include "test_pki.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;


class ClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        sim_.start();
        cfg_ = client_config_for(sim_, dir_);
        cfg_.timeout = 5s;
        cfg_.max_in_flight = 4;
        cfg_.rate_limit = {1000, 100};
    }

    azion::certificate_request request(const std::string& host) {
        azion::certificate_request r;
        r.name = "certq-t-" + host;
        r.common_name = host;
        return r;
    }

    scratch_dir dir_;
    sim::azion_simulator sim_;
    azion_config cfg_;
    asio::io_context ioc_;
};

asio::awaitable<std::string> request_then_read(azion::client& api, azion::certificate_request req) {
    auto slot = co_await api.acquire_slot();
    auto created = co_await api.request_certificate(slot, req);
    if (!created) co_return "request failed: " + created.diag.summary();
    auto one = co_await api.get_certificate(slot, created.value.id);
    if (!one) co_return "get failed: " + one.diag.summary();
    std::vector<std::int64_t> ids{created.value.id, 999999};
    auto listed = co_await api.list_certificates(slot, ids);
    if (!listed || listed.value.size() != 1) co_return "list failed";
    co_return created.value.status + "|" + one.value.name + "|" + listed.value[0].name;
}

TEST_F(ClientTest, RequestsReadsAndListsOverOneKeptAliveConnection) {
    azion::client api(ioc_.get_executor(), cfg_, "sim-token");
    auto outcome = run_with_deadline(ioc_,  request_then_read(api, request("a.example.com")));
    // The request answers "Pending" (as Azion's published example does); reads are lower case.
    EXPECT_EQ(outcome, "Pending|certq-t-a.example.com|certq-t-a.example.com");
    EXPECT_EQ(api.stats().connections, 1u);
    EXPECT_EQ(api.stats().calls, 3u);

    const auto log = sim_.requests();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0].method, "POST");
    EXPECT_EQ(log[0].target, "/v4/workspace/tls/certificates/request");
    EXPECT_EQ(log[0].authorization, "Token sim-token");
    EXPECT_EQ(log[2].target.rfind("/v4/workspace/tls/certificates?id=", 0), 0u) << log[2].target;
    EXPECT_NE(log[2].target.find("page_size=2"), std::string::npos);
}

// Outside the coroutine: gcc 12 mishandles braced arrays inside coroutine bodies.
std::vector<std::string> similar_names() {
    return {"certq-7-x.example.com", "certq-7-x.example.com-r1", "certq-77-x.example.com"};
}

asio::awaitable<std::string> find_exact(azion::client& api) {
    auto slot = co_await api.acquire_slot();
    for (const auto& name : similar_names()) {
        azion::certificate_request r;
        r.name = name;
        r.common_name = "x.example.com";
        auto created = co_await api.request_certificate(slot, r);
        if (!created) co_return "request failed: " + created.diag.summary();
    }
    auto found = co_await api.find_by_name(slot, "certq-7-x.example.com");
    if (!found) co_return "find failed";
    std::string names;
    for (const auto& c : found.value) names += c.name + ";";
    auto none = co_await api.find_by_name(slot, "certq-8-x.example.com");
    co_return names + std::to_string(none.value.size());
}

TEST_F(ClientTest, FindByNameKeepsOnlyTheExactName) {
    azion::client api(ioc_.get_executor(), cfg_, "sim-token");
    EXPECT_EQ(run_with_deadline(ioc_,  find_exact(api)), "certq-7-x.example.com;0");
}

asio::awaitable<std::string> delete_then_get(azion::client& api, azion::certificate_request req) {
    auto slot = co_await api.acquire_slot();
    auto created = co_await api.request_certificate(slot, req);
    auto deleted = co_await api.delete_certificate(slot, created.value.id);
    auto again = co_await api.delete_certificate(slot, created.value.id);
    auto gone = co_await api.get_certificate(slot, created.value.id);
    co_return std::to_string(deleted.value) + std::to_string(again.value) +
        (gone.ec == azion::error::not_found ? "404" : gone.ec.message());
}

TEST_F(ClientTest, DeleteIsIdempotentAndAGoneCertificateIsNotFound) {
    azion::client api(ioc_.get_executor(), cfg_, "sim-token");
    EXPECT_EQ(run_with_deadline(ioc_,  delete_then_get(api, request("d.example.com"))), "11404");
}

asio::awaitable<azion::result<azion::certificate>> one_request(azion::client& api,
                                                              azion::certificate_request req) {
    auto slot = co_await api.acquire_slot();
    co_return co_await api.request_certificate(slot, req);
}

TEST_F(ClientTest, WrongTokenIsAFinalErrorThatNeverEchoesTheToken) {
    azion::client api(ioc_.get_executor(), cfg_, "wrong-secret-token");
    auto r = run_with_deadline(ioc_,  one_request(api, request("t.example.com")));
    EXPECT_EQ(r.ec, azion::error::client_error);
    EXPECT_FALSE(azion::is_retryable(r.ec));
    EXPECT_EQ(r.diag.http_status, 401u);
    EXPECT_NE(r.diag.azion_message.find("Authentication credentials"), std::string::npos);
    EXPECT_EQ(r.diag.summary().find("wrong-secret-token"), std::string::npos);
    EXPECT_EQ(r.diag.message.find("wrong-secret-token"), std::string::npos);
}

TEST_F(ClientTest, RefusedRequestCarriesAzionsWordsAndPointer) {
    azion::client api(ioc_.get_executor(), cfg_, "sim-token");
    auto bad = request("not a name");
    auto r = run_with_deadline(ioc_,  one_request(api, bad));
    EXPECT_EQ(r.ec, azion::error::client_error);
    EXPECT_EQ(r.diag.http_status, 400u);
    EXPECT_EQ(r.diag.summary(), "HTTP 400: Bad Request: Enter a valid domain name. (/data/common_name)");
}

TEST_F(ClientTest, PeerIsVerifiedAgainstTheTrustStore) {
    auto untrusted = cfg_;
    untrusted.ca_file.clear(); // the simulator's CA is not in the system store
    azion::client api(ioc_.get_executor(), untrusted, "sim-token");
    auto r = run_with_deadline(ioc_,  one_request(api, request("v.example.com")));
    EXPECT_TRUE(r.ec);
    EXPECT_NE(r.diag.message.find("certificate verify failed"), std::string::npos) << r.diag.message;
    EXPECT_TRUE(sim_.requests().empty()) << "a request went out over an unverified connection";
}

TEST_F(ClientTest, OlderPathPrefixIsServedToo) {
    cfg_.certificates_path = "/digital_certificates/certificates";
    azion::client api(ioc_.get_executor(), cfg_, "sim-token");
    auto r = run_with_deadline(ioc_,  one_request(api, request("old.example.com")));
    ASSERT_FALSE(r.ec) << r.diag.summary();
    EXPECT_EQ(sim_.requests().at(0).target, "/v4/digital_certificates/certificates/request");
}

TEST(ClientRateLimit, ServerThrottleIsRateLimitedWithRetryAfter) {
    sim::sim_options options;
    options.rate_limit = 1;
    options.rate_burst = 1;
    sim::azion_simulator sim(options);
    sim.start();
    scratch_dir dir;
    auto cfg = client_config_for(sim, dir);
    cfg.rate_limit = {1000, 100}; // the client's own limit set too high on purpose
    asio::io_context ioc;
    azion::client api(ioc.get_executor(), cfg, "sim-token");
    azion::certificate_request req;
    req.name = "n1";
    req.common_name = "r.example.com";
    auto first = run_with_deadline(ioc,  one_request(api, req));
    EXPECT_FALSE(first.ec) << first.diag.summary();
    req.name = "n2";
    auto second = run_with_deadline(ioc,  one_request(api, req));
    EXPECT_EQ(second.ec, azion::error::rate_limited);
    EXPECT_TRUE(azion::is_retryable(second.ec));
    ASSERT_TRUE(second.diag.retry_after.has_value());
    EXPECT_EQ(*second.diag.retry_after, 1s);
    EXPECT_EQ(api.stats().rate_limited, 1u);
}

} // namespace
} // namespace certq::testing
