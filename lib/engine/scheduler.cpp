#include "engine/scheduler.hpp"

#include "engine/task_failure.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace certq::engine {

namespace asio = boost::asio;
using store::domain_change;
using store::domain_row;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_ids_per_list = 100;
constexpr auto db_pause = std::chrono::seconds{1};

bool needs_api(action a) {
    return a == action::send_request || a == action::lookup_by_name || a == action::read_status ||
           a == action::delete_certificate || a == action::read_workload || a == action::patch_workload ||
           a == action::read_previous;
}

// What a failed call means for the row. Credentials and paths that Azion rejects (401, 403,
// 404 on a collection) are the operator's to fix, not the row's: they are retried like an
// outage instead of failing every row in the queue.
event failure_event(const boost::system::error_code& ec, const azion::diagnostics& diag) {
    if (ec == azion::error::client_error && diag.http_status != 401 && diag.http_status != 403)
        return request_refused{diag};
    return call_failed{diag};
}

// Jobs for the database thread (see db_worker::run).
struct apply_job {
    std::vector<domain_change> changes;
    store::durability durability;
    std::vector<std::int64_t> operator()(store::domain_store& s) const { return s.apply(changes, durability); }
};

struct due_job {
    store::domain_store::queue queue;
    wall_time at;
    std::size_t room;
    std::unordered_set<std::int64_t> busy;
    std::vector<domain_row> operator()(store::domain_store& s) const {
        return s.due(queue, at, room, busy);
    }
};

struct admit_job {
    domain_change change;
    store::budget_claim claim;
    store::budget limits;
    wall_time at;
    store::admission operator()(store::domain_store& s) const { return s.admit(change, claim, limits, at); }
};

struct claim_job {
    std::int64_t id;
    std::vector<std::string> names;
    std::optional<std::int64_t> workload;
    std::optional<std::string> operator()(store::domain_store& s) const { return s.claim_names(id, names, workload); }
};

// The request queue's due rows, with what tells the next turn whether to read it again.
struct request_scan_job {
    wall_time at;
    std::size_t room;
    std::unordered_set<std::int64_t> busy;
    struct result {
        std::vector<domain_row> rows;
        std::optional<wall_time> next_due;
        std::int64_t version = 0;
    };
    result operator()(store::domain_store& s) const {
        result r;
        r.version = s.data_version(); // before the read: a commit after it is seen next turn
        r.rows = s.due(store::domain_store::queue::requests, at, room, busy);
        if (r.rows.size() < room) r.next_due = s.next_due_request(at);
        return r;
    }
};

struct version_job {
    std::int64_t operator()(store::domain_store& s) const { return s.data_version(); }
};

struct counts_job {
    std::map<domain_state, std::int64_t> operator()(store::domain_store& s) const { return s.counts(); }
};

struct excuse_job {
    std::chrono::milliseconds outage;
    bool operator()(store::domain_store& s) const {
        s.excuse_dns_wait(outage);
        return true;
    }
};

struct expiring_job {
    wall_time before;
    std::int64_t operator()(store::domain_store& s) const { return s.expiring(before); }
};

struct unfinished_job {
    std::int64_t operator()(store::domain_store& s) const { return s.unfinished(); }
};

constexpr log_task_failure log_spawn_failure{"a row task"};

} // namespace

scheduler::scheduler(asio::any_io_executor ex, const config& cfg, azion::client& api,
                     dns_gate& dns, db_worker& db, scheduler_options options)
    : ex_(ex), api_(api), dns_(dns), db_(db), policy_(policy::from(cfg)), options_(options),
      wakeup_(ex) {}

moment scheduler::now() {
    return {wall_now(), std::uniform_real_distribution<double>(0.0, 1.0)(random_)};
}

void scheduler::stop() {
    if (stopping_) return;
    stopping_ = true;
    spdlog::info("stopping: no new work; {} row(s) in progress", busy_.size());
    wakeup_.cancel();
}

void scheduler::release(std::int64_t id, store::domain_store::queue q) {
    busy_.erase(id);
    auto& count = q == store::domain_store::queue::requests ? busy_requests_
                  : q == store::domain_store::queue::polls  ? busy_polls_
                                                            : busy_monitor_;
    --count;
    rows_released_ = true;
    // When the last scan left due rows behind, look again once half the places are free:
    // refilling in chunks costs one query per chunk rather than one per row.
    const bool refill = backlog_ && busy_requests_ <= options_.max_request_rows / 2;
    if (refill) scan_now_ = true;
    if (refill || (stopping_ && busy_.empty())) wakeup_.cancel();
}

