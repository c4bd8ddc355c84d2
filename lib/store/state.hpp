#pragma once
// The states of a row: exactly the words of the `domains.state` column (DESIGN §1).

#include <optional>
#include <string_view>

namespace certq {

enum class domain_state {
    queued,
    invalid,
    dns_waiting,
    dns_failed,
    throttled,
    requesting,
    pending,
    attaching,
    active,
    moved,
    failed,
    removing,
    removed,
};

inline constexpr domain_state all_states[] = {
    domain_state::queued,    domain_state::invalid,  domain_state::dns_waiting, domain_state::dns_failed,
    domain_state::throttled, domain_state::requesting, domain_state::pending,   domain_state::attaching,
    domain_state::active,    domain_state::moved,    domain_state::failed,      domain_state::removing,
    domain_state::removed,
};

std::string_view to_string(domain_state s);
std::optional<domain_state> parse_state(std::string_view text);

/// Terminal states need nothing more from the daemon until a user acts (`active` and `moved`
/// rows are still watched on the slow schedule).
constexpr bool is_terminal(domain_state s) {
    return s == domain_state::invalid || s == domain_state::dns_failed || s == domain_state::active ||
           s == domain_state::moved || s == domain_state::failed || s == domain_state::removed;
}

} // namespace certq
