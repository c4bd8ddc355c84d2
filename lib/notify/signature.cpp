#include "notify/signature.hpp"

#include "util/base64.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

namespace certq::notify {

std::optional<std::string> decode_secret(std::string_view text, std::string& why) {
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        why = "the webhook secret is empty";
        return std::nullopt;
    }
    text = text.substr(first, last - first + 1);
    constexpr std::string_view prefix = "whsec_";
    if (text.substr(0, prefix.size()) != prefix) {
        why = "the webhook secret must be written whsec_<base64>";
        return std::nullopt;
    }
    auto key = base64_decode(text.substr(prefix.size()));
    if (!key) {
        why = "the webhook secret's base64 part is not valid base64";
        return std::nullopt;
    }
    if (key->size() < 16) {
        why = "the webhook secret is too short (at least 16 bytes after base64)";
        return std::nullopt;
    }
    return key;
}

std::string sign(std::string_view key, std::string_view id, std::string_view timestamp,
                 std::string_view body) {
    std::string message;
    message.reserve(id.size() + timestamp.size() + body.size() + 2);
    message.append(id).append(".").append(timestamp).append(".").append(body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_size);
    std::string encoded(4 * ((mac_size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), mac,
                                  static_cast<int>(mac_size));
    encoded.resize(static_cast<std::size_t>(n));
    return "v1," + encoded;
}

} // namespace certq::notify
