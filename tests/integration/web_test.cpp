// The JSON API and the access rule through the real certqd binary: rows in every state (some
// worked by certqd against NSD and the simulator), read back over HTTP as a control panel would.

#include "harness.hpp"
#include "web_rows.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

json::value parse_json(const http_reply& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
    return v;
}

std::string percent_encoded(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

class Web : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(web_.start(), "");
        env_ = web_.env.get();
        port_ = web_.port;
    }
    json::value get_json(const std::string& target, unsigned expect = 200) {
        const auto r = http_fetch(port_, target);
        EXPECT_EQ(r.status, expect) << target << ": " << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/json") << target;
        EXPECT_EQ(r.header("Cache-Control"), "no-store") << target;
        return parse_json(r);
    }

    web_daemon web_;
    environment* env_ = nullptr;
    unsigned short port_ = 0;
};

TEST_F(Web, StatusCountsWhatTheDatabaseHolds) {
    // The daemon may still move a row between the two reads; they agree once it rests.
    std::string last;
    ASSERT_TRUE(wait_for(
        [&] {
            const auto status = get_json("/api/v1/status").as_object();
            const auto db = env_->counts_by_state();
            const auto& counts = status.at("counts").as_object();
            last = json::serialize(counts);
            if (counts.size() != std::size(all_states)) return false;
            std::int64_t total = 0;
            for (const auto& [state, n] : counts) {
                const auto it = db.find(std::string(state));
                if (n.as_int64() != (it == db.end() ? 0 : it->second)) return false;
                total += n.as_int64();
            }
            return total == status.at("total").as_int64();
        },
        10s))
        << last;
    const auto status = get_json("/api/v1/status").as_object();
    EXPECT_EQ(status.at("role").as_string(), "leader");
    EXPECT_EQ(status.at("rate").at("configured").to_number<double>(), 50.0);
    EXPECT_TRUE(status.at("webhooks").as_array().empty());
    EXPECT_TRUE(status.contains("eta_seconds"));
    EXPECT_TRUE(status.at("throughput").as_object().contains("per_minute"));
    EXPECT_TRUE(status.at("throughput").as_object().contains("span_seconds"));
}

TEST_F(Web, RowsAreListedFilteredSearchedAndPagedByKey) {
    // Every row once, newest first, two to a page.
    std::vector<std::string> seen;
    std::string after;
    for (int pages = 0; pages < 100; ++pages) {
        const auto page = get_json("/api/v1/domains?limit=2" + (after.empty() ? "" : "&after=" + after)).as_object();
        for (const auto& row : page.at("domains").as_array()) seen.emplace_back(row.at("hostname").as_string());
        if (page.at("next").is_null()) break;
        after = std::string(page.at("next").as_string());
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(env_->count("SELECT count(*) FROM domains")));
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
    EXPECT_EQ(seen.front(), "xn--bcher-kva.example.net");

    const auto failed = get_json("/api/v1/domains?state=failed&order=oldest").at("domains").as_array();
    ASSERT_EQ(failed.size(), 2u);
    EXPECT_EQ(failed[0].at("hostname").as_string(), "failed.rows.example.net");
    EXPECT_EQ(failed[0].at("detail").as_string(), hostile_detail); // as stored, byte for byte

    const auto found = get_json("/api/v1/domains?q=CAA-STRICT").at("domains").as_array();
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].at("state").as_string(), "dns_waiting");
    const auto script = get_json("/api/v1/domains?q=" + percent_encoded("<script>")).at("domains").as_array();
    ASSERT_EQ(script.size(), 1u);
    EXPECT_EQ(script[0].at("hostname").as_string(), hostile_hostname);
    EXPECT_TRUE(get_json("/api/v1/domains?q=%25").at("domains").as_array().empty()); // % is literal
    // A Unicode name typed in full finds the row stored in its A-label form.
    const auto unicode = get_json("/api/v1/domains?q=" + percent_encoded("bücher.example.net")).at("domains").as_array();
    ASSERT_EQ(unicode.size(), 1u);
    EXPECT_EQ(unicode[0].at("hostname").as_string(), "xn--bcher-kva.example.net");
}

