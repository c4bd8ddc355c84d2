#pragma once
// Drives the state machine on the Asio loop: finds due rows, performs what the state machine
// decides (DNS stage, API calls, writes), and feeds the outcomes back. Single-threaded on its
// executor; the database runs on db_worker's thread.

#include "azion/client.hpp"
#include "engine/db_worker.hpp"
#include "engine/dns_gate.hpp"
#include "engine/state_machine.hpp"
#include "metrics/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>

namespace certq::engine {

struct scheduler_options {
    /// Finish (run() returns) once every row is in a terminal state.
    bool exit_when_done = false;
    /// How often the database is asked whether another connection committed (a user's
    /// INSERT or re-queue): a new row is picked up within this time. The question is one
    /// PRAGMA; the queue itself is read only when the answer is yes, a row falls due, rows
    /// were handed back, or `safety_scan` passed.
    std::chrono::milliseconds watch_interval{50};
    /// The least time between two reads of the queue prompted by certqd's own work.
    std::chrono::milliseconds scan_interval{250};
    /// The queue is read at least this often whatever the signs say.
    std::chrono::milliseconds safety_scan{std::chrono::seconds{10}};
    /// After stop(), how long calls already under way may take before they are cut.
    std::chrono::milliseconds grace{std::chrono::seconds{10}};
    /// Rows on their way to a certificate id being worked on at once (waiting for DNS, a
    /// slot, a token, or an answer). More wait in the table.
    std::size_t max_request_rows = 256;
    /// Pending rows being polled at once, in batches of up to 100 per list call (and as many
    /// active rows on the slow schedule).
    std::size_t max_poll_rows = 1000;
    /// Pending rows are swept this often, taking those due within `poll_lead` too, so that
    /// one list call carries many rows instead of one call per row.
    std::chrono::milliseconds poll_sweep{std::chrono::seconds{1}};
    std::chrono::milliseconds poll_lead{std::chrono::seconds{1}};
    /// Figures for /metrics (optional).
    metrics::registry* metrics = nullptr;
    /// Rows per state, read every `report_every` (for the service status line and metrics).
    std::function<void(const std::map<domain_state, std::int64_t>&)> on_counts;
    std::chrono::milliseconds report_every{std::chrono::seconds{5}};
    /// Events (what webhooks are told) are kept this long and until every receiver in
    /// `webhook_urls` has passed them, then deleted.
    std::chrono::milliseconds keep_events{std::chrono::hours{24 * 7}};
    std::vector<std::string> webhook_urls;
};

class scheduler {
public:
    scheduler(boost::asio::any_io_executor ex, const config& cfg, azion::client& api,
              dns_gate& dns, db_worker& db, scheduler_options options);

    /// Runs until stop() (after the grace period) or, with exit_when_done, until every row is
    /// terminal. Returns normally in both cases; database trouble is logged and waited out.
    boost::asio::awaitable<void> run();

    /// Stops taking work: rows not yet sent stay as they are, calls under way may finish
    /// within the grace period. Call on the scheduler's executor.
    void stop();

    bool stopping() const { return stopping_; }

    /// Takes the schedule and budget settings of a reloaded configuration for decisions from
    /// now on. Rows keep the times already set.
    void reconfigure(const config& cfg) { policy_ = policy::from(cfg); }

private:
    /// One turn of the loop; returns whether the request queue was read.
    boost::asio::awaitable<bool> scan();
    /// Whether the request queue may hold rows the last read did not see.
    boost::asio::awaitable<bool> queue_may_have_changed(std::chrono::steady_clock::time_point now);
    boost::asio::awaitable<void> report();
    boost::asio::awaitable<std::vector<store::domain_row>> due(store::domain_store::queue q,
                                                               wall_time at, std::size_t room);
    boost::asio::awaitable<void> work_on_row(store::domain_row row);
    boost::asio::awaitable<void> poll_batch(std::vector<store::domain_row> rows);
    /// The slow schedule: active and moved rows re-read in one list call per 100, and their
    /// names re-checked in DNS.
    boost::asio::awaitable<void> monitor_batch(std::vector<store::domain_row> rows);
    /// Deletes certificates of earlier generations that nothing serves any more.
    boost::asio::awaitable<void> retire();
    /// Deletes events no receiver needs any more (options_.keep_events).
    boost::asio::awaitable<void> prune_events();
    /// Spawns batches of up to 100 due rows of `q` (polls or the slow schedule).
    boost::asio::awaitable<void> sweep(store::domain_store::queue q, wall_time until, std::size_t& busy);
    boost::asio::awaitable<event> perform(const decision& d, azion::client::slot& slot);
    /// The step into `requesting` for a new request, under the budgets. nullopt: nothing was
    /// written (the row moved on, or the database refused).
    boost::asio::awaitable<std::optional<store::admission>> admit(const store::domain_row& row,
                                                                  const decision& d);
    /// Writes decisions; returns false if the database refused (the row is then left as it
    /// was stored and comes back when due).
    boost::asio::awaitable<bool> save(std::vector<store::domain_change> changes,
                                      store::durability durability);
    void log_change(const store::domain_row& before, const store::domain_row& after) const;
    void log_failure(const store::domain_row& row, action what, const event& ev) const;
    moment now();
    void release(std::int64_t id, store::domain_store::queue q);

    // Rows a task works on, handed back when the task ends however it ends, so a row never
    // stays marked busy after a failure.
    struct claim {
        scheduler* owner;
        std::vector<std::int64_t> ids;
        store::domain_store::queue queue;
        ~claim() {
            for (auto id : ids) owner->release(id, queue);
        }
    };

    boost::asio::any_io_executor ex_;
    azion::client& api_;
    dns_gate& dns_;
    db_worker& db_;
    policy policy_;
    scheduler_options options_;
    boost::asio::steady_timer wakeup_;
    std::unordered_set<std::int64_t> busy_; // rows being worked on
    std::set<std::int64_t> workloads_busy_;  // workloads being read and changed
    std::size_t busy_requests_ = 0;
    std::size_t busy_polls_ = 0;
    std::size_t busy_monitor_ = 0;
    bool retiring_ = false; // a task is deleting retired certificates
    std::chrono::steady_clock::time_point next_poll_sweep_{};
    std::chrono::steady_clock::time_point next_retire_{};
    std::chrono::steady_clock::time_point next_prune_{};
    std::chrono::steady_clock::time_point next_report_{};
    std::mt19937_64 random_{std::random_device{}()};
    bool stopping_ = false;
    bool backlog_ = false; // the last scan left due request rows in the table
    bool scan_now_ = false; // read the queue on the next turn, without waiting
    bool rows_released_ = false; // rows were handed back since the last read: some may be due
    std::optional<std::int64_t> seen_version_; // data_version at the last read
    std::optional<wall_time> next_due_request_; // when the next waiting row falls due
    std::chrono::steady_clock::time_point last_request_scan_{};
    std::chrono::steady_clock::time_point db_paused_until_{};
};

} // namespace certq::engine
