#include "metrics/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

namespace certq::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}

struct http_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, handler h) : ex_(ex), acceptor_(ex), handler_(std::move(h)) {}

    static asio::awaitable<void> session(std::shared_ptr<impl> self, tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            stream.expires_after(std::chrono::seconds{30});
            http::request<http::empty_body> req;
            auto [ec, n] = co_await http::async_read(stream, buffer, req, use_nothrow);
            if (ec || self->stopped_) break;
            const auto target = std::string_view(req.target().data(), req.target().size());
            const auto path = target.substr(0, target.find('?'));
            http_answer answer;
            if (req.method() != http::verb::get && req.method() != http::verb::head) {
                answer = {405, "text/plain; charset=utf-8", "only GET\n"};
            } else {
                answer = self->handler_(path);
            }
            http::response<http::string_body> res{static_cast<http::status>(answer.status), req.version()};
            res.set(http::field::server, "certqd");
            res.set(http::field::content_type, answer.content_type);
            res.keep_alive(req.keep_alive());
            res.body() = req.method() == http::verb::head ? std::string() : std::move(answer.body);
            res.prepare_payload();
            auto [wec, m] = co_await http::async_write(stream, res, use_nothrow);
            if (wec || !res.keep_alive()) break;
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
        while (!self->stopped_) {
            auto [ec, socket] = co_await self->acceptor_.async_accept(use_nothrow);
            if (ec) {
                if (ec == asio::error::operation_aborted || self->stopped_) co_return;
                continue;
            }
            asio::co_spawn(self->ex_, session(self, std::move(socket)), asio::detached);
        }
    }

    asio::any_io_executor ex_;
    tcp::acceptor acceptor_;
    handler handler_;
    bool stopped_ = false;
};

http_server::http_server(asio::any_io_executor ex, const std::string& listen, handler h)
    : impl_(std::make_shared<impl>(ex, std::move(h))) {
    const auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto port = listen.substr(colon + 1);
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
}

} // namespace certq::metrics