TEST_F(Web, ARowsStoryComesWithItsTransitionsAndNames) {
    const auto story = get_json("/api/v1/domains/WWW.GOOD.example.com").as_object();
    const auto& domain = story.at("domain").as_object();
    EXPECT_EQ(domain.at("hostname").as_string(), "www.good.example.com");
    EXPECT_EQ(domain.at("state").as_string(), "active");
    EXPECT_TRUE(domain.at("certificate_id").is_int64());
    EXPECT_FALSE(domain.at("valid_until").is_null());
    const auto& transitions = story.at("transitions").as_array();
    ASSERT_GE(transitions.size(), 3u);
    EXPECT_TRUE(transitions.front().at("from").is_null());
    EXPECT_EQ(transitions.back().at("to").as_string(), "active");

    const auto hostile = get_json("/api/v1/domains/" + percent_encoded(hostile_hostname)).as_object();
    EXPECT_EQ(hostile.at("domain").at("hostname").as_string(), hostile_hostname);
    EXPECT_EQ(hostile.at("domain").at("state").as_string(), "invalid");

    EXPECT_TRUE(story.at("workload").is_null());
    const auto on_workload = get_json("/api/v1/domains/active.rows.example.net").at("workload").as_object();
    EXPECT_EQ(on_workload.at("id").as_int64(), 77);
    EXPECT_EQ(on_workload.at("rows").as_int64(), 2);
    EXPECT_EQ(on_workload.at("others").at(0).at("hostname").as_string(), "moved.rows.example.net");

    const auto unicode = get_json("/api/v1/domains/xn--bcher-kva.example.net").at("domain").as_object();
    EXPECT_EQ(unicode.at("alternative_names").as_array().at(0).as_string(), "www.xn--bcher-kva.example.net");
    EXPECT_EQ(unicode.at("unicode").as_string(), "bücher.example.net"); // as the customer wrote it
    EXPECT_TRUE(domain.at("unicode").is_null());

    const auto missing = get_json("/api/v1/domains/nobody.example.com", 404).as_object();
    EXPECT_EQ(missing.at("status").as_int64(), 404);
    EXPECT_NE(std::string(missing.at("error").as_string()).find("nobody.example.com"), std::string::npos);
}

TEST_F(Web, ProblemsAndThroughputSummariseTheTable) {
    const auto problems = get_json("/api/v1/problems").as_object();
    std::int64_t dns_waiting = 0;
    bool caa_group = false;
    for (const auto& g : problems.at("groups").as_array()) {
        if (g.at("state").as_string() == "dns_waiting") dns_waiting += g.at("rows").as_int64();
        caa_group = caa_group || std::string(g.at("reason").as_string()).find("CAA") != std::string::npos;
    }
    EXPECT_EQ(dns_waiting, 3); // two worked by certqd, one seeded
    EXPECT_TRUE(caa_group) << json::serialize(problems);
    const auto throughput = get_json("/api/v1/throughput?hours=2").as_object();
    EXPECT_EQ(throughput.at("bucket_seconds").as_int64(), 60);
    std::int64_t active = 0;
    for (const auto& b : throughput.at("buckets").as_array()) active += b.at("active").as_int64();
    EXPECT_EQ(active, 2); // www.good worked now, and the row seeded as active
}

TEST_F(Web, TheLiveDnsCheckAsksNsdAndIsRateLimited) {
    const auto check = get_json("/api/v1/domains/www.shop.example.com/dns").as_object();
    EXPECT_FALSE(check.at("would_request").as_bool());
    const auto& name = check.at("names").as_array().at(0).as_object();
    EXPECT_EQ(name.at("name").as_string(), "www.shop.example.com");
    EXPECT_EQ(name.at("verdict").as_string(), "not ready");
    EXPECT_NE(std::string(name.at("pointing").as_string()).find("otherhost.net"), std::string::npos);
    EXPECT_TRUE(get_json("/api/v1/domains/www.good.example.com/dns").at("would_request").as_bool());
    // A burst of five, then one a second: the next ones are turned away at once.
    unsigned limited = 0;
    http_reply last;
    for (int i = 0; i < 8; ++i) {
        last = http_fetch(port_, "/api/v1/domains/www.good.example.com/dns");
        if (last.status == 429) ++limited;
    }
    // Two of the burst went on the checks above (three more if a second passed meanwhile).
    EXPECT_GE(limited, 3u);
    EXPECT_LE(limited, 5u);
    EXPECT_EQ(last.status, 429u);
    EXPECT_GE(std::stoi(last.header("Retry-After")), 1);
    EXPECT_NE(parse_json(last).at("error").as_string().find("try again"), std::string::npos);
}

