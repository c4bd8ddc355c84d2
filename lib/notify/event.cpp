#include "notify/event.hpp"

#include "util/json_text.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace certq::notify {
namespace json = boost::json;

bool wanted(const webhook_config& hook, const event_record& e) {
    if (hook.events.empty()) return true;
    const std::string name = e.kind == "renewed" ? std::string("renewed") : e.to_state.value_or("");
    return std::find(hook.events.begin(), hook.events.end(), name) != hook.events.end();
}

std::string payload(const event_record& e) {
    const auto text = [](const std::optional<std::string>& v) {
        return v ? json::value(*v) : json::value(nullptr);
    };
    const auto number = [](const std::optional<std::int64_t>& v) {
        return v ? json::value(*v) : json::value(nullptr);
    };
    json::value names = json::array{};
    if (e.names) {
        boost::system::error_code ec;
        auto parsed = json::parse(*e.names, ec);
        if (!ec && parsed.is_array()) names = std::move(parsed);
    }
    json::object data{{"event_id", e.id},
                      {"domain_id", e.domain_id},
                      {"hostname", text(e.hostname)},
                      {"names", std::move(names)},
                      {"at", e.at},
                      {"detail", text(e.detail)},
                      {"certificate_id", number(e.certificate_id)},
                      {"workload_id", number(e.workload_id)}};
    if (e.kind == "state") {
        data["from"] = text(e.from_state);
        data["to"] = text(e.to_state);
    }
    return to_json_text(
        json::object{{"type", e.kind == "renewed" ? "certificate.renewed" : "domain.state_changed"},
                     {"timestamp", e.at},
                     {"data", std::move(data)}});
}

std::string message_id(const std::string& instance, std::int64_t event_id) {
    return "msg_" + instance + "_" + std::to_string(event_id);
}

} // namespace certq::notify
