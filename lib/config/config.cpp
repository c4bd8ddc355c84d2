#include "config/config.hpp"

#include "config/duration.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace certq {
namespace {

std::string quoted(const YAML::Node& node) {
    if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    return "nothing";
}

// Walks one YAML mapping, remembering which keys were read so that anything left over is
// reported as unknown with its full path. Every error names the source and the key path.
class section {
public:
    section(const YAML::Node& node, std::string path, const std::string& source)
        : node_(node), path_(std::move(path)), source_(source) {
        if (node_ && !node_.IsNull() && !node_.IsMap())
            fail(path_.empty() ? "(top level)" : path_, "must be a mapping, got " + quoted(node_));
    }

    [[noreturn]] void fail(const std::string& key_path, const std::string& message) const {
        throw config_error(source_ + ": " + key_path + ": " + message);
    }

    std::string key_path(const std::string& key) const {
        return path_.empty() ? key : path_ + "." + key;
    }

    // The child node, or an undefined node when the key is absent or null.
    YAML::Node child(const std::string& key) {
        seen_.insert(key);
        if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
        auto value = node_[key];
        if (!value || value.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
        return value;
    }

    section sub(const std::string& key) { return section(child(key), key_path(key), source_); }

    void read(const std::string& key, std::string& out) {
        auto value = child(key);
        if (!value) return;
        if (!value.IsScalar()) fail(key_path(key), "must be a string, got " + quoted(value));
        out = value.Scalar();
    }

    void read(const std::string& key, bool& out) {
        auto value = child(key);
        if (!value) return;
        const auto text = value.IsScalar() ? value.Scalar() : std::string{};
        if (text == "true") out = true;
        else if (text == "false") out = false;
        else fail(key_path(key), "must be true or false, got " + quoted(value));
    }

    void read(const std::string& key, int& out, int min, int max) {
        auto value = child(key);
        if (!value) return;
        long long parsed = 0;
        const auto text = value.IsScalar() ? value.Scalar() : std::string{};
        std::size_t used = 0;
        try {
            parsed = std::stoll(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (text.empty() || used != text.size() || parsed < min || parsed > max)
            fail(key_path(key), "must be a whole number from " + std::to_string(min) + " to " +
                                    std::to_string(max) + ", got " + quoted(value));
        out = static_cast<int>(parsed);
    }

    void read(const std::string& key, double& out, double min_exclusive, double max) {
        auto value = child(key);
        if (!value) return;
        const auto text = value.IsScalar() ? value.Scalar() : std::string{};
        double parsed = 0;
        std::size_t used = 0;
        try {
            parsed = std::stod(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (text.empty() || used != text.size() || !std::isfinite(parsed) ||
            parsed <= min_exclusive || parsed > max) {
            std::ostringstream range;
            range << "must be a number above " << min_exclusive << " and at most " << max;
            fail(key_path(key), range.str() + ", got " + quoted(value));
        }
        out = parsed;
    }

    /// A duration; zero only where it means "off" (`zero_means_off`).
    void read(const std::string& key, milliseconds& out, bool zero_means_off = false) {
        auto value = child(key);
        if (!value) return;
        auto parsed = value.IsScalar() ? parse_duration(value.Scalar()) : std::nullopt;
        if (!parsed)
            fail(key_path(key), "must be a duration such as 250ms, 30s, 5m, 72h or 7d, got " +
                                    quoted(value));
        if (parsed->count() < 0 || (parsed->count() == 0 && !zero_means_off))
            fail(key_path(key), "must be longer than zero");
        out = *parsed;
    }

    void read(const std::string& key, std::vector<std::string>& out) {
        auto value = child(key);
        if (!value) return;
        if (!value.IsSequence()) fail(key_path(key), "must be a list, got " + quoted(value));
        out.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (!value[i].IsScalar())
                fail(key_path(key) + "[" + std::to_string(i) + "]",
                     "must be a string, got " + quoted(value[i]));
            out.push_back(value[i].Scalar());
        }
    }

    void one_of(const std::string& key, const std::string& value,
                std::initializer_list<const char*> allowed) const {
        if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
        std::string list;
        for (const auto* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(key_path(key), "must be one of " + list + ", got \"" + value + "\"");
    }

    // Called last: every key present in the mapping must have been asked for.
    void reject_unknown() const {
        if (!node_ || !node_.IsMap()) return;
        for (const auto& entry : node_) {
            const auto key = entry.first.IsScalar() ? entry.first.Scalar() : std::string{"?"};
            if (!seen_.count(key)) {
                std::string known;
                for (const auto& k : seen_) known += (known.empty() ? "" : ", ") + k;
                fail(key_path(key), "unknown key (known here: " + known + ")");
            }
        }
    }

private:
    YAML::Node node_;
    std::string path_;
    const std::string& source_;
    std::set<std::string> seen_;
};

void read_backoff(section& parent, const std::string& key, backoff_config& out) {
    auto s = parent.sub(key);
    s.read("first", out.first);
    s.read("max", out.max);
    s.read("give_up_after", out.give_up_after);
    s.reject_unknown();
    if (out.first > out.max) s.fail(s.key_path("first"), "must not be longer than max");
}

// `host:port`; a listener may ask for port 0 (any free port), a server to reach may not.
bool valid_host_port(const std::string& text, bool host_required, bool port_zero_ok = false) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return !host_required && !text.empty();
    const auto port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const auto value = std::stoi(port);
    return (value > 0 || port_zero_ok) && value <= 65535 && (colon > 0 || !host_required);
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& path) {
    if (path.empty()) return {};
    std::filesystem::path p(path);
    return p.is_absolute() || base.empty() ? p : base / p;
}

} // namespace

config parse_config(const std::string& yaml, const std::string& source,
                    const std::filesystem::path& base_dir) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw config_error(source + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " +
                           e.msg);
    }
    config cfg;
    section top(root, "", source);

    std::string database = cfg.database.string();
    top.read("database", database);
    if (database.empty()) top.fail("database", "must not be empty");
    // A PostgreSQL connection URI is taken as it is; anything else is a SQLite file's path.
    cfg.database = is_postgresql_uri(database) ? std::filesystem::path(database) : resolve(base_dir, database);

    {
        auto az = top.sub("azion");
        auto& a = cfg.azion;
        az.read("base_url", a.base_url);
        if (a.base_url.rfind("https://", 0) != 0)
            az.fail(az.key_path("base_url"), "must start with https:// (got \"" + a.base_url + "\")");
        while (a.base_url.size() > 8 && a.base_url.back() == '/') a.base_url.pop_back();
        az.read("certificates_path", a.certificates_path);
        if (a.certificates_path.empty() || a.certificates_path.front() != '/')
            az.fail(az.key_path("certificates_path"), "must start with /");
        while (a.certificates_path.size() > 1 && a.certificates_path.back() == '/')
            a.certificates_path.pop_back();
        az.read("token_file", a.token_file);
        a.token_file = resolve(base_dir, a.token_file).string();
        az.read("auth_scheme", a.auth_scheme);
        az.one_of("auth_scheme", a.auth_scheme, {"Token", "Bearer"});
        az.read("ca_file", a.ca_file);
        a.ca_file = resolve(base_dir, a.ca_file).string();
        az.read("timeout", a.timeout);
        az.read("max_in_flight", a.max_in_flight, 1, 1024);
        {
            auto rl = az.sub("rate_limit");
            rl.read("requests_per_second", a.rate_limit.requests_per_second, 0, 10'000);
            rl.read("burst", a.rate_limit.burst, 1, 10'000);
            rl.reject_unknown();
        }
        az.reject_unknown();
    }
    {
        auto c = top.sub("certificate");
        c.read("challenge", cfg.certificate.challenge);
        c.one_of("challenge", cfg.certificate.challenge, {"http"});
        c.read("authority", cfg.certificate.authority);
        c.one_of("authority", cfg.certificate.authority, {"lets_encrypt"});
        c.read("key_algorithm", cfg.certificate.key_algorithm);
        c.one_of("key_algorithm", cfg.certificate.key_algorithm,
                 {"", "rsa_2048", "rsa_4096", "ecc_384"});
        c.reject_unknown();
    }
    {
        auto d = top.sub("dns");
        d.read("check", cfg.dns.check);
        d.read("servers", cfg.dns.servers);
        for (std::size_t i = 0; i < cfg.dns.servers.size(); ++i)
            if (!valid_host_port(cfg.dns.servers[i], false))
                d.fail(d.key_path("servers") + "[" + std::to_string(i) + "]",
                       "must be ip or ip:port, got \"" + cfg.dns.servers[i] + "\"");
        d.read("targets", cfg.dns.targets);
        d.read("edge_hostname", cfg.dns.edge_hostname);
        read_backoff(d, "recheck", cfg.dns.recheck);
        d.reject_unknown();
        if (cfg.dns.check && cfg.dns.targets.empty() && cfg.dns.edge_hostname.empty())
            d.fail("dns.targets", "must name at least one target while dns.check is true");
    }
    read_backoff(top, "poll", cfg.poll);
    {
        auto le = top.sub("letsencrypt");
        le.read("per_registered_domain", cfg.letsencrypt.per_registered_domain, 1, 1'000'000);
        le.read("window", cfg.letsencrypt.window);
        le.reject_unknown();
    }
    {
        auto m = top.sub("monitor");
        m.read("every", cfg.monitor.every);
        if (cfg.monitor.every < std::chrono::seconds{1})
            m.fail(m.key_path("every"), "must be at least 1s");
        m.read("expiry_warning", cfg.monitor.expiry_warning);
        m.reject_unknown();
    }
    {
        auto mv = top.sub("moved");
        mv.read("remove_after", cfg.moved.remove_after, true);
        mv.reject_unknown();
    }
    {
        auto n = top.sub("notify");
        auto hooks = n.child("webhooks");
        if (hooks && !hooks.IsSequence()) n.fail(n.key_path("webhooks"), "must be a list, got " + quoted(hooks));
        for (std::size_t i = 0; hooks && i < hooks.size(); ++i) {
            section w(hooks[i], n.key_path("webhooks") + "[" + std::to_string(i) + "]", source);
            webhook_config hook;
            w.read("url", hook.url);
            if (hook.url.rfind("https://", 0) != 0 && hook.url.rfind("http://", 0) != 0)
                w.fail(w.key_path("url"), "must start with https:// or http:// (got \"" + hook.url + "\")");
            w.read("secret_file", hook.secret_file);
            hook.secret_file = resolve(base_dir, hook.secret_file).string();
            w.read("events", hook.events);
            for (const auto& e : hook.events) {
                static const std::set<std::string> known{"queued", "invalid", "dns_waiting", "dns_failed",
                                                         "throttled", "requesting", "pending", "attaching",
                                                         "active", "moved", "failed", "removing", "removed",
                                                         "renewed"};
                if (!known.count(e))
                    w.fail(w.key_path("events"), "\"" + e + "\" is neither a state nor renewed");
            }
            w.reject_unknown();
            for (const auto& other : cfg.notify.webhooks)
                if (other.url == hook.url) w.fail(w.key_path("url"), "is listed twice");
            cfg.notify.webhooks.push_back(std::move(hook));
        }
        n.read("timeout", cfg.notify.timeout);
        read_backoff(n, "retry", cfg.notify.retry);
        n.read("ca_file", cfg.notify.ca_file);
        cfg.notify.ca_file = resolve(base_dir, cfg.notify.ca_file).string();
        n.reject_unknown();
    }
    {
        auto h = top.sub("http");
        h.read("listen", cfg.http.listen);
        if (!cfg.http.listen.empty() && !valid_host_port(cfg.http.listen, true, true))
            h.fail(h.key_path("listen"),
                   "must be host:port (or empty to turn it off), got \"" + cfg.http.listen + "\"");
        h.read("auth", cfg.http.auth);
        cfg.http.auth = resolve(base_dir, cfg.http.auth).string();
        h.reject_unknown();
    }
    {
        auto l = top.sub("log");
        l.read("level", cfg.log.level);
        l.one_of("level", cfg.log.level, {"trace", "debug", "info", "warn", "error", "critical"});
        l.read("format", cfg.log.format);
        l.one_of("format", cfg.log.format, {"text", "json"});
        l.reject_unknown();
    }
    top.reject_unknown();
    return cfg;
}

config load_config(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error(file.string() + ": cannot read the configuration file");
    std::ostringstream text;
    text << in.rdbuf();
    auto base = std::filesystem::absolute(file).parent_path();
    return parse_config(text.str(), file.string(), base);
}

std::string read_secret_file(const std::string& path, const std::string& origin) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(origin + ": cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<std::filesystem::path> credential_path(const std::string& name,
                                                     const std::function<const char*(const char*)>& getenv) {
    const char* dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir) return std::nullopt;
    auto path = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    return path;
}

std::optional<std::string> read_credential(const std::string& name, const std::string& origin,
                                           const std::function<const char*(const char*)>& getenv) {
    const auto path = credential_path(name, getenv);
    if (!path) return std::nullopt;
    return read_secret_file(path->string(), origin);
}

std::pair<std::string, std::string> split_host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return {host, colon == std::string::npos ? std::string() : text.substr(colon + 1)};
}

bool is_postgresql_uri(std::string_view database) {
    return database.rfind("postgresql://", 0) == 0 || database.rfind("postgres://", 0) == 0;
}

namespace {

token_source checked(std::string token, std::string origin) {
    const auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
    token.erase(token.begin(), std::find_if(token.begin(), token.end(), not_space));
    token.erase(std::find_if(token.rbegin(), token.rend(), not_space).base(), token.end());
    if (token.empty()) throw config_error(origin + ": the Azion token is empty");
    // A token goes into an HTTP header: anything outside visible ASCII would let it break the
    // request, so it is refused here (without echoing it).
    for (unsigned char c : token)
        if (c < 0x21 || c > 0x7e)
            throw config_error(origin + ": the Azion token holds a space or a non-printable character");
    return {std::move(token), std::move(origin)};
}

} // namespace

token_source resolve_token(const azion_config& cfg,
                           const std::function<const char*(const char*)>& getenv) {
    if (const char* env = getenv("AZION_TOKEN"); env && *env) return checked(env, "AZION_TOKEN");
    if (!cfg.token_file.empty())
        return checked(read_secret_file(cfg.token_file, "azion.token_file"), cfg.token_file);
    if (auto text = read_credential("azion-token", "credential azion-token", getenv))
        return checked(std::move(*text), "credential azion-token");
    throw config_error("no Azion token: set AZION_TOKEN, azion.token_file, or the systemd "
                       "credential azion-token (LoadCredential=azion-token:...)");
}

std::optional<std::string> database_password(const std::function<const char*(const char*)>& getenv) {
    auto text = read_credential("database-password", "credential database-password", getenv);
    if (!text) return std::nullopt;
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    return text;
}

} // namespace certq
