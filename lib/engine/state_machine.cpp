#include "engine/state_machine.hpp"

#include "engine/detail/decisions.hpp"
#include "engine/workload_plan.hpp"

#include "hostname/names.hpp"
#include "hostname/registered_domain.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace certq::engine {

using detail::moved;
using detail::record_validity;
using detail::unchanged;

namespace {

using std::chrono::milliseconds;
using store::domain_row;

constexpr std::size_t max_certificate_name = 250;

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}


// The end of offboarding: a certificate of an earlier generation still kept is let go of too
// (the store retires it, and it is deleted at Azion from there).
decision gone(const domain_row& row, std::string detail) {
    decision d;
    d.after = row;
    d.after.state = domain_state::removed;
    d.after.detail = std::move(detail);
    d.after.next_attempt_at.reset();
    d.after.previous_certificate_id.reset();
    d.changed = true;
    return d;
}

// The row asks for a (new) request: committed durably before the POST leaves, with the name
// the certificate will have at Azion, so a crash can always be reconciled by name.
decision send(const domain_row& row, const policy& p) {
    std::string why;
    auto names = requested_names(row, why);
    if (!names) return moved(row, domain_state::invalid, why);
    auto d = moved(row, domain_state::requesting, std::nullopt);
    d.after.request_name = certificate_name_for(row);
    d.after.attempts = row.attempts + 1;
    d.durability = store::durability::full;
    d.next = action::send_request;
    azion::certificate_request req;
    req.name = *d.after.request_name;
    req.common_name = names->front();
    req.alternative_names.assign(names->begin() + 1, names->end());
    req.challenge = p.certificate.challenge;
    req.authority = p.certificate.authority;
    req.key_algorithm = p.certificate.key_algorithm;
    d.request = std::move(req);
    if (row.state != domain_state::requesting) {
        // A new request draws on Let's Encrypt's budgets; a re-send after a look-up found
        // nothing at Azion does not (nothing reached Let's Encrypt).
        store::budget_claim claim;
        std::set<std::string> domains;
        std::vector<std::string> sorted = *names;
        std::sort(sorted.begin(), sorted.end());
        for (const auto& n : sorted) {
            domains.insert(hostname::registered_domain(n));
            claim.names_key += (claim.names_key.empty() ? "" : ",") + n;
        }
        claim.registered_domains.assign(domains.begin(), domains.end());
        d.claim = std::move(claim);
    }
    return d;
}

std::optional<std::string> azion_detail(const azion::certificate& c) {
    if (c.status_detail.empty()) return std::nullopt;
    return c.status_detail;
}

wall_time poll_time(const domain_row& row, const policy& p, const moment& m) {
    // ±10 % so rows accepted together do not stay in lockstep.
    auto delay = backoff_delay(p.poll, row.polls);
    delay = milliseconds{static_cast<milliseconds::rep>(
        static_cast<double>(delay.count()) * (0.9 + 0.2 * m.jitter))};
    return m.now + delay;
}

// The row's certificate serves (on its workload, when it names one): it is watched from now on,
// and the certificate it replaces, if any, is let go of (the store retires it for deletion).
void now_serving(decision& d, const policy& p, const moment& m) {
    d.after.next_attempt_at = next_monitor(p, m, true);
    d.after.previous_certificate_id.reset();
    d.after.attach_tries = 0;
    d.after.polls = 0;
}

