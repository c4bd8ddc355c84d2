#include "engine/detail/decisions.hpp"
#include "engine/state_machine.hpp"

// The slow schedule's decisions for active and moved rows (on_monitor): renewals, expiry, and
// names that move away from Azion and back.

namespace certq::engine {

using detail::moved;
using detail::record_validity;
using detail::unchanged;
using std::chrono::milliseconds;
using store::domain_row;

wall_time next_monitor(const policy& p, const moment& m, bool first) {
    const double share = first ? 0.1 + 0.9 * m.jitter : 0.9 + 0.2 * m.jitter;
    return m.now + milliseconds{static_cast<milliseconds::rep>(static_cast<double>(p.monitor_every.count()) * share)};
}

monitor_decision on_monitor(const domain_row& row, const monitor_report& report, const policy& p, const moment& m) {
    monitor_decision out;
    auto& d = out.d;
    d = unchanged(row);
    d.changed = true;
    d.after.next_attempt_at = next_monitor(p, m, false);
    const auto id = std::to_string(row.certificate_id.value_or(0));
    if (report.gone) {
        d = moved(row, domain_state::failed, "certificate " + id + " no longer exists at Azion");
        return out;
    }
    if (const auto& c = report.certificate) {
        const auto kind = c->kind();
        if (kind == azion::certificate_status::failed || kind == azion::certificate_status::expired) {
            d = moved(row, domain_state::failed,
                      "Azion reports certificate " + id + " " + c->status +
                          (c->status_detail.empty() ? std::string() : ": " + c->status_detail));
            record_validity(d.after, *c);
            return out;
        }
        out.renewed = c->renewed_at && c->renewed_at != row.renewed_at;
        record_validity(d.after, *c);
    }
    if (!report.dns) return out;
    switch (report.dns->result) {
    case dns_verdict::outcome::points:
        if (row.state == domain_state::moved) {
            auto back = moved(row, domain_state::active, "names point to Azion again");
            back.after.next_attempt_at = d.after.next_attempt_at;
            back.after.validity = d.after.validity;
            back.after.renewed_at = d.after.renewed_at;
            back.after.valid_until = d.after.valid_until;
            d = back;
        }
        break;
    case dns_verdict::outcome::not_yet: {
        const auto detail = "names no longer point to Azion (its renewal needs them to):\n" + report.dns->detail;
        if (row.state == domain_state::active) {
            auto away = moved(row, domain_state::moved, detail);
            away.after.next_attempt_at = d.after.next_attempt_at;
            away.after.validity = d.after.validity;
            away.after.renewed_at = d.after.renewed_at;
            away.after.valid_until = d.after.valid_until;
            d = away;
        } else {
            d.after.detail = detail;
            if (p.moved_remove_after.count() > 0 && m.now - row.state_since >= p.moved_remove_after) {
                // Gone for good: offboard it (the daemon's one write to `wanted`).
                d.after.wanted_absent = true;
                d.after.detail = "moved away " + format_duration(p.moved_remove_after) + " ago; offboarding:\n" +
                                 report.dns->detail;
                d.after.next_attempt_at = m.now;
            }
        }
        break;
    }
    case dns_verdict::outcome::inconclusive:
    case dns_verdict::outcome::unavailable: break; // says nothing about where the names point
    }
    return out;
}


} // namespace certq::engine
