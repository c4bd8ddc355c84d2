#pragma once
// The daemon's view of the `domains` table: what is due, and writing back what the engine
// decided. Synchronous and single-threaded: the engine runs it on its own database thread so a
// locked database never blocks the network loop.

#include "store/sql.hpp"
#include "store/sqlite.hpp"
#include "store/state.hpp"
#include "util/time.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace certq::store {

/// One row of `domains` as the engine sees it. Text columns are read as text whatever a user
/// stored in them; validating them is the engine's job.
struct domain_row {
    std::int64_t id = 0;
    std::string hostname;
    std::optional<std::string> alternative_names; // raw JSON text as stored
    std::optional<std::string> certificate_name;
    domain_state state = domain_state::queued;
    std::optional<std::string> detail;
    std::optional<std::int64_t> certificate_id;
    std::int64_t generation = 0;
    std::optional<std::string> request_name;
    int attempts = 0;
    int polls = 0;
    int dns_checks = 0;
    /// Time certq's own resolvers were down while the row waited for DNS: not counted
    /// against dns.recheck.give_up_after. Written by excuse_dns_wait(); an apply() writes it
    /// only to reset it (to zero) as the row enters dns_waiting.
    std::chrono::milliseconds dns_excused{0};
    bool wanted_absent = false; ///< the user asked for the hostname to be offboarded
    std::optional<wall_time> next_attempt_at;
    wall_time state_since{};
    std::optional<std::string> validity;
    /// The Azion workload that is to serve the row's certificate (the user's column).
    std::optional<std::int64_t> workload_id;
    /// Set, with what was stored, when the user's workload_id is not a positive integer.
    std::optional<std::string> workload_id_text;
    /// The workload certq put the row's certificate on (to take it off when offboarding).
    std::optional<std::int64_t> attached_workload_id;
    /// The certificate that served before a re-queue: kept until a new one replaces it.
    std::optional<std::int64_t> previous_certificate_id;
    std::optional<std::string> renewed_at;
    /// Attaches (or detaches) tried in the current state, for their backoff.
    int attach_tries = 0;
    /// The end of the certificate's validity (from `validity`).
    std::optional<wall_time> valid_until;
};

/// A certificate of an earlier generation, waiting to be deleted at Azion.
struct retired_certificate {
    std::int64_t certificate_id = 0;
    std::int64_t domain_id = 0;
    int attempts = 0;
};

/// A decided change of one row: `after` replaces the daemon-owned columns, provided the row is
/// still in `before_state` and `before_generation` (a user may have re-queued it meanwhile).
struct domain_change {
    domain_state before_state;
    std::int64_t before_generation;
    domain_row after;
    /// Azion renewed the row's certificate: a `renewed` event is written with the change.
    bool renewed = false;
};

/// One row of the `events` table (what webhooks are told).
struct event_row {
    std::int64_t id = 0;
    std::int64_t domain_id = 0;
    std::string kind; ///< "state" or "renewed"
    std::optional<std::string> from_state;
    std::optional<std::string> to_state;
    std::string at; ///< ISO 8601 UTC
    std::optional<std::string> detail;
    std::optional<std::string> hostname;
    std::optional<std::string> names; ///< JSON array text
    std::optional<std::int64_t> certificate_id;
    std::optional<std::int64_t> workload_id;
};

enum class durability {
    normal, ///< survives a crash of the process (WAL, synchronous=NORMAL)
    full,   ///< survives a power cut: fsync before returning (used for `requesting`)
};

/// Let's Encrypt's budgets, counted from the ledger of requests sent.
struct budget {
    int per_registered_domain = 50;
    int per_name_set = 5; ///< Let's Encrypt's limit for one exact set of names
    std::chrono::milliseconds window = std::chrono::hours{168};
};

/// What a request draws on: its registered domains and its exact set of names.
struct budget_claim {
    std::vector<std::string> registered_domains;
    std::string names_key;
};

/// Writes one request into the Let's Encrypt ledger (le_requests and its registered domains), in
/// the caller's transaction: admit() does it for each request, `certq import` for each one it
/// carries over.
void record_request(sql::connection& db, std::int64_t domain_id, const budget_claim& claim, wall_time at);

struct admission {
    enum class result { admitted, budget_spent, stale } outcome = result::admitted;
    std::string detail;          ///< with budget_spent: which budget, and until when
    wall_time resume_at{};       ///< with budget_spent: when a slot frees
};

class domain_store {
public:
    /// Opens `database` (a SQLite file, created when missing and put in WAL mode, or a
    /// PostgreSQL URI; `password` when the URI has none) and applies pending migrations.
    /// Throws database_error, or std::runtime_error when the database is newer than this binary.
    explicit domain_store(const std::string& database, const std::optional<std::string>& password = std::nullopt);
    explicit domain_store(const std::filesystem::path& path) : domain_store(path.string()) {}
    ~domain_store();
    domain_store(const domain_store&) = delete;
    domain_store& operator=(const domain_store&) = delete;

