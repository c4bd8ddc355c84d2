#include "azion_sim.hpp"

#include "test_pki.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

namespace certq::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr const char* prefixes[] = {"/v4/workspace/tls/certificates",
                                    "/v4/digital_certificates/certificates"};
constexpr const char* workloads_prefix = "/v4/workspace/workloads/";

json::object error_body(unsigned status, const std::string& code, const std::string& title,
                        const std::string& detail, const std::string& pointer = {}) {
    json::object e{{"status", std::to_string(status)}, {"code", code}, {"title", title},
                   {"detail", detail}};
    if (!pointer.empty()) e["source"] = json::object{{"pointer", pointer}};
    return json::object{{"errors", json::array{json::value(e)}}};
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string azion_time(std::chrono::system_clock::time_point t) {
    // Azion writes times as "2028-03-24 20:09:00-03:00"; the simulator answers in UTC.
    const auto secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00:00", &tm);
    return buf;
}

// The schema's pattern for common_name: a DNS name, optionally with a leading "*.".
bool valid_dns_name(const std::string& name) {
    static const std::regex pattern(
        R"(^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$)",
        std::regex::icase);
    return name.size() <= 253 && std::regex_match(name, pattern);
}

} // namespace

std::string failure_text(const std::string& name) {
    return "An error has occurred while issuing the requested certificate. Please verify the "
           "following domains CNAME: " +
           name;
}

struct azion_simulator::impl {
    explicit impl(sim_options o) : options(std::move(o)), pki(make_test_pki()) {
        tls.use_certificate_chain(asio::buffer(pki.server_cert_pem));
        tls.use_private_key(asio::buffer(pki.server_key_pem), ssl::context::pem);
        tokens = options.rate_burst;
        random.seed(options.seed);
    }

    sim_options options;
    test_pki pki;
    asio::io_context ioc{1};
    ssl::context tls{ssl::context::tls_server};
    std::optional<tcp::acceptor> acceptor;
    std::thread thread;
    unsigned short port = 0;

    mutable std::mutex mutex; // guards what tests read: log and certificates
    std::vector<recorded_request> log;
    std::map<std::int64_t, sim_certificate> certs;
    std::int64_t next_id = 103000;

    workload_registry workloads;

    double tokens = 0;
    steady::time_point refilled = steady::now();
    std::mt19937 random{1};

    fault draw_fault() {
        std::uniform_real_distribution<double> u(0, 1);
        const double x = u(random);
        double edge = options.server_error_rate;
        if (x < edge) return fault::server_error;
        if (x < (edge += options.cut_rate)) return fault::cut;
        if (x < (edge += options.hang_rate)) return fault::hang;
        if (x < (edge += options.malformed_rate)) return fault::malformed;
        return fault::none;
    }

    // Server-side limit: a bucket refilled continuously; an empty bucket answers 429 with the
    // whole seconds until a token is back.
    std::optional<long> throttle(steady::time_point now) {
        if (options.rate_limit <= 0) return std::nullopt;
        const double elapsed = std::chrono::duration<double>(now - refilled).count();
        tokens = std::min<double>(options.rate_burst, tokens + elapsed * options.rate_limit);
        refilled = now;
        if (tokens >= 1) {
            tokens -= 1;
            return std::nullopt;
        }
        return static_cast<long>(std::ceil((1 - tokens) / options.rate_limit));
    }

    std::string status_of(const sim_certificate& c, steady::time_point now) const {
        if (c.expired) return "expired";
        const auto age = now - c.created;
        if (age >= options.issue_delay) return c.failing_name ? "failed" : "active";
        if (age >= options.issue_delay / 2) return "challenge_verification";
        return "pending";
    }

