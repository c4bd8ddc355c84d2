#include "receiver.hpp"

#include "test_pki.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <mutex>
#include <optional>
#include <thread>

namespace certq::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    out.resize(static_cast<std::size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size))));
    return out;
}

// The specification's verification: the key is the base64 after "whsec_"; the signature header
// is a space-separated list of "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
bool verify(const std::string& secret, const std::string& id, const std::string& ts,
            const std::string& body, const std::string& header) {
    const auto encoded = secret.substr(secret.find('_') + 1);
    std::string key(encoded.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                            reinterpret_cast<const unsigned char*>(encoded.data()),
                            static_cast<int>(encoded.size()));
    if (n < 0) return false;
    for (auto it = encoded.rbegin(); it != encoded.rend() && *it == '='; ++it)
        --n;
    key.resize(static_cast<std::size_t>(n));
    const auto content = id + "." + ts + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &size);
    const auto expected = "v1," + base64(mac, size);
    std::size_t start = 0;
    while (start < header.size()) {
        auto end = header.find(' ', start);
        if (end == std::string::npos) end = header.size();
        if (header.substr(start, end - start) == expected) return true;
        start = end + 1;
    }
    return false;
}

} // namespace

struct webhook_receiver::impl : std::enable_shared_from_this<impl> {
    impl(std::string s, bool tls_on)
        : secret(std::move(s)), https(tls_on), pki(sim::make_test_pki()) {
        tls.use_certificate_chain(asio::buffer(pki.server_cert_pem));
        tls.use_private_key(asio::buffer(pki.server_key_pem), ssl::context::pem);
    }

    std::string secret;
    bool https;
    sim::test_pki pki;
    asio::io_context ioc{1};
    ssl::context tls{ssl::context::tls_server};
    std::optional<tcp::acceptor> acceptor;
    std::thread thread;
    unsigned short port = 0;
    mutable std::mutex mutex;
    std::vector<received> log;
    int refuse = 0;
    bool hang = false;
    bool down = false;

    http::response<http::string_body> handle(const http::request<http::string_body>& req,
                                             bool& hold) {
        received r;
        r.id = std::string(req["webhook-id"]);
        r.timestamp = std::string(req["webhook-timestamp"]);
        r.signature_ok =
            verify(secret, r.id, r.timestamp, req.body(), std::string(req["webhook-signature"]));
        try {
            const auto ts = std::stoll(r.timestamp);
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            r.timestamp_fresh = ts > now - 300 && ts < now + 300;
        } catch (const std::exception&) {
        }
        boost::system::error_code ec;
        auto v = boost::json::parse(req.body(), ec);
        if (!ec && v.is_object()) r.body = v.as_object();
        std::lock_guard lock(mutex);
        hold = hang;
        unsigned status = 200;
        if (hold)
            status = 0;
        else if (down)
            status = 503;
        else if (refuse > 0) {
            --refuse;
            status = 500;
        } else if (!r.signature_ok) {
            status = 401;
        }
        r.answered = status;
        log.push_back(std::move(r));
        http::response<http::string_body> res{static_cast<http::status>(status ? status : 200),
                                              req.version()};
        res.set(http::field::content_type, "text/plain");
        res.body() = status == 200 ? "ok" : "no";
        res.keep_alive(false);
        res.prepare_payload();
        return res;
    }

    template <class Stream>
    asio::awaitable<void> exchange(Stream& stream, beast::tcp_stream& lowest) {
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        lowest.expires_after(std::chrono::seconds{10});
        auto [rec, n] = co_await http::async_read(stream, buffer, req, use_nothrow);
        if (rec) co_return;
        bool hold = false;
        auto res = handle(req, hold);
        if (hold) {
            // Never answer: the sender's timeout must end the attempt.
            asio::steady_timer wait(ioc, std::chrono::seconds{120});
            co_await wait.async_wait(use_nothrow);
            co_return;
        }
        lowest.expires_after(std::chrono::seconds{10});
        co_await http::async_write(stream, res, use_nothrow);
    }

    static asio::awaitable<void> serve(std::shared_ptr<impl> self, tcp::socket socket) {
        if (!self->https) {
            beast::tcp_stream stream(std::move(socket));
            co_await self->exchange(stream, stream);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), self->tls);
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(std::chrono::seconds{10});
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
        if (hec) co_return;
        co_await self->exchange(stream, lowest);
        lowest.expires_after(std::chrono::seconds{2});
        co_await stream.async_shutdown(use_nothrow);
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
        for (;;) {
            auto [ec, socket] = co_await self->acceptor->async_accept(use_nothrow);
            if (ec) co_return;
            asio::co_spawn(self->ioc, serve(self, std::move(socket)), asio::detached);
        }
    }
};

webhook_receiver::webhook_receiver(std::string secret, bool https, unsigned short port)
    : impl_(std::make_shared<impl>(std::move(secret), https)) {
    auto& i = *impl_;
    i.acceptor.emplace(i.ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    i.port = i.acceptor->local_endpoint().port();
    asio::co_spawn(i.ioc, impl::accept_loop(impl_), asio::detached);
    i.thread = std::thread([self = impl_] { self->ioc.run(); });
}

webhook_receiver::~webhook_receiver() {
    stop();
}

void webhook_receiver::stop() {
    if (!impl_->thread.joinable()) return;
    impl_->ioc.stop();
    impl_->thread.join();
    boost::system::error_code ignored;
    if (impl_->acceptor) impl_->acceptor->close(ignored);
}

unsigned short webhook_receiver::port() const {
    return impl_->port;
}
std::string webhook_receiver::url() const {
    return std::string(impl_->https ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + "/hooks/certq";
}
const std::string& webhook_receiver::ca_pem() const {
    return impl_->pki.ca_pem;
}

void webhook_receiver::refuse_next(int n) {
    std::lock_guard lock(impl_->mutex);
    impl_->refuse = n;
}

void webhook_receiver::set_down(bool down) {
    std::lock_guard lock(impl_->mutex);
    impl_->down = down;
}

void webhook_receiver::set_hang(bool hang) {
    std::lock_guard lock(impl_->mutex);
    impl_->hang = hang;
}

std::vector<received> webhook_receiver::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log;
}

std::vector<received> webhook_receiver::delivered() const {
    std::vector<received> out;
    for (auto& r : requests())
        if (r.answered >= 200 && r.answered < 300) out.push_back(std::move(r));
    return out;
}

} // namespace certq::testing
