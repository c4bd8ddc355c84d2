#include "azion/client.hpp"

#include "asio/async_semaphore.hpp"
#include "ratelimit/rate_limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url.hpp>
#include <spdlog/spdlog.h>

#include <ctime>
#include <list>
#include <set>

namespace certq::azion {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t body_limit = 8 * 1024 * 1024;
// A connection idle longer than this is closed rather than reused: servers drop idle
// connections, and a request written into one that is being closed may be lost unanswered.
constexpr auto max_idle = std::chrono::seconds{10};
constexpr const char* list_fields = "id,name,status,status_detail,validity,renewed_at";

struct connection {
    connection(asio::any_io_executor ex, ssl::context& ctx) : stream(ex, ctx) {}
    beast::ssl_stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    steady::time_point idle_since{};
};

struct http_reply {
    unsigned status = 0;
    std::string body;
    std::optional<std::chrono::milliseconds> retry_after;
    error_code ec;
    steady::duration took{};
};

// Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9) return std::chrono::hours{24};
        return std::chrono::seconds{std::stol(std::string(value))};
    }
    std::tm tm{};
    const std::string text(value);
    if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    const auto delta = at - std::chrono::system_clock::now();
    return std::max(std::chrono::milliseconds{0},
                    std::chrono::duration_cast<std::chrono::milliseconds>(delta));
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

} // namespace

struct client::impl {
    impl(asio::any_io_executor ex, const azion_config& cfg, std::string token, metrics::registry* m)
        : ex_(ex), cfg_(cfg), metrics_(m), tls_(ssl::context::tls_client),
          limiter_(ex, cfg.rate_limit.requests_per_second, cfg.rate_limit.burst),
          in_flight_(ex, static_cast<std::size_t>(cfg.max_in_flight)),
          authorization_(cfg.auth_scheme + " " + token) {
        auto url = boost::urls::parse_uri(cfg.base_url);
        if (!url || url->scheme_id() != boost::urls::scheme::https || url->host().empty())
            throw config_error("azion.base_url: not an https URL: \"" + cfg.base_url + "\"");
        host_ = url->host_address();
        if (url->host_type() == boost::urls::host_type::ipv6) host_ = url->host_ipv6_address().to_string();
        port_ = url->has_port() ? std::string(url->port()) : "443";
        host_header_ = std::string(url->encoded_host_and_port());
        base_path_ = std::string(url->encoded_path());
        while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
        collection_ = base_path_ + cfg.certificates_path;

        tls_.set_default_verify_paths();
        if (!cfg.ca_file.empty()) {
            error_code ec;
            tls_.load_verify_file(cfg.ca_file, ec);
            if (ec)
                throw config_error("azion.ca_file: cannot load \"" + cfg.ca_file +
                                   "\": " + ec.message());
        }
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
    }

    asio::awaitable<client::slot> acquire_slot() {
        // gcc 12 mishandles co_await inside a short-circuit condition: one await per statement.
        if (shut_down_) co_return client::slot{};
        const bool acquired = co_await in_flight_.acquire();
        if (!acquired) co_return client::slot{};
        co_return client::slot{this};
    }

    void release_slot() { in_flight_.release(); }

    // Takes an idle connection, or opens one. Sets ec on failure.
    asio::awaitable<std::unique_ptr<connection>> connect(steady::time_point deadline,
                                                         error_code& ec) {
        tcp::resolver resolver(ex_);
        auto [rec, endpoints] = co_await resolver.async_resolve(host_, port_, use_nothrow);
        if (rec) {
            ec = rec;
            co_return nullptr;
        }
        auto conn = std::make_unique<connection>(ex_, tls_);
        active_.insert(conn.get());
        auto& lowest = beast::get_lowest_layer(conn->stream);
        lowest.expires_at(deadline);
        auto [cec, ep] = co_await lowest.async_connect(endpoints, use_nothrow);
        if (!cec) {
            // SNI only for names; RFC 6066 forbids IP literals there.
            if (!is_ip_literal(host_) &&
                !SSL_set_tlsext_host_name(conn->stream.native_handle(), host_.c_str()))
                cec = error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        }
        if (!cec) {
            conn->stream.set_verify_callback(ssl::host_name_verification(host_));
            lowest.expires_at(deadline);
            std::tie(cec) = co_await conn->stream.async_handshake(ssl::stream_base::client, use_nothrow);
        }
        active_.erase(conn.get());
        if (cec) {
            ec = cec;
            co_return nullptr;
        }
        ++stats_.connections;
        co_return conn;
    }

