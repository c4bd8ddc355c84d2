#pragma once
// The life of one row as a pure function: (row, event, policy, now) -> decision. No I/O, no
// clock, no randomness of its own: the scheduler feeds it what happened and performs what it
// decides, and tests drive it directly.
//
//   queued ─► (dns) ─► requesting ─► pending ─► [attaching] ─► active
//                         │             └─────► failed      (only with a workload_id)
//                         └─ final 4xx ───────► failed

#include "azion/error.hpp"
#include "azion/types.hpp"
#include "config/config.hpp"
#include "store/domain_store.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace certq::engine {

struct policy {
    certificate_config certificate;
    backoff_config poll{std::chrono::seconds{30}, std::chrono::minutes{15},
                        std::chrono::hours{168}};
    /// Backoff for retryable API failures (429, 5xx, timeouts); give_up_after is unused:
    /// a request is retried until it gets an answer.
    backoff_config retry{std::chrono::seconds{1}, std::chrono::minutes{5}, std::chrono::hours{0}};
    /// Re-checks of rows whose names do not point to Azion yet (dns.recheck).
    backoff_config dns_recheck{std::chrono::minutes{1}, std::chrono::minutes{30},
                               std::chrono::hours{72}};
    /// While certq's resolvers do not answer, rows are looked at again after at most this.
    std::chrono::milliseconds dns_retry_soon{std::chrono::seconds{30}};
    /// Let's Encrypt's budgets (letsencrypt.*).
    store::budget budget;
    /// The slow schedule of active rows (monitor.every) and moved rows' offboarding
    /// (moved.remove_after; 0: never).
    std::chrono::milliseconds monitor_every{std::chrono::hours{24}};
    std::chrono::milliseconds moved_remove_after{0};
    /// A certificate ending sooner than this without renewal is reported (monitor.expiry_warning).
    std::chrono::milliseconds expiry_warning{std::chrono::hours{24 * 14}};

    static policy from(const config& cfg);
};

/// What the scheduler knows besides the event: the time, and a uniform random number in
/// [0, 1) for jitter.
struct moment {
    wall_time now;
    double jitter = 0.5;
};

// ---- events ---------------------------------------------------------------------------------

/// The DNS stage's verdict on every name of the row (the seam for the DNS pre-check).
struct dns_verdict {
    /// `unavailable`: certq's own resolvers answer nothing at all; says nothing about the row.
    enum class outcome { points, not_yet, inconclusive, unavailable } result = outcome::points;
    std::string detail; ///< one line per name that does not point, or why it is inconclusive
    // What the lines are about (for the sentence that ends a row's wait).
    bool names_not_pointing = false;
    bool caa_forbids = false;
    bool names_inconclusive = false;
    /// How long certq's resolvers had been down, on the first verdict after they came back:
    /// that time is not counted against the row's dns.recheck.give_up_after.
    std::chrono::milliseconds resolver_outage{0};
};

/// Azion accepted the request (201) or the name lookup found it: the certificate as it is now.
struct certificate_seen {
    azion::certificate certificate;
};

/// A lookup by name after a POST that may have been received found nothing.
struct name_not_found {};

/// A final refusal (a 4xx other than 429), with Azion's words.
struct request_refused {
    azion::diagnostics diag;
};

/// A retryable failure of any call: 429, 5xx, timeout, reset, malformed answer.
struct call_failed {
    azion::diagnostics diag;
    /// The failed call was the row's POST and Azion refused it with 429: nothing was
    /// created, so the next try sends again without looking the name up first.
    bool refused_post = false;
};

/// The certificate the row follows no longer exists at Azion (404).
struct certificate_gone {};

/// The certificate was deleted at Azion (or was already gone).
struct certificate_deleted {};

/// The workload as Azion shows it (read, or answered to a PATCH: `after_patch`).
struct workload_seen {
    azion::workload_answer answer;
    bool after_patch = false;
};

/// The workload does not exist at Azion (404).
struct workload_missing {};

