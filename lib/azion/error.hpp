#pragma once
// Errors of Azion API calls as error codes, and the one classifier that decides what is retried.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

namespace certq::azion {

enum class error {
    rate_limited = 1, ///< 429
    server_error,     ///< 5xx
    client_error,     ///< any other 4xx: final for the row
    not_found,        ///< 404
    bad_response,     ///< an answer that is not the JSON the API documents
    too_large,        ///< a response body over the client's limit
    shut_down,        ///< the client was shut down while the call waited
};

const boost::system::error_category& error_category();
boost::system::error_code make_error_code(error e);

/// True for failures that pass by themselves: 429, 5xx, timeouts, resets, refused or cut
/// connections, unreadable answers. False for other 4xx, which will fail the same way again.
bool is_retryable(const boost::system::error_code& ec);

/// What went wrong, for logs and the row's detail. Azion's own words are kept apart from ours;
/// the token never appears in either.
struct diagnostics {
    unsigned http_status = 0;
    std::string azion_message;            ///< Azion's title/detail, verbatim
    std::string message;                  ///< ours: what we were doing and what happened
    std::optional<std::int64_t> existing_certificate; ///< errors[0].meta.certificate
    std::optional<std::chrono::milliseconds> retry_after;

    /// `HTTP 400: <Azion's words>` or `timeout: ...` — the line a row's detail carries.
    std::string summary() const;
};

} // namespace certq::azion

template <> struct boost::system::is_error_code_enum<certq::azion::error> : std::true_type {};
