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

bool top_level_domain_exists(std::string_view label) {
    const std::string text(label);
    // Without NO_STAR_RULE the list's implicit "*" rule makes every unknown label a suffix, and
    // Let's Encrypt issues only under the ICANN section, not under the private one.
    return psl_is_public_suffix2(psl_builtin(), text.c_str(), PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE) != 0;
}

} // namespace certq::hostname