/// The certificate a re-queued row had before, as Azion shows it now (or gone: nullopt).
struct previous_seen {
    std::optional<azion::certificate> certificate;
};

/// The row's names were recorded for it, or one is already on another live row (`conflict`).
struct names_claimed {
    std::string conflict;
};

/// A Let's Encrypt budget the request would draw on is spent until `resume_at`.
struct budget_spent {
    std::string detail;
    wall_time resume_at;
};

using event = std::variant<dns_verdict, certificate_seen, name_not_found, request_refused,
                           call_failed, certificate_gone, budget_spent, names_claimed,
                           certificate_deleted, workload_seen, workload_missing, previous_seen>;

// ---- decisions ------------------------------------------------------------------------------

enum class action {
    none,           ///< nothing now; the row is due again at after.next_attempt_at
    claim_names,    ///< record the row's names unless another live row has one: names_claimed
    check_dns,      ///< run the DNS stage, then feed dns_verdict
    send_request,   ///< POST `request`, then feed certificate_seen / request_refused / call_failed
    lookup_by_name, ///< find after.request_name at Azion, then certificate_seen / name_not_found
    read_status,    ///< read after.certificate_id, then certificate_seen / certificate_gone
    delete_certificate, ///< DELETE after.certificate_id, then certificate_deleted or a failure
    read_workload,  ///< read `workload`, then workload_seen / workload_missing / a failure
    patch_workload, ///< PATCH `workload` with `patch`, then workload_seen (after_patch) / ...
    read_previous,  ///< read after.previous_certificate_id, then previous_seen / a failure
};

struct decision {
    store::domain_row after;   ///< the row as it is to be stored
    bool changed = false;      ///< whether `after` differs from the row and must be written
    store::durability durability = store::durability::normal;
    action next = action::none;
    std::optional<azion::certificate_request> request; ///< with send_request
    /// With a new request (not a re-send): the budgets it draws on. The write into
    /// `requesting` is then conditional on them (store::domain_store::admit).
    std::optional<store::budget_claim> claim;
    /// With read_workload / patch_workload: which workload, and the change.
    std::optional<std::int64_t> workload;
    std::optional<azion::workload_patch> patch;
};

/// What to do with a row that is due (picked from the queue).
decision on_due(const store::domain_row& row, const policy& p, const moment& m);

/// What the slow schedule found for an active or moved row: its certificate as Azion lists it
/// (nullopt with `gone`: a definite 404; nullopt without: not read this time), and the DNS
/// verdict on its names (nullopt: not checked).
struct monitor_report {
    std::optional<azion::certificate> certificate;
    bool gone = false;
    std::optional<dns_verdict> dns;
};

/// The decision of the slow schedule for an active or moved row; `renewed` tells whether Azion
/// renewed the certificate since the last look.
struct monitor_decision {
    decision d;
    bool renewed = false;
};
monitor_decision on_monitor(const store::domain_row& row, const monitor_report& report, const policy& p,
                            const moment& m);

/// When an active row is next looked at: monitor.every ± 10 % (the first time, anywhere in the
/// first period, so rows that became active together are not watched together).
wall_time next_monitor(const policy& p, const moment& m, bool first);

/// What follows from an event about a row.
decision on_event(const store::domain_row& row, const event& e, const policy& p, const moment& m);

/// The names a row asks for (hostname::parse_row_names): the common name first, then the
/// alternative names, normalised, without repeats. Sets `why` and returns nullopt when the row
/// cannot be requested as written.
std::optional<std::vector<std::string>> requested_names(const store::domain_row& row,
                                                        std::string& why);

/// The name the certificate has at Azion for this row and generation: the row's
/// certificate_name or `certq-<id>-<hostname>`, with `-r<generation>` after a re-queue, at
/// most 250 characters.
std::string certificate_name_for(const store::domain_row& row);

/// first · 2^n, capped at max.
std::chrono::milliseconds backoff_delay(const backoff_config& b, int n);

} // namespace certq::engine