    std::unique_ptr<connection> take_idle() {
        const auto now = steady::now();
        while (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            if (now - conn->idle_since < max_idle) return conn;
            error_code ignored;
            beast::get_lowest_layer(conn->stream).socket().close(ignored);
        }
        return nullptr;
    }

    // Every call: a token from the shared bucket, one exchange, its figures.
    asio::awaitable<http_reply> exchange(const char* op, http::verb verb, std::string target,
                                         std::string body, bool idempotent) {
        std::optional<rate_limiter::clock::time_point> turn;
        if (!shut_down_) turn = co_await limiter_.acquire();
        if (!turn || shut_down_) {
            http_reply refused;
            refused.ec = error::shut_down;
            co_return refused;
        }
        const auto began = steady::now();
        auto reply = co_await exchange_once(verb, std::move(target), std::move(body), idempotent);
        reply.took = steady::now() - began;
        // The shared pace learns from every 429: all callers wait, and the rate is cut once
        // per congestion event (the turn's time tells which event a late 429 belongs to).
        if (reply.status == 429) limiter_.throttled(*turn, reply.retry_after.value_or(std::chrono::seconds{1}));
        if (metrics_ && reply.ec != error::shut_down) {
            std::string code = reply.status ? std::to_string(reply.status)
                               : reply.ec == beast::error::timeout ? "timeout"
                                                                   : "network_error";
            metrics_->api_call(op, code, reply.took);
            metrics_->api_connections = stats_.connections;
        }
        co_return reply;
    }

    // One HTTP exchange. A failure on a reused connection before any answer is retried once on
    // a new connection, but only for idempotent requests: a POST that may have been received
    // is the caller's to reconcile.
    asio::awaitable<http_reply> exchange_once(http::verb verb, std::string target, std::string body,
                                              bool idempotent) {
        http_reply reply;
        const auto deadline = steady::now() + cfg_.timeout;
        for (int attempt = 0;; ++attempt) {
            ++stats_.calls;
            auto conn = take_idle();
            const bool reused = conn != nullptr;
            if (!conn) {
                conn = co_await connect(deadline, reply.ec);
                if (!conn) co_return reply;
            }
            if (shut_down_) {
                reply.ec = error::shut_down;
                co_return reply;
            }
            http::request<http::string_body> req{verb, target, 11};
            req.set(http::field::host, host_header_);
            req.set(http::field::authorization, authorization_);
            req.set(http::field::user_agent, "certq/" CERTQ_VERSION);
            req.set(http::field::accept, "application/json");
            if (!body.empty()) {
                req.set(http::field::content_type, "application/json");
                req.body() = body;
            }
            req.keep_alive(true);
            req.prepare_payload();

            active_.insert(conn.get());
            auto& lowest = beast::get_lowest_layer(conn->stream);
            lowest.expires_at(deadline);
            auto [wec, written] = co_await http::async_write(conn->stream, req, use_nothrow);
            http::response_parser<http::string_body> parser;
            parser.body_limit(body_limit);
            error_code rec = wec;
            std::size_t read = 0;
            if (!wec) {
                lowest.expires_at(deadline);
                std::tie(rec, read) =
                    co_await http::async_read(conn->stream, conn->buffer, parser, use_nothrow);
            }
            active_.erase(conn.get());
            if (rec) {
                error_code ignored;
                lowest.socket().close(ignored);
                if (reused && idempotent && read == 0 && attempt == 0 && !shut_down_ &&
                    steady::now() < deadline)
                    continue;
                reply.ec = rec == http::error::body_limit ? error_code(error::too_large) : rec;
                co_return reply;
            }
            auto& res = parser.get();
            reply.status = res.result_int();
            reply.body = std::move(res.body());
            if (auto it = res.find(http::field::retry_after); it != res.end())
                reply.retry_after = parse_retry_after(it->value());
            if (res.keep_alive() && !shut_down_) {
                conn->idle_since = steady::now();
                idle_.push_back(std::move(conn));
            } else {
                error_code ignored;
                lowest.socket().close(ignored);
            }
            co_return reply;
        }
    }

