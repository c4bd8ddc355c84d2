#pragma once
// certqd.yaml, loaded into plain structs. Defaults are the documented ones (config/certqd.yaml);
// every key of the contract is known here, including those whose feature arrives later.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace certq {

using std::chrono::milliseconds;

/// A configuration that cannot be used. what() names the file, the key path and the problem:
/// `certqd.yaml: azion.rate_limit.burst: must be a whole number >= 1, got "ten"`.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct rate_limit_config {
    double requests_per_second = 5;
    int burst = 10;
};

struct azion_config {
    std::string base_url = "https://api.azion.com/v4";
    std::string certificates_path = "/workspace/tls/certificates";
    std::string token_file;
    std::string auth_scheme = "Token"; // "Bearer" for login JWTs (API.md)
    std::string ca_file;
    milliseconds timeout = std::chrono::seconds{30};
    int max_in_flight = 16;
    rate_limit_config rate_limit;
};

struct certificate_config {
    std::string challenge = "http";
    std::string authority = "lets_encrypt";
    std::string key_algorithm; // empty: Azion's default
};

/// A retry schedule: first delay, doubling up to max, abandoned after give_up_after.
struct backoff_config {
    milliseconds first;
    milliseconds max;
    milliseconds give_up_after;
};

struct dns_config {
    bool check = true;
    std::vector<std::string> servers;
    std::vector<std::string> targets{"azionedge.net", "azioncdn.net", "azionedge.com"};
    std::string edge_hostname;
    backoff_config recheck{std::chrono::minutes{1}, std::chrono::minutes{30},
                           std::chrono::hours{72}};
};

struct letsencrypt_config {
    int per_registered_domain = 50;
    milliseconds window = std::chrono::hours{168};
};

/// The slow schedule on which active certificates are re-read and their names re-checked.
struct monitor_config {
    milliseconds every = std::chrono::hours{24};
    milliseconds expiry_warning = std::chrono::hours{24 * 14};
};

struct moved_config {
    /// A row `moved` this long is offboarded; 0: never by itself.
    milliseconds remove_after{0};
};

/// One receiver of the events (Standard Webhooks signatures).
struct webhook_config {
    std::string url;         ///< http:// or https://
    std::string secret_file; ///< `whsec_<base64>`; empty: the systemd credential "webhook-secret"
    /// New state names (and `renewed`) to send; empty: every event.
    std::vector<std::string> events;
};

struct notify_config {
    std::vector<webhook_config> webhooks;
    milliseconds timeout = std::chrono::seconds{10}; ///< one attempt, answer included
    backoff_config retry{std::chrono::seconds{5}, std::chrono::minutes{30}, std::chrono::hours{72}};
    std::string ca_file; ///< extra trusted CA for https receivers; the system store is always used
};

struct http_config {
    std::string listen = "127.0.0.1:9464";
    /// A file holding the bearer token every request but /healthz must carry; empty: the
    /// systemd credential "http-token" if passed, else no token (then only loopback is allowed).
    std::string auth;
};

struct log_config {
    std::string level = "info";
    std::string format = "text";
};

struct config {
    /// A SQLite file, or a PostgreSQL connection URI (postgresql://…), kept as written.
    std::filesystem::path database = "/var/lib/certq/certq.db";
    azion_config azion;
    certificate_config certificate;
    dns_config dns;
    backoff_config poll{std::chrono::seconds{30}, std::chrono::minutes{15},
                        std::chrono::hours{168}};
    letsencrypt_config letsencrypt;
    monitor_config monitor;
    moved_config moved;
    notify_config notify;
    http_config http;
    log_config log;
};

/// Parses YAML text. `source` names it in errors; relative paths (database, token_file,
/// ca_file) are resolved against `base_dir`. Throws config_error.
config parse_config(const std::string& yaml, const std::string& source,
                    const std::filesystem::path& base_dir);

/// Reads and parses a file; relative paths in it are relative to the file's directory.
/// Throws config_error, naming the file, when it cannot be read or is invalid.
config load_config(const std::filesystem::path& file);

/// Where the API token was found, for logs (never the token itself).
struct token_source {
    std::string token;
    std::string origin; // "AZION_TOKEN", "/etc/certq/azion-token", "credential azion-token"
};

/// Finds the token: the AZION_TOKEN environment variable, else azion.token_file, else the
/// systemd credential `azion-token` in $CREDENTIALS_DIRECTORY. Throws config_error naming the
/// source at fault (unreadable, empty, or holding characters a header cannot carry) or, when
/// none is set, every place it looked.
token_source resolve_token(const azion_config& cfg,
                           const std::function<const char*(const char*)>& getenv = ::getenv);

/// The whole text of a secret's file. Throws config_error "<origin>: cannot read <path>" (the
/// text itself is never part of an error).
std::string read_secret_file(const std::string& path, const std::string& origin);

/// Where systemd put credential `name` ($CREDENTIALS_DIRECTORY/name, LoadCredential=), or
/// nullopt when it passed none by that name.
std::optional<std::filesystem::path> credential_path(const std::string& name,
                                                     const std::function<const char*(const char*)>& getenv = ::getenv);

/// The text of credential `name`, nullopt when systemd passed none by that name. Throws
/// config_error "<origin>: cannot read <path>" when it cannot be read.
std::optional<std::string> read_credential(const std::string& name, const std::string& origin,
                                           const std::function<const char*(const char*)>& getenv = ::getenv);

/// "host:port" (the host in brackets for IPv6) as host without brackets and port; the port is ""
/// when there is no colon.
std::pair<std::string, std::string> split_host_port(const std::string& text);

/// A PostgreSQL connection URI (postgresql://… or postgres://…); anything else names a SQLite file.
bool is_postgresql_uri(std::string_view database);

/// The PostgreSQL password from the systemd credential `database-password`, trailing newline
/// dropped; nullopt when there is none (libpq then reads PGPASSWORD or PGPASSFILE itself).
std::optional<std::string> database_password(const std::function<const char*(const char*)>& getenv = ::getenv);

} // namespace certq
