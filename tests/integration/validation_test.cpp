// Bad input never stops the queue and never reaches Azion (DESIGN §4.5): 47 bad rows mixed with
// 40 good ones, through the real certqd binary.

#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

TEST(Validation, BadRowsEndInvalidWithAReasonAndAzionSeesOnlyGoodNames) {
    environment env;
    auto& db = env.db();
    std::set<std::string> good_names;
    {
        sqlite::transaction tx(db);
        auto insert = db.prepare("INSERT INTO domains (hostname, alternative_names) VALUES (?1, ?2)");
        for (int i = 0; i < 36; ++i) {
            const auto host = "shop" + std::to_string(i) + ".goodcustomer" + std::to_string(i % 4) + ".com";
            insert.bind(1, host).bind(2, i % 2 ? "[\"www." + host + "\"]" : std::string("[]"));
            insert.run();
            good_names.insert(host);
            if (i % 2) good_names.insert("www." + host);
        }
        insert.bind(1, "Bücher.Example.COM.").bind(2, "[]");
        insert.run();
        good_names.insert("xn--bcher-kva.example.com");
        insert.bind(1, "faß.de").bind(2, "[\"www.faß.de\", \"WWW.FASS.de\"]");
        insert.run();
        good_names.insert("xn--fa-hia.de");
        good_names.insert("www.xn--fa-hia.de");
        good_names.insert("www.fass.de");
        insert.bind(1, "null-sans.example.net").bind_null(2);
        insert.run();
        good_names.insert("null-sans.example.net");
        insert.bind(1, "  padded.example.net\t").bind(2, "  ");
        insert.run();
        good_names.insert("padded.example.net");

        const std::vector<std::pair<std::string, std::string>> bad = {
            {"", "[]"}, {"   ", "[]"}, {"shop_1.example.com", "[]"}, {"shop example.com", "[]"},
            {"https://shop.example.com", "[]"}, {"shop.example.com:8443", "[]"}, {"-shop.example.com", "[]"},
            {"shop-.example.com", "[]"}, {"shop..example.com", "[]"}, {std::string(64, 'a') + ".example.com", "[]"},
            {std::string(300, 'b') + ".example.com", "[]"}, {"192.0.2.1", "[]"}, {"2001:db8::1", "[]"},
            {"*.example.com", "[]"}, {"com", "[]"}, {"co.uk", "[]"}, {"github.io", "[]"}, {"localhost", "[]"},
            {std::string(60, 'c') + ".example.com", "[]"}, {"xn--zz.example.com", "[]"},
            {"ok1.example.org", "www.ok1.example.org"}, {"ok2.example.org", "{\"names\": []}"},
            {"ok3.example.org", "[42]"}, {"ok4.example.org", "[\"*.ok4.example.org\"]"},
            {"ok5.example.org", "[\"bad_name.example.org\"]"}, {"ok6.example.org", "[\"\"]"},
            {"ok7.example.org", "[null]"}, {"ok8.example.org", "[\"10.0.0.1\"]"},
            {"ok9.example.org", std::string(70000, ' ') + "[]"},
            {"dup-cn.example.org", "[\"shop0.goodcustomer0.com\"]"}, // a SAN on another live row
            {"SHOP2.goodcustomer2.com.", "[]"},                       // the same name spelled otherwise
            {"ok10.example.org", "[\"a\\u0001b.example.org\"]"},
            {std::string("nul\0byte.example.org", 20), "[]"},
            // top-level domains that do not exist: Let's Encrypt would refuse them after a wasted request
            {"shop.customer.123", "[]"}, {"intranet.local", "[]"}, {"build.internal", "[]"}, {"x.test", "[]"},
            {"shop.invalid", "[]"}, {"a.example", "[]"}, {"ok11.example.org", "[\"app.localhost\"]"},
        };
        for (const auto& [host, sans] : bad) {
            insert.bind(1, host).bind(2, sans);
            insert.run();
        }
        tx.commit();
    }
    // Wrong types and sizes straight from SQL.
    db.exec("INSERT INTO domains (hostname) VALUES (12345)");
    db.exec("INSERT INTO domains (hostname) VALUES (x'00ff00')");
    db.exec("INSERT INTO domains (hostname, alternative_names) VALUES ('types.example.org', 3.5)");
    db.exec("INSERT INTO domains (hostname, alternative_names) VALUES ('blob.example.org', x'5b22')");
    db.exec("INSERT INTO domains (hostname) VALUES (printf('%.*c', 1000000, 'h') || '.example.org')");
    db.exec("INSERT INTO domains (hostname, certificate_name) VALUES ('ctl.example.org', 'name' || char(7))");
    db.exec("INSERT INTO domains (hostname) VALUES (char(10) || char(13))");
    ASSERT_EQ(env.count("SELECT count(*) FROM domains"), 87);

    auto daemon = env.start_daemon({"--exit-when-done"});
    ASSERT_EQ(daemon->wait(120s), 0) << daemon->output();
    EXPECT_EQ(env.counts_by_state(), (std::map<std::string, std::int64_t>{{"active", 40}, {"invalid", 47}}));
    EXPECT_EQ(env.count("SELECT count(*) FROM domains WHERE state = 'invalid' AND coalesce(detail, '') = ''"), 0);
    EXPECT_EQ(check_transitions(env), "");

    // Azion saw every good name and nothing else.
    std::set<std::string> sent;
    for (const auto& r : env.sim().requests()) {
        if (r.method != "POST") continue;
        const auto body = boost::json::parse(r.body).as_object();
        sent.insert(std::string(body.at("common_name").as_string()));
        for (const auto& n : body.at("alternative_names").as_array()) sent.insert(std::string(n.as_string()));
    }
    EXPECT_EQ(sent, good_names);

    // A support agent can read the reasons.
    auto detail = [&](const std::string& where) {
        auto stmt = env.db().prepare("SELECT detail FROM domains WHERE " + where);
        return stmt.step() ? stmt.column_text(0) : std::string("(no row)");
    };
    EXPECT_EQ(detail("hostname = 'dup-cn.example.org'"),
              "\"shop0.goodcustomer0.com\" is already on row #1, shop0.goodcustomer0.com");
    EXPECT_EQ(detail("hostname = 'SHOP2.goodcustomer2.com.'"),
              "\"shop2.goodcustomer2.com\" is already on row #3, shop2.goodcustomer2.com");
    EXPECT_EQ(detail("hostname = '*.example.com'"),
              "hostname: \"*.example.com\" is a wildcard: HTTP-01 cannot issue wildcard certificates; they need DNS-01");
    EXPECT_EQ(detail("hostname = 'ctl.example.org'"), "certificate_name \"name\\x07\" contains a control character");
    EXPECT_EQ(detail("hostname = 12345"), "hostname: \"12345\" is an IP address; certificates here are for host names");
    EXPECT_EQ(detail("hostname = 'x.test'"),
              "hostname: \"x.test\": the top-level domain \"test\" does not exist (not in the Public Suffix List)");
    EXPECT_EQ(detail("hostname = 'shop.customer.123'"),
              "hostname: \"shop.customer.123\": the top-level domain \"123\" does not exist (not in the Public Suffix "
              "List)");
    EXPECT_EQ(detail("hostname = 'ok11.example.org'"),
              "alternative_names: \"app.localhost\": the top-level domain \"localhost\" does not exist (not in the "
              "Public Suffix List)");
    EXPECT_EQ(detail("hostname = 'com'"),
              "hostname: \"com\" is a public suffix (like com, co.uk or github.io); a certificate needs a name under it");
}

} // namespace
} // namespace certq::testing
