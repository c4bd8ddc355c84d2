#include "notify/notifier.hpp"

#include "engine/task_failure.hpp"
#include "notify/event.hpp"
#include "notify/signature.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace certq::notify {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_parallel = 8; // attempts under way per receiver (rows are independent)
constexpr std::size_t window = 1000;    // events held past the cursor; beyond that, loading waits
constexpr std::size_t load_batch = 500;
constexpr auto look_for_new = std::chrono::milliseconds{250};

struct notifier::receiver {
    receiver(asio::any_io_executor ex, webhook_config c, std::string k, backoff_config retry)
        : cfg(std::move(c)), key(std::move(k)), label(receiver_label(cfg.url)), box(retry, 0),
          wake(ex) {}
    webhook_config cfg;
    std::string key;
    std::string label;
    outbox box;
    asio::steady_timer wake;
    std::size_t in_flight = 0;
    std::int64_t saved_cursor = 0;
};

namespace {

constexpr engine::log_task_failure log_spawn_failure{"webhook delivery"};

struct cursor_job {
    std::string url;
    std::int64_t operator()(store::domain_store& s) const { return s.webhook_cursor(url); }
};
struct save_cursor_job {
    std::string url;
    std::int64_t through;
    bool operator()(store::domain_store& s) const {
        s.set_webhook_cursor(url, through);
        return true;
    }
};
struct events_job {
    std::int64_t after;
    std::vector<event_record> operator()(store::domain_store& s) const {
        return s.events_after(after, load_batch);
    }
};
struct instance_job {
    std::string operator()(store::domain_store& s) const { return s.instance_id(); }
};

} // namespace

std::string load_secret(const webhook_config& hook) {
    const auto where = "notify.webhooks (" + receiver_label(hook.url) + ")";
    std::string origin = hook.secret_file;
    std::string text;
    if (!hook.secret_file.empty()) {
        text = read_secret_file(hook.secret_file, where + ": secret_file");
    } else if (auto credential = read_credential("webhook-secret", where + ": credential webhook-secret")) {
        origin = "credential webhook-secret";
        text = std::move(*credential);
    } else {
        throw config_error(where + ": no secret_file and no systemd credential webhook-secret");
    }
    std::string why;
    auto key = decode_secret(text, why);
    if (!key) throw config_error(where + ": " + origin + ": " + why);
    return *key;
}

std::string receiver_label(const std::string& url) {
    auto u = boost::urls::parse_uri(url);
    if (!u) return "?";
    return std::string(u->encoded_host_and_port()) + std::string(u->encoded_path());
}

notifier::notifier(asio::any_io_executor ex, const notify_config& cfg, engine::db_worker& db,
                   metrics::registry* metrics)
    : ex_(ex), cfg_(cfg), db_(db), metrics_(metrics), sender_(ex, cfg.ca_file), finished_(ex) {
    for (const auto& hook : cfg_.webhooks)
        receivers_.emplace_back(ex_, hook, load_secret(hook), cfg_.retry);
}

notifier::~notifier() = default;

void notifier::stop() {
    stopping_ = true;
    sender_.close();
    for (auto& r : receivers_)
        r.wake.cancel();
}

asio::awaitable<void> notifier::run() {
    try {
        instance_job job;
        instance_ = co_await db_.run(std::move(job));
    } catch (const store::database_error& e) {
        spdlog::error("webhooks: cannot read the database's id: {}", e.what());
        co_return;
    }
    for (auto& r : receivers_) {
        ++running_;
        asio::co_spawn(ex_, deliver(r), [this](std::exception_ptr e) {
            log_spawn_failure(e);
            if (--running_ == 0) finished_.cancel();
        });
    }
    finished_.expires_at(steady::time_point::max());
    while (running_ > 0)
        co_await finished_.async_wait(use_nothrow);
}

void notifier::publish(receiver& r) {
    if (!metrics_) return;
    metrics_->webhook_backlog[r.label] = static_cast<std::int64_t>(r.box.pending());
    const auto oldest = r.box.oldest_first_attempt();
    metrics_->webhook_oldest_seconds[r.label] =
        oldest ? std::chrono::duration<double>(steady::now() - *oldest).count() : 0.0;
}

