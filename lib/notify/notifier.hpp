#pragma once
// Webhook delivery: one loop per receiver over the `events` table from its cursor, so one slow or
// dead receiver delays neither the pipeline (which only writes events) nor the other receivers.
// At least once, with a stable webhook-id; in order per row; retried with backoff and jitter;
// given up (logged as an error and counted) after notify.retry.give_up_after.

#include "config/config.hpp"
#include "engine/db_worker.hpp"
#include "metrics/metrics.hpp"
#include "notify/outbox.hpp"
#include "notify/sender.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <list>
#include <random>

namespace certq::notify {

/// The secret of one webhook: from its secret_file, else the systemd credential
/// "webhook-secret". Throws config_error naming the file (never the secret).
std::string load_secret(const webhook_config& hook);

/// How a receiver is named in logs and metrics: its host and path (never a query, which may
/// hold a token).
std::string receiver_label(const std::string& url);

class notifier {
public:
    /// Reads every webhook's secret and the CA file. Throws config_error.
    notifier(boost::asio::any_io_executor ex, const notify_config& cfg, engine::db_worker& db,
             metrics::registry* metrics = nullptr);
    ~notifier();
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    /// Delivers until stop(); then attempts under way are cut and cursors saved.
    boost::asio::awaitable<void> run();
    void stop();

private:
    struct receiver;
    boost::asio::awaitable<void> deliver(receiver& r);
    boost::asio::awaitable<void> attempt(receiver& r, event_record e);
    void publish(receiver& r);

    boost::asio::any_io_executor ex_;
    notify_config cfg_;
    engine::db_worker& db_;
    metrics::registry* metrics_;
    sender sender_;
    std::string instance_;
    std::list<receiver> receivers_;
    std::mt19937_64 random_{std::random_device{}()};
    bool stopping_ = false;
    std::size_t running_ = 0;
    boost::asio::steady_timer finished_;
};

} // namespace certq::notify