    json::object to_json(const sim_certificate& c, steady::time_point now,
                         const std::optional<std::set<std::string>>& fields,
                         bool capital_pending = false) const {
        auto status = status_of(c, now);
        const bool active = status == "active";
        json::array subject;
        subject.emplace_back(c.common_name);
        for (const auto& n : c.alternative_names) subject.emplace_back(n);
        const auto wall_created = std::chrono::system_clock::now() -
                                  std::chrono::duration_cast<std::chrono::system_clock::duration>(now - c.created);
        // Let's Encrypt certificates are valid for 90 days from issuance or renewal.
        const auto valid_from = c.renewed.value_or(wall_created);
        json::object o{
            {"id", c.id},
            {"name", c.name},
            {"certificate", nullptr},
            {"issuer", active ? json::value("R11") : json::value(nullptr)},
            {"subject_name", subject},
            {"validity", active || c.expired ? json::value(azion_time(valid_from + options.validity))
                                             : json::value(nullptr)},
            {"type", "certificate"},
            {"managed", true},
            {"status", status == "pending" && capital_pending ? "Pending" : status},
            {"status_detail", c.failing_name && status == "failed" ? failure_text(*c.failing_name) : ""},
            {"csr", nullptr},
            {"challenge", "http"},
            {"authority", "lets_encrypt"},
            {"key_algorithm", "ecc_384"},
            {"active", active},
            {"product_version", "1.0"},
            {"last_editor", "certq-sim"},
            {"last_modified", azion_time(std::chrono::system_clock::now())},
            {"renewed_at", c.renewed ? json::value(azion_time(*c.renewed)) : json::value(nullptr)},
        };
        if (!fields) return o;
        json::object filtered;
        for (const auto& [k, v] : o)
            if (fields->count(std::string(k))) filtered[k] = v;
        return filtered;
    }

    using response = http::response<http::string_body>;

    response reply(unsigned status, const json::value& body, unsigned version, bool keep_alive) {
        response res{static_cast<http::status>(status), version};
        res.set(http::field::server, "certq-azion-sim");
        res.set(http::field::content_type, "application/json");
        res.body() = json::serialize(body);
        res.keep_alive(keep_alive);
        res.prepare_payload();
        return res;
    }

    // The answer to a request, and the fault to inflict instead of (or on) it.
    std::chrono::milliseconds draw_latency() {
        std::lock_guard lock(mutex);
        if (options.latency_max <= options.latency_min) return options.latency_min;
        std::uniform_int_distribution<long> ms(options.latency_min.count(), options.latency_max.count());
        return std::chrono::milliseconds{ms(random)};
    }

    std::pair<response, fault> handle_with_faults(const http::request<http::string_body>& req) {
        auto res = handle(req);
        std::lock_guard lock(mutex);
        auto& entry = log.back();
        if (entry.status == 429 || entry.status == 401) return {std::move(res), fault::none};
        const auto f = draw_fault();
        entry.injected = f;
        switch (f) {
        case fault::none: break;
        case fault::server_error: {
            // Not carried out: roll back a certificate this request created.
            if (entry.status == 201) {
                auto body = json::parse(entry.response_body);
                certs.erase(body.at("data").at("id").as_int64());
                --next_id;
            }
            res = reply(500, error_body(500, "10500", "Internal Server Error", "A server error occurred."),
                        req.version(), req.keep_alive());
            entry.status = 500;
            entry.response_body = res.body();
            break;
        }
        case fault::cut:
        case fault::hang: entry.status = 0; break;
        case fault::malformed:
            res.body() = res.body().substr(0, res.body().size() / 2);
            res.prepare_payload();
            entry.response_body = res.body();
            break;
        }
        return {std::move(res), f};
    }

