#pragma once
// Small building blocks of the state machine's decisions, shared by its source files
// (state_machine.cpp, monitor.cpp). Not part of the engine's interface.

#include "engine/state_machine.hpp"

namespace certq::engine::detail {

using store::domain_row;

inline decision unchanged(const domain_row& row) {
    decision d;
    d.after = row;
    return d;
}

inline decision moved(const domain_row& row, domain_state to, std::optional<std::string> detail) {
    decision d;
    d.after = row;
    d.after.state = to;
    d.after.detail = std::move(detail);
    d.after.next_attempt_at.reset();
    d.changed = true;
    return d;
}

// What Azion says of a certificate's life, recorded on the row.
inline void record_validity(domain_row& row, const azion::certificate& c) {
    row.validity = c.validity;
    row.renewed_at = c.renewed_at;
    row.valid_until.reset();
    if (c.validity)
        if (auto end = azion::parse_time(*c.validity)) row.valid_until = *end;
}

} // namespace certq::engine::detail