    // Maps a reply's status to an error code and fills the diagnostics.
    error_code classify(const http_reply& reply, std::string_view doing, diagnostics& diag) {
        if (reply.ec) {
            diag.message = std::string(doing) + ": " + reply.ec.message();
            return reply.ec;
        }
        diag.http_status = reply.status;
        diag.retry_after = reply.retry_after;
        if (reply.status >= 200 && reply.status < 300) return {};
        auto errors = parse_errors(reply.body);
        diag.azion_message = describe_errors(errors, reply.body);
        if (!errors.empty()) diag.existing_certificate = errors.front().existing_certificate;
        diag.message = std::string(doing) + ": HTTP " + std::to_string(reply.status);
        if (reply.status == 429) {
            ++stats_.rate_limited;
            return error::rate_limited;
        }
        if (reply.status == 404) return error::not_found;
        if (reply.status >= 500) return error::server_error;
        if (reply.status >= 400) return error::client_error;
        return error::bad_response; // 1xx/3xx: not something this API sends
    }

    std::string id_target(std::int64_t id) const { return collection_ + "/" + std::to_string(id); }

    std::string query_target(std::initializer_list<std::pair<std::string_view, std::string>> params) const {
        boost::urls::url u;
        u.set_path(collection_);
        for (const auto& [k, v] : params) u.params().append({k, v});
        return std::string(u.encoded_target());
    }

    void shutdown() {
        if (shut_down_) return;
        shut_down_ = true;
        limiter_.close();
        in_flight_.close();
        for (auto* conn : active_) {
            error_code ignored;
            beast::get_lowest_layer(conn->stream).socket().close(ignored);
        }
        for (auto& conn : idle_) {
            error_code ignored;
            beast::get_lowest_layer(conn->stream).socket().close(ignored);
        }
        idle_.clear();
    }

    asio::any_io_executor ex_;
    azion_config cfg_;
    metrics::registry* metrics_;
    ssl::context tls_;
    rate_limiter limiter_;
    async_semaphore in_flight_;
    std::string authorization_;
    std::string host_, port_, host_header_, base_path_, collection_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::set<connection*> active_;
    client_stats stats_;
    bool shut_down_ = false;
};