    response handle(const http::request<http::string_body>& req) {
        const auto now = steady::now();
        const unsigned v = req.version();
        const bool ka = req.keep_alive();
        std::lock_guard lock(mutex);
        auto respond = [&](unsigned status, const json::value& body) {
            auto res = reply(status, body, v, ka);
            log.back().status = status;
            log.back().response_body = res.body();
            return res;
        };
        log.push_back({now, std::chrono::system_clock::now(), std::string(req.method_string()),
                       std::string(req.target()), req.body(),
                       std::string(req[http::field::authorization]), 0, {}});

        if (auto wait = throttle(now)) {
            auto res = respond(429, error_body(429, "10010", "Throttled", "Request was throttled."));
            res.set(http::field::retry_after, std::to_string(*wait));
            return res;
        }
        if (req[http::field::authorization] != "Token " + options.token)
            return respond(401, error_body(401, "10001", "Unauthorized",
                                           "Authentication credentials were not provided."));

        auto parsed = boost::urls::parse_origin_form(req.target());
        if (!parsed) return respond(400, error_body(400, "10000", "Bad Request", "bad target"));
        const std::string path(parsed->path());
        if (path.rfind(workloads_prefix, 0) == 0) return handle_workload(req, path, parsed->params(), now, respond);
        std::string rest;
        bool known = false;
        for (const char* prefix : prefixes) {
            if (path.rfind(prefix, 0) == 0) {
                rest = path.substr(std::string_view(prefix).size());
                known = true;
                break;
            }
        }
        if (!known) return respond(404, error_body(404, "10004", "Not Found", "Not found."));
        std::map<std::string, std::string> query;
        for (auto p : parsed->params()) query[std::string(p.key)] = std::string(p.value);

        if (rest == "/request") {
            if (req.method() != http::verb::post)
                return respond(405, error_body(405, "10005", "Method Not Allowed", "Method not allowed."));
            return create(req.body(), now, respond);
        }
        if (rest.empty() || rest == "/") {
            if (req.method() != http::verb::get)
                return respond(405, error_body(405, "10005", "Method Not Allowed", "Method not allowed."));
            return list(query, now, respond);
        }
        std::int64_t id = 0;
        try {
            std::size_t used = 0;
            id = std::stoll(rest.substr(1), &used);
            if (used != rest.size() - 1) throw std::invalid_argument("id");
        } catch (const std::exception&) {
            return respond(404, error_body(404, "10004", "Not Found", "Not found."));
        }
        auto it = certs.find(id);
        if (it == certs.end() || it->second.deleted)
            return respond(404, error_body(404, "10004", "Not Found", "No Certificate matches the given query."));
        if (req.method() == http::verb::get)
            return respond(200, json::object{{"state", "executed"},
                                             {"data", to_json(it->second, now, std::nullopt)}});
        if (req.method() == http::verb::delete_) {
            // What Azion answers here is not documented; a certificate a workload serves is
            // refused, as deleting it would break the workload's sites.
            if (auto serving = workloads.serving(id, now); !serving.empty())
                return respond(400, error_body(400, "10000", "Bad Request",
                                               "This certificate is in use by workload " + std::to_string(serving.front()) +
                                                   " and cannot be deleted."));
            it->second.deleted = true;
            return respond(200, json::object{{"state", "executed"}});
        }
        return respond(405, error_body(405, "10005", "Method Not Allowed", "Method not allowed."));
    }

