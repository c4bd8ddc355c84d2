// The DNS verdict on canned answers: where a name leads, and what CAA allows.

#include "dns/verdict.hpp"

#include <gtest/gtest.h>

namespace certq::dns {
namespace {

const std::vector<std::string> targets{"azionedge.net", "azioncdn.net", "azionedge.com"};

answer chain(std::vector<std::string> names, std::vector<std::string> addresses = {}) {
    answer a;
    a.chain = std::move(names);
    a.addresses = std::move(addresses);
    a.result = a.addresses.empty() ? status::nodata : status::ok;
    return a;
}

answer failed(status s) {
    answer a;
    a.result = s;
    return a;
}

answer caa(std::vector<caa_record> records) {
    answer a;
    a.result = records.empty() ? status::nodata : status::ok;
    a.caa = std::move(records);
    return a;
}

const edge_addresses no_edge{};

TEST(DnsVerdict, CnameChainReachingATargetPoints) {
    const auto r = judge_pointing(
        "www.shop.example.com",
        chain({"www.shop.example.com", "shop.provider.net", "abc.map.azionedge.net"}, {"192.0.2.1"}),
        chain({"www.shop.example.com", "shop.provider.net", "abc.map.azionedge.net"}), targets, no_edge);
    EXPECT_EQ(r.result, outcome::points);
}

TEST(DnsVerdict, TargetsMatchWholeLabelsOnly) {
    const auto r = judge_pointing("a.example.com", chain({"a.example.com", "x.notazionedge.net"}, {"192.0.2.1"}),
                                  chain({"a.example.com", "x.notazionedge.net"}), targets, no_edge);
    EXPECT_EQ(r.result, outcome::not_pointing);
    EXPECT_EQ(r.line, "a.example.com \u2192 CNAME x.notazionedge.net (not Azion)");
}

TEST(DnsVerdict, CnameElsewhereSaysWhereItLeads) {
    const auto r = judge_pointing("www.shop.example.com",
                                  chain({"www.shop.example.com", "shop.otherhost.net"}, {"198.51.100.7"}),
                                  chain({"www.shop.example.com", "shop.otherhost.net"}), targets, no_edge);
    EXPECT_EQ(r.result, outcome::not_pointing);
    EXPECT_EQ(r.line, "www.shop.example.com \u2192 CNAME shop.otherhost.net (not Azion)");
}

TEST(DnsVerdict, NxdomainAndNoAddressDoNotPoint) {
    auto nx = chain({"missing.example.com"});
    nx.result = status::nxdomain;
    auto r = judge_pointing("missing.example.com", nx, nx, targets, no_edge);
    EXPECT_EQ(r.result, outcome::not_pointing);
    EXPECT_EQ(r.line, "missing.example.com: no such name (NXDOMAIN)");
    r = judge_pointing("empty.example.com", chain({"empty.example.com"}), chain({"empty.example.com"}), targets, no_edge);
    EXPECT_EQ(r.line, "empty.example.com: no A or AAAA records");
}

TEST(DnsVerdict, ApexMatchesTheEdgeHostnamesAddresses) {
    edge_addresses edge{"abc.map.azionedge.net", true, {"192.0.2.10", "2001:db8::10"}, {}};
    auto r = judge_pointing("example.org", chain({"example.org"}, {"192.0.2.10"}),
                            chain({"example.org"}, {"2001:db8::10"}), targets, edge);
    EXPECT_EQ(r.result, outcome::points);
    r = judge_pointing("example.net", chain({"example.net"}, {"203.0.113.5"}), chain({"example.net"}), targets, edge);
    EXPECT_EQ(r.result, outcome::not_pointing);
    EXPECT_EQ(r.line, "example.net \u2192 A 203.0.113.5 (not Azion's edge abc.map.azionedge.net)");
    r = judge_pointing("example.net", chain({"example.net"}, {"203.0.113.5"}), chain({"example.net"}), targets, no_edge);
    EXPECT_NE(r.line.find("set dns.edge_hostname"), std::string::npos);
}

TEST(DnsVerdict, ServerTroubleIsInconclusiveUnlessTheChainAlreadyPoints) {
    auto r = judge_pointing("a.example.com", failed(status::servfail), failed(status::timeout), targets, no_edge);
    EXPECT_EQ(r.result, outcome::inconclusive);
    EXPECT_EQ(r.line, "a.example.com: DNS check inconclusive (SERVFAIL)");
    r = judge_pointing("a.example.com", chain({"a.example.com", "b.otherhost.net"}, {"198.51.100.1"}),
                       failed(status::timeout), targets, no_edge);
    EXPECT_EQ(r.result, outcome::inconclusive);
    r = judge_pointing("a.example.com", chain({"a.example.com", "x.map.azionedge.net"}, {"192.0.2.1"}),
                       failed(status::timeout), targets, no_edge);
    EXPECT_EQ(r.result, outcome::points);
    edge_addresses unknown_edge{"abc.map.azionedge.net", false, {}, "timeout"};
    r = judge_pointing("example.org", chain({"example.org"}, {"192.0.2.10"}), chain({"example.org"}), targets,
                       unknown_edge);
    EXPECT_EQ(r.result, outcome::inconclusive);
}

TEST(DnsVerdict, CaaRules) {
    EXPECT_TRUE(caa_allows_letsencrypt({}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "issue", "letsencrypt.org"}}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "issue", " LetsEncrypt.org ; validationmethods=http-01"}}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "issue", "digicert.com"}, {false, "issue", "letsencrypt.org"}}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "iodef", "mailto:a@example.com"}}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "issuewild", "digicert.com"}}));
    EXPECT_FALSE(caa_allows_letsencrypt({{false, "issue", "digicert.com"}}));
    EXPECT_FALSE(caa_allows_letsencrypt({{false, "issue", ";"}}));
    EXPECT_FALSE(caa_allows_letsencrypt({{false, "issue", "letsencrypt.org.evil.com"}}));
    EXPECT_FALSE(caa_allows_letsencrypt({{true, "tbs", "x"}, {false, "issue", "letsencrypt.org"}}));
    EXPECT_TRUE(caa_allows_letsencrypt({{false, "tbs", "x"}, {false, "issue", "letsencrypt.org"}}));
}

