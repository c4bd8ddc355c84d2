#include "notify/sender.hpp"

#include "config/config.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <set>

namespace certq::notify {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct sender::impl {
    impl(asio::any_io_executor executor, const std::string& ca_file)
        : ex(std::move(executor)), tls(ssl::context::tls_client) {
        tls.set_default_verify_paths();
        if (!ca_file.empty()) {
            boost::system::error_code ec;
            tls.load_verify_file(ca_file, ec);
            if (ec)
                throw config_error("notify.ca_file: cannot load \"" + ca_file +
                                   "\": " + ec.message());
        }
        tls.set_verify_mode(ssl::verify_peer);
        tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    }

    asio::any_io_executor ex;
    ssl::context tls;
    std::set<beast::tcp_stream*> active; // cut by close()
    bool closed = false;
};

namespace {

template <class Stream>
asio::awaitable<post_result> exchange(Stream& stream, beast::tcp_stream& lowest,
                                      const http::request<http::string_body>& req,
                                      std::chrono::steady_clock::time_point deadline) {
    post_result r;
    lowest.expires_at(deadline);
    auto [wec, written] = co_await http::async_write(stream, req, use_nothrow);
    if (wec) {
        r.error = "sending: " + wec.message();
        co_return r;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    lowest.expires_at(deadline);
    auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (rec) {
        r.error = rec == beast::error::timeout ? "no answer within the timeout"
                                               : "reading the answer: " + rec.message();
        co_return r;
    }
    r.status = parser.get().result_int();
    r.body = parser.get().body().substr(0, 4096);
    co_return r;
}

} // namespace

sender::sender(asio::any_io_executor ex, const std::string& ca_file)
    : impl_(std::make_shared<impl>(std::move(ex), ca_file)) {}

sender::~sender() {
    close();
}

void sender::close() {
    impl_->closed = true;
    for (auto* s : impl_->active)
        s->cancel();
}

asio::awaitable<post_result> sender::post(std::string url,
                                          std::vector<std::pair<std::string, std::string>> headers,
                                          std::string body, std::chrono::milliseconds timeout) {
    auto self = impl_; // outlives a sender destroyed mid-attempt
    post_result r;
    auto parsed = boost::urls::parse_uri(url);
    const bool https = parsed && parsed->scheme_id() == boost::urls::scheme::https;
    if (!parsed || (!https && parsed->scheme_id() != boost::urls::scheme::http) ||
        parsed->host().empty()) {
        r.error = "not an http(s) URL";
        co_return r;
    }
    std::string host = parsed->host_type() == boost::urls::host_type::ipv6
                           ? parsed->host_ipv6_address().to_string()
                           : std::string(parsed->host_address());
    const std::string port = parsed->has_port() ? std::string(parsed->port())
                             : https            ? "443"
                                                : "80";
    std::string target = std::string(parsed->encoded_path());
    if (target.empty()) target = "/";
    if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());

    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, std::string(parsed->encoded_host_and_port()));
    req.set(http::field::user_agent, "certq/" CERTQ_VERSION);
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers)
        req.set(k, v);
    req.body() = std::move(body);
    req.keep_alive(false);
    req.prepare_payload();

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (self->closed) {
        r.error = "shutting down";
        co_return r;
    }
    tcp::resolver resolver(self->ex);
    // The resolver has no deadline of its own: the connect below keeps the whole attempt's.
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_nothrow);
    if (rec) {
        r.error = "resolving " + host + ": " + rec.message();
        co_return r;
    }
    if (!https) {
        beast::tcp_stream stream(self->ex);
        self->active.insert(&stream);
        stream.expires_at(deadline);
        auto [cec, ep] = co_await stream.async_connect(endpoints, use_nothrow);
        if (cec)
            r.error = "connecting: " + cec.message();
        else
            r = co_await exchange(stream, stream, req, deadline);
        self->active.erase(&stream);
        co_return r;
    }
    beast::ssl_stream<beast::tcp_stream> stream(self->ex, self->tls);
    auto& lowest = beast::get_lowest_layer(stream);
    self->active.insert(&lowest);
    lowest.expires_at(deadline);
    auto [cec, ep] = co_await lowest.async_connect(endpoints, use_nothrow);
    boost::system::error_code ip_ec;
    asio::ip::make_address(host, ip_ec);
    if (!cec && ip_ec)
        SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()); // SNI for names only
    if (cec) {
        r.error = "connecting: " + cec.message();
    } else {
        stream.set_verify_callback(ssl::host_name_verification(host));
        lowest.expires_at(deadline);
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_nothrow);
        if (hec)
            r.error = "TLS handshake: " + hec.message();
        else
            r = co_await exchange(stream, lowest, req, deadline);
    }
    self->active.erase(&lowest);
    co_return r;
}

} // namespace certq::notify
