#pragma once
// Everything certqd answers over HTTP, in one place: /healthz (always open), /metrics, the JSON
// API under /api/v1/ and the page at /. It applies the access rule (web/auth.hpp) before any of
// them but /healthz.

#include "web/api.hpp"
#include "web/auth.hpp"
#include "web/http_server.hpp"

#include <functional>

namespace certq::web {

class site {
public:
    using answer_source = std::function<response()>;

    /// `listen` is http.listen (for the Host check); `token` the bearer token, if any.
    site(std::string listen, std::optional<std::string> token, api& json_api, answer_source metrics,
         answer_source health);

    /// Never throws.
    boost::asio::awaitable<response> handle(request req);

private:
    std::string listen_;
    authenticator auth_;
    api& api_;
    answer_source metrics_;
    answer_source health_;
};

} // namespace certq::web