TEST(DnsVerdict, ClosestCaaSetGovernsAndIsQuotedInTheDetail) {
    auto r = judge_caa("shop.example.org", {{"shop.example.org", caa({})},
                                            {"example.org", caa({{false, "issue", "digicert.com"}})}});
    EXPECT_EQ(r.result, outcome::not_pointing);
    EXPECT_TRUE(r.caa);
    // The hostname first; that it is CAA, where, what it allows, and what Let's Encrypt needs.
    EXPECT_EQ(r.line, "shop.example.org: points to Azion, but CAA at example.org allows only digicert.com "
                      "(0 issue \"digicert.com\"); Let's Encrypt needs 0 issue \"letsencrypt.org\" there");
    r = judge_caa("shop.example.org", {{"shop.example.org", caa({{false, "issue", "letsencrypt.org"}})}});
    EXPECT_EQ(r.result, outcome::points);
    r = judge_caa("shop.example.org", {{"shop.example.org", caa({})}, {"example.org", failed(status::servfail)}});
    EXPECT_EQ(r.result, outcome::inconclusive);
    EXPECT_EQ(r.line, "shop.example.org: CAA look-up at example.org inconclusive (SERVFAIL)");
    r = judge_caa("shop.example.org", {{"shop.example.org", caa({})}, {"example.org", caa({})}});
    EXPECT_EQ(r.result, outcome::points);
}

TEST(DnsVerdict, CaaAllowanceSaysWhatTheSetAllows) {
    EXPECT_EQ(caa_allowance({{false, "issue", "digicert.com"}, {false, "issue", "Sectigo.com; x=y"}}),
              "allows only digicert.com, sectigo.com");
    EXPECT_EQ(caa_allowance({{false, "issue", ";"}}), "allows no certificate authority");
    EXPECT_EQ(caa_allowance({{true, "tbs", "x"}, {false, "issue", "letsencrypt.org"}}),
              "has a critical property no certificate authority may ignore");
}

TEST(DnsVerdict, CaaClimbStopsBelowThePublicSuffix) {
    EXPECT_EQ(caa_climb("a.b.Example.COM."), (std::vector<std::string>{"a.b.example.com", "b.example.com", "example.com"}));
    EXPECT_EQ(caa_climb("shop.example.co.uk"), (std::vector<std::string>{"shop.example.co.uk", "example.co.uk"}));
}

TEST(DnsVerdict, RowVerdictNamesEveryFailingName) {
    std::vector<name_result> names{{"a.example.com", outcome::points, "ok"},
                                   {"www.a.example.com", outcome::not_pointing, "www.a.example.com: no such name (NXDOMAIN)"},
                                   {"b.example.com", outcome::inconclusive, "b.example.com: DNS check inconclusive (timeout)"}};
    auto v = combine(names);
    EXPECT_EQ(v.result, outcome::not_pointing);
    EXPECT_EQ(v.detail, "www.a.example.com: no such name (NXDOMAIN)\nb.example.com: DNS check inconclusive (timeout)");
    EXPECT_TRUE(v.names_not_pointing);
    EXPECT_TRUE(v.names_inconclusive);
    EXPECT_FALSE(v.caa_forbids);
    names.erase(names.begin() + 1);
    EXPECT_EQ(combine(names).result, outcome::inconclusive);
    names.pop_back();
    EXPECT_EQ(combine(names).result, outcome::points);
    EXPECT_EQ(combine(names).detail, "");
}

TEST(DnsNames, CanonicalFormAndZoneMembership) {
    EXPECT_EQ(canonical_name("WWW.Example.COM."), "www.example.com");
    EXPECT_TRUE(is_at_or_under("azionedge.net", "azionedge.net"));
    EXPECT_TRUE(is_at_or_under("a.b.azionedge.net", "azionedge.net"));
    EXPECT_FALSE(is_at_or_under("xazionedge.net", "azionedge.net"));
    EXPECT_FALSE(is_at_or_under("net", "azionedge.net"));
}

} // namespace
} // namespace certq::dns