asio::awaitable<void> notifier::deliver(receiver& r) {
    std::int64_t cursor = 0;
    while (!stopping_) {
        try {
            cursor_job job{r.cfg.url};
            cursor = co_await db_.run(std::move(job));
            break;
        } catch (const store::database_error& e) {
            spdlog::warn("webhook {}: reading its cursor failed: {}; trying again", r.label,
                         e.what());
        }
        r.wake.expires_after(std::chrono::seconds{1});
        co_await r.wake.async_wait(use_nothrow);
    }
    r.box = outbox(cfg_.retry, cursor);
    r.saved_cursor = cursor;
    spdlog::info("webhook {}: delivering events after #{}", r.label, cursor);
    auto last_save = steady::now();
    auto next_load = steady::now();
    while (!stopping_) {
        // New events are looked for every look_for_new, or at once while a backlog is loading.
        if (r.box.pending() < window && steady::now() >= next_load) {
            next_load = steady::now() + look_for_new;
            try {
                events_job job{r.box.last_loaded()};
                auto events = co_await db_.run(std::move(job));
                if (events.size() == load_batch) next_load = steady::now();
                for (auto& e : events) {
                    const bool send = wanted(r.cfg, e);
                    r.box.add(std::move(e), send);
                }
            } catch (const store::database_error& e) {
                spdlog::debug("webhook {}: reading events failed: {}", r.label, e.what());
            }
        }
        for (auto& e :
             r.box.take_ready(steady::now(), max_parallel - std::min(max_parallel, r.in_flight))) {
            ++r.in_flight;
            asio::co_spawn(ex_, attempt(r, std::move(e)), log_spawn_failure);
        }
        const auto through = r.box.delivered_through();
        if (through != r.saved_cursor && steady::now() - last_save >= std::chrono::seconds{1}) {
            try {
                save_cursor_job job{r.cfg.url, through};
                co_await db_.run(std::move(job));
                r.saved_cursor = through;
                last_save = steady::now();
            } catch (const store::database_error& e) {
                spdlog::debug("webhook {}: saving its cursor failed: {}", r.label, e.what());
            }
        }
        publish(r);
        const auto soon = steady::now() + std::chrono::milliseconds{1};
        auto until = steady::now() + look_for_new;
        if (r.box.pending() < window) until = std::min(until, std::max(next_load, soon));
        if (r.box.delivered_through() != r.saved_cursor)
            until = std::min(until, std::max(last_save + std::chrono::seconds{1}, soon));
        // With every place taken, the next wake-up is an attempt ending (it cancels the timer),
        // not a due event that could not be sent anyway.
        if (auto due = r.box.next_due(); due && r.in_flight < max_parallel)
            until = std::min(until, std::max(*due, soon));
        r.wake.expires_at(until);
        co_await r.wake.async_wait(use_nothrow);
    }
    // Attempts under way are cut by stop(); wait for them to hand their events back, then keep
    // what was delivered (the rest is sent again on the next start, with the same webhook-id).
    while (r.in_flight > 0) { // each attempt that ends wakes this (attempt() cancels r.wake)
        r.wake.expires_at(steady::time_point::max());
        co_await r.wake.async_wait(use_nothrow);
    }
    if (r.box.delivered_through() != r.saved_cursor) {
        try {
            save_cursor_job job{r.cfg.url, r.box.delivered_through()};
            co_await db_.run(std::move(job));
        } catch (const store::database_error& e) {
            spdlog::warn("webhook {}: saving its cursor failed: {}", r.label, e.what());
        }
    }
}

asio::awaitable<void> notifier::attempt(receiver& r, event_record e) {
    const auto body = payload(e);
    const auto id = message_id(instance_, e.id);
    // webhook-timestamp is the time of this attempt (receivers reject old ones).
    const auto timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    std::vector<std::pair<std::string, std::string>> headers{
        {"webhook-id", id},
        {"webhook-timestamp", timestamp},
        {"webhook-signature", sign(r.key, id, timestamp, body)}};
    auto result = co_await sender_.post(r.cfg.url, std::move(headers), body, cfg_.timeout);
    --r.in_flight;
    if (result.ok()) {
        r.box.delivered(e.id);
        if (metrics_) ++metrics_->webhook_deliveries[{r.label, "delivered"}];
    } else {
        const auto why = result.status ? "HTTP " + std::to_string(result.status) : result.error;
        const bool given_up = r.box.failed(e.id, steady::now(),
                                           std::uniform_real_distribution<double>(0, 1)(random_));
        if (given_up) {
            spdlog::error("webhook {}: event #{} ({} of row {}) given up after {}: {}", r.label,
                          e.id,
                          e.kind == "renewed" ? std::string("renewal") : e.to_state.value_or("?"),
                          e.domain_id, format_duration(cfg_.retry.give_up_after), why);
            if (metrics_) ++metrics_->webhook_deliveries[{r.label, "given_up"}];
        } else {
            if (!stopping_)
                spdlog::warn("webhook {}: event #{} not delivered ({}); trying again", r.label,
                             e.id, why);
            if (metrics_) ++metrics_->webhook_deliveries[{r.label, "failed"}];
        }
    }
    r.wake.cancel();
}

} // namespace certq::notify