void scheduler::log_failure(const domain_row& row, action what, const event& ev) const {
    const auto* failed = std::get_if<call_failed>(&ev);
    if (!failed) return;
    const char* doing = what == action::send_request     ? "request"
                        : what == action::lookup_by_name ? "look-up by name"
                                                         : "status read";
    // 401/403 mean the token or the account, not this row: say so where operators look.
    // 429s are the limiter's to report, once per congestion event rather than once per row.
    if (failed->diag.http_status == 429) {
        spdlog::debug("row {} {}: {} throttled: {}", row.id, row.hostname, doing, failed->diag.summary());
        return;
    }
    if (failed->diag.http_status == 401 || failed->diag.http_status == 403)
        spdlog::error("row {} {}: Azion refused the token ({}); check azion.token_file / AZION_TOKEN",
                      row.id, row.hostname, failed->diag.summary());
    else
        spdlog::warn("row {} {}: {} failed: {}; retrying", row.id, row.hostname, doing,
                     failed->diag.summary());
}

void scheduler::log_change(const domain_row& before, const domain_row& after) const {
    if (before.state == after.state) return;
    if (options_.metrics) ++options_.metrics->transitions[std::string(to_string(after.state))];
    spdlog::info("row {} {}: {} -> {}{}{}", after.id, after.hostname, to_string(before.state),
                 to_string(after.state), after.detail ? ": " : "", after.detail.value_or(""));
}

asio::awaitable<bool> scheduler::save(std::vector<domain_change> changes,
                                      store::durability durability) {
    try {
        apply_job job{std::move(changes), durability};
        auto stale = co_await db_.run(std::move(job));
        // A row changed under us (a user re-queued or edited it): its new state wins.
        for (auto id : stale) spdlog::info("row {} changed meanwhile; leaving it to its new state", id);
        co_return stale.empty();
    } catch (const store::database_error& e) {
        spdlog::warn("database write failed, pausing work for {}: {}", format_duration(db_pause),
                     e.what());
        db_paused_until_ = std::chrono::steady_clock::now() + db_pause;
        co_return false;
    }
}

asio::awaitable<std::optional<store::admission>> scheduler::admit(const domain_row& row,
                                                                   const decision& d) {
    try {
        admit_job job{{row.state, row.generation, d.after}, *d.claim, policy_.budget, wall_now()};
        auto a = co_await db_.run(std::move(job));
        if (a.outcome == store::admission::result::stale) {
            spdlog::info("row {} changed meanwhile; leaving it to its new state", row.id);
            co_return std::nullopt;
        }
        co_return a;
    } catch (const store::database_error& e) {
        spdlog::warn("database write failed, pausing work for {}: {}", format_duration(db_pause), e.what());
        db_paused_until_ = std::chrono::steady_clock::now() + db_pause;
        co_return std::nullopt;
    }
}

