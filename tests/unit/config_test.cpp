#include "config/config.hpp"
#include "config/duration.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace certq {
namespace {

using namespace std::chrono_literals;

config parse(const std::string& yaml) { return parse_config(yaml, "test.yaml", "/etc/certq"); }

std::string error_of(const std::string& yaml) {
    try {
        parse(yaml);
    } catch (const config_error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Duration, ParsesEveryUnit) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("30s"), 30s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("72h"), 72h);
    EXPECT_EQ(parse_duration("7d"), 168h);
    EXPECT_EQ(parse_duration("0s"), 0ms);
    EXPECT_EQ(parse_duration("0"), 0ms); // as in moved: { remove_after: 0 }
    EXPECT_FALSE(parse_duration("5"));
}

TEST(Duration, RejectsWhatIsNotADuration) {
    for (const char* bad : {"", "30", "s", "-5s", "1.5s", "5 s", "5sec", "30S", "99999999999999999999h",
                            "9223372036854775807h"})
        EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
    const auto cfg = parse("");
    EXPECT_EQ(cfg.database, "/var/lib/certq/certq.db");
    EXPECT_EQ(cfg.azion.base_url, "https://api.azion.com/v4");
    EXPECT_EQ(cfg.azion.certificates_path, "/workspace/tls/certificates");
    EXPECT_EQ(cfg.azion.auth_scheme, "Token");
    EXPECT_EQ(cfg.azion.timeout, 30s);
    EXPECT_EQ(cfg.azion.max_in_flight, 16);
    EXPECT_EQ(cfg.azion.rate_limit.requests_per_second, 5);
    EXPECT_EQ(cfg.azion.rate_limit.burst, 10);
    EXPECT_EQ(cfg.certificate.challenge, "http");
    EXPECT_EQ(cfg.certificate.authority, "lets_encrypt");
    EXPECT_TRUE(cfg.dns.check);
    EXPECT_EQ(cfg.dns.targets, (std::vector<std::string>{"azionedge.net", "azioncdn.net", "azionedge.com"}));
    EXPECT_EQ(cfg.dns.recheck.first, 1min);
    EXPECT_EQ(cfg.dns.recheck.max, 30min);
    EXPECT_EQ(cfg.dns.recheck.give_up_after, 72h);
    EXPECT_EQ(cfg.poll.first, 30s);
    EXPECT_EQ(cfg.poll.max, 15min);
    EXPECT_EQ(cfg.poll.give_up_after, 168h);
    EXPECT_EQ(cfg.letsencrypt.per_registered_domain, 50);
    EXPECT_EQ(cfg.letsencrypt.window, 168h);
    EXPECT_EQ(cfg.http.listen, "127.0.0.1:9464");
    EXPECT_EQ(cfg.log.level, "info");
    EXPECT_EQ(cfg.log.format, "text");
}

