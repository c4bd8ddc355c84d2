#include "hostname/names.hpp"

#include "hostname/registered_domain.hpp"

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <idn2.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace certq::hostname {
namespace {

std::string quoted(std::string_view text) { return "\"" + printable(text) + "\""; }

bool is_ip_literal(const std::string& text) {
    std::string bare = text;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
    unsigned char buf[16];
    if (inet_pton(AF_INET6, bare.c_str(), buf) == 1) return true;
    // inet_pton rejects shorthand such as "127.1"; any all-numeric dotted name is no host name.
    return !bare.empty() && std::all_of(bare.begin(), bare.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool is_ascii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string lower_ascii(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    });
    return out;
}

// Letters, digits, hyphens; labels of 1..63 without a hyphen at either end; 253 in all.
bool check_ascii_name(const std::string& name, const std::string& shown, std::string& why) {
    if (name.size() > max_name_length) {
        why = shown + " is " + std::to_string(name.size()) + " characters long; a host name has at most " +
              std::to_string(max_name_length);
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const auto dot = name.find('.', start);
        const std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (label.empty()) {
            why = shown + " has an empty label (two dots in a row, or a dot at the start)";
            return false;
        }
        if (label.size() > max_label_length) {
            why = shown + ": the label " + quoted(label) + " is " + std::to_string(label.size()) +
                  " characters long; a label has at most " + std::to_string(max_label_length);
            return false;
        }
        for (char c : label) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') continue;
            why = shown + ": " + quoted(std::string(1, c)) +
                  " is not allowed in a host name (letters, digits and hyphens only)";
            return false;
        }
        if (label.front() == '-' || label.back() == '-') {
            why = shown + ": the label " + quoted(label) + (label.front() == '-' ? " starts" : " ends") +
                  " with a hyphen";
            return false;
        }
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return true;
}

// An A-label as the customer typed it (`xn--p1ai` → `рф`), so a detail quotes what they know.
std::string readable_label(const std::string& label) {
    if (label.rfind("xn--", 0) != 0) return label;
    char* out = nullptr;
    const int rc = idn2_to_unicode_8z8z(label.c_str(), &out, 0);
    std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
    return rc == IDN2_OK && out ? std::string(out) : label;
}

} // namespace

std::string readable(std::string_view name) {
    std::string out;
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto dot = name.find('.', start);
        const auto label = std::string(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        out += readable_label(label);
        if (dot == std::string_view::npos) break;
        out += '.';
        start = dot + 1;
    }
    return out;
}

std::string printable(std::string_view text) {
    std::string out;
    std::size_t shown = 0;
    for (unsigned char c : text) {
        if (shown >= 80) {
            out += "...";
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        } else if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else {
            out += static_cast<char>(c);
        }
        // Count characters, not the continuation bytes of UTF-8 sequences.
        if ((c & 0xc0) != 0x80) ++shown;
    }
    return out;
}

std::optional<std::string> normalise(std::string_view input, std::string& why) {
    const auto first = input.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        why = "the name is empty";
        return std::nullopt;
    }
    const auto last = input.find_last_not_of(" \t\r\n");
    std::string name(input.substr(first, last - first + 1));
    const std::string shown = quoted(name);
    if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        why = shown + " contains a control character";
        return std::nullopt;
    }
    // Refuse the absurd before any Unicode processing spends time on it.
    if (name.size() > 4 * max_name_length) {
        why = shown + " is " + std::to_string(name.size()) + " bytes long; a host name has at most " +
              std::to_string(max_name_length) + " characters";
        return std::nullopt;
    }
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty()) {
        why = "the name is empty";
        return std::nullopt;
    }
    if (name.find('*') != std::string::npos) {
        why = shown + " is a wildcard: HTTP-01 cannot issue wildcard certificates; they need DNS-01";
        return std::nullopt;
    }
    if (is_ip_literal(name)) {
        why = shown + " is an IP address; certificates here are for host names";
        return std::nullopt;
    }
    std::string ascii;
    // Pure ASCII needs no Unicode processing, unless it carries A-labels ("xn--"), which
    // libidn2 decodes to check that they are valid.
    const bool has_a_label = lower_ascii(name).find("xn--") != std::string::npos;
    if (is_ascii(name) && !has_a_label) {
        ascii = lower_ascii(name);
    } else {
        uint8_t* out = nullptr;
        const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(name.c_str()), &out,
                                      IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        std::unique_ptr<uint8_t, decltype(&idn2_free)> owned(out, &idn2_free);
        if (rc != IDN2_OK) {
            why = shown + " is not a valid internationalised name (" + idn2_strerror(rc) + ")";
            return std::nullopt;
        }
        ascii = lower_ascii(reinterpret_cast<const char*>(out));
    }
    if (!check_ascii_name(ascii, shown, why)) return std::nullopt;
    // Before the public-suffix rule: the list's implicit "*" rule calls "localhost" or "test" a
    // public suffix, and for those the missing top-level domain is the real reason.
    const std::string tld = ascii.substr(ascii.rfind('.') + 1);
    if (!top_level_domain_exists(tld)) {
        why = shown + ": the top-level domain " + quoted(readable_label(tld)) +
              " does not exist (not in the Public Suffix List)";
        return std::nullopt;
    }
    if (is_public_suffix(ascii)) {
        why = shown + " is a public suffix (like com, co.uk or github.io); a certificate needs a name under it";
        return std::nullopt;
    }
    return ascii;
}

row_names parse_row_names(std::string_view hostname, const std::optional<std::string>& alternative_names) {
    row_names out;
    std::string why;
    auto common = normalise(hostname, why);
    if (!common) {
        out.why = "hostname: " + why;
        return out;
    }
    if (common->size() > max_common_name_length) {
        out.why = "hostname: " + quoted(*common) + " is " + std::to_string(common->size()) +
                  " characters long; a certificate's common name has at most " +
                  std::to_string(max_common_name_length) + " (Azion's and X.509's limit)";
        return out;
    }
    std::vector<std::string> names{*common};
    const std::string raw = alternative_names.value_or("");
    const auto blank = raw.find_first_not_of(" \t\r\n") == std::string::npos;
    if (!blank) {
        if (raw.size() > max_alternative_names_text) {
            out.why = "alternative_names is " + std::to_string(raw.size()) + " bytes long; at most " +
                      std::to_string(max_names_per_certificate) + " names fit on a certificate";
            return out;
        }
        boost::system::error_code ec;
        boost::json::parse_options options;
        options.max_depth = 4;
        const auto parsed = boost::json::parse(raw, ec, {}, options);
        if (ec || !parsed.is_array()) {
            out.why = "alternative_names is not a JSON array of host names (for example "
                      "[\"www.example.com\"]); it holds " + quoted(raw);
            return out;
        }
        const auto& items = parsed.get_array();
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (!items[i].is_string()) {
                out.why = "alternative_names: item " + std::to_string(i + 1) + " is not a string; it is " +
                          quoted(boost::json::serialize(items[i]));
                return out;
            }
            auto name = normalise(items[i].get_string(), why);
            if (!name) {
                out.why = "alternative_names: " + why;
                return out;
            }
            if (std::find(names.begin(), names.end(), *name) == names.end()) names.push_back(std::move(*name));
            if (names.size() > max_names_per_certificate) {
                out.why = "the certificate would hold more than " + std::to_string(max_names_per_certificate) +
                          " names (Let's Encrypt's limit); split the row";
                return out;
            }
        }
    }
    out.names = std::move(names);
    return out;
}

} // namespace certq::hostname