client::slot::slot(slot&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
client::slot& client::slot::operator=(slot&& o) noexcept {
    if (this != &o) {
        if (owner_) owner_->release_slot();
        owner_ = o.owner_;
        o.owner_ = nullptr;
    }
    return *this;
}
client::slot::~slot() {
    if (owner_) owner_->release_slot();
}

client::client(asio::any_io_executor ex, const azion_config& cfg, std::string token,
               metrics::registry* metrics)
    : impl_(std::make_unique<impl>(std::move(ex), cfg, std::move(token), metrics)) {}
client::~client() = default;

asio::awaitable<client::slot> client::acquire_slot() { return impl_->acquire_slot(); }

asio::awaitable<result<certificate>> client::request_certificate(slot&,
                                                                 const certificate_request& req) {
    result<certificate> out;
    auto reply = co_await impl_->exchange("request", http::verb::post, impl_->collection_ + "/request",
                                          to_json(req), false);
    out.ec = impl_->classify(reply, "requesting a certificate", out.diag);
    if (out.ec) co_return out;
    if (auto cert = parse_certificate_response(reply.body, out.ec)) out.value = std::move(*cert);
    else out.diag.message = "requesting a certificate: the answer carries no certificate";
    co_return out;
}

asio::awaitable<result<certificate>> client::get_certificate(slot&, std::int64_t id) {
    result<certificate> out;
    auto reply = co_await impl_->exchange("get", http::verb::get, impl_->id_target(id), {}, true);
    out.ec = impl_->classify(reply, "reading certificate " + std::to_string(id), out.diag);
    if (out.ec) co_return out;
    if (auto cert = parse_certificate_response(reply.body, out.ec)) out.value = std::move(*cert);
    else out.diag.message = "reading a certificate: the answer carries no certificate";
    co_return out;
}

asio::awaitable<result<std::vector<certificate>>>
client::list_certificates(slot&, std::span<const std::int64_t> ids) {
    result<std::vector<certificate>> out;
    if (ids.empty()) co_return out;
    std::string joined;
    for (auto id : ids) joined += (joined.empty() ? "" : ",") + std::to_string(id);
    auto target = impl_->query_target({{"id", joined},
                                       {"fields", list_fields},
                                       {"page_size", std::to_string(std::max<std::size_t>(ids.size(), 1))}});
    auto reply = co_await impl_->exchange("list", http::verb::get, target, {}, true);
    out.ec = impl_->classify(reply, "listing certificates", out.diag);
    if (out.ec) co_return out;
    if (auto page = parse_certificate_page(reply.body, out.ec)) out.value = std::move(page->results);
    else out.diag.message = "listing certificates: the answer is not a certificate list";
    co_return out;
}

asio::awaitable<result<std::vector<certificate>>> client::find_by_name(slot&,
                                                                       const std::string& name) {
    result<std::vector<certificate>> out;
    // Pages are walked by number rather than by following `next`, so the client never sends
    // the token to a host named in an answer.
    for (int page = 1; page <= 100; ++page) {
        auto target = impl_->query_target({{"name", name},
                                           {"fields", list_fields},
                                           {"page_size", "100"},
                                           {"page", std::to_string(page)}});
        auto reply = co_await impl_->exchange("find_by_name", http::verb::get, target, {}, true);
        out.ec = impl_->classify(reply, "looking up certificate name " + name, out.diag);
        if (out.ec) co_return out;
        auto parsed = parse_certificate_page(reply.body, out.ec);
        if (!parsed) {
            out.diag.message = "looking up a certificate name: the answer is not a certificate list";
            co_return out;
        }
        for (auto& c : parsed->results)
            if (c.name == name) out.value.push_back(std::move(c));
        if (!parsed->next || parsed->results.empty()) break;
    }
    co_return out;
}

asio::awaitable<result<bool>> client::delete_certificate(slot&, std::int64_t id) {
    result<bool> out;
    auto reply = co_await impl_->exchange("delete", http::verb::delete_, impl_->id_target(id), {}, true);
    out.ec = impl_->classify(reply, "deleting certificate " + std::to_string(id), out.diag);
    if (out.ec == error::not_found) out.ec = {};
    out.value = !out.ec;
    co_return out;
}

asio::awaitable<result<workload_answer>> client::get_workload(slot&, std::int64_t id) {
    result<workload_answer> out;
    auto target = impl_->base_path_ + "/workspace/workloads/" + std::to_string(id) + "?fields=id,name,domains,tls";
    auto reply = co_await impl_->exchange("get_workload", http::verb::get, std::move(target), {}, true);
    out.ec = impl_->classify(reply, "reading workload " + std::to_string(id), out.diag);
    if (out.ec) co_return out;
    if (auto w = parse_workload_response(reply.body, out.ec)) out.value = std::move(*w);
    else out.diag.message = "reading workload " + std::to_string(id) + ": the answer carries no workload";
    co_return out;
}

asio::awaitable<result<workload_answer>> client::patch_workload(slot&, std::int64_t id,
                                                                const workload_patch& patch) {
    result<workload_answer> out;
    auto target = impl_->base_path_ + "/workspace/workloads/" + std::to_string(id);
    // A PATCH sets fields to given values: sending it twice changes nothing more.
    auto reply = co_await impl_->exchange("patch_workload", http::verb::patch, std::move(target), to_json(patch), true);
    out.ec = impl_->classify(reply, "changing workload " + std::to_string(id), out.diag);
    if (out.ec) co_return out;
    if (auto w = parse_workload_response(reply.body, out.ec)) out.value = std::move(*w);
    else out.diag.message = "changing workload " + std::to_string(id) + ": the answer carries no workload";
    co_return out;
}

void client::shutdown() { impl_->shutdown(); }
void client::set_rate(double rps, int burst) { impl_->limiter_.set_rate(rps, burst); }
const client_stats& client::stats() const { return impl_->stats_; }
double client::current_rate() const { return impl_->limiter_.rate(); }

std::uint64_t client::congestion_events() const { return impl_->limiter_.congestion_events(); }

} // namespace certq::azion