TEST_F(Web, BadRequestsGetClearJsonErrors) {
    const auto expect_error = [&](const std::string& target, unsigned status, const std::string& words) {
        const auto e = get_json(target, status).as_object();
        EXPECT_NE(std::string(e.at("error").as_string()).find(words), std::string::npos)
            << target << ": " << e.at("error").as_string();
    };
    expect_error("/api/v1/domains?state=done", 400, "unknown state \"done\"");
    expect_error("/api/v1/domains?limit=9999", 400, "limit: must be a whole number from 1 to 500");
    expect_error("/api/v1/domains?after=x", 400, "after: not a cursor");
    expect_error("/api/v1/domains?stat=failed", 400, "unknown parameter \"stat\"");
    expect_error("/api/v1/throughput?hours=0", 400, "hours");
    expect_error("/api/v1/nothing", 404, "no such endpoint");
    expect_error("/api/v2/status", 404, "version 1");
    const auto post = http_fetch(port_, "/api/v1/status", {"Content-Length: 0"}, "POST");
    EXPECT_EQ(post.status, 405u);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");
    EXPECT_EQ(get_json("/api/v1/").at("endpoints").as_array().size(), 6u);
}

TEST_F(Web, AnswersCarryStrictHeadersAndRequestsAreBounded) {
    const auto page = http_fetch(port_, "/");
    EXPECT_EQ(page.status, 200u);
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("/app.js"), std::string::npos);
    EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "no inline script";
    const auto csp = page.header("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
    // Assets are revalidated by their ETag.
    const auto js = http_fetch(port_, "/app.js");
    EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
    ASSERT_FALSE(js.header("ETag").empty());
    EXPECT_EQ(http_fetch(port_, "/app.js", {"If-None-Match: " + js.header("ETag")}).status, 304u);
    EXPECT_EQ(http_fetch(port_, "/nothing.js").status, 404u);

    // Oversized headers, a body, and a Host the server is not (DNS rebinding) are refused.
    const auto big = http_fetch(port_, "/api/v1/status", {"X-Padding: " + std::string(10000, 'a')});
    EXPECT_EQ(big.status, 431u);
    const auto body = http_send(port_, "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                                       "Connection: close\r\n\r\nhello");
    EXPECT_EQ(body.status, 413u);
    const auto rebound = http_send(port_, "GET /api/v1/status HTTP/1.1\r\nHost: attacker.example:" +
                                              std::to_string(port_) + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(rebound.status, 421u);
    const auto localhost = http_send(port_, "GET /api/v1/status HTTP/1.1\r\nHost: localhost:" +
                                                std::to_string(port_) + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(localhost.status, 200u);
    // 16 connections from one address, 64 in all: more are closed at once, and answered again
    // once the others go. Linux routes all of 127/8 to loopback, so four more addresses are
    // four more clients.
    const auto connect_from = [&](const char* source) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &from.sin_addr);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from), 0) << source;
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << source;
        return fd;
    };
    std::vector<int> idle;
    for (int i = 0; i < 16; ++i) idle.push_back(connect_from("127.0.0.1"));
    EXPECT_TRUE(wait_for([&] { return http_fetch(port_, "/healthz").status == 0; }, 5s)) << "one address, 17th";
    for (const char* other : {"127.0.0.2", "127.0.0.3", "127.0.0.4"})
        for (int i = 0; i < 16; ++i) idle.push_back(connect_from(other));
    const int fifth = connect_from("127.0.0.5"); // the 65th connection: closed at once
    char byte = 0;
    const std::string probe = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ::send(fifth, probe.data(), probe.size(), MSG_NOSIGNAL);
    EXPECT_LE(::recv(fifth, &byte, 1, 0), 0) << "the 65th connection was answered";
    ::close(fifth);
    for (const int fd : idle) ::close(fd);
    EXPECT_TRUE(wait_for([&] { return http_fetch(port_, "/healthz").status == 200; }, 5s));
}

