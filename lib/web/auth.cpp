#include "web/auth.hpp"

#include "util/base64.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>

namespace certq::web {

namespace {

std::string listen_host(const std::string& listen) { return split_host_port(listen).first; }

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view text) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
    return out;
}

// Equal lengths are not assumed: both sides are hashed, so the time taken says nothing about
// the token's length or any prefix of it.
bool same_secret(std::string_view given, const std::string& token) {
    const auto a = digest(given);
    const auto b = digest(token);
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::optional<std::string> load_http_token(const http_config& cfg,
                                           const std::function<const char*(const char*)>& getenv) {
    std::string origin, text;
    if (!cfg.auth.empty()) {
        origin = "http.auth (" + cfg.auth + ")";
        text = read_secret_file(cfg.auth, "http.auth");
    } else if (auto credential = read_credential("http-token", "credential http-token", getenv)) {
        origin = "credential http-token";
        text = std::move(*credential);
    } else {
        return std::nullopt;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    if (text.size() < 16)
        throw config_error(origin + ": the token must be at least 16 characters (openssl rand -hex 32 makes one)");
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; }))
        throw config_error(origin + ": the token may hold only printable ASCII without spaces");
    return text;
}

bool is_loopback_listen(const std::string& listen) {
    const auto host = listen_host(listen);
    if (host.empty()) return false; // every address
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || !found) return false;
    bool all = true;
    for (auto* a = found; a; a = a->ai_next) {
        boost::system::error_code ec;
        char text[NI_MAXHOST];
        if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) {
            all = false;
            break;
        }
        const auto address = boost::asio::ip::make_address(text, ec);
        all = all && !ec && address.is_loopback();
    }
    ::freeaddrinfo(found);
    return all;
}

bool authenticator::allows(std::string_view authorization) const {
    if (!token_) return true;
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos) return false;
    const auto scheme = authorization.substr(0, space);
    auto credentials = authorization.substr(space + 1);
    while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);
    if (boost::beast::iequals(scheme, "Bearer")) return same_secret(credentials, *token_);
    if (boost::beast::iequals(scheme, "Basic")) {
        const auto decoded = base64_decode(credentials);
        if (!decoded) return false;
        const auto colon = decoded->find(':');
        return colon != std::string::npos && same_secret(std::string_view(*decoded).substr(colon + 1), *token_);
    }
    return false;
}

bool host_allowed(std::string_view host_header, const std::string& listen) {
    if (host_header.empty()) return true; // HTTP/1.0: no browser sends a request without Host
    std::string_view host = host_header;
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return false;
        host = host.substr(1, close - 1);
    } else if (host.find(':') == host.rfind(':') && host.find(':') != std::string_view::npos) {
        host = host.substr(0, host.find(':'));
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(host), ec);
    if (!ec) return true;
    return boost::beast::iequals(host, "localhost") || boost::beast::iequals(host, listen_host(listen));
}

} // namespace certq::web