    template <class Respond, class Params>
    response handle_workload(const http::request<http::string_body>& req, const std::string& path,
                             const Params& params, steady::time_point now, Respond& respond) {
        std::int64_t id = 0;
        try {
            const auto rest = path.substr(std::string_view(workloads_prefix).size());
            std::size_t used = 0;
            id = std::stoll(rest, &used);
            if (used != rest.size() || id < 1) throw std::invalid_argument("id");
        } catch (const std::exception&) {
            return respond(404, error_body(404, "10004", "Not Found", "Not found."));
        }
        std::optional<std::set<std::string>> fields;
        for (auto p : params) {
            if (p.key != "fields") continue;
            fields.emplace();
            std::string list(p.value);
            for (std::size_t start = 0;;) {
                const auto comma = list.find(',', start);
                fields->insert(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        }
        const auto check = [&](std::int64_t cert) -> std::optional<std::string> {
            auto it = certs.find(cert);
            if (it == certs.end() || it->second.deleted)
                return "Invalid pk \"" + std::to_string(cert) + "\" - object does not exist.";
            if (status_of(it->second, now) != "active") return "Certificate " + std::to_string(cert) + " is not active.";
            return std::nullopt;
        };
        auto a = workloads.handle(std::string(req.method_string()), id, req.body(), fields, now, check);
        return respond(a.status, a.body);
    }

    template <class Respond> response create(const std::string& body, steady::time_point now, Respond& respond) {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        if (ec || !v.is_object())
            return respond(400, error_body(400, "10000", "Bad Request", "JSON parse error"));
        const auto& o = v.get_object();
        auto str = [&](const char* key) -> std::optional<std::string> {
            auto it = o.find(key);
            if (it == o.end() || !it->value().is_string()) return std::nullopt;
            return std::string(it->value().get_string());
        };
        auto bad = [&](const char* field, const std::string& detail) {
            return respond(400, error_body(400, "10000", "Bad Request", detail,
                                           std::string("/data/") + field));
        };
        auto name = str("name");
        if (!name || name->empty() || name->size() > 250)
            return bad("name", "Ensure this field has between 1 and 250 characters.");
        auto common_name = str("common_name");
        if (!common_name || common_name->empty() || common_name->size() > 64)
            return bad("common_name", "Ensure this field has between 1 and 64 characters.");
        if (!valid_dns_name(*common_name)) return bad("common_name", "Enter a valid domain name.");
        if (str("challenge") != std::optional<std::string>("http") &&
            str("challenge") != std::optional<std::string>("dns"))
            return bad("challenge", "\"" + str("challenge").value_or("") + "\" is not a valid choice.");
        if (str("authority") != std::optional<std::string>("lets_encrypt"))
            return bad("authority", "\"" + str("authority").value_or("") + "\" is not a valid choice.");
        std::vector<std::string> sans;
        if (auto it = o.find("alternative_names"); it != o.end()) {
            if (!it->value().is_array()) return bad("alternative_names", "Expected a list of items.");
            for (const auto& item : it->value().get_array()) {
                if (!item.is_string() || item.get_string().size() > 250 ||
                    !valid_dns_name(std::string(item.get_string())))
                    return bad("alternative_names", "Enter a valid domain name.");
                sans.emplace_back(item.get_string());
            }
        }
        if (sans.size() + 1 > 100)
            return bad("alternative_names", "A certificate holds at most 100 names.");
        for (const auto& [cid, c] : certs)
            if (!c.deleted && c.name == *name)
                return bad("name", "certificate with this name already exists.");
        sim_certificate c;
        c.id = next_id++;
        c.name = *name;
        c.common_name = lower(*common_name);
        for (auto& s : sans) c.alternative_names.push_back(lower(s));
        c.created = now;
        if (options.failing_names.count(c.common_name)) c.failing_name = c.common_name;
        for (const auto& s : c.alternative_names)
            if (!c.failing_name && options.failing_names.count(s)) c.failing_name = s;
        auto [it, inserted] = certs.emplace(c.id, std::move(c));
        // The published example answers "Pending" with a capital letter.
        return respond(201, json::object{{"state", "executed"},
                                         {"data", to_json(it->second, now, std::nullopt, true)}});
    }

    template <class Respond>
    response list(const std::map<std::string, std::string>& query, steady::time_point now, Respond& respond) {
        std::optional<std::set<std::int64_t>> ids;
        std::optional<std::string> name;
        std::optional<std::set<std::string>> fields;
        std::size_t page = 1, page_size = 10;
        try {
            if (auto it = query.find("id"); it != query.end()) {
                ids.emplace();
                std::size_t start = 0;
                while (start <= it->second.size()) {
                    auto comma = it->second.find(',', start);
                    auto part = it->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                    std::size_t used = 0;
                    ids->insert(std::stoll(part, &used));
                    if (used != part.size()) throw std::invalid_argument("id");
                    if (comma == std::string::npos) break;
                    start = comma + 1;
                }
            }
            if (auto it = query.find("name"); it != query.end()) name = lower(it->second);
            if (auto it = query.find("fields"); it != query.end()) {
                fields.emplace();
                std::size_t start = 0;
                while (true) {
                    auto comma = it->second.find(',', start);
                    fields->insert(it->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
                    if (comma == std::string::npos) break;
                    start = comma + 1;
                }
            }
            if (auto it = query.find("page"); it != query.end()) page = std::stoul(it->second);
            if (auto it = query.find("page_size"); it != query.end()) page_size = std::stoul(it->second);
        } catch (const std::exception&) {
            return respond(400, error_body(400, "10000", "Bad Request", "Invalid query parameter."));
        }
        if (page_size < 1 || page_size > 100 || page < 1)
            return respond(400, error_body(400, "10000", "Bad Request", "Invalid page or page_size."));
        std::vector<const sim_certificate*> matching;
        for (const auto& [id, c] : certs) {
            if (c.deleted) continue;
            if (ids && !ids->count(id)) continue;
            if (name && lower(c.name).find(*name) == std::string::npos) continue;
            matching.push_back(&c);
        }
        const std::size_t total_pages = std::max<std::size_t>(1, (matching.size() + page_size - 1) / page_size);
        if (page > total_pages && !matching.empty())
            return respond(404, error_body(404, "10004", "Not Found", "Invalid page."));
        json::array results;
        for (std::size_t i = (page - 1) * page_size; i < std::min(matching.size(), page * page_size); ++i)
            results.push_back(to_json(*matching[i], now, fields));
        auto link = [&](std::size_t p) -> json::value {
            if (p < 1 || p > total_pages || p == page) return nullptr;
            return json::value(json::string("https://127.0.0.1:" + std::to_string(port) +
                                            "/v4/workspace/tls/certificates?page=" + std::to_string(p) +
                                            "&page_size=" + std::to_string(page_size)));
        };
        return respond(200, json::object{{"count", matching.size()},
                                         {"total_pages", total_pages},
                                         {"page", page},
                                         {"page_size", page_size},
                                         {"next", page < total_pages ? link(page + 1) : json::value(nullptr)},
                                         {"previous", page > 1 ? link(page - 1) : json::value(nullptr)},
                                         {"results", std::move(results)}});
    }

    static asio::awaitable<void> serve(impl* self, tcp::socket socket) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), self->tls);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{10});
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
        if (hec) co_return;
        beast::flat_buffer buffer;
        for (;;) {
            // Idle keep-alive connections are closed after a while, as real servers do.
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{30});
            http::request<http::string_body> req;
            auto [rec, n] = co_await http::async_read(stream, buffer, req, use_nothrow);
            if (rec) break;
            auto [res, injected] = self->handle_with_faults(req);
            if (const auto wait = self->draw_latency(); wait.count() > 0) {
                asio::steady_timer answer_after(stream.get_executor(), wait);
                co_await answer_after.async_wait(use_nothrow);
            }
            // A cut drops the connection at the TCP level, with no TLS close_notify: the client
            // sees a truncated stream, as after a crash or a reset.
            if (injected == fault::cut) co_return;
            if (injected == fault::hang) {
                // Hold the connection without answering until the client gives up.
                beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{120});
                http::request<http::string_body> ignored;
                co_await http::async_read(stream, buffer, ignored, use_nothrow);
                co_return;
            }
            const bool keep = res.keep_alive();
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{10});
            auto [wec, m] = co_await http::async_write(stream, res, use_nothrow);
            if (wec || !keep) break;
        }
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{2});
        co_await stream.async_shutdown(use_nothrow);
    }

    static asio::awaitable<void> accept_loop(impl* self) {
        for (;;) {
            auto [ec, socket] = co_await self->acceptor->async_accept(use_nothrow);
            if (ec) co_return;
            asio::co_spawn(self->ioc, serve(self, std::move(socket)), asio::detached);
        }
    }
};

