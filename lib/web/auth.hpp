#pragma once
// Who may read certqd's HTTP answers. Without a token only loopback may listen (anyone who can
// reach 127.0.0.1 already runs on the machine); with one, every request but /healthz carries it,
// as a bearer token (control panels, Prometheus) or as an HTTP Basic password (a browser's own
// login dialog).

#include "config/config.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace certq::web {

/// The token from http.auth, else from the systemd credential `http-token`; nullopt when
/// neither is set. Throws config_error naming the source when it is unreadable, shorter than
/// 16 characters, or holds characters a header cannot carry (the token is never in the text).
std::optional<std::string> load_http_token(const http_config& cfg,
                                           const std::function<const char*(const char*)>& getenv = ::getenv);

/// True when every address `listen` ("host:port") resolves to is a loopback one (127.0.0.0/8,
/// ::1; "localhost" counts). False for a wildcard or any other address, or one that does not
/// resolve.
bool is_loopback_listen(const std::string& listen);

class authenticator {
public:
    explicit authenticator(std::optional<std::string> token) : token_(std::move(token)) {}

    bool required() const { return token_.has_value(); }

    /// True when no token is required, or `authorization` (the header's value) is
    /// "Bearer <token>" or "Basic base64(<any user>:<token>)". Compared in constant time.
    bool allows(std::string_view authorization) const;

private:
    std::optional<std::string> token_;
};

/// True for a Host header a browser sends only when it was pointed at this server on purpose:
/// an IP literal, "localhost", or `listen`'s own host (with any port). Without a token this
/// turns away DNS rebinding: a web page whose name a hostile DNS server points at 127.0.0.1.
bool host_allowed(std::string_view host_header, const std::string& listen);

} // namespace certq::web
