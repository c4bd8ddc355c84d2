#pragma once
// certqd's HTTP/1.1 server (Beast, plain TCP) for /metrics, /healthz, the JSON API and the page.
// It bounds what a client can make it hold: headers of at most 8 KiB, no request bodies, a
// deadline for each request to arrive and each answer to leave, and caps on open connections,
// in all and from one address.
// Every answer carries the headers that keep a browser strict (CSP, nosniff, no caching unless
// the handler says otherwise).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace certq::web {

struct request {
    std::string method;        ///< "GET", "HEAD", …
    std::string target;        ///< as sent: path and query, percent-encoded
    std::string host;          ///< the Host header
    std::string authorization; ///< the Authorization header, "" when absent
    std::string if_none_match; ///< the If-None-Match header, "" when absent
    std::string fetch_site;    ///< Sec-Fetch-Site (a browser's word on who asked), "" when absent
    std::string fetch_mode;    ///< Sec-Fetch-Mode ("navigate" for a link followed), "" when absent
};

struct response {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// Extra headers (Retry-After, WWW-Authenticate, ETag, Cache-Control, Allow).
    std::vector<std::pair<std::string, std::string>> headers;
};

struct server_limits {
    std::size_t header_bytes = 8 * 1024;
    /// For the first request to arrive after connecting, for a request's end after its headers,
    /// and for an answer to leave.
    std::chrono::seconds request_deadline{10};
    std::chrono::seconds idle{30}; ///< for the next request on a kept-alive connection
    std::size_t connections = 64;  ///< more are closed at once
    std::size_t connections_per_address = 16;
};

class http_server {
public:
    /// Answers one request; runs on the server's executor. It does not throw (an exception
    /// becomes a 500 with no detail).
    using handler = std::function<boost::asio::awaitable<response>(request)>;

    /// Binds `listen` ("host:port", port 0 for any). Throws std::runtime_error naming the
    /// address when it cannot listen.
    http_server(boost::asio::any_io_executor ex, const std::string& listen, handler h, server_limits limits = {});
    ~http_server();

    unsigned short port() const;
    void start();
    /// Stops accepting and closes every open connection.
    void stop();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace certq::web
