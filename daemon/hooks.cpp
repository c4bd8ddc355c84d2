#include "hooks.hpp"

#include "notify/notifier.hpp"
#include "notify/sender.hpp"
#include "notify/signature.hpp"
#include "util/json_text.hpp"
#include "util/time.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <iostream>

namespace certq {
namespace {

namespace asio = boost::asio;

asio::awaitable<notify::post_result>
send_one(notify::sender& s, std::string url,
         std::vector<std::pair<std::string, std::string>> headers, std::string body,
         std::chrono::milliseconds timeout) {
    co_return co_await s.post(std::move(url), std::move(headers), std::move(body), timeout);
}

} // namespace

int hooks_test(const config& cfg) {
    if (cfg.notify.webhooks.empty()) {
        std::cout << "no webhooks configured (notify.webhooks)\n";
        return 1;
    }
    asio::io_context ioc{1};
    notify::sender sender(ioc.get_executor(), cfg.notify.ca_file);
    int failures = 0;
    for (const auto& hook : cfg.notify.webhooks) {
        const auto label = notify::receiver_label(hook.url);
        std::string key;
        try {
            key = notify::load_secret(hook);
        } catch (const config_error& e) {
            std::cout << label << ": " << e.what() << "\n";
            ++failures;
            continue;
        }
        const auto now = std::chrono::system_clock::now();
        const auto seconds =
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        const auto id = "msg_test_" + std::to_string(seconds);
        const auto at = format_iso8601(wall_now());
        const auto body = to_json_text(boost::json::object{
            {"type", "certq.test"},
            {"timestamp", at},
            {"data", {{"message", "a test event from certq hooks test"}, {"at", at}}}});
        const auto timestamp = std::to_string(seconds);
        std::vector<std::pair<std::string, std::string>> headers{
            {"webhook-id", id},
            {"webhook-timestamp", timestamp},
            {"webhook-signature", notify::sign(key, id, timestamp, body)}};
        auto f = asio::co_spawn(
            ioc, send_one(sender, hook.url, std::move(headers), body, cfg.notify.timeout),
            asio::use_future);
        ioc.restart();
        ioc.run();
        const auto r = f.get();
        if (r.ok()) {
            std::cout << label << ": HTTP " << r.status
                      << (r.body.empty() ? "" : " " + r.body.substr(0, 200)) << "\n";
        } else {
            ++failures;
            std::cout << label << ": "
                      << (r.status
                              ? "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200)
                              : r.error)
                      << "\n";
        }
    }
    return failures == 0 ? 0 : 1;
}

} // namespace certq
