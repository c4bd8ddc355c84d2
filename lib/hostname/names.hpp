#pragma once
// What customers typed, made into the names a certificate is requested for — or a sentence a
// support agent can read to the customer saying which name is wrong and why.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certq::hostname {

/// Limits of what Azion and Let's Encrypt accept.
inline constexpr std::size_t max_name_length = 253;
inline constexpr std::size_t max_label_length = 63;
inline constexpr std::size_t max_common_name_length = 64;
inline constexpr std::size_t max_names_per_certificate = 100;
inline constexpr std::size_t max_alternative_names_text = 64 * 1024;

/// The form a name is sent in: trimmed, one trailing dot dropped, lower case, internationalised
/// labels as A-labels (UTS #46 non-transitional: `bücher.example.com` →
/// `xn--bcher-kva.example.com`). Returns nullopt and sets `why` for a name that cannot be
/// issued: empty, bad characters or labels, too long, an IP address, a wildcard, under a
/// top-level domain that does not exist (`x.test`, `intranet.local`), a public suffix.
std::optional<std::string> normalise(std::string_view input, std::string& why);

struct row_names {
    std::vector<std::string> names; ///< common name first; repeats folded
    std::string why;                ///< when names is empty: what is wrong, in plain words
    bool ok() const { return !names.empty(); }
};

/// The names a row asks for, from its `hostname` and `alternative_names` columns as stored
/// (alternative_names: a JSON array of strings; NULL or empty means none).
row_names parse_row_names(std::string_view hostname, const std::optional<std::string>& alternative_names);

/// `name` with each A-label as the customer reads it (`xn--bcher-kva.example` →
/// `bücher.example`); a label libidn2 cannot decode stays as it is.
std::string readable(std::string_view name);

/// User text made safe to quote in a detail or a log line: control characters escaped, at most
/// 80 characters shown.
std::string printable(std::string_view text);

} // namespace certq::hostname
