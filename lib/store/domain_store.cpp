#include "store/domain_store.hpp"

#include "store/migrations.hpp"
#include "store/postgres.hpp"
#include "store/status.hpp"

#include <charconv>
#include <chrono>
#include <limits>

namespace certq::store {
namespace {

constexpr const char* row_columns =
    "id, hostname, alternative_names, certificate_name, state, detail, certificate_id, "
    "generation, request_name, attempts, polls, next_attempt_at, state_since, validity, dns_checks, "
    "CASE WHEN wanted = 'absent' THEN 1 ELSE 0 END, dns_excused_ms, workload_id, attached_workload_id, previous_certificate_id, "
    "renewed_at, attach_tries, valid_until";

domain_row read_row(const sql::cursor& s) {
    domain_row r;
    r.id = s.column_int(0);
    r.hostname = s.column_text(1);
    r.alternative_names = s.column_optional_text(2);
    r.certificate_name = s.column_optional_text(3);
    // The CHECK constraint admits only known words; a tampered file falls back to `failed`
    // rather than stopping the queue.
    r.state = parse_state(s.column_text(4)).value_or(domain_state::failed);
    r.detail = s.column_optional_text(5);
    r.certificate_id = s.column_optional_int(6);
    r.generation = s.column_int(7);
    r.request_name = s.column_optional_text(8);
    r.attempts = static_cast<int>(s.column_int(9));
    r.polls = static_cast<int>(s.column_int(10));
    if (auto at = s.column_optional_int(11)) r.next_attempt_at = from_unix_ms(*at);
    r.state_since = from_unix_ms(s.column_int(12));
    r.validity = s.column_optional_text(13);
    r.dns_checks = static_cast<int>(s.column_int(14));
    r.wanted_absent = s.column_int(15) != 0;
    r.dns_excused = std::chrono::milliseconds{s.column_int(16)};
    // A user's column: whatever was stored is read as text and must be a positive integer.
    if (auto text = s.column_optional_text(17)) {
        std::int64_t id = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
        if (ec == std::errc{} && end == text->data() + text->size() && id > 0) r.workload_id = id;
        else r.workload_id_text = std::move(*text);
    }
    r.attached_workload_id = s.column_optional_int(18);
    r.previous_certificate_id = s.column_optional_int(19);
    r.renewed_at = s.column_optional_text(20);
    r.attach_tries = static_cast<int>(s.column_int(21));
    if (auto at = s.column_optional_int(22)) r.valid_until = from_unix_ms(*at);
    return r;
}

std::string select_sql(const std::string& where) {
    return std::string("SELECT ") + row_columns + " FROM domains " + where;
}

// The queues, word for word as in migrations/0007_workloads.sql: SQLite uses a partial index
// only when the query's WHERE contains the index's.
constexpr const char* request_queue =
    "((state IN ('queued', 'dns_waiting', 'throttled', 'requesting', 'attaching')\n"
    "        OR (state = 'pending' AND certificate_id IS NULL)) AND wanted = 'present')\n"
    "   OR (wanted = 'absent' AND state != 'removed')";
constexpr const char* poll_queue = "state = 'pending' AND certificate_id IS NOT NULL AND wanted = 'present'";
constexpr const char* monitor_queue = "state IN ('active', 'moved') AND wanted = 'present'";
constexpr const char* unfinished_rows =
    "state NOT IN ('invalid', 'dns_failed', 'active', 'moved', 'failed', 'removed')\n"
    "   OR (wanted = 'absent' AND state != 'removed')";

} // namespace

domain_store::domain_store(const std::string& database, const std::optional<std::string>& password)
    : db_(sql::open(database, password)) {
    sql::migrate(*db_);
    // The hot statements' text, spelled once for this engine.
    for (auto q : {queue::requests, queue::polls, queue::monitor}) due_sql_[static_cast<int>(q)] = due_sql(q);
    update_sql_ =
        "UPDATE domains SET state = ?1, detail = ?2, certificate_id = ?3, "
        "request_name = ?4, attempts = ?5, polls = ?6, next_attempt_at = ?7, "
        "validity = ?8, dns_checks = ?12, attached_workload_id = ?13, "
        "previous_certificate_id = ?14, renewed_at = ?15, attach_tries = ?16, valid_until = ?17, "
        // The daemon sets `wanted` only to offboard (a row `moved` past moved.remove_after).
        "wanted = CASE WHEN ?18 = 1 THEN 'absent' ELSE wanted END, "
        // Only the excuse job adds to dns_excused_ms; a decision only resets it, as the row
        // enters dns_waiting (so a decision made before an excuse landed cannot overwrite it).
        "dns_excused_ms = CASE WHEN ?1 = 'dns_waiting' AND ?10 != 'dns_waiting' THEN 0 ELSE dns_excused_ms END, "
        "updated_at = " + std::string(db_->now_text()) + " WHERE id = ?9 AND state = ?10 AND generation = ?11";
    next_due_sql_ = "SELECT min(coalesce(next_attempt_at, 0)) FROM domains" + db_->indexed_by("domains_request_queue") +
                    "WHERE (" + std::string(request_queue) + ") AND coalesce(next_attempt_at, 0) > ?1";
}

domain_store::~domain_store() = default;

std::string domain_store::due_sql(queue q) const {
    const auto& c = *db_;
    const char* where = q == queue::requests ? request_queue : q == queue::polls ? poll_queue : monitor_queue;
    const char* index = q == queue::requests ? "domains_request_queue"
                        : q == queue::polls  ? "domains_poll_queue"
                                             : "domains_monitor_queue";
    return select_sql(c.indexed_by(index) + "WHERE (" + std::string(where) +
                      ") AND coalesce(next_attempt_at, 0) <= ?1 ORDER BY coalesce(next_attempt_at, 0), id LIMIT ?2");
}

std::vector<domain_row> domain_store::due(queue q, wall_time now, std::size_t limit,
                                          const std::unordered_set<std::int64_t>& busy) {
    std::vector<domain_row> rows;
    if (limit == 0) return rows;
    auto select = db_->query(due_sql_[static_cast<int>(q)], {to_unix_ms(now), static_cast<std::int64_t>(limit + busy.size())});
    while (select->step()) {
        if (busy.count(select->column_int(0))) continue;
        rows.push_back(read_row(*select));
        if (rows.size() == limit) break;
    }
    return rows;
}

std::optional<wall_time> domain_store::next_due_request(wall_time now) {
    auto next = db_->query(next_due_sql_, {to_unix_ms(now)});
    if (!next->step() || next->is_null(0)) return std::nullopt;
    return from_unix_ms(next->column_int(0));
}

std::int64_t domain_store::data_version() {
    if (auto* pg = db_->pg_handle()) {
        // What the triggers NOTIFY (an INSERT, a re-queue, an offboarding) since the last look.
        notified_ += static_cast<std::int64_t>(pg->notifications().size());
        return notified_;
    }
    auto version = db_->query("PRAGMA data_version");
    version->step();
    return version->column_int(0);
}

bool domain_store::take_leadership() {
    auto* pg = db_->pg_handle();
    if (!pg) return true;
    if (!pg->try_advisory_lock(leader_lock_key)) return false;
    pg->listen("certq_queue"); // only now: a standby would hear, and keep, every NOTIFY
    return true;
}

std::vector<std::int64_t> domain_store::write(std::span<const domain_change> changes) {
    std::vector<std::int64_t> stale;
    for (const auto& c : changes) {
        const auto& a = c.after;
        std::optional<std::int64_t> next_at, valid_until;
        if (a.next_attempt_at) next_at = to_unix_ms(*a.next_attempt_at);
        if (a.valid_until) valid_until = to_unix_ms(*a.valid_until);
        const auto changed = db_->run(update_sql_, {to_string(a.state), a.detail, a.certificate_id, a.request_name, a.attempts,
                                               a.polls, next_at, a.validity, a.id, to_string(c.before_state),
                                               c.before_generation, a.dns_checks, a.attached_workload_id,
                                               a.previous_certificate_id, a.renewed_at, a.attach_tries, valid_until,
                                               a.wanted_absent ? 1 : 0});
        if (changed == 0) {
            stale.push_back(a.id);
            continue;
        }
        if (c.renewed)
            db_->run("INSERT INTO events (domain_id, kind, detail, hostname, names, certificate_id, workload_id) "
                     "SELECT id, 'renewed', 'certificate ' || coalesce(CAST(certificate_id AS TEXT), '?') || "
                     "' renewed by Azion' || coalesce(', valid until ' || validity, ''), hostname, names, "
                     "certificate_id, workload_id FROM domains WHERE id = ?1",
                     {a.id});
    }
    return stale;
}

std::string domain_store::instance_id() {
    auto stmt = db_->query("SELECT id FROM instance LIMIT 1");
    return stmt->step() ? stmt->column_text(0) : std::string("0");
}

std::int64_t domain_store::webhook_cursor(const std::string& url) {
    sql::transaction tx(*db_);
    const char* read = "SELECT delivered_through FROM webhook_cursors WHERE webhook = ?1";
    if (auto cursor = db_->query(read, {url}); cursor->step()) return cursor->column_int(0);
    db_->run("INSERT INTO webhook_cursors (webhook, delivered_through) SELECT CAST(?1 AS TEXT), coalesce(max(id), 0) "
             "FROM events",
             {url});
    auto cursor = db_->query(read, {url});
    const auto through = cursor->step() ? cursor->column_int(0) : 0;
    cursor.reset();
    tx.commit();
    return through;
}

void domain_store::set_webhook_cursor(const std::string& url, std::int64_t delivered_through) {
    db_->run("UPDATE webhook_cursors SET delivered_through = " + std::string(db_->greatest()) +
                 "(delivered_through, ?2) WHERE webhook = ?1",
             {url, delivered_through});
}

std::int64_t domain_store::prune_events(wall_time before, const std::vector<std::string>& webhooks, std::size_t limit) {
    // The newest event every configured receiver is past (a receiver not started yet holds
    // back nothing: it will start at the newest event).
    std::int64_t through = std::numeric_limits<std::int64_t>::max();
    for (const auto& url : webhooks) {
        auto cursor = db_->query("SELECT delivered_through FROM webhook_cursors WHERE webhook = ?1", {url});
        if (cursor->step()) through = std::min(through, cursor->column_int(0));
    }
    // The newest event always stays: SQLite numbers a new row max(id) + 1, so an emptied table
    // would start again at 1, below every receiver's cursor, and those events would never go out.
    return db_->run("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ?1 AND at < ?2 "
                    "AND id < (SELECT max(id) FROM events) ORDER BY id LIMIT ?3)",
                    {through, format_iso8601(before), static_cast<std::int64_t>(limit)});
}

std::vector<event_row> domain_store::events_after(std::int64_t id, std::size_t limit) {
    auto stmt = db_->query("SELECT id, domain_id, kind, from_state, to_state, at, detail, hostname, names, "
                           "certificate_id, workload_id FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
                           {id, static_cast<std::int64_t>(limit)});
    std::vector<event_row> out;
    while (stmt->step()) {
        event_row e;
        e.id = stmt->column_int(0);
        e.domain_id = stmt->column_int(1);
        e.kind = stmt->column_text(2);
        e.from_state = stmt->column_optional_text(3);
        e.to_state = stmt->column_optional_text(4);
        e.at = stmt->column_text(5);
        e.detail = stmt->column_optional_text(6);
        e.hostname = stmt->column_optional_text(7);
        e.names = stmt->column_optional_text(8);
        e.certificate_id = stmt->column_optional_int(9);
        e.workload_id = stmt->column_optional_int(10);
        out.push_back(std::move(e));
    }
    return out;
}

std::int64_t domain_store::expiring(wall_time before) { return expiring_before(*db_, before); }

std::vector<retired_certificate> domain_store::due_retired(wall_time now, std::size_t limit) {
    auto stmt = db_->query("SELECT certificate_id, domain_id, attempts FROM retired_certificates" +
                               db_->indexed_by("retired_certificates_due") + "WHERE next_at <= ?1 ORDER BY next_at LIMIT ?2",
                           {to_unix_ms(now), static_cast<std::int64_t>(limit)});
    std::vector<retired_certificate> out;
    while (stmt->step())
        out.push_back({stmt->column_int(0), stmt->column_int(1), static_cast<int>(stmt->column_int(2))});
    return out;
}

void domain_store::retired_deleted(std::int64_t certificate_id) {
    db_->run("DELETE FROM retired_certificates WHERE certificate_id = ?1", {certificate_id});
}

void domain_store::retired_refused(std::int64_t certificate_id, wall_time next_at) {
    db_->run("UPDATE retired_certificates SET attempts = attempts + 1, next_at = ?2 WHERE certificate_id = ?1",
             {certificate_id, to_unix_ms(next_at)});
}

void domain_store::excuse_dns_wait(std::chrono::milliseconds outage) {
    db_->run("UPDATE domains SET dns_excused_ms = dns_excused_ms + ?1 WHERE state = 'dns_waiting'",
             {static_cast<std::int64_t>(outage.count())});
}

namespace {
sql::commit_durability durability_of(durability d) {
    return d == durability::full ? sql::commit_durability::full : sql::commit_durability::normal;
}
} // namespace

std::vector<std::int64_t> domain_store::apply(std::span<const domain_change> changes,
                                              durability d) {
    if (changes.empty()) return {};
    sql::transaction tx(*db_, durability_of(d));
    auto stale = write(changes);
    tx.commit();
    return stale;
}

admission domain_store::admit(const domain_change& change, const budget_claim& claim,
                              const budget& limits, wall_time now) {
    sql::transaction tx(*db_, sql::commit_durability::full);
    // The guarded write first: a row that moved on is stale whatever the budgets say. When a
    // budget turns out spent below, returning without commit rolls the write back.
    if (!write(std::span<const domain_change>(&change, 1)).empty()) return {admission::result::stale, {}, {}};
    const auto since = to_unix_ms(now) - limits.window.count();
    // When the (count - limit + 1)-th oldest request in the window leaves it, a slot frees.
    const auto resume_after = [&](const std::string& sql, const std::string& key, std::int64_t count, int limit) {
        auto oldest = db_->query(sql, {key, since, count - limit});
        return oldest->step() ? from_unix_ms(oldest->column_int(0)) + limits.window : now + limits.window;
    };
    for (const auto& domain : claim.registered_domains) {
        auto count = db_->query("SELECT count(*) FROM le_request_domains WHERE registered_domain = ?1 AND at > ?2",
                                {domain, since});
        const auto n = count->step() ? count->column_int(0) : 0;
        if (n < limits.per_registered_domain) continue;
        admission a;
        a.outcome = admission::result::budget_spent;
        a.resume_at = resume_after("SELECT at FROM le_request_domains WHERE registered_domain = ?1 AND at > ?2 "
                                   "ORDER BY at LIMIT 1 OFFSET ?3",
                                   domain, n, limits.per_registered_domain);
        a.detail = "Let's Encrypt budget for " + domain + " is spent (" + std::to_string(n) +
                   " requests in " + format_duration(limits.window) + ", at most " +
                   std::to_string(limits.per_registered_domain) + "); goes on at " + format_iso8601(a.resume_at);
        return a;
    }
    {
        auto count = db_->query("SELECT count(*) FROM le_requests WHERE names_key = ?1 AND at > ?2",
                                {claim.names_key, since});
        const auto n = count->step() ? count->column_int(0) : 0;
        if (n >= limits.per_name_set) {
            admission a;
            a.outcome = admission::result::budget_spent;
            a.resume_at = resume_after("SELECT at FROM le_requests WHERE names_key = ?1 AND at > ?2 "
                                       "ORDER BY at LIMIT 1 OFFSET ?3",
                                       claim.names_key, n, limits.per_name_set);
            a.detail = "these exact names were requested " + std::to_string(n) + " times in " +
                       format_duration(limits.window) + " (Let's Encrypt allows " +
                       std::to_string(limits.per_name_set) + " per set of names); goes on at " +
                       format_iso8601(a.resume_at);
            return a;
        }
    }
    record_request(*db_, change.after.id, claim, now);
    tx.commit();
    return {};
}

void record_request(sql::connection& db, std::int64_t domain_id, const budget_claim& claim, wall_time at) {
    auto request = db.query("INSERT INTO le_requests (domain_id, names_key, at) VALUES (?1, ?2, ?3) RETURNING id",
                            {domain_id, claim.names_key, to_unix_ms(at)});
    request->step();
    const auto request_id = request->column_int(0);
    request.reset(); // SQLite's INSERT … RETURNING completes when its statement is reset
    for (const auto& domain : claim.registered_domains)
        db.run("INSERT INTO le_request_domains (request_id, registered_domain, at) VALUES (?1, ?2, ?3)",
               {request_id, domain, to_unix_ms(at)});
}

std::optional<std::string> domain_store::claim_names(std::int64_t id, const std::vector<std::string>& names,
                                                     std::optional<std::int64_t> workload) {
    sql::transaction tx(*db_);
    if (workload) {
        // One workload serves one certificate: a second live row for it would take it over. The
        // later row is refused: the one that came to intake after another row claimed the
        // workload, or, of two not yet claimed, the one inserted later.
        auto other = db_->query("SELECT id, hostname FROM domains" + db_->indexed_by("domains_workload") +
                                    "WHERE workload_id = ?1 AND id != ?2 AND state NOT IN ('invalid', 'removed') "
                                    "AND (id < ?2 OR EXISTS (SELECT 1 FROM row_names n WHERE n.domain_id = domains.id)) "
                                    "LIMIT 1",
                                {*workload, id});
        if (other->step())
            return "workload " + std::to_string(*workload) + " is already named by row #" +
                   std::to_string(other->column_int(0)) + ", " + other->column_text(1) +
                   " (a workload serves one certificate for all its domains)";
    }
    for (const auto& name : names) {
        auto taken = db_->query("SELECT d.id, d.hostname FROM row_names n JOIN domains d ON d.id = n.domain_id "
                                "WHERE n.name = ?1 AND n.domain_id != ?2 AND d.state NOT IN ('invalid', 'removed') "
                                "LIMIT 1",
                                {name, id});
        if (taken->step())
            return "\"" + name + "\" is already on row #" + std::to_string(taken->column_int(0)) + ", " +
                   taken->column_text(1);
    }
    db_->run("DELETE FROM row_names WHERE domain_id = ?1", {id});
    std::string json = "[";
    for (const auto& name : names) {
        db_->run("INSERT INTO row_names (domain_id, name) VALUES (?1, ?2)", {id, name});
        json += (json.size() > 1 ? ",\"" : "\"") + name + "\"";
    }
    json += "]";
    db_->run("UPDATE domains SET names = ?1 WHERE id = ?2", {json, id});
    tx.commit();
    return std::nullopt;
}

std::optional<domain_row> domain_store::find(std::int64_t id) {
    auto stmt = db_->query(select_sql("WHERE id = ?1"), {id});
    if (!stmt->step()) return std::nullopt;
    return read_row(*stmt);
}

std::int64_t domain_store::unfinished() {
    auto stmt = db_->query("SELECT count(*) FROM domains" + db_->indexed_by("domains_unfinished") + "WHERE " +
                           unfinished_rows);
    return stmt->step() ? stmt->column_int(0) : 0;
}

std::map<domain_state, std::int64_t> domain_store::counts() {
    std::map<domain_state, std::int64_t> out;
    auto stmt = db_->query("SELECT state, count(*) FROM domains GROUP BY state");
    while (stmt->step())
        if (auto s = parse_state(stmt->column_text(0))) out[*s] = stmt->column_int(1);
    return out;
}

sqlite::database& domain_store::db() {
    if (auto* handle = db_->sqlite_handle()) return *handle;
    throw std::logic_error("domain_store::db() is for SQLite databases; use sql()");
}

} // namespace certq::store