// The certificate as Azion shows it now decides the row's state.
decision follow(const domain_row& row, const azion::certificate& c, const policy& p,
                const moment& m) {
    switch (c.kind()) {
    case azion::certificate_status::active: {
        if (row.workload_id) {
            // Active at Azion, but not served until it is on the row's workload.
            auto d = moved(row, domain_state::attaching,
                           "certificate " + std::to_string(c.id) + " is active; putting it on workload " +
                               std::to_string(*row.workload_id));
            d.after.certificate_id = c.id;
            record_validity(d.after, c);
            d.after.attach_tries = 0;
            d.after.polls = 0;
            d.next = action::read_workload;
            d.workload = row.workload_id;
            return d;
        }
        auto d = moved(row, domain_state::active, std::nullopt);
        d.after.certificate_id = c.id;
        record_validity(d.after, c);
        now_serving(d, p, m);
        return d;
    }
    case azion::certificate_status::failed:
    case azion::certificate_status::expired: {
        auto d = moved(row, domain_state::failed,
                       "Azion " + std::string(c.kind() == azion::certificate_status::failed ? "failed" : "reports expired") +
                           " certificate " + std::to_string(c.id) + ": " +
                           (c.status_detail.empty() ? std::string("no reason given")
                                                    : c.status_detail));
        d.after.certificate_id = c.id;
        return d;
    }
    case azion::certificate_status::pending: break;
    }
    const bool first_sight = row.state != domain_state::pending;
    auto d = first_sight ? moved(row, domain_state::pending, azion_detail(c)) : unchanged(row);
    d.after.certificate_id = c.id;
    d.after.detail = azion_detail(c);
    d.after.polls = first_sight ? 0 : row.polls + 1;
    if (!first_sight && m.now - row.state_since >= p.poll.give_up_after) {
        auto failed = moved(row, domain_state::failed,
                            "still " + (c.status.empty() ? std::string("pending") : c.status) +
                                " at Azion after " + format_duration(p.poll.give_up_after) +
                                (c.status_detail.empty() ? "" : ": " + c.status_detail));
        failed.after.certificate_id = c.id;
        return failed;
    }
    d.after.next_attempt_at = poll_time(d.after, p, m);
    d.changed = true;
    return d;
}

milliseconds jittered(milliseconds delay, const moment& m) {
    return milliseconds{static_cast<milliseconds::rep>(static_cast<double>(delay.count()) *
                                                       (0.8 + 0.4 * m.jitter))};
}

// The sentence that ends a row's wait for DNS says what the wait was about: pointing, CAA,
// or a DNS that never answered conclusively.
std::string give_up_headline(const dns_verdict& v, std::chrono::milliseconds after) {
    const auto span = format_duration(after);
    const int kinds = int{v.names_not_pointing} + int{v.caa_forbids} + int{v.names_inconclusive};
    if (kinds == 0) // a gate that says only the outcome
        return v.result == dns_verdict::outcome::inconclusive ? "DNS never answered conclusively in " + span
                                                              : "still not pointing to Azion after " + span;
    if (kinds > 1) return "DNS still not ready for a certificate after " + span;
    if (v.caa_forbids) return "CAA still forbids Let's Encrypt after " + span;
    if (v.names_inconclusive) return "DNS never answered conclusively in " + span;
    return "still not pointing to Azion after " + span;
}

// A name does not point, CAA forbids Let's Encrypt, or DNS gave no conclusive answer: the row
// waits in dns_waiting, re-checked with backoff, and gives up after dns.recheck.give_up_after
// (less any time certq's own resolvers were down meanwhile).
decision dns_not_ready(const domain_row& row, const dns_verdict& v, const policy& p, const moment& m) {
    const bool unsure = v.result == dns_verdict::outcome::inconclusive;
    const std::string detail = unsure ? "DNS did not answer conclusively; checking again later:\n" + v.detail : v.detail;
    const auto excused = row.dns_excused + v.resolver_outage;
    if (row.state == domain_state::dns_waiting &&
        m.now - row.state_since - excused >= p.dns_recheck.give_up_after) {
        auto d = moved(row, domain_state::dns_failed,
                       give_up_headline(v, p.dns_recheck.give_up_after) + ":\n" + v.detail);
        d.after.dns_checks = row.dns_checks + 1;
        return d;
    }
    auto d = row.state == domain_state::dns_waiting ? unchanged(row)
                                                    : moved(row, domain_state::dns_waiting, detail);
    if (row.state != domain_state::dns_waiting) d.after.dns_excused = std::chrono::milliseconds{0};
    d.after.detail = detail;
    d.after.dns_checks = row.dns_checks + 1;
    d.after.next_attempt_at = m.now + jittered(backoff_delay(p.dns_recheck, row.dns_checks), m);
    d.changed = true;
    return d;
}

