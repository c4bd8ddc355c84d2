#include "azion/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace certq::azion {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "azion"; }
    std::string message(int value) const override {
        switch (static_cast<error>(value)) {
        case error::rate_limited: return "rate limited by Azion (429)";
        case error::server_error: return "Azion server error (5xx)";
        case error::client_error: return "request refused by Azion (4xx)";
        case error::not_found: return "not found at Azion (404)";
        case error::bad_response: return "malformed answer from Azion";
        case error::too_large: return "answer from Azion too large";
        case error::shut_down: return "shutting down";
        }
        return "unknown azion error";
    }
};

} // namespace

const boost::system::error_category& error_category() {
    static const category instance;
    return instance;
}

boost::system::error_code make_error_code(error e) {
    return {static_cast<int>(e), error_category()};
}

bool is_retryable(const boost::system::error_code& ec) {
    if (!ec) return false;
    if (ec.category() == error_category()) {
        switch (static_cast<error>(ec.value())) {
        case error::rate_limited:
        case error::server_error:
        case error::bad_response:
        case error::too_large: return true;
        default: return false;
        }
    }
    // Everything below the HTTP status line — DNS, connect, TLS, timeouts, resets, a
    // truncated body — is the network's failure, not a verdict on the request.
    return ec != boost::asio::error::operation_aborted;
}

std::string diagnostics::summary() const {
    std::string out;
    if (http_status) out = "HTTP " + std::to_string(http_status);
    if (!azion_message.empty()) out += (out.empty() ? "" : ": ") + azion_message;
    else if (!message.empty()) out += (out.empty() ? "" : ": ") + message;
    return out;
}

} // namespace certq::azion