azion_simulator::azion_simulator(sim_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

azion_simulator::~azion_simulator() { stop(); }

unsigned short azion_simulator::start(unsigned short port) {
    auto& i = *impl_;
    i.acceptor.emplace(i.ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    i.port = i.acceptor->local_endpoint().port();
    asio::co_spawn(i.ioc, impl::accept_loop(&i), asio::detached);
    i.thread = std::thread([&i] { i.ioc.run(); });
    return i.port;
}

void azion_simulator::stop() {
    auto& i = *impl_;
    if (!i.thread.joinable()) return;
    i.ioc.stop();
    i.thread.join();
}

void azion_simulator::set_faults(double server_error, double cut, double hang, double malformed) {
    std::lock_guard lock(impl_->mutex);
    impl_->options.server_error_rate = server_error;
    impl_->options.cut_rate = cut;
    impl_->options.hang_rate = hang;
    impl_->options.malformed_rate = malformed;
}

void azion_simulator::set_rate_limit(double rate, int burst) {
    std::lock_guard lock(impl_->mutex);
    impl_->options.rate_limit = rate;
    impl_->options.rate_burst = burst;
}

bool azion_simulator::renew_certificate(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->certs.find(id);
    if (it == impl_->certs.end() || it->second.deleted) return false;
    it->second.renewed = std::chrono::system_clock::now();
    it->second.expired = false;
    return true;
}

bool azion_simulator::expire_certificate(std::int64_t id) {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->certs.find(id);
    if (it == impl_->certs.end() || it->second.deleted) return false;
    it->second.expired = true;
    return true;
}

void azion_simulator::put_workload(sim_workload w) {
    std::lock_guard lock(impl_->mutex);
    impl_->workloads.put(std::move(w));
}

std::optional<sim_workload> azion_simulator::workload(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    return impl_->workloads.get(id, steady::now());
}

void azion_simulator::set_workload_apply_delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(impl_->mutex);
    impl_->workloads.apply_delay = delay;
}

unsigned short azion_simulator::port() const { return impl_->port; }
std::string azion_simulator::base_url() const {
    return "https://127.0.0.1:" + std::to_string(impl_->port) + "/v4";
}
const std::string& azion_simulator::ca_pem() const { return impl_->pki.ca_pem; }

std::vector<recorded_request> azion_simulator::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log;
}