asio::awaitable<event> scheduler::perform(const decision& d, azion::client::slot& slot) {
    const auto& row = d.after;
    switch (d.next) {
    case action::claim_names: {
        std::string why;
        auto names = requested_names(row, why);
        if (!names) co_return names_claimed{why};
        try {
            claim_job job{row.id, std::move(*names), row.workload_id};
            auto conflict = co_await db_.run(std::move(job));
            co_return names_claimed{conflict.value_or("")};
        } catch (const store::database_error& e) {
            azion::diagnostics diag;
            diag.message = std::string("database: ") + e.what();
            co_return call_failed{diag};
        }
    }
    case action::check_dns: {
        std::string why;
        auto names = requested_names(row, why);
        if (!names) names.emplace();
        auto verdict = co_await dns_.check(*names);
        if (options_.metrics) {
            const char* result = verdict.result == dns_verdict::outcome::points         ? "points"
                                 : verdict.result == dns_verdict::outcome::not_yet      ? "not_pointing"
                                 : verdict.result == dns_verdict::outcome::inconclusive ? "inconclusive"
                                                                                        : "resolvers_down";
            ++options_.metrics->dns_checks[result];
        }
        if (verdict.resolver_outage.count() > 0) {
            // Every row waiting for DNS gets the outage back before any decision on this
            // verdict is written (this row's decision adds it itself: it was read before).
            try {
                excuse_job job{verdict.resolver_outage};
                co_await db_.run(std::move(job));
            } catch (const store::database_error& e) {
                spdlog::error("could not excuse rows waiting for DNS for the resolvers' outage of {}: {}",
                              format_duration(verdict.resolver_outage), e.what());
            }
        }
        co_return verdict;
    }
    case action::send_request: {
        auto r = co_await api_.request_certificate(slot, *d.request);
        if (r) co_return certificate_seen{std::move(r.value)};
        if (r.ec == azion::error::rate_limited) co_return call_failed{r.diag, true};
        co_return failure_event(r.ec, r.diag);
    }
    case action::lookup_by_name: {
        auto r = co_await api_.find_by_name(slot, row.request_name.value_or(""));
        if (!r) co_return failure_event(r.ec, r.diag);
        if (r.value.empty()) co_return name_not_found{};
        if (r.value.size() > 1)
            spdlog::warn("row {}: {} certificates are named {} at Azion; following the first",
                         row.id, r.value.size(), *row.request_name);
        co_return certificate_seen{std::move(r.value.front())};
    }
    case action::read_status: {
        auto r = co_await api_.get_certificate(slot, row.certificate_id.value_or(0));
        if (r) co_return certificate_seen{std::move(r.value)};
        if (r.ec == azion::error::not_found) co_return certificate_gone{};
        co_return call_failed{r.diag};
    }
    case action::delete_certificate: {
        auto r = co_await api_.delete_certificate(slot, row.certificate_id.value_or(0));
        if (r) co_return certificate_deleted{};
        co_return failure_event(r.ec, r.diag);
    }
    case action::read_previous: {
        auto r = co_await api_.get_certificate(slot, row.previous_certificate_id.value_or(0));
        if (r) co_return previous_seen{std::move(r.value)};
        if (r.ec == azion::error::not_found) co_return previous_seen{};
        co_return call_failed{r.diag};
    }
    case action::read_workload: {
        auto r = co_await api_.get_workload(slot, d.workload.value_or(0));
        if (r) co_return workload_seen{std::move(r.value), false};
        if (r.ec == azion::error::not_found) co_return workload_missing{};
        co_return failure_event(r.ec, r.diag);
    }
    case action::patch_workload: {
        auto r = co_await api_.patch_workload(slot, d.workload.value_or(0), d.patch.value_or(azion::workload_patch{}));
        if (r) co_return workload_seen{std::move(r.value), true};
        if (r.ec == azion::error::not_found) co_return workload_missing{};
        co_return failure_event(r.ec, r.diag);
    }
    case action::none: break;
    }
    co_return call_failed{};
}

asio::awaitable<void> scheduler::work_on_row(domain_row row) {
    const claim held{this, {row.id}, store::domain_store::queue::requests};
    // Changes to one workload are serialised: a read-modify-write of its domains must not
    // interleave with another (Azion has no version field to guard it).
    struct workload_guard {
        std::set<std::int64_t>& busy;
        std::optional<std::int64_t> held;
        ~workload_guard() {
            if (held) busy.erase(*held);
        }
    } workload{workloads_busy_, std::nullopt};
    auto d = on_due(row, policy_, now());
    while (true) {
        if (d.workload && workload.held != d.workload) {
            if (workload.held || workloads_busy_.count(*d.workload)) break; // busy: the row comes back when due
            workloads_busy_.insert(*d.workload);
            workload.held = d.workload;
        }
        azion::client::slot slot;
        if (needs_api(d.next)) {
            // The slot comes before the write: a row is committed as `requesting` only when
            // its POST is next in line, so few rows are ever "maybe sent".
            if (stopping_) break;
            slot = co_await api_.acquire_slot();
            if (!slot || stopping_) break;
        }
        if (d.changed && d.claim) {
            const auto admitted = co_await admit(row, d);
            if (!admitted) break;
            if (admitted->outcome == store::admission::result::budget_spent) {
                d = on_event(row, budget_spent{admitted->detail, admitted->resume_at}, policy_, now());
                continue;
            }
            log_change(row, d.after);
            if (d.after.state != row.state) d.after.state_since = wall_now();
            row = d.after;
        } else if (d.changed) {
            std::vector<domain_change> change;
            change.push_back({row.state, row.generation, d.after});
            if (!co_await save(std::move(change), d.durability)) break;
            log_change(row, d.after);
            if (d.after.state != row.state) d.after.state_since = wall_now();
            row = d.after;
        }
        if (d.next == action::none || (stopping_ && !slot)) break;
        auto ev = co_await perform(d, slot);
        slot = {};
        log_failure(row, d.next, ev);
        d = on_event(row, ev, policy_, now());
    }
}