    /// The two queues the engine drains: rows on their way to a certificate id (new,
    /// waiting, being requested), and pending rows whose status is to be read.
    enum class queue { requests, polls, monitor };

    /// Rows of `q` due at `now`, oldest due first, at most `limit`, skipping `busy`.
    std::vector<domain_row> due(queue q, wall_time now, std::size_t limit,
                                const std::unordered_set<std::int64_t>& busy);

    /// When the next row of the request queue falls due after `now`; nullopt when none is
    /// waiting for a time (rows arrive only by a write then).
    std::optional<wall_time> next_due_request(wall_time now);

    /// Changes when another connection (a user's INSERT, the `certq` tool) committed work for
    /// the queue, not on this connection's own commits: SQLite's PRAGMA data_version, or on
    /// PostgreSQL the count of the triggers' NOTIFY certq_queue received so far.
    std::int64_t data_version();

    /// pg_try_advisory_lock(leader_lock_key) on this connection: true when this process now
    /// holds the lock that makes it the one working the queue, and then listens for the
    /// schema's NOTIFYs. Always true on SQLite (one file, one daemon).
    bool take_leadership();
    /// 'certq' in ASCII.
    static constexpr std::int64_t leader_lock_key = 0x6365727471;

    /// Writes the changes in one transaction. Returns the ids whose row had moved on (stale
    /// decisions, left unwritten).
    std::vector<std::int64_t> apply(std::span<const domain_change> changes, durability d);

    /// The step into `requesting` for a new request: in one durable transaction, checks the
    /// claim against the budgets and, if they allow it, writes the change and records the
    /// request in the ledger. Nothing is written when a budget is spent or the row moved on.
    admission admit(const domain_change& change, const budget_claim& claim, const budget& limits,
                    wall_time now);

    /// Records the names a row asks for, unless one of them is already on another live row
    /// (any state but invalid and removed), or another live row names the same workload: then
    /// nothing is written and the answer names that row, e.g. `"shop.example.com" is already on
    /// row #12, shop.example.com`.
    std::optional<std::string> claim_names(std::int64_t id, const std::vector<std::string>& names,
                                           std::optional<std::int64_t> workload = std::nullopt);

    /// This database's identity (for webhook-ids).
    std::string instance_id();
    /// Where webhook `url` is: events up to the answer are done. A webhook seen for the first
    /// time starts at the newest event (it is told what happens from now on).
    std::int64_t webhook_cursor(const std::string& url);
    void set_webhook_cursor(const std::string& url, std::int64_t delivered_through);
    /// Deletes up to `limit` events older than `before` that every webhook in `webhooks` has
    /// already passed (all of them when there is none: a receiver added later starts from its
    /// first start anyway). Returns how many went. Cursors of receivers no longer configured
    /// hold nothing back.
    std::int64_t prune_events(wall_time before, const std::vector<std::string>& webhooks, std::size_t limit);

    /// Events after `id`, oldest first, at most `limit`.
    std::vector<event_row> events_after(std::int64_t id, std::size_t limit);

    /// Active or moved rows whose certificate ends before `before` (monitor.expiry_warning).
    std::int64_t expiring(wall_time before);

    /// Retired certificates due for their DELETE, oldest first.
    std::vector<retired_certificate> due_retired(wall_time now, std::size_t limit);
    /// The DELETE went through (or the certificate was gone): forget it.
    void retired_deleted(std::int64_t certificate_id);
    /// Azion refused the DELETE: try again at `next_at`.
    void retired_refused(std::int64_t certificate_id, wall_time next_at);

    /// certq's resolvers were down for `outage`: every row waiting for DNS gets that time
    /// back (it is not counted against dns.recheck.give_up_after).
    void excuse_dns_wait(std::chrono::milliseconds outage);

    std::optional<domain_row> find(std::int64_t id);

    /// Rows not in a terminal state.
    std::int64_t unfinished();

    std::map<domain_state, std::int64_t> counts();

    /// The connection, for the tools' and tests' own SQL.
    sql::connection& sql() { return *db_; }
    /// The SQLite connection underneath (tests on SQLite files); throws std::logic_error on
    /// PostgreSQL.
    sqlite::database& db();

private:
    /// Writes the changes inside the caller's transaction; returns the stale ids.
    std::vector<std::int64_t> write(std::span<const domain_change> changes);
    std::string due_sql(queue q) const;

    std::unique_ptr<sql::connection> db_;
    std::int64_t notified_ = 0; // NOTIFY certq_queue received (PostgreSQL)
    std::string due_sql_[3];    // by queue
    std::string update_sql_;
    std::string next_due_sql_;
};

} // namespace certq::store
