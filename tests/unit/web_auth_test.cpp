// The web's access rule, piece by piece: which listen addresses count as loopback, which Host
// headers a browser sends only on purpose, and which Authorization headers carry the token.

#include "web/auth.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace certq::web {
namespace {

TEST(WebAccess, OnlyLoopbackAddressesCountAsLoopback) {
    EXPECT_TRUE(is_loopback_listen("127.0.0.1:9464"));
    EXPECT_TRUE(is_loopback_listen("127.3.2.1:0"));
    EXPECT_TRUE(is_loopback_listen("[::1]:9464"));
    EXPECT_TRUE(is_loopback_listen("localhost:9464"));
    EXPECT_FALSE(is_loopback_listen("0.0.0.0:9464"));
    EXPECT_FALSE(is_loopback_listen("[::]:9464"));
    EXPECT_FALSE(is_loopback_listen(":9464"));
    EXPECT_FALSE(is_loopback_listen("192.0.2.1:9464"));
    EXPECT_FALSE(is_loopback_listen("no-such-name.invalid:9464"));
}

TEST(WebAccess, HostHeadersAreAddressesLocalhostOrTheListenersOwnName) {
    const std::string listen = "panel-host.example.net:9464";
    EXPECT_TRUE(host_allowed("127.0.0.1:9464", listen));
    EXPECT_TRUE(host_allowed("[::1]:9464", listen));
    EXPECT_TRUE(host_allowed("192.0.2.7", listen));
    EXPECT_TRUE(host_allowed("LOCALHOST:80", listen));
    EXPECT_TRUE(host_allowed("Panel-Host.example.net:9464", listen));
    EXPECT_TRUE(host_allowed("", listen)); // HTTP/1.0 clients; no browser sends it
    EXPECT_FALSE(host_allowed("attacker.example:9464", listen));
    EXPECT_FALSE(host_allowed("[::1", listen));
    EXPECT_FALSE(host_allowed("localhost.attacker.example", listen));
    EXPECT_FALSE(host_allowed("127.0.0.1.nip.io", listen));
}

TEST(WebAccess, TheTokenIsTakenAsBearerOrAsABasicPasswordAndNothingElse) {
    const authenticator open(std::nullopt);
    EXPECT_FALSE(open.required());
    EXPECT_TRUE(open.allows(""));
    const authenticator closed(std::string("0123456789abcdef0123456789abcdef"));
    EXPECT_TRUE(closed.required());
    EXPECT_TRUE(closed.allows("Bearer 0123456789abcdef0123456789abcdef"));
    EXPECT_TRUE(closed.allows("bearer 0123456789abcdef0123456789abcdef"));
    // support:<token>, and a user name with no colon before the token
    EXPECT_TRUE(closed.allows("Basic c3VwcG9ydDowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg=="));
    EXPECT_TRUE(closed.allows("Basic OjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"));
    EXPECT_FALSE(closed.allows(""));
    EXPECT_FALSE(closed.allows("Bearer"));
    EXPECT_FALSE(closed.allows("Bearer 0123456789abcdef0123456789abcde"));  // one short
    EXPECT_FALSE(closed.allows("Bearer 0123456789abcdef0123456789abcdefX")); // one long
    EXPECT_FALSE(closed.allows("Token 0123456789abcdef0123456789abcdef"));
    EXPECT_FALSE(closed.allows("Basic c3VwcG9ydDp3cm9uZw=="));                 // support:wrong
    EXPECT_FALSE(closed.allows("Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")); // no colon
    EXPECT_FALSE(closed.allows("Basic !!!!"));
    EXPECT_FALSE(closed.allows("Basic c3VwcG9ydDo"));                          // not a multiple of 4
}

TEST(WebAccess, ATokenFileIsReadTrimmedAndRefusedWhenTooShortOrUnprintable) {
    const auto file = std::filesystem::temp_directory_path() / ("certq-http-token-" + std::to_string(::getpid()));
    http_config cfg;
    cfg.auth = file.string();
    const auto none = [](const char*) -> const char* { return nullptr; };
    std::ofstream(file) << "0123456789abcdef0123456789abcdef\n";
    EXPECT_EQ(load_http_token(cfg, none), "0123456789abcdef0123456789abcdef");
    std::ofstream(file) << "short\n";
    try {
        load_http_token(cfg, none);
        ADD_FAILURE() << "a short token was taken";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("http.auth"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("short"), std::string::npos) << "the token is never in the error";
    }
    std::ofstream(file) << "0123456789abcdef 0123456789abcdef\n";
    EXPECT_THROW(load_http_token(cfg, none), config_error);
    std::filesystem::remove(file);
    EXPECT_THROW(load_http_token(cfg, none), config_error); // unreadable
    EXPECT_EQ(load_http_token(http_config{}, none), std::nullopt);
}

} // namespace
} // namespace certq::web