TEST_F(Web, HeadAnswersWithoutABodyAndOtherSitesPagesAreRefused) {
    const auto get = http_fetch(port_, "/api/v1/status");
    const auto head = http_fetch(port_, "/api/v1/status", {}, "HEAD");
    EXPECT_EQ(head.status, 200u);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.header("Content-Type"), "application/json");
    EXPECT_FALSE(head.header("Content-Length").empty());
    EXPECT_EQ(get.status, 200u);
    // A browser tells where a request comes from: another site's page is turned away, the
    // page's own requests and a typed address are not.
    EXPECT_EQ(http_fetch(port_, "/api/v1/domains/www.good.example.com/dns", {"Sec-Fetch-Site: cross-site"}).status,
              403u);
    EXPECT_EQ(http_fetch(port_, "/app.js", {"Sec-Fetch-Site: same-site", "Sec-Fetch-Mode: no-cors"}).status, 403u);
    EXPECT_EQ(http_fetch(port_, "/api/v1/status", {"Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"}).status,
              403u);
    // A link from the provider's control panel to a row's page is followed.
    EXPECT_EQ(http_fetch(port_, "/", {"Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"}).status, 200u);
    EXPECT_EQ(http_fetch(port_, "/api/v1/status", {"Sec-Fetch-Site: same-origin"}).status, 200u);
    EXPECT_EQ(http_fetch(port_, "/", {"Sec-Fetch-Site: none"}).status, 200u);
    // Bytes that are not UTF-8 are the client's mistake, on either engine.
    const auto bad = get_json("/api/v1/domains?q=%FF%FE", 400);
    EXPECT_NE(std::string(bad.at("error").as_string()).find("UTF-8"), std::string::npos);
    get_json("/api/v1/domains/%C3%28.example.com", 400);
}

// The access rule: without a token only loopback; with one, everything but /healthz needs it.
TEST(WebAuth, ANonLoopbackListenerNeedsATokenAndEveryRequestButHealthCarriesIt) {
    daemon_settings settings;
    settings.http_listen = "0.0.0.0:0";
    environment env({}, settings);
    auto refused = env.start_daemon();
    EXPECT_EQ(refused->wait(30s), 2);
    EXPECT_NE(refused->output().find("http.listen: 0.0.0.0:0 is not a loopback address"), std::string::npos)
        << refused->output();

    const auto token_file = env.dir() / "http-token";
    const std::string token = "0123456789abcdef0123456789abcdef";
    std::ofstream(token_file) << token << "\n";
    settings.http_auth = token_file.string();
    env.write_config(settings);
    auto daemon = env.start_daemon();
    const auto port = logged_http_port(*daemon);
    ASSERT_NE(port, 0) << daemon->output();
    EXPECT_EQ(http_fetch(port, "/healthz").status, 200u);
    for (const std::string target : {"/api/v1/status", "/metrics", "/", "/app.js"}) {
        const auto none = http_fetch(port, target);
        EXPECT_EQ(none.status, 401u) << target;
        EXPECT_FALSE(none.header("WWW-Authenticate").empty()) << target;
        EXPECT_EQ(http_fetch(port, target, {"Authorization: Bearer wrong-token-wrong-token"}).status, 401u);
        EXPECT_EQ(http_fetch(port, target, {"Authorization: Bearer " + token}).status, 200u) << target;
    }
    // A browser's login: any user name, the token as the password.
    EXPECT_EQ(http_fetch(port, "/").header("WWW-Authenticate").rfind("Basic", 0), 0u);
    EXPECT_EQ(http_fetch(port, "/api/v1/status", {"Authorization: Basic c3VwcG9ydDowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg=="})
                  .status,
              200u); // support:0123456789abcdef0123456789abcdef
    // No spelling of a path gets past the token.
    for (const std::string target : {"/%68ealthz", "/API/v1/status", "//api/v1/status", "/healthz/../api/v1/status",
                                     "http://127.0.0.1/api/v1/status", "/api/v1/status%00"}) {
        const auto r = http_fetch(port, target);
        EXPECT_TRUE(r.status == 401 || r.status == 400) << target << " answered " << r.status << ": " << r.body;
    }
    const auto body = http_fetch(port, "/api/v1/status").body;
    EXPECT_NE(body.find("bearer token is required"), std::string::npos) << body;
    EXPECT_EQ(body.find(token), std::string::npos);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0);
    EXPECT_EQ(daemon->output().find(token), std::string::npos) << "the token is never logged";

    // A token too short to be one is refused at start, naming the key.
    std::ofstream(token_file) << "short\n";
    auto short_token = env.start_daemon();
    EXPECT_EQ(short_token->wait(30s), 2);
    EXPECT_NE(short_token->output().find("http.auth"), std::string::npos) << short_token->output();
}

} // namespace
} // namespace certq::testing