TEST(Config, DocumentedExampleSaysWhatTheDefaultsAre) {
    // config/certqd.yaml documents every key with its default; the two must not drift apart.
    const auto example = load_config(std::string(CERTQ_SOURCE_DIR) + "/config/certqd.yaml");
    const auto defaults = parse("");
    EXPECT_EQ(example.database, defaults.database);
    EXPECT_EQ(example.azion.base_url, defaults.azion.base_url);
    EXPECT_EQ(example.azion.certificates_path, defaults.azion.certificates_path);
    EXPECT_EQ(example.azion.token_file, defaults.azion.token_file);
    EXPECT_EQ(example.azion.auth_scheme, defaults.azion.auth_scheme);
    EXPECT_EQ(example.azion.timeout, defaults.azion.timeout);
    EXPECT_EQ(example.azion.max_in_flight, defaults.azion.max_in_flight);
    EXPECT_EQ(example.azion.rate_limit.requests_per_second, defaults.azion.rate_limit.requests_per_second);
    EXPECT_EQ(example.azion.rate_limit.burst, defaults.azion.rate_limit.burst);
    EXPECT_EQ(example.certificate.key_algorithm, defaults.certificate.key_algorithm);
    EXPECT_EQ(example.dns.check, defaults.dns.check);
    EXPECT_EQ(example.dns.targets, defaults.dns.targets);
    EXPECT_EQ(example.dns.recheck.give_up_after, defaults.dns.recheck.give_up_after);
    EXPECT_EQ(example.poll.first, defaults.poll.first);
    EXPECT_EQ(example.poll.max, defaults.poll.max);
    EXPECT_EQ(example.poll.give_up_after, defaults.poll.give_up_after);
    EXPECT_EQ(example.letsencrypt.per_registered_domain, defaults.letsencrypt.per_registered_domain);
    EXPECT_EQ(example.letsencrypt.window, defaults.letsencrypt.window);
    EXPECT_EQ(example.monitor.every, defaults.monitor.every);
    EXPECT_EQ(example.monitor.expiry_warning, defaults.monitor.expiry_warning);
    EXPECT_EQ(example.moved.remove_after, defaults.moved.remove_after);
    EXPECT_EQ(example.notify.webhooks.size(), 0u);
    EXPECT_EQ(example.notify.timeout, defaults.notify.timeout);
    EXPECT_EQ(example.notify.retry.first, defaults.notify.retry.first);
    EXPECT_EQ(example.notify.retry.max, defaults.notify.retry.max);
    EXPECT_EQ(example.notify.retry.give_up_after, defaults.notify.retry.give_up_after);
    EXPECT_EQ(example.http.listen, defaults.http.listen);
    EXPECT_EQ(example.log.level, defaults.log.level);
    EXPECT_EQ(example.log.format, defaults.log.format);
}

TEST(Config, ReadsTheSlowScheduleAndMovedKeys) {
    const auto cfg = parse("monitor: { every: 6h, expiry_warning: 21d }\nmoved: { remove_after: 30d }\n");
    EXPECT_EQ(cfg.monitor.every, 6h);
    EXPECT_EQ(cfg.monitor.expiry_warning, 21 * 24h);
    EXPECT_EQ(cfg.moved.remove_after, 30 * 24h);
    EXPECT_EQ(parse("").monitor.every, 24h);
    EXPECT_EQ(parse("").moved.remove_after, 0ms);
}

