#pragma once
// Standard base64 (RFC 4648, with padding), as webhook secrets and HTTP Basic credentials carry it.

#include <optional>
#include <string>
#include <string_view>

namespace certq {

/// The bytes `text` encodes; nullopt when it is empty or not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace certq
