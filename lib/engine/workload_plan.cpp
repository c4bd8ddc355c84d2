#include "engine/workload_plan.hpp"

#include <algorithm>
#include <cctype>

namespace certq::engine {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!out.empty() && out.back() == '.')
        out.pop_back();
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view name) {
    const auto wanted = lower(name);
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& n) { return lower(n) == wanted; });
}

std::string listed(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 5; ++i)
        out += (i ? ", " : "") + names[i];
    if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
    return out;
}

} // namespace

bool covers(const std::vector<std::string>& certificate_names, std::string_view domain) {
    const auto d = lower(domain);
    for (const auto& n : certificate_names) {
        const auto name = lower(n);
        if (name == d) return true;
        if (name.size() > 2 && name.compare(0, 2, "*.") == 0 && d.rfind('*', 0) != 0) {
            const auto dot = d.find('.');
            if (dot != std::string::npos && d.substr(dot + 1) == name.substr(2)) return true;
        }
    }
    return false;
}

workload_plan plan_attach(const azion::workload& w, std::int64_t certificate_id,
                          const std::vector<std::string>& names) {
    workload_plan plan;
    std::vector<std::string> uncovered;
    for (const auto& d : w.domains)
        if (!covers(names, d)) uncovered.push_back(d);
    if (!uncovered.empty()) {
        plan.refused =
            "not put on workload " + std::to_string(w.id) + ": it serves " + listed(uncovered) +
            ", which certificate " + std::to_string(certificate_id) +
            " does not cover, and would stop serving them over HTTPS (add them to the row's "
            "alternative_names, or take them off the workload)";
        return plan;
    }
    std::vector<std::string> domains = w.domains;
    for (const auto& n : names)
        if (!contains(domains, n)) domains.push_back(n);
    if (domains.size() > max_workload_domains) {
        plan.refused = "not put on workload " + std::to_string(w.id) + ": it would serve " +
                       std::to_string(domains.size()) + " domains, and Azion serves at most " +
                       std::to_string(max_workload_domains) + " on one workload";
        return plan;
    }
    const bool domains_change = domains.size() != w.domains.size();
    const bool certificate_changes = w.certificate != certificate_id;
    if (!domains_change && !certificate_changes) {
        plan.done = true;
        return plan;
    }
    azion::workload_patch patch;
    if (domains_change) patch.domains = std::move(domains);
    patch.set_certificate = true; // sent even when unchanged: the PATCH says what is meant whole
    patch.certificate = certificate_id;
    plan.patch = std::move(patch);
    return plan;
}

workload_plan plan_detach(const azion::workload& w, const std::vector<std::int64_t>& ours,
                          const std::vector<std::string>& names) {
    workload_plan plan;
    std::vector<std::string> remaining;
    for (const auto& d : w.domains)
        if (!contains(names, d)) remaining.push_back(d);
    const bool domains_change = remaining.size() != w.domains.size();
    const bool serves_ours = w.certificate && std::find(ours.begin(), ours.end(), *w.certificate) != ours.end();
    if (!domains_change && !serves_ours) {
        plan.done = true;
        return plan;
    }
    azion::workload_patch patch;
    if (domains_change) patch.domains = std::move(remaining);
    if (serves_ours) {
        patch.set_certificate = true; // back to Azion's default certificate
        patch.certificate = std::nullopt;
    }
    plan.patch = std::move(patch);
    return plan;
}

} // namespace certq::engine
