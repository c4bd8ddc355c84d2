#include "hostname/registered_domain.hpp"

#include <libpsl.h>

namespace certq::hostname {

std::string registered_domain(std::string_view name) {
    const std::string text(name);
    if (const char* domain = psl_registrable_domain(psl_builtin(), text.c_str())) return domain;
    return text;
}

bool is_public_suffix(std::string_view name) {
    const std::string text(name);
    return psl_is_public_suffix(psl_builtin(), text.c_str()) != 0;
}

} // namespace certq::hostname