decision retry_later(const domain_row& row, const azion::diagnostics& diag, bool refused_post,
                     const policy& p, const moment& m) {
    auto d = unchanged(row);
    if (diag.http_status == 429) {
        // Throttling is the shared limiter's business: it has paused every caller for
        // Retry-After and slowed down. A row that also backed off on its own would pile its
        // delay onto that one and leave the API idle, so it only waits out Retry-After (plus a
        // second of spread) and queues for its turn again. A 429 means nothing was done: a
        // refused POST is not one that may have reached Azion, so no look-up is needed first.
        const auto pause = diag.retry_after.value_or(std::chrono::seconds{1});
        const auto delay = pause + milliseconds{static_cast<milliseconds::rep>(1000 * m.jitter)};
        if (refused_post) d.after.attempts = std::max(row.attempts - 1, 0);
        d.after.next_attempt_at = m.now + delay;
        d.after.detail = "Azion asked certq to slow down (429); trying again after " + format_duration(pause);
        d.changed = true;
        return d;
    }
    // Full jitter: a crowd of rows that failed together comes back spread over the window.
    const int n = std::max(row.state == domain_state::requesting ? row.attempts - 1 : row.polls, 0);
    auto delay = milliseconds{static_cast<milliseconds::rep>(
        static_cast<double>(backoff_delay(p.retry, n).count()) * m.jitter)};
    if (diag.retry_after) delay = std::max(delay, *diag.retry_after);
    d.after.next_attempt_at = m.now + std::max(delay, milliseconds{100});
    d.after.detail = "retrying in " + format_duration(delay) + " after " + diag.summary();
    d.changed = true;
    return d;
}

} // namespace

policy policy::from(const config& cfg) {
    policy p;
    p.certificate = cfg.certificate;
    p.poll = cfg.poll;
    p.dns_recheck = cfg.dns.recheck;
    p.budget.per_registered_domain = cfg.letsencrypt.per_registered_domain;
    p.budget.window = cfg.letsencrypt.window;
    p.monitor_every = cfg.monitor.every;
    p.moved_remove_after = cfg.moved.remove_after;
    p.expiry_warning = cfg.monitor.expiry_warning;
    return p;
}


milliseconds backoff_delay(const backoff_config& b, int n) {
    auto delay = b.first;
    for (int i = 0; i < n && delay < b.max; ++i) delay *= 2;
    return std::min(delay, b.max);
}

std::optional<std::vector<std::string>> requested_names(const domain_row& row, std::string& why) {
    auto parsed = hostname::parse_row_names(row.hostname, row.alternative_names);
    if (!parsed.ok()) {
        why = std::move(parsed.why);
        return std::nullopt;
    }
    return std::move(parsed.names);
}

std::string certificate_name_for(const domain_row& row) {
    std::string base = trim(row.certificate_name.value_or(""));
    if (base.empty()) {
        std::string why;
        const auto names = requested_names(row, why);
        base = "certq-" + std::to_string(row.id) + "-" + (names ? names->front() : trim(row.hostname));
    }
    const std::string suffix = row.generation > 0 ? "-r" + std::to_string(row.generation) : "";
    if (base.size() + suffix.size() > max_certificate_name)
        base.resize(max_certificate_name - suffix.size());
    return base + suffix;
}

// ---- the workload ---------------------------------------------------------------------------

decision offboard(const domain_row& row, std::optional<std::int64_t> certificate_id);
decision remove_certificate(const domain_row& row, std::optional<std::int64_t> certificate_id);

