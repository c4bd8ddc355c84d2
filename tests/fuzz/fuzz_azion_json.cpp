// Fuzzes parsing of Azion's answers: certificate envelopes, paginated lists, error bodies.

#include "azion/error.hpp"
#include "azion/types.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    if (auto cert = certq::azion::parse_certificate_response(body, ec)) {
        (void)cert->kind();
    } else if (ec != certq::azion::error::bad_response) {
        std::abort();
    }
    ec = {};
    if (auto page = certq::azion::parse_certificate_page(body, ec)) {
        for (const auto& c : page->results) (void)c.kind();
    } else if (ec != certq::azion::error::bad_response) {
        std::abort();
    }
    const auto errors = certq::azion::parse_errors(body);
    const auto text = certq::azion::describe_errors(errors, body);
    if (errors.empty())
        for (unsigned char c : text)
            if (c < 0x20) std::abort(); // a raw body quoted in a detail is made printable
    return 0;
}
