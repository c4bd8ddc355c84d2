#pragma once
// Standard Webhooks signatures (https://www.standardwebhooks.com): a receiver checks
// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the shared secret, so
// it can use the specification's own libraries.

#include <optional>
#include <string>
#include <string_view>

namespace certq::notify {

/// The key of a secret written `whsec_<base64>` (whitespace around it ignored). nullopt, with
/// `why` saying what is wrong (never quoting the secret), for anything else.
std::optional<std::string> decode_secret(std::string_view text, std::string& why);

/// `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`.
std::string sign(std::string_view key, std::string_view id, std::string_view timestamp,
                 std::string_view body);

} // namespace certq::notify
