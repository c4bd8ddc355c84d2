#pragma once
// One webhook POST over HTTP or HTTPS (peer verified: system store plus notify.ca_file, SNI),
// with one deadline for the whole attempt, answer included. Beast stays in sender.cpp.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace certq::notify {

struct post_result {
    unsigned status = 0; ///< 0: no answer (see error)
    std::string body;    ///< the first 4 KiB of the answer
    std::string error;   ///< what went wrong when there was no answer, for a person
    bool ok() const { return status >= 200 && status < 300; }
};

class sender {
public:
    /// Throws config_error if `ca_file` (may be empty) cannot be loaded.
    sender(boost::asio::any_io_executor ex, const std::string& ca_file);
    ~sender();
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;

    /// POSTs `body` (JSON) to `url` with `headers`. Never throws for network trouble: it is in
    /// the result. Cancelled by close().
    boost::asio::awaitable<post_result>
    post(std::string url, std::vector<std::pair<std::string, std::string>> headers,
         std::string body, std::chrono::milliseconds timeout);

    /// Cuts every attempt under way (shutdown).
    void close();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace certq::notify
