#include "web/http_server.hpp"

#include "config/config.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <set>
#include <utility>
#include <stdexcept>

namespace certq::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// The page loads only its own script and style and talks only to its own origin; nothing may
// frame it. JSON answers carry the same policy, harmless there and strict if one is opened.
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool has_header(const response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (beast::iequals(k, name)) return true;
    return false;
}

} // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, handler h, server_limits limits)
        : ex_(ex), acceptor_(ex), handler_(std::move(h)), limits_(limits) {}

    static asio::awaitable<response> answer(std::shared_ptr<impl> self, request req) {
        try {
            auto answering = self->handler_(std::move(req));
            co_return co_await std::move(answering);
        } catch (const std::exception&) {
            co_return response{500, "text/plain; charset=utf-8", "internal error\n", {}};
        }
    }

    static asio::awaitable<void> write(beast::tcp_stream& stream, response r, unsigned version, bool keep_alive,
                                       bool head, std::chrono::seconds deadline, bool& ok) {
        http::response<http::string_body> res{static_cast<http::status>(r.status), version};
        res.set(http::field::server, "certqd");
        res.set(http::field::content_type, r.content_type);
        res.set("X-Content-Type-Options", "nosniff");
        res.set("Content-Security-Policy", content_security_policy);
        res.set("X-Frame-Options", "DENY");
        res.set("Referrer-Policy", "no-referrer");
        res.set("Cross-Origin-Resource-Policy", "same-origin");
        if (!has_header(r, "Cache-Control")) res.set(http::field::cache_control, "no-store");
        for (const auto& [k, v] : r.headers) res.set(k, v);
        res.keep_alive(keep_alive);
        res.body() = std::move(r.body);
        res.prepare_payload();
        if (head) res.body().clear(); // Content-Length stays that of the GET
        stream.expires_after(deadline);
        http::serializer<false, http::string_body> sr{res};
        // One co_await per statement: gcc 12 mishandles them inside a conditional expression.
        boost::system::error_code ec;
        if (head) {
            sr.split(true);
            auto [e, n] = co_await http::async_write_header(stream, sr, use_nothrow);
            ec = e;
        } else {
            auto [e, n] = co_await http::async_write(stream, sr, use_nothrow);
            ec = e;
        }
        ok = !ec;
    }

    // A connection's place in the counts, given back however its session ends (or if it never
    // runs): the cap must not leak, and stop() must never see a stream that is gone.
    struct slot {
        std::shared_ptr<impl> owner;
        asio::ip::address from;
        beast::tcp_stream* stream = nullptr;

        slot(std::shared_ptr<impl> o, asio::ip::address a) : owner(std::move(o)), from(a) {
            ++owner->sessions_;
            ++owner->per_address_[from];
        }
        slot(slot&& other) noexcept
            : owner(std::move(other.owner)), from(other.from), stream(std::exchange(other.stream, nullptr)) {}
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        slot& operator=(slot&&) = delete;
        ~slot() {
            if (!owner) return;
            if (stream) owner->open_.erase(stream);
            --owner->sessions_;
            if (--owner->per_address_[from] == 0) owner->per_address_.erase(from);
        }
    };

    static asio::awaitable<void> session(std::shared_ptr<impl> self, tcp::socket socket, slot place) {
        beast::tcp_stream stream(std::move(socket));
        self->open_.insert(&stream);
        place.stream = &stream;
        beast::flat_buffer buffer;
        bool first = true;
        while (!self->stopped_) {
            // The first request's headers must arrive within `request_deadline` of connecting;
            // on a kept-alive connection the next one's within `idle` of the last answer.
            stream.expires_after(first ? self->limits_.request_deadline : self->limits_.idle);
            first = false;
            http::request_parser<http::empty_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(self->limits_.header_bytes));
            auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
            if (self->stopped_) break;
            if (hec) {
                if (hec == http::error::header_limit) {
                    bool ok = false;
                    response too_large{431, "text/plain; charset=utf-8", "request headers too large\n", {}};
                    auto writing = write(stream, std::move(too_large), 11, false, false,
                                         self->limits_.request_deadline, ok);
                    co_await std::move(writing);
                }
                break;
            }
            stream.expires_after(self->limits_.request_deadline);
            auto& head = parser.get();
            const bool carries_body = parser.content_length().value_or(0) > 0 || parser.chunked();
            if (carries_body) {
                bool ok = false;
                response no_body{413, "text/plain; charset=utf-8", "requests carry no body here\n", {}};
                auto writing = write(stream, std::move(no_body), head.version(), false, false,
                                     self->limits_.request_deadline, ok);
                co_await std::move(writing);
                break;
            }
            auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
            if (bec || self->stopped_) break;
            request req{std::string(head.method_string()), std::string(head.target()),
                        std::string(head[http::field::host]), std::string(head[http::field::authorization]),
                        std::string(head[http::field::if_none_match]), std::string(head["Sec-Fetch-Site"]),
                        std::string(head["Sec-Fetch-Mode"])};
            const bool is_head = head.method() == http::verb::head;
            const bool keep_alive = head.keep_alive();
            const auto version = head.version();
            auto answering = answer(self, std::move(req));
            auto r = co_await std::move(answering);
            if (self->stopped_) break;
            bool ok = false;
            auto writing = write(stream, std::move(r), version, keep_alive, is_head, self->limits_.request_deadline, ok);
            co_await std::move(writing);
            if (!ok || !keep_alive) break;
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
        asio::steady_timer pause(self->ex_);
        while (!self->stopped_) {
            auto [ec, socket] = co_await self->acceptor_.async_accept(use_nothrow);
            if (ec) {
                if (ec == asio::error::operation_aborted || self->stopped_) co_return;
                // Out of descriptors (EMFILE) and the like: retrying at once would spin the loop
                // that also runs the queue.
                pause.expires_after(std::chrono::milliseconds{200});
                co_await pause.async_wait(use_nothrow);
                continue;
            }
            boost::system::error_code peer_ec;
            const auto peer = socket.remote_endpoint(peer_ec).address();
            const auto it = self->per_address_.find(peer);
            const auto from_peer = it == self->per_address_.end() ? 0 : it->second;
            // A flood must not exhaust descriptors, and one client must not take every place
            // (health checks come from elsewhere).
            if (peer_ec || self->sessions_ >= self->limits_.connections ||
                from_peer >= self->limits_.connections_per_address) {
                boost::system::error_code ignored;
                socket.close(ignored);
                continue;
            }
            // Counted here, not when the session first runs, so a burst is capped too.
            asio::co_spawn(self->ex_, session(self, std::move(socket), slot(self, peer)), asio::detached);
        }
    }

    asio::any_io_executor ex_;
    tcp::acceptor acceptor_;
    handler handler_;
    server_limits limits_;
    std::set<beast::tcp_stream*> open_;
    std::size_t sessions_ = 0;
    std::map<asio::ip::address, std::size_t> per_address_;
    bool stopped_ = false;
};

http_server::http_server(asio::any_io_executor ex, const std::string& listen, handler h, server_limits limits)
    : impl_(std::make_shared<impl>(ex, std::move(h), limits)) {
    const auto [host, port] = split_host_port(listen);
    boost::system::error_code ec;
    tcp::resolver resolver(ex);
    auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) throw std::runtime_error("http.listen: cannot resolve \"" + listen + "\": " + ec.message());
    const auto endpoint = results.begin()->endpoint();
    auto& a = impl_->acceptor_;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("http.listen: cannot listen on " + listen + ": " + ec.message());
}

http_server::~http_server() { stop(); }

unsigned short http_server::port() const { return impl_->acceptor_.local_endpoint().port(); }

void http_server::start() { asio::co_spawn(impl_->ex_, impl::accept_loop(impl_), asio::detached); }

void http_server::stop() {
    impl_->stopped_ = true;
    boost::system::error_code ignored;
    impl_->acceptor_.close(ignored);
    for (auto* stream : impl_->open_) stream->socket().close(ignored);
}

} // namespace certq::web
