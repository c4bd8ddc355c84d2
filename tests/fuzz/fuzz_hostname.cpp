// Fuzzes what users write into `domains`: the name normaliser and the row's names. Beyond "no
// crash, no leak, no undefined behaviour", it checks the promises callers rely on.

#include "hostname/names.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

bool is_sendable(const std::string& name) {
    if (name.empty() || name.size() > certq::hostname::max_name_length) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    return name.front() != '.' && name.back() != '.' && name.find("..") == std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::string why;
    if (auto name = certq::hostname::normalise(input, why)) {
        require(is_sendable(*name));
        std::string again_why;
        auto again = certq::hostname::normalise(*name, again_why);
        require(again && *again == *name); // normalising is idempotent
    } else {
        require(!why.empty());
        for (unsigned char c : why) require(c >= 0x20 && c != 0x7f); // details stay printable
    }
    // The same bytes as a row: first line the hostname, the rest alternative_names.
    const auto newline = input.find('\n');
    const auto host = input.substr(0, newline);
    const std::optional<std::string> sans =
        newline == std::string::npos ? std::nullopt : std::optional<std::string>(input.substr(newline + 1));
    const auto row = certq::hostname::parse_row_names(host, sans);
    if (row.ok()) {
        require(row.names.size() <= certq::hostname::max_names_per_certificate);
        require(row.names.front().size() <= certq::hostname::max_common_name_length);
        for (std::size_t i = 0; i < row.names.size(); ++i) {
            require(is_sendable(row.names[i]));
            for (std::size_t j = 0; j < i; ++j) require(row.names[i] != row.names[j]);
        }
    } else {
        require(!row.why.empty());
    }
    return 0;
}