std::vector<sim_certificate> azion_simulator::certificates() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<sim_certificate> out;
    for (const auto& [id, c] : impl_->certs) out.push_back(c);
    return out;
}

json::object azion_simulator::stats() const {
    std::lock_guard lock(impl_->mutex);
    json::object by_op;
    json::object by_status;
    std::map<std::string, std::int64_t> ops, statuses;
    std::map<std::int64_t, std::int64_t> per_second;
    for (const auto& r : impl_->log) {
        std::string op = r.method;
        if (r.method == "POST") op = "request";
        else if (r.method == "DELETE") op = "delete";
        else if (r.target.find('?') != std::string::npos) op = r.target.find("name=") != std::string::npos ? "find_by_name" : "list";
        else op = "get";
        ++ops[op];
        ++statuses[std::to_string(r.status)];
        ++per_second[std::chrono::duration_cast<std::chrono::seconds>(r.wall.time_since_epoch()).count()];
    }
    for (auto& [k, v] : ops) by_op[k] = v;
    for (auto& [k, v] : statuses) by_status[k] = v;
    std::int64_t busiest = 0;
    for (auto& [s, n] : per_second) busiest = std::max(busiest, n);
    std::int64_t live = 0;
    for (const auto& [id, c] : impl_->certs) live += c.deleted ? 0 : 1;
    return json::object{{"requests", impl_->log.size()},
                        {"by_operation", by_op},
                        {"by_status", by_status},
                        {"busiest_second", busiest},
                        {"certificates", live}};
}

} // namespace certq::sim
