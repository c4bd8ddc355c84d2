#include "web/site.hpp"

#include "web/assets.hpp"

namespace certq::web {

namespace asio = boost::asio;

namespace {

bool under(std::string_view path, std::string_view prefix) {
    return path == prefix || (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
                              path[prefix.size()] == '/');
}

response text(unsigned status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body), {}}; }

// A refusal in the answer's own language: JSON for the API, a line of text for the rest.
response refusal(bool is_api, unsigned status, const std::string& why) {
    return is_api ? json_error(status, why) : text(status, why + "\n");
}

} // namespace

site::site(std::string listen, std::optional<std::string> token, api& json_api, answer_source metrics,
           answer_source health)
    : listen_(std::move(listen)), auth_(std::move(token)), api_(json_api), metrics_(std::move(metrics)),
      health_(std::move(health)) {}

asio::awaitable<response> site::handle(request req) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const bool is_api = under(path, "/api");
    // Health is for load balancers and systemd's neighbours: no token, nothing secret in it.
    if (path == "/healthz") co_return health_();
    if (!auth_.required() && !host_allowed(req.host, listen_)) {
        // Without a token, a browser must have been pointed here by address: a hostile page
        // whose own name now resolves to 127.0.0.1 (DNS rebinding) arrives with its own Host.
        const auto why = "Host " + req.host.substr(0, 100) +
                         " is not this server's address; use the IP address or localhost, or set http.auth";
        co_return refusal(is_api, 421, why);
    }
    // Another site's page may make a browser send requests here (an <img> or a script pointing
    // at 127.0.0.1, with the token the browser remembers): it cannot read the answers, but it
    // could spend the DNS budget and keep the reader busy. Browsers say so in Sec-Fetch-Site.
    // Following a link to the page (the control panel's "open in certq") is a navigation, and
    // the page itself holds no data, so that stays allowed.
    const bool foreign = req.fetch_site == "cross-site" || req.fetch_site == "same-site";
    const bool link_to_page = req.fetch_mode == "navigate" && !is_api && path != "/metrics";
    if (foreign && !link_to_page) co_return refusal(is_api, 403, "requests from other sites' pages are refused");
    if (!auth_.allows(req.authorization)) {
        auto r = refusal(is_api, 401, "a bearer token is required (Authorization: Bearer TOKEN; see http.auth)");
        // The page asks for Basic, which makes a browser show its own login dialog (the token
        // is the password) and then send it with every request the page makes.
        r.headers.emplace_back("WWW-Authenticate", is_api || path == "/metrics"
                                                       ? "Bearer realm=\"certq\""
                                                       : "Basic realm=\"certq\", charset=\"UTF-8\"");
        co_return r;
    }
    if (is_api) {
        if (!under(path, "/api/v1")) co_return json_error(404, "this certqd speaks API version 1: /api/v1/");
        auto answering = api_.handle(std::move(req));
        co_return co_await std::move(answering);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        auto r = text(405, "read-only: GET or HEAD\n");
        r.headers.emplace_back("Allow", "GET, HEAD");
        co_return r;
    }
    if (path == "/metrics") co_return metrics_();
    if (const auto* a = find_asset(path)) {
        response r{200, std::string(a->content_type), {}, {}};
        r.headers.emplace_back("ETag", std::string(a->etag));
        // Revalidated each time: a new certqd serves a new page at once.
        r.headers.emplace_back("Cache-Control", "no-cache");
        if (req.if_none_match == a->etag) {
            r.status = 304;
        } else {
            r.body = std::string(a->body);
        }
        co_return r;
    }
    co_return text(404, "not found; the page is at /, the API at /api/v1/, and /metrics, /healthz\n");
}

} // namespace certq::web
