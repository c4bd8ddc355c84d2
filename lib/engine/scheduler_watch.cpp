#include "engine/scheduler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <map>

// The scheduler's slow schedule: watching active certificates, and deleting the certificates
// that newer ones replaced. (scheduler.cpp has the way to a certificate.)

namespace certq::engine {

namespace asio = boost::asio;
using store::domain_change;
using store::domain_row;

namespace {

struct retired_job {
    static constexpr std::size_t chunk = 20;
    wall_time now;
    std::vector<store::retired_certificate> operator()(store::domain_store& s) const { return s.due_retired(now, chunk); }
};

struct retired_done_job {
    std::int64_t certificate_id;
    bool operator()(store::domain_store& s) const {
        s.retired_deleted(certificate_id);
        return true;
    }
};

struct retired_refused_job {
    std::int64_t certificate_id;
    wall_time next_at;
    bool operator()(store::domain_store& s) const {
        s.retired_refused(certificate_id, next_at);
        return true;
    }
};

struct prune_job {
    static constexpr std::size_t chunk = 5000;
    wall_time before;
    std::vector<std::string> webhooks;
    std::int64_t operator()(store::domain_store& s) const { return s.prune_events(before, webhooks, chunk); }
};

} // namespace

asio::awaitable<void> scheduler::prune_events() {
    // In chunks, each its own short transaction: users' writes and the pipeline's go between.
    std::int64_t pruned = 0;
    for (bool more = true; more && !stopping_;) {
        try {
            prune_job job{wall_now() - options_.keep_events, options_.webhook_urls};
            const auto n = co_await db_.run(std::move(job));
            pruned += n;
            more = n == static_cast<std::int64_t>(prune_job::chunk);
        } catch (const store::database_error& e) {
            spdlog::debug("deleting old events failed: {}", e.what());
            co_return;
        }
    }
    if (pruned > 0) spdlog::info("deleted {} event(s) older than {} that every webhook has passed", pruned,
                                 format_duration(options_.keep_events));
}

asio::awaitable<void> scheduler::monitor_batch(std::vector<domain_row> rows) {
    claim held{this, {}, store::domain_store::queue::monitor};
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) {
        held.ids.push_back(r.id);
        if (r.certificate_id) ids.push_back(*r.certificate_id);
    }
    std::map<std::int64_t, azion::certificate> by_id;
    bool listed = false;
    {
        auto slot = co_await api_.acquire_slot();
        if (!slot || stopping_) co_return;
        auto list = co_await api_.list_certificates(slot, ids);
        listed = static_cast<bool>(list);
        if (!listed)
            spdlog::warn("re-reading {} active certificate(s) failed: {}; trying again later", ids.size(),
                         list.diag.summary());
        for (auto& c : list.value) by_id.emplace(c.id, std::move(c));
    }
    std::vector<domain_change> changes;
    std::vector<std::pair<domain_row, domain_row>> moved;
    for (const auto& row : rows) {
        if (stopping_) break;
        monitor_report report;
        if (listed && row.certificate_id) {
            if (auto it = by_id.find(*row.certificate_id); it != by_id.end()) {
                report.certificate = it->second;
            } else {
                // Not in the list: only a definite 404 says it is gone.
                auto slot = co_await api_.acquire_slot();
                if (!slot) break;
                auto one = co_await api_.get_certificate(slot, *row.certificate_id);
                if (one) report.certificate = std::move(one.value);
                else report.gone = one.ec == azion::error::not_found;
            }
        }
        std::string why;
        if (auto names = requested_names(row, why)) report.dns = co_await dns_.check(*names);
        auto md = on_monitor(row, report, policy_, now());
        if (md.renewed) {
            spdlog::info("row {} {}: certificate {} renewed by Azion (renewed_at {}, valid until {})", row.id,
                         row.hostname, row.certificate_id.value_or(0), md.d.after.renewed_at.value_or("?"),
                         md.d.after.validity.value_or("?"));
            if (options_.metrics) ++options_.metrics->certificates_renewed;
        }
        if (!md.d.changed) continue;
        changes.push_back({row.state, row.generation, md.d.after, md.renewed});
        moved.emplace_back(row, md.d.after);
    }
    if (co_await save(std::move(changes), store::durability::normal))
        for (const auto& [before, after] : moved) log_change(before, after);
}

asio::awaitable<void> scheduler::retire() {
    struct done_flag {
        bool& flag;
        ~done_flag() { flag = false; }
    } reset{retiring_};
    // In chunks until none is due: a re-queue of many rows retires many certificates at once.
    for (bool more = true; more && !stopping_;) {
        std::vector<store::retired_certificate> due_now;
        try {
            retired_job job{wall_now()};
            due_now = co_await db_.run(std::move(job));
        } catch (const store::database_error& e) {
            spdlog::debug("reading retired certificates failed: {}", e.what());
            co_return;
        }
        more = due_now.size() == retired_job::chunk;
        for (const auto& r : due_now) {
            if (stopping_) co_return;
            auto slot = co_await api_.acquire_slot();
            if (!slot) co_return;
            auto deleted = co_await api_.delete_certificate(slot, r.certificate_id);
            slot = {};
            try {
                if (deleted) {
                    spdlog::info("certificate {} of row {} deleted at Azion: a newer one serves in its place",
                                 r.certificate_id, r.domain_id);
                    retired_done_job job{r.certificate_id};
                    co_await db_.run(std::move(job));
                } else {
                    const auto wait = backoff_delay({std::chrono::minutes{1}, std::chrono::hours{6}, {}}, r.attempts);
                    spdlog::warn("certificate {} of row {} could not be deleted at Azion: {}; trying again in {}",
                                 r.certificate_id, r.domain_id, deleted.diag.summary(), format_duration(wait));
                    retired_refused_job job{r.certificate_id, wall_now() + wait};
                    co_await db_.run(std::move(job));
                }
            } catch (const store::database_error& e) {
                spdlog::warn("recording a retired certificate failed: {}", e.what());
            }
        }
    }
}

} // namespace certq::engine