TEST(Config, ReadsWebhooksAndNamesWhatIsWrongWithOne) {
    const auto cfg = parse("notify:\n  webhooks:\n    - { url: https://panel.example.net/hooks, secret_file: s, "
                           "events: [active, renewed] }\n  timeout: 3s\n  retry: { first: 1s, max: 1m, give_up_after: 1h }\n");
    ASSERT_EQ(cfg.notify.webhooks.size(), 1u);
    EXPECT_EQ(cfg.notify.webhooks[0].url, "https://panel.example.net/hooks");
    EXPECT_EQ(cfg.notify.webhooks[0].events, (std::vector<std::string>{"active", "renewed"}));
    EXPECT_EQ(cfg.notify.timeout, 3s);
    EXPECT_EQ(cfg.notify.retry.max, 1min);
    const auto error_of = [](const std::string& yaml) {
        try {
            parse(yaml);
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error_of("notify: { webhooks: [ { url: ftp://x } ] }"),
              "test.yaml: notify.webhooks[0].url: must start with https:// or http:// (got \"ftp://x\")");
    EXPECT_EQ(error_of("notify: { webhooks: [ { url: https://x/h, events: [activ] } ] }"),
              "test.yaml: notify.webhooks[0].events: \"activ\" is neither a state nor renewed");
    EXPECT_EQ(error_of("notify: { webhooks: [ { url: https://x/h, secret: s } ] }").rfind("test.yaml: notify.webhooks[0].secret: unknown key", 0),
              0u);
}

TEST(Config, ReadsEveryKeyOfTheContract) {
    const auto cfg = parse(R"(
database: certq.db
azion:
  base_url: https://api.example.net/v4/
  certificates_path: /digital_certificates/certificates
  token_file: token
  auth_scheme: Bearer
  ca_file: /etc/ssl/extra.pem
  timeout: 250ms
  max_in_flight: 4
  rate_limit: { requests_per_second: 2.5, burst: 3 }
certificate: { challenge: http, authority: lets_encrypt, key_algorithm: rsa_2048 }
dns:
  check: false
  servers: ["127.0.0.1:5353", "10.0.0.1"]
  targets: [edge.example.net]
  edge_hostname: abc.map.azionedge.net
  recheck: { first: 10s, max: 1m, give_up_after: 1h }
poll: { first: 1s, max: 5s, give_up_after: 2h }
letsencrypt: { per_registered_domain: 20, window: 24h }
http: { listen: "127.0.0.1:0" }
log: { level: debug, format: json }
)");
    EXPECT_EQ(cfg.database, "/etc/certq/certq.db"); // relative to the file's directory
    EXPECT_EQ(cfg.azion.base_url, "https://api.example.net/v4");
    EXPECT_EQ(cfg.azion.certificates_path, "/digital_certificates/certificates");
    EXPECT_EQ(cfg.azion.token_file, "/etc/certq/token");
    EXPECT_EQ(cfg.azion.auth_scheme, "Bearer");
    EXPECT_EQ(cfg.azion.ca_file, "/etc/ssl/extra.pem");
    EXPECT_EQ(cfg.azion.timeout, 250ms);
    EXPECT_EQ(cfg.azion.max_in_flight, 4);
    EXPECT_EQ(cfg.azion.rate_limit.requests_per_second, 2.5);
    EXPECT_EQ(cfg.azion.rate_limit.burst, 3);
    EXPECT_EQ(cfg.certificate.key_algorithm, "rsa_2048");
    EXPECT_FALSE(cfg.dns.check);
    EXPECT_EQ(cfg.dns.servers, (std::vector<std::string>{"127.0.0.1:5353", "10.0.0.1"}));
    EXPECT_EQ(cfg.dns.targets, std::vector<std::string>{"edge.example.net"});
    EXPECT_EQ(cfg.dns.edge_hostname, "abc.map.azionedge.net");
    EXPECT_EQ(cfg.dns.recheck.first, 10s);
    EXPECT_EQ(cfg.poll.max, 5s);
    EXPECT_EQ(cfg.poll.give_up_after, 2h);
    EXPECT_EQ(cfg.letsencrypt.per_registered_domain, 20);
    EXPECT_EQ(cfg.letsencrypt.window, 24h);
    EXPECT_EQ(cfg.http.listen, "127.0.0.1:0");
    EXPECT_EQ(cfg.log.level, "debug");
    EXPECT_EQ(cfg.log.format, "json");
}

TEST(Config, ErrorsNameTheFileAndTheKeyPath) {
    EXPECT_EQ(error_of("azion: { rate_limit: { burst: ten } }"),
              "test.yaml: azion.rate_limit.burst: must be a whole number from 1 to 10000, got \"ten\"");
    EXPECT_EQ(error_of("azion: { timeout: 30 }"),
              "test.yaml: azion.timeout: must be a duration such as 250ms, 30s, 5m, 72h or 7d, got \"30\"");
    EXPECT_EQ(error_of("poll: { first: 0s }"), "test.yaml: poll.first: must be longer than zero");
    EXPECT_EQ(error_of("poll: { first: 1h, max: 1m }"), "test.yaml: poll.first: must not be longer than max");
    EXPECT_EQ(error_of("log: { format: xml }"), "test.yaml: log.format: must be one of text, json, got \"xml\"");
    EXPECT_EQ(error_of("certificate: { challenge: dns }"),
              "test.yaml: certificate.challenge: must be one of http, got \"dns\"");
    EXPECT_EQ(error_of("azion: { base_url: http://api.azion.com/v4 }"),
              "test.yaml: azion.base_url: must start with https:// (got \"http://api.azion.com/v4\")");
    EXPECT_EQ(error_of("dns: { servers: [\"1.2.3.4:99999\"] }"),
              "test.yaml: dns.servers[0]: must be ip or ip:port, got \"1.2.3.4:99999\"");
    EXPECT_EQ(error_of("dns: { check: maybe }"), "test.yaml: dns.check: must be true or false, got \"maybe\"");
    EXPECT_EQ(error_of("azion: [1, 2]"), "test.yaml: azion: must be a mapping, got a list");
    EXPECT_EQ(error_of("azion: { rate_limit: { requests_per_second: 0 } }"),
              "test.yaml: azion.rate_limit.requests_per_second: must be a number above 0 and at most 10000, got \"0\"");
}

TEST(Config, UnknownKeysAreErrorsWithTheirPath) {
    EXPECT_NE(error_of("azion: { rate_limit: { burts: 3 } }").find("test.yaml: azion.rate_limit.burts: unknown key"),
              std::string::npos);
    EXPECT_NE(error_of("databse: x.db").find("test.yaml: databse: unknown key"), std::string::npos);
    EXPECT_NE(error_of("poll: { frist: 1s }").find("poll.frist: unknown key (known here: first, give_up_after, max)"),
              std::string::npos);
}

TEST(Config, YamlSyntaxErrorsNameTheLine) {
    EXPECT_EQ(error_of("a: b\n c: d: e\n").rfind("test.yaml:2: not valid YAML", 0), 0u)
        << error_of("a: b\n c: d: e\n");
}

TEST(Config, LoadConfigNamesAnUnreadableFile) {
    try {
        load_config("/nonexistent/certqd.yaml");
        FAIL() << "no error";
    } catch (const config_error& e) {
        EXPECT_EQ(std::string(e.what()), "/nonexistent/certqd.yaml: cannot read the configuration file");
    }
}

struct fake_env {
    std::map<std::string, std::string> vars;
    const char* operator()(const char* name) const {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    }
};

TEST(Token, EnvironmentComesFirstAndIsTrimmed) {
    azion_config cfg;
    cfg.token_file = "/nonexistent";
    const auto t = resolve_token(cfg, fake_env{{{"AZION_TOKEN", " abc123\n"}}});
    EXPECT_EQ(t.token, "abc123");
    EXPECT_EQ(t.origin, "AZION_TOKEN");
}

TEST(Token, FileThenSystemdCredential) {
    const auto dir = std::filesystem::temp_directory_path() / ("certq-token-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "file-token") << "from-file\n";
    std::ofstream(dir / "azion-token") << "from-credential\n";
    azion_config cfg;
    cfg.token_file = (dir / "file-token").string();
    EXPECT_EQ(resolve_token(cfg, fake_env{{{"CREDENTIALS_DIRECTORY", dir.string()}}}).token, "from-file");
    cfg.token_file.clear();
    const auto t = resolve_token(cfg, fake_env{{{"CREDENTIALS_DIRECTORY", dir.string()}}});
    EXPECT_EQ(t.token, "from-credential");
    EXPECT_EQ(t.origin, "credential azion-token");
    std::filesystem::remove_all(dir);
}

TEST(Database, APostgresqlUriIsKeptAsWrittenAndItsPasswordComesFromTheCredential) {
    const auto dir = std::filesystem::temp_directory_path() / ("certq-dbpass-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "database-password") << "s3cret\n";
    EXPECT_EQ(database_password(fake_env{{{"CREDENTIALS_DIRECTORY", dir.string()}}}), "s3cret");
    EXPECT_EQ(database_password(fake_env{}), std::nullopt) << "libpq's own PGPASSWORD / PGPASSFILE then";
    std::filesystem::remove_all(dir);
    const auto cfg = parse_config("database: postgresql://certq@db.internal/certq?sslmode=verify-full\n", "test",
                                  "/etc/certq");
    EXPECT_EQ(cfg.database.string(), "postgresql://certq@db.internal/certq?sslmode=verify-full")
        << "a URI is not a path relative to the config's directory";
}

TEST(Token, MissingOrUnusableTokensAreClearErrorsWithoutTheToken) {
    azion_config cfg;
    try {
        resolve_token(cfg, fake_env{});
        FAIL();
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("no Azion token"), std::string::npos);
    }
    try {
        resolve_token(cfg, fake_env{{{"AZION_TOKEN", "secret with space"}}});
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
    }
    cfg.token_file = "/nonexistent/token";
    try {
        resolve_token(cfg, fake_env{});
        FAIL();
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/token"), std::string::npos);
    }
}

} // namespace
} // namespace certq
