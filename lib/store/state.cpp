#include "store/state.hpp"

namespace certq {

std::string_view to_string(domain_state s) {
    switch (s) {
    case domain_state::queued: return "queued";
    case domain_state::invalid: return "invalid";
    case domain_state::dns_waiting: return "dns_waiting";
    case domain_state::dns_failed: return "dns_failed";
    case domain_state::throttled: return "throttled";
    case domain_state::requesting: return "requesting";
    case domain_state::pending: return "pending";
    case domain_state::attaching: return "attaching";
    case domain_state::active: return "active";
    case domain_state::moved: return "moved";
    case domain_state::failed: return "failed";
    case domain_state::removing: return "removing";
    case domain_state::removed: return "removed";
    }
    return "?";
}

std::optional<domain_state> parse_state(std::string_view text) {
    for (auto s : all_states)
        if (to_string(s) == text) return s;
    return std::nullopt;
}

} // namespace certq
