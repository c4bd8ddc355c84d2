#include "sim_workloads.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <ctime>

namespace certq::sim {
namespace json = boost::json;

namespace {

const std::set<std::string> patchable{
    "name",      "active", "infrastructure", "tls",
    "protocols", "mtls",   "domains",        "workload_domain_allow_access"};
constexpr std::size_t max_domains = 50;

json::object bad_request(const std::string& detail, const std::string& pointer) {
    return {{"errors", json::array{json::object{{"status", "400"},
                                                {"code", "10000"},
                                                {"title", "Bad Request"},
                                                {"detail", detail},
                                                {"source", json::object{{"pointer", pointer}}}}}}};
}

json::object not_found() {
    return {{"errors", json::array{json::object{{"status", "404"},
                                                {"code", "10004"},
                                                {"title", "Not Found"},
                                                {"detail", "Not found."}}}}};
}

std::string now_text() {
    const auto t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

json::object to_json(const sim_workload& w, const std::optional<std::set<std::string>>& fields) {
    json::array domains;
    for (const auto& d : w.domains)
        domains.emplace_back(d);
    json::object tls{
        {"certificate", w.certificate ? json::value(*w.certificate) : json::value(nullptr)},
        {"ciphers", 6},
        {"minimum_version", nullptr}};
    json::object o{{"id", w.id},
                   {"name", w.name},
                   {"active", true},
                   {"last_editor", "certq-sim"},
                   {"last_modified", now_text()},
                   {"infrastructure", 1},
                   {"tls", std::move(tls)},
                   {"domains", std::move(domains)},
                   {"workload_domain_allow_access", true},
                   {"workload_domain", "w" + std::to_string(w.id) + ".map.azionedge.net"},
                   {"product_version", "1.0"}};
    if (!fields) return o;
    json::object filtered;
    for (const auto& [k, v] : o)
        if (fields->count(std::string(k))) filtered[k] = v;
    return filtered;
}

} // namespace

void workload_registry::put(sim_workload w) {
    auto& e = workloads_[w.id];
    e.current = std::move(w);
    e.next.reset();
}

void workload_registry::settle(entry& e, clock::time_point now) {
    if (e.next && now >= e.applies_at) {
        e.current = std::move(*e.next);
        e.next.reset();
    }
}

std::optional<sim_workload> workload_registry::get(std::int64_t id, clock::time_point now) {
    auto it = workloads_.find(id);
    if (it == workloads_.end()) return std::nullopt;
    settle(it->second, now);
    return it->second.current;
}

std::vector<std::int64_t> workload_registry::serving(std::int64_t certificate_id,
                                                     clock::time_point now) {
    std::vector<std::int64_t> out;
    for (auto& [id, e] : workloads_) {
        settle(e, now);
        // A change under way that puts the certificate on counts too: it is about to serve.
        if (e.current.certificate == certificate_id ||
            (e.next && e.next->certificate == certificate_id))
            out.push_back(id);
    }
    return out;
}

workload_registry::answer
workload_registry::handle(const std::string& method, std::int64_t id, const std::string& body,
                          const std::optional<std::set<std::string>>& fields, clock::time_point now,
                          const certificate_check& check) {
    auto it = workloads_.find(id);
    if (it == workloads_.end()) return {404, not_found()};
    auto& e = it->second;
    settle(e, now);
    if (method == "GET")
        return {200, json::object{{"state", "executed"}, {"data", to_json(e.current, fields)}}};
    if (method != "PATCH") return {405, bad_request("Method not allowed.", "")};

    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return {400, bad_request("JSON parse error", "")};
    // A second PATCH while one is applied builds on it.
    sim_workload changed = e.next ? *e.next : e.current;
    for (const auto& [key, value] : v.get_object()) {
        const std::string k(key);
        if (!patchable.count(k)) return {400, bad_request("Unknown field: " + k, "/data/" + k)};
        if (k == "name") {
            if (!value.is_string() || value.get_string().empty() || value.get_string().size() > 100)
                return {400, bad_request("Ensure this field has between 1 and 100 characters.",
                                         "/data/name")};
            changed.name = std::string(value.get_string());
        } else if (k == "domains") {
            if (!value.is_array())
                return {400, bad_request("Expected a list of items.", "/data/domains")};
            std::vector<std::string> domains;
            for (const auto& d : value.get_array()) {
                if (!d.is_string() || d.get_string().empty())
                    return {400, bad_request("This field may not be blank.", "/data/domains")};
                domains.emplace_back(d.get_string());
            }
            if (domains.size() > max_domains)
                return {400, bad_request("Ensure this field has no more than 50 elements.",
                                         "/data/domains")};
            changed.domains = std::move(domains);
        } else if (k == "tls") {
            if (!value.is_object()) return {400, bad_request("Expected an object.", "/data/tls")};
            if (const auto* cert = value.get_object().if_contains("certificate")) {
                if (cert->is_null()) {
                    changed.certificate.reset();
                } else if (cert->is_int64() && cert->get_int64() >= 1) {
                    if (auto problem = check(cert->get_int64()))
                        return {400, bad_request(*problem, "/data/tls/certificate")};
                    changed.certificate = cert->get_int64();
                } else {
                    return {400,
                            bad_request("A valid integer is required.", "/data/tls/certificate")};
                }
            }
        }
    }
    if (apply_delay.count() == 0) {
        e.current = std::move(changed);
        e.next.reset();
        return {200,
                json::object{{"state", "executed"}, {"data", to_json(e.current, std::nullopt)}}};
    }
    e.next = std::move(changed);
    e.applies_at = now + apply_delay;
    return {202, json::object{{"state", "pending"}, {"data", to_json(e.current, std::nullopt)}}};
}

} // namespace certq::sim