asio::awaitable<void> scheduler::poll_batch(std::vector<domain_row> rows) {
    claim held{this, {}, store::domain_store::queue::polls};
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) {
        ids.push_back(*r.certificate_id);
        held.ids.push_back(r.id);
    }
    auto slot = co_await api_.acquire_slot();
    std::vector<domain_change> changes;
    std::vector<std::pair<domain_row, domain_row>> moved;
    auto decide = [&](const domain_row& row, const event& ev) {
        auto d = on_event(row, ev, policy_, now());
        if (!d.changed) return;
        changes.push_back({row.state, row.generation, d.after});
        moved.emplace_back(row, d.after);
    };
    if (slot && !stopping_) {
        auto listed = co_await api_.list_certificates(slot, ids);
        if (!listed)
            spdlog::warn("reading the status of {} certificate(s) failed: {}; retrying",
                         ids.size(), listed.diag.summary());
        std::map<std::int64_t, azion::certificate> by_id;
        for (auto& c : listed.value) by_id.emplace(c.id, std::move(c));
        for (const auto& row : rows) {
            if (!listed) {
                decide(row, call_failed{listed.diag});
                continue;
            }
            if (auto it = by_id.find(*row.certificate_id); it != by_id.end()) {
                decide(row, certificate_seen{it->second});
                continue;
            }
            // Not in the list: ask for it alone, so only a definite 404 ends the row.
            auto one = co_await api_.get_certificate(slot, *row.certificate_id);
            if (one) decide(row, certificate_seen{std::move(one.value)});
            else if (one.ec == azion::error::not_found) decide(row, certificate_gone{});
            else decide(row, call_failed{one.diag});
        }
    }
    slot = {};
    if (co_await save(std::move(changes), store::durability::normal))
        for (const auto& [before, after] : moved) log_change(before, after);
}

asio::awaitable<std::vector<domain_row>> scheduler::due(store::domain_store::queue q, wall_time at,
                                                       std::size_t room) {
    std::vector<domain_row> rows;
    if (room == 0) co_return rows;
    try {
        due_job job{q, at, room, busy_};
        rows = co_await db_.run(std::move(job));
    } catch (const store::database_error& e) {
        spdlog::warn("database read failed, pausing work for {}: {}", format_duration(db_pause),
                     e.what());
        db_paused_until_ = std::chrono::steady_clock::now() + db_pause;
    }
    co_return rows;
}

asio::awaitable<bool> scheduler::queue_may_have_changed(std::chrono::steady_clock::time_point now) {
    if (scan_now_ || !seen_version_ || now >= last_request_scan_ + options_.safety_scan) co_return true;
    if (now >= last_request_scan_ + options_.scan_interval &&
        (rows_released_ || (next_due_request_ && wall_now() >= *next_due_request_)))
        co_return true;
    // Nothing of certqd's own doing: only another connection's commit can have added rows.
    try {
        version_job job;
        co_return co_await db_.run(std::move(job)) != *seen_version_;
    } catch (const store::database_error& e) {
        spdlog::debug("reading data_version failed: {}", e.what());
        co_return true;
    }
}

