// What customers type, and what certq makes of it: a table of good and bad inputs with the
// name sent or the sentence a support agent reads to the customer.

#include "hostname/names.hpp"
#include "hostname/registered_domain.hpp"

#include <gtest/gtest.h>

namespace certq::hostname {
namespace {

struct name_case {
    std::string input;
    std::string expected; // the A-label form sent, or the start of the reason ("!" prefix)
};

const std::string wildcard = " is a wildcard: HTTP-01 cannot issue wildcard certificates; they need DNS-01";
const std::string ip = " is an IP address; certificates here are for host names";
const std::string suffix = " is a public suffix (like com, co.uk or github.io); a certificate needs a name under it";
std::string no_tld(const std::string& tld) {
    return ": the top-level domain \"" + tld + "\" does not exist (not in the Public Suffix List)";
}

const std::vector<name_case> cases = {
    // good, and how they are sent
    {"shop.example.com", "shop.example.com"},
    {"Shop.Example.COM", "shop.example.com"},
    {"  shop.example.com\t", "shop.example.com"},
    {"shop.example.com.", "shop.example.com"},
    {"www.shop.example.com", "www.shop.example.com"},
    {"a.b.c.d.e.example.org", "a.b.c.d.e.example.org"},
    {"x1.example.net", "x1.example.net"},
    {"1x.example.net", "1x.example.net"},
    {"123.example.net", "123.example.net"},
    {"my-shop.example.com", "my-shop.example.com"},
    {"my--shop.example.com", "my--shop.example.com"},
    {"bücher.example.com", "xn--bcher-kva.example.com"},
    {"BÜCHER.example.com", "xn--bcher-kva.example.com"},
    {"xn--bcher-kva.example.com", "xn--bcher-kva.example.com"},
    {"faß.de", "xn--fa-hia.de"}, // non-transitional: ß stays ß
    {"café.fr", "xn--caf-dma.fr"},
    {"日本語.jp", "xn--wgv71a119e.jp"},
    {"пример.рф", "xn--e1afmkfd.xn--p1ai"},
    {"example.co.uk", "example.co.uk"},
    {"shop.example.co.uk", "shop.example.co.uk"},
    {"user.github.io", "user.github.io"},
    {"example.com", "example.com"},
    {std::string(63, 'a') + ".example.com", std::string(63, 'a') + ".example.com"},
    {"a.example.com", "a.example.com"},
    {"shop.example.museum", "shop.example.museum"},
    {"localhost.example.com", "localhost.example.com"},
    {"shop.example.com.br", "shop.example.com.br"},
    {"www.example.co.uk", "www.example.co.uk"},
    {"loja.пример.рф", "loja.xn--e1afmkfd.xn--p1ai"},
    {"shop.example.xn--p1ai", "shop.example.xn--p1ai"},
    {"shop.example.ck", "shop.example.ck"}, // the list knows ck only by its rule "*.ck"
    // bad: empty and characters
    {"", "!the name is empty"},
    {"   ", "!the name is empty"},
    {".", "!the name is empty"},
    {"shop_1.example.com", "!\"shop_1.example.com\": \"_\" is not allowed in a host name"},
    {"shop example.com", "!\"shop example.com\": \" \" is not allowed"},
    {"shop.example.com/path", "!\"shop.example.com/path\": \"/\" is not allowed"},
    {"https://shop.example.com", "!\"https://shop.example.com\": \":\" is not allowed"},
    {"shop@example.com", "!\"shop@example.com\": \"@\" is not allowed"},
    {"shop.example.com:8080", "!\"shop.example.com:8080\": \":\" is not allowed"},
    {"shop\x01.example.com", "!\"shop\\x01.example.com\" contains a control character"},
    {"shop\n.example.com", "!\"shop\\x0a.example.com\" contains a control character"},
    {std::string("shop\0.example.com", 17), "!\"shop\\x00.example.com\" contains a control character"},
    {"shop\x7f.example.com", "!\"shop\\x7f.example.com\" contains a control character"},
    // bad: labels and lengths
    {"shop..example.com", "!\"shop..example.com\" has an empty label"},
    {".shop.example.com", "!\".shop.example.com\" has an empty label"},
    {"shop.example.com..", "!\"shop.example.com..\" has an empty label"},
    {"-shop.example.com", "!\"-shop.example.com\": the label \"-shop\" starts with a hyphen"},
    {"shop-.example.com", "!\"shop-.example.com\": the label \"shop-\" ends with a hyphen"},
    {std::string(64, 'a') + ".example.com", "!\"" + std::string(64, 'a').substr(0, 80) + ".exampl"},
    {std::string(250, 'a'), "!\""},
    {std::string(2000, 'a'), "!\""},
    // bad: addresses, wildcards, suffixes
    {"192.0.2.1", "!\"192.0.2.1\"" + ip},
    {"127.1", "!\"127.1\"" + ip},
    {"2001:db8::1", "!\"2001:db8::1\"" + ip},
    {"[2001:db8::1]", "!\"[2001:db8::1]\"" + ip},
    {"::1", "!\"::1\"" + ip},
    {"*.example.com", "!\"*.example.com\"" + wildcard},
    {"*", "!\"*\"" + wildcard},
    {"shop.*.example.com", "!\"shop.*.example.com\"" + wildcard},
    {"com", "!\"com\"" + suffix},
    {"co.uk", "!\"co.uk\"" + suffix},
    {"github.io", "!\"github.io\"" + suffix},
    {"COM.", "!\"COM.\"" + suffix},
    {"localhost", "!\"localhost\"" + no_tld("localhost")},
    {"xn--p1ai", "!\"xn--p1ai\"" + suffix},
    {"рф", "!\"рф\"" + suffix},
    // bad: top-level domains that do not exist (reserved, private-use, or no domain at all)
    {"shop.customer.123", "!\"shop.customer.123\"" + no_tld("123")},
    {"intranet.local", "!\"intranet.local\"" + no_tld("local")},
    {"build.internal", "!\"build.internal\"" + no_tld("internal")},
    {"x.test", "!\"x.test\"" + no_tld("test")},
    {"shop.invalid", "!\"shop.invalid\"" + no_tld("invalid")},
    {"a.example", "!\"a.example\"" + no_tld("example")},
    {"bücher.example", "!\"bücher.example\"" + no_tld("example")},
    {"Shop.Example.", "!\"Shop.Example.\"" + no_tld("example")},
    {"app.localhost", "!\"app.localhost\"" + no_tld("localhost")},
    {"test", "!\"test\"" + no_tld("test")},
    {"shop.例子", "!\"shop.例子\"" + no_tld("例子")},
    {"shop.example.comm", "!\"shop.example.comm\"" + no_tld("comm")},
    // bad: internationalised names that UTS #46 refuses
    {"xn--zz.example.com", "!\"xn--zz.example.com\" is not a valid internationalised name"},
    {"a\xcc\x81\xe2\x80\x8d.example.com", "!\""},
    {"\xff\xfe.example.com", "!\"\xff\xfe.example.com\" is not a valid internationalised name"},
};

TEST(HostnameTable, EveryInputGetsItsVerdictAndDetail) {
    ASSERT_GE(cases.size(), 60u);
    for (const auto& c : cases) {
        std::string why;
        const auto got = normalise(c.input, why);
        if (c.expected.front() != '!') {
            ASSERT_TRUE(got.has_value()) << printable(c.input) << ": " << why;
            EXPECT_EQ(*got, c.expected) << printable(c.input);
        } else {
            EXPECT_FALSE(got.has_value()) << printable(c.input) << " -> " << got.value_or("");
            EXPECT_EQ(why.rfind(c.expected.substr(1), 0), 0u) << printable(c.input) << ": " << why;
        }
    }
}

TEST(HostnameTable, LongNamesSayHowLong) {
    std::string why;
    EXPECT_FALSE(normalise(std::string(64, 'a') + ".example.com", why));
    EXPECT_NE(why.find("is 64 characters long; a label has at most 63"), std::string::npos) << why;
    const std::string long_name = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') +
                                  "." + std::string(60, 'd') + ".example.com";
    EXPECT_FALSE(normalise(long_name, why));
    EXPECT_NE(why.find("is 255 characters long; a host name has at most 253"), std::string::npos) << why;
}

TEST(RowNames, CommonNameFirstRepeatsFoldedNullMeansNone) {
    auto r = parse_row_names("Shop.Example.com.", std::string(R"(["www.shop.example.com", "WWW.shop.example.com.", "shop.example.com"])"));
    ASSERT_TRUE(r.ok()) << r.why;
    EXPECT_EQ(r.names, (std::vector<std::string>{"shop.example.com", "www.shop.example.com"}));
    EXPECT_EQ(parse_row_names("a.example.com", std::nullopt).names, std::vector<std::string>{"a.example.com"});
    EXPECT_EQ(parse_row_names("a.example.com", std::string("  ")).names, std::vector<std::string>{"a.example.com"});
    EXPECT_EQ(parse_row_names("a.example.com", std::string("[]")).names, std::vector<std::string>{"a.example.com"});
}

TEST(RowNames, RowRulesNameTheColumnAndTheRule) {
    EXPECT_EQ(parse_row_names("a.example.com", std::string("www.a.example.com")).why,
              "alternative_names is not a JSON array of host names (for example [\"www.example.com\"]); it holds "
              "\"www.a.example.com\"");
    EXPECT_EQ(parse_row_names("a.example.com", std::string("[\"ok.example.com\", 7]")).why,
              "alternative_names: item 2 is not a string; it is \"7\"");
    EXPECT_EQ(parse_row_names("a.example.com", std::string("{\"a\": 1}")).why.rfind("alternative_names is not a JSON array", 0), 0u);
    EXPECT_EQ(parse_row_names("a.example.com", std::string("[\"*.a.example.com\"]")).why,
              "alternative_names: \"*.a.example.com\"" + wildcard);
    EXPECT_EQ(parse_row_names("*.example.com", std::nullopt).why, "hostname: \"*.example.com\"" + wildcard);
    const std::string cn65 = std::string(53, 'a') + ".example.com";
    EXPECT_EQ(parse_row_names(cn65, std::nullopt).why,
              "hostname: \"" + cn65 + "\" is 65 characters long; a certificate's common name has at most 64 (Azion's "
              "and X.509's limit)");
    // A long name is fine as an alternative name, just not as the common name.
    EXPECT_TRUE(parse_row_names("a.example.com", "[\"" + cn65 + "\"]").ok());
    std::string hundred = "[";
    for (int i = 0; i < 100; ++i) hundred += (i ? ",\"" : "\"") + std::to_string(i) + "x.example.com\"";
    hundred += "]";
    EXPECT_EQ(parse_row_names("a.example.com", hundred).why,
              "the certificate would hold more than 100 names (Let's Encrypt's limit); split the row");
    EXPECT_EQ(parse_row_names("a.example.com", std::string(70000, '[')).why.rfind("alternative_names is 70000 bytes long", 0), 0u);
    EXPECT_EQ(parse_row_names("a.example.com", std::string(1000, '[') + std::string(1000, ']')).why.rfind(
                  "alternative_names is not a JSON array", 0),
              0u);
}

TEST(RegisteredDomain, ByThePublicSuffixList) {
    EXPECT_EQ(registered_domain("shop.example.com"), "example.com");
    EXPECT_EQ(registered_domain("a.b.example.co.uk"), "example.co.uk");
    EXPECT_EQ(registered_domain("user.github.io"), "user.github.io");
    EXPECT_EQ(registered_domain("com"), "com");
    EXPECT_TRUE(is_public_suffix("co.uk"));
    EXPECT_FALSE(is_public_suffix("example.co.uk"));
}

TEST(Printable, EscapesControlsAndTruncates) {
    EXPECT_EQ(printable("a\x01" "b\"c"), "a\\x01b\\\"c");
    EXPECT_EQ(printable(std::string(100, 'x')), std::string(80, 'x') + "...");
    EXPECT_EQ(printable("bücher"), "bücher");
}

TEST(HostnameReadable, ALabelsAreShownAsTheCustomerWroteThem) {
    EXPECT_EQ(readable("xn--bcher-kva.example.net"), "bücher.example.net");
    EXPECT_EQ(readable("www.xn--p1ai"), "www.рф");
    EXPECT_EQ(readable("shop.example.com"), "shop.example.com");
    EXPECT_EQ(readable("xn--zz.example.com"), "xn--zz.example.com"); // not decodable: kept
    EXPECT_EQ(readable(""), "");
}

} // namespace
} // namespace certq::hostname
