#pragma once
// A small HTTP/1.1 server on the loop for /metrics and /healthz (Beast, plain TCP: it listens on
// loopback by default and carries no secrets).

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace certq::metrics {

struct http_answer {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

class http_server {
public:
    using handler = std::function<http_answer(std::string_view path)>;

    /// Binds `listen` ("host:port", port 0 for any). Throws std::runtime_error naming the
    /// address when it cannot listen.
    http_server(boost::asio::any_io_executor ex, const std::string& listen, handler h);
    ~http_server();

    unsigned short port() const;
    void start();
    void stop();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace certq::metrics