asio::awaitable<bool> scheduler::scan() {
    using queue = store::domain_store::queue;
    const auto steady_now = std::chrono::steady_clock::now();
    if (steady_now < db_paused_until_) co_return false;

    const auto request_room = options_.max_request_rows - std::min(options_.max_request_rows, busy_requests_);
    bool looked = false;
    if (request_room > 0 && co_await queue_may_have_changed(steady_now)) {
        looked = true;
        scan_now_ = false;
        rows_released_ = false;
        last_request_scan_ = steady_now;
        request_scan_job job{wall_now(), request_room, busy_};
        try {
            auto found = co_await db_.run(std::move(job));
            seen_version_ = found.version;
            next_due_request_ = found.next_due;
            backlog_ = found.rows.size() == request_room;
            for (auto& row : found.rows) {
                busy_.insert(row.id);
                ++busy_requests_;
                asio::co_spawn(ex_, work_on_row(std::move(row)), log_spawn_failure);
            }
        } catch (const store::database_error& e) {
            spdlog::warn("database read failed, pausing work for {}: {}", format_duration(db_pause), e.what());
            db_paused_until_ = steady_now + db_pause;
            seen_version_.reset();
        }
    }

    if (steady_now >= next_retire_ && !retiring_ && !stopping_) {
        next_retire_ = steady_now + std::chrono::seconds{5};
        retiring_ = true;
        asio::co_spawn(ex_, retire(), log_spawn_failure);
    }
    if (steady_now >= next_prune_ && !stopping_) {
        next_prune_ = steady_now + std::chrono::minutes{10};
        asio::co_spawn(ex_, prune_events(), log_spawn_failure);
    }
    if (steady_now < next_poll_sweep_ || stopping_) co_return looked;
    next_poll_sweep_ = steady_now + options_.poll_sweep;
    co_await sweep(queue::polls, wall_now() + options_.poll_lead, busy_polls_);
    // The slow schedule takes rows due a little later too: a list call carries up to 100.
    co_await sweep(queue::monitor, wall_now() + options_.poll_lead, busy_monitor_);
    co_return looked;
}

asio::awaitable<void> scheduler::sweep(store::domain_store::queue q, wall_time until, std::size_t& busy) {
    const auto room = options_.max_poll_rows - std::min(options_.max_poll_rows, busy);
    auto rows = co_await due(q, until, room);
    for (std::size_t first = 0; first < rows.size(); first += max_ids_per_list) {
        const auto last = std::min(rows.size(), first + max_ids_per_list);
        std::vector<domain_row> batch(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(first)),
                                      std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(last)));
        for (const auto& row : batch) busy_.insert(row.id);
        busy += batch.size();
        if (q == store::domain_store::queue::polls) asio::co_spawn(ex_, poll_batch(std::move(batch)), log_spawn_failure);
        else asio::co_spawn(ex_, monitor_batch(std::move(batch)), log_spawn_failure);
    }
}

asio::awaitable<void> scheduler::report() {
    const auto now_steady = std::chrono::steady_clock::now();
    if (now_steady < next_report_ || (!options_.metrics && !options_.on_counts)) co_return;
    next_report_ = now_steady + options_.report_every;
    try {
        counts_job job;
        auto counts = co_await db_.run(std::move(job));
        if (options_.metrics) {
            options_.metrics->domains.clear();
            for (auto s : all_states) options_.metrics->domains[std::string(to_string(s))] = 0;
            for (const auto& [state, n] : counts) options_.metrics->domains[std::string(to_string(state))] = n;
        }
        if (options_.on_counts) options_.on_counts(counts);
        if (options_.metrics) {
            // A named job: gcc 12 mishandles temporaries inside co_await expressions.
            expiring_job expiring{wall_now() + policy_.expiry_warning};
            options_.metrics->certificates_expiring = co_await db_.run(std::move(expiring));
        }
    } catch (const store::database_error& e) {
        spdlog::debug("counting rows failed: {}", e.what());
    }
}

asio::awaitable<void> scheduler::run() {
    while (!stopping_) {
        const bool looked = co_await scan();
        co_await report();
        if (looked && options_.exit_when_done && busy_.empty()) {
            std::int64_t left = -1;
            try {
                unfinished_job job;
                left = co_await db_.run(std::move(job));
            } catch (const store::database_error& e) {
                spdlog::warn("database read failed: {}", e.what());
            }
            if (left == 0) {
                spdlog::info("every row is in a terminal state; exiting");
                break;
            }
        }
        if (scan_now_ && std::chrono::steady_clock::now() >= db_paused_until_) continue;
        wakeup_.expires_after(options_.watch_interval);
        co_await wakeup_.async_wait(use_nothrow);
    }
    stopping_ = true;
    // Calls under way may finish within the grace period; then they are cut, and the rows
    // they leave in `requesting` are reconciled by name on the next start.
    const auto deadline = std::chrono::steady_clock::now() + options_.grace;
    while (!busy_.empty() && std::chrono::steady_clock::now() < deadline) {
        wakeup_.expires_at(std::min(deadline, std::chrono::steady_clock::now() +
                                                  std::chrono::milliseconds{100}));
        co_await wakeup_.async_wait(use_nothrow);
    }
    api_.shutdown();
    while (!busy_.empty()) {
        wakeup_.expires_after(std::chrono::milliseconds{20});
        co_await wakeup_.async_wait(use_nothrow);
    }
}

} // namespace certq::engine
