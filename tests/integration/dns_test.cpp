// The resolver and the checker against a real DNS server (NSD) on loopback, and a socket that
// never answers.

#include "dns/checker.hpp"
#include "dns/resolver.hpp"
#include "harness.hpp"
#include "run_with_deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <gtest/gtest.h>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;


class Dns : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new scratch_dir;
        nsd_ = new nsd_server(*dir_);
    }
    static void TearDownTestSuite() {
        delete nsd_;
        delete dir_;
    }
    dns::answer ask(const std::string& name, dns::record_type type) {
        dns::resolver r(ioc_.get_executor(), {{nsd_->address()}, 1500ms, 2});
        return run_with_deadline(ioc_,  r.query(name, type));
    }
    dns::row_verdict check(std::vector<std::string> names, std::string edge = "abc123.map.azionedge.net") {
        dns::checker_options o;
        o.resolver.servers = {nsd_->address()};
        o.targets = {"azionedge.net", "azioncdn.net", "azionedge.com"};
        o.edge_hostname = std::move(edge);
        dns::checker c(ioc_.get_executor(), o);
        return run_with_deadline(ioc_,  c.check(std::move(names)));
    }
    static scratch_dir* dir_;
    static nsd_server* nsd_;
    asio::io_context ioc_;
};
scratch_dir* Dns::dir_ = nullptr;
nsd_server* Dns::nsd_ = nullptr;

TEST_F(Dns, ResolverFollowsACnameChainAcrossZones) {
    const auto a = ask("WWW.good.example.com", dns::record_type::a);
    EXPECT_EQ(a.result, dns::status::ok) << a.error;
    EXPECT_EQ(a.chain, (std::vector<std::string>{"www.good.example.com", "good.provider.net", "abc123.map.azionedge.net"}));
    EXPECT_EQ(a.addresses, std::vector<std::string>{"192.0.2.10"});
    const auto aaaa = ask("www.good.example.com", dns::record_type::aaaa);
    EXPECT_EQ(aaaa.addresses, std::vector<std::string>{"2001:db8::10"});
}

TEST_F(Dns, ResolverTellsNxdomainFromNoDataAndReadsCaa) {
    EXPECT_EQ(ask("missing.example.com", dns::record_type::a).result, dns::status::nxdomain);
    EXPECT_EQ(ask("example.com", dns::record_type::aaaa).result, dns::status::nodata);
    const auto caa = ask("caa-strict.net", dns::record_type::caa);
    ASSERT_EQ(caa.caa.size(), 1u);
    EXPECT_EQ(caa.caa[0].tag, "issue");
    EXPECT_EQ(caa.caa[0].value, "digicert.com");
}

TEST_F(Dns, ResolverReportsRefusedAndTimeouts) {
    // NSD refuses names outside the zones it serves; c-ares then tries the other servers and
    // reports that none would answer.
    const auto refused = ask("shop.unserved.net", dns::record_type::a);
    EXPECT_FALSE(dns::is_answer(refused.result)) << refused.error;
    EXPECT_EQ(refused.result, dns::status::unreachable) << refused.error;
    asio::io_context ioc;
    asio::ip::udp::socket silent(ioc, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dns::resolver r(ioc_.get_executor(), {{"127.0.0.1:" + std::to_string(silent.local_endpoint().port())}, 200ms, 1});
    EXPECT_EQ(run_with_deadline(ioc_,  r.query("a.example.com", dns::record_type::a)).result, dns::status::timeout);
}

TEST_F(Dns, CheckerVerdicts) {
    EXPECT_EQ(check({"www.good.example.com"}).result, dns::outcome::points);
    EXPECT_EQ(check({"example.org", "www.example.org"}).result, dns::outcome::points);
    EXPECT_EQ(check({"shop.caa-ok.net"}).result, dns::outcome::points);

    auto v = check({"www.shop.example.com"});
    EXPECT_EQ(v.result, dns::outcome::not_pointing);
    EXPECT_EQ(v.detail, "www.shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)");
    v = check({"shop.caa-strict.net"});
    EXPECT_EQ(v.detail, "caa-strict.net: CAA 0 issue \"digicert.com\" forbids Let's Encrypt");
    v = check({"cn-ok.example.com", "san-bad.example.com"});
    EXPECT_EQ(v.result, dns::outcome::not_pointing);
    EXPECT_EQ(v.detail.find("cn-ok"), std::string::npos) << v.detail;
    EXPECT_NE(v.detail.find("san-bad.example.com \u2192 A 203.0.113.9"), std::string::npos) << v.detail;
    v = check({"example.org"}, "");
    EXPECT_EQ(v.result, dns::outcome::not_pointing);
    EXPECT_EQ(check({"shop.unserved.net"}).result, dns::outcome::inconclusive);
}

// Outside the coroutine: gcc 12 mishandles braced arrays inside coroutine bodies.
std::vector<std::string> one_good_name() { return {"www.good.example.com"}; }

asio::awaitable<std::string> many_rows(dns::checker& c) {
    std::string out;
    for (int i = 0; i < 20; ++i) {
        auto v = co_await c.check(one_good_name());
        out += v.result == dns::outcome::points ? "p" : "x";
    }
    co_return out;
}

TEST_F(Dns, SharedQuestionsAreAskedOncePerWave) {
    dns::checker_options o;
    o.resolver.servers = {nsd_->address()};
    o.targets = {"azionedge.net"};
    o.edge_hostname = "abc123.map.azionedge.net";
    dns::checker c(ioc_.get_executor(), o);
    EXPECT_EQ(run_with_deadline(ioc_,  many_rows(c)), std::string(20, 'p'));
    // A, AAAA and three CAA names for the row's name, A and AAAA for the edge: once each.
    EXPECT_EQ(c.stats().queries, 7u);
    EXPECT_GT(c.stats().reused, 100u);
}

} // namespace
} // namespace certq::testing