namespace {

// The names on the row's certificate, for the workload's domains.
std::vector<std::string> certificate_names(const domain_row& row) {
    std::string why;
    return requested_names(row, why).value_or(std::vector<std::string>{});
}

// An attach (or detach) that Azion refused, or that would break a site: the certificate is kept,
// the row stays where it is with the reason, and tries again on the dns.recheck schedule (a person
// may fix the workload meanwhile) until give_up_after, counted from entering the state.
decision workload_retry(const domain_row& row, const std::string& reason, const policy& p, const moment& m) {
    if (m.now - row.state_since >= p.dns_recheck.give_up_after) {
        const auto id = std::to_string(row.certificate_id.value_or(0));
        auto d = moved(row, domain_state::failed,
                       row.wanted_absent
                           ? "could not take the names off workload " + std::to_string(row.attached_workload_id.value_or(0)) +
                                 " in " + format_duration(p.dns_recheck.give_up_after) + ": " + reason
                           : "certificate " + id + " is active but could not be put on workload " +
                                 std::to_string(row.workload_id.value_or(0)) + " in " +
                                 format_duration(p.dns_recheck.give_up_after) + ": " + reason);
        return d;
    }
    auto d = unchanged(row);
    d.after.detail = reason;
    d.after.attach_tries = row.attach_tries + 1;
    d.after.polls = 0;
    d.after.next_attempt_at = m.now + jittered(backoff_delay(p.dns_recheck, row.attach_tries), m);
    d.changed = true;
    return d;
}

// Azion answered 202: the workload change is being applied. It is read again shortly (a few
// times, backing off) before the attach counts as not done.
constexpr int max_rereads_while_applied = 8;

decision wait_for_workload(const domain_row& row, std::int64_t workload, const policy& p, const moment& m) {
    if (row.polls >= max_rereads_while_applied)
        return workload_retry(row, "workload " + std::to_string(workload) + " did not show the change after " +
                                       std::to_string(row.polls) + " reads",
                              p, m);
    auto d = unchanged(row);
    d.after.polls = row.polls + 1;
    d.after.detail = "workload " + std::to_string(workload) + " is applying the change";
    d.after.next_attempt_at = m.now + std::min(milliseconds{1000} * (1 << std::min(row.polls, 5)), milliseconds{30'000});
    d.changed = true;
    return d;
}

// The workload as it is decides the next step of an attach or, when offboarding, of a detach.
decision on_workload(const domain_row& row, const workload_seen& ev, const policy& p, const moment& m) {
    const auto& w = ev.answer.current;
    const auto names = certificate_names(row);
    if (row.wanted_absent) {
        // Names certq put on the workload come off; a workload it was not known to have changed
        // (a crash between its PATCH and the write that records it) is changed only if it
        // serves the row's certificate.
        const bool recorded = row.attached_workload_id == w.id;
        std::vector<std::int64_t> ours;
        for (const auto& id : {row.certificate_id, row.previous_certificate_id})
            if (id) ours.push_back(*id);
        const bool serves_ours = w.certificate && std::find(ours.begin(), ours.end(), *w.certificate) != ours.end();
        auto plan = plan_detach(w, ours, names);
        if (plan.done || (!recorded && !serves_ours)) {
            auto detached = row;
            detached.attached_workload_id.reset();
            auto d = remove_certificate(detached, row.certificate_id);
            d.changed = true;
            if (d.after.state == domain_state::removed)
                d.after.detail = "names taken off workload " + std::to_string(w.id) + "; no certificate had been issued";
            return d;
        }
        // A change already sent (answered 202, or read back not showing yet) is waited for, not
        // sent again.
        if (ev.answer.pending || ev.after_patch || row.polls > 0) return wait_for_workload(row, w.id, p, m);
        auto d = row.state == domain_state::removing ? unchanged(row) : moved(row, domain_state::removing, std::nullopt);
        d.next = action::patch_workload;
        d.workload = w.id;
        d.patch = std::move(plan.patch);
        return d;
    }
    auto plan = plan_attach(w, row.certificate_id.value_or(0), names);
    if (plan.done) {
        auto d = moved(row, domain_state::active,
                       "serving on workload " + std::to_string(w.id) + " (" + std::to_string(w.domains.size()) +
                           (w.domains.size() == 1 ? " domain)" : " domains)"));
        d.after.attached_workload_id = w.id;
        now_serving(d, p, m);
        return d;
    }
    // A change already sent (answered 202, or read back not showing yet) is waited for, not sent
    // again: a second PATCH while the first is applied would race with it.
    if (ev.answer.pending || ((ev.after_patch || row.polls > 0) && !plan.refused))
        return wait_for_workload(row, w.id, p, m);
    if (plan.refused) return workload_retry(row, *plan.refused, p, m);
    auto d = unchanged(row);
    d.next = action::patch_workload;
    d.workload = w.id;
    d.patch = std::move(plan.patch);
    return d;
}

} // namespace

// wanted = 'absent': off the workload first, then delete the certificate at Azion if there is
// one, then `removed`.
decision offboard(const domain_row& row, std::optional<std::int64_t> certificate_id) {
    // A certificate still served is not deleted: first off the workload certq put it on, or the
    // one it may have (the row names one and has a certificate).
    const auto workload = row.attached_workload_id ? row.attached_workload_id
                                                   : certificate_id ? row.workload_id : std::nullopt;
    if (workload) {
        auto d = row.state == domain_state::removing ? unchanged(row) : moved(row, domain_state::removing, std::nullopt);
        if (row.state != domain_state::removing) d.after.polls = 0; // counts re-reads of the workload from here
        d.changed = d.changed || row.certificate_id != certificate_id;
        d.after.certificate_id = certificate_id;
        d.next = action::read_workload;
        d.workload = workload;
        return d;
    }
    return remove_certificate(row, certificate_id);
}

// Offboarding once nothing serves the certificate: DELETE it at Azion, then `removed`.
decision remove_certificate(const domain_row& row, std::optional<std::int64_t> certificate_id) {
    if (certificate_id) {
        auto d = row.state == domain_state::removing ? unchanged(row) : moved(row, domain_state::removing, std::nullopt);
        d.changed = d.changed || row.certificate_id != certificate_id;
        d.after.certificate_id = certificate_id;
        d.next = action::delete_certificate;
        return d;
    }
    return gone(row, "removed; no certificate had been issued");
}

decision on_due(const domain_row& row, const policy& p, const moment& m) {
    (void)m;
    if (row.wanted_absent) {
        if (row.state == domain_state::removed) return unchanged(row);
        // A request may have reached Azion unanswered: find it by name before calling it gone.
        if (!row.certificate_id && row.state == domain_state::requesting && row.attempts > 0 && row.request_name) {
            auto d = unchanged(row);
            d.next = action::lookup_by_name;
            return d;
        }
        return offboard(row, row.certificate_id);
    }
    switch (row.state) {
    case domain_state::queued:
    case domain_state::dns_waiting:
    case domain_state::throttled: {
        std::string why;
        const auto names = requested_names(row, why);
        if (!names) return moved(row, domain_state::invalid, why);
        if (const auto& name = row.certificate_name;
            name && std::any_of(name->begin(), name->end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
            return moved(row, domain_state::invalid,
                         "certificate_name \"" + hostname::printable(*name) + "\" contains a control character");
        if (row.workload_id_text)
            return moved(row, domain_state::invalid,
                         "workload_id \"" + hostname::printable(*row.workload_id_text) +
                             "\" is not a workload id (a positive whole number)");
        if (row.workload_id && names->size() > max_workload_domains)
            return moved(row, domain_state::invalid,
                         std::to_string(names->size()) + " names (common name and alternative names) on a row with "
                         "workload_id " + std::to_string(*row.workload_id) + ": Azion serves at most " +
                             std::to_string(max_workload_domains) + " domains on one workload");
        auto d = unchanged(row);
        d.next = action::claim_names;
        return d;
    }
    case domain_state::attaching: {
        auto d = unchanged(row);
        if (!row.workload_id) // the user took the workload off the row: nothing to attach
            return moved(row, domain_state::active, "no workload named; certificate " +
                                                        std::to_string(row.certificate_id.value_or(0)) + " is active");
        d.next = action::read_workload;
        d.workload = row.workload_id;
        return d;
    }
    case domain_state::requesting:
    case domain_state::pending: {
        auto d = unchanged(row);
        if (row.state == domain_state::pending && row.certificate_id) {
            d.next = action::read_status;
            return d;
        }
        // A POST may have reached Azion without its answer reaching us (a crash, a timeout):
        // look the name up before sending again. (A pending row without an id was edited by
        // hand; its name is the way back to its certificate too.)
        if (row.attempts > 0 && row.request_name) {
            d.next = action::lookup_by_name;
            return d;
        }
        return send(row, p);
    }
    default: return unchanged(row);
    }
}

decision on_event(const domain_row& row, const event& e, const policy& p, const moment& m) {
    return std::visit(
        [&](const auto& ev) -> decision {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, dns_verdict>) {
                switch (ev.result) {
                case dns_verdict::outcome::points: return send(row, p);
                case dns_verdict::outcome::not_yet:
                case dns_verdict::outcome::inconclusive: return dns_not_ready(row, ev, p, m);
                case dns_verdict::outcome::unavailable: {
                    // certq's resolvers are down: nothing is known about the names, so the row
                    // keeps its state and its clock (the outage is excused when they return).
                    auto d = unchanged(row);
                    if (row.state != domain_state::dns_waiting)
                        d.after.detail = "DNS check postponed: certq's DNS resolvers are not answering";
                    d.after.next_attempt_at = m.now + jittered(std::min(p.dns_retry_soon, p.dns_recheck.first), m);
                    d.changed = true;
                    return d;
                }
                }
                return unchanged(row);
            } else if constexpr (std::is_same_v<T, certificate_seen>) {
                if (row.wanted_absent) return offboard(row, ev.certificate.id);
                return follow(row, ev.certificate, p, m);
            } else if constexpr (std::is_same_v<T, certificate_deleted>) {
                return gone(row, "certificate " + std::to_string(row.certificate_id.value_or(0)) + " deleted at Azion");
            } else if constexpr (std::is_same_v<T, name_not_found>) {
                if (row.wanted_absent) return offboard(row, std::nullopt);
                if (row.state == domain_state::requesting || !row.certificate_id) return send(row, p);
                return unchanged(row);
            } else if constexpr (std::is_same_v<T, request_refused>) {
                if (ev.diag.existing_certificate) {
                    // Azion already holds a certificate for these names: follow it, as
                    // Azion's own console does, instead of failing the row.
                    auto d = moved(row, domain_state::pending,
                                   "adopted existing certificate " +
                                       std::to_string(*ev.diag.existing_certificate) + " (" +
                                       ev.diag.summary() + ")");
                    d.after.certificate_id = ev.diag.existing_certificate;
                    d.after.polls = 0;
                    d.after.next_attempt_at = m.now;
                    return d;
                }
                if (row.state == domain_state::attaching || (row.wanted_absent && row.attached_workload_id))
                    return workload_retry(row, "Azion refused to change workload " +
                                                   std::to_string(row.wanted_absent ? row.attached_workload_id.value_or(0)
                                                                                    : row.workload_id.value_or(0)) +
                                                   ": " + ev.diag.summary(), p, m);
                if (row.wanted_absent)
                    return moved(row, domain_state::failed, "Azion refused to delete the certificate: " + ev.diag.summary());
                return moved(row, domain_state::failed, "Azion refused the request: " + ev.diag.summary());
            } else if constexpr (std::is_same_v<T, call_failed>) {
                return retry_later(row, ev.diag, ev.refused_post, p, m);
            } else if constexpr (std::is_same_v<T, names_claimed>) {
                if (!ev.conflict.empty()) return moved(row, domain_state::invalid, ev.conflict);
                auto d = unchanged(row);
                // Re-queued with a certificate: if it is still active for the same names, it is
                // put to use again instead of asking Let's Encrypt for another.
                const bool reusable = row.state == domain_state::queued && row.previous_certificate_id &&
                                      !row.certificate_id;
                d.next = reusable ? action::read_previous : action::check_dns;
                return d;
            } else if constexpr (std::is_same_v<T, previous_seen>) {
                auto d = unchanged(row);
                d.next = action::check_dns;
                if (!ev.certificate || ev.certificate->kind() != azion::certificate_status::active) return d;
                auto names = certificate_names(row);
                auto subject = ev.certificate->subject_name;
                const auto lower_sorted = [](std::vector<std::string>& v) {
                    for (auto& n : v)
                        for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                    std::sort(v.begin(), v.end());
                    v.erase(std::unique(v.begin(), v.end()), v.end());
                };
                lower_sorted(names);
                lower_sorted(subject);
                if (names.empty() || names != subject) return d; // the names changed: a new request
                const auto id = ev.certificate->id;
                auto reuse = row;
                reuse.certificate_id = id;
                reuse.previous_certificate_id.reset();
                auto used = follow(reuse, *ev.certificate, p, m);
                used.changed = true;
                if (!used.after.detail)
                    used.after.detail = "certificate " + std::to_string(id) + " reused: the names did not change";
                return used;
            } else if constexpr (std::is_same_v<T, budget_spent>) {
                auto d = row.state == domain_state::throttled ? unchanged(row)
                                                              : moved(row, domain_state::throttled, ev.detail);
                d.after.detail = ev.detail;
                d.after.next_attempt_at = ev.resume_at;
                d.changed = true;
                return d;
            } else if constexpr (std::is_same_v<T, workload_seen>) {
                return on_workload(row, ev, p, m);
            } else if constexpr (std::is_same_v<T, workload_missing>) {
                if (row.wanted_absent) { // nothing to take the names off
                    auto detached = row;
                    detached.attached_workload_id.reset();
                    auto d = remove_certificate(detached, row.certificate_id);
                    d.changed = true;
                    return d;
                }
                return workload_retry(row, "workload " + std::to_string(row.workload_id.value_or(0)) +
                                               " does not exist at Azion (404)", p, m);
            } else if constexpr (std::is_same_v<T, certificate_gone>) {
                if (row.wanted_absent && row.attached_workload_id) return offboard(row, std::nullopt);
                if (row.wanted_absent) return gone(row, "certificate no longer exists at Azion");
                return moved(row, domain_state::failed,
                             "certificate " +
                                 (row.certificate_id ? std::to_string(*row.certificate_id) : std::string("?")) +
                                 " no longer exists at Azion");
            }
        },
        e);
}

} // namespace certq::engine
