#include "check.hpp"

#include "database.hpp"

#include "azion/client.hpp"
#include "dns/checker.hpp"
#include "hostname/names.hpp"
#include "store/domain_store.hpp"
#include "store/reads.hpp"
#include "util/json_text.hpp"
#include "dns/report.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <iostream>

namespace certq {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// No database yet is no row yet: the DNS half of the answer is still worth giving.
std::optional<store::row_story> find_row(const config& cfg, const std::string& host) {
    if (!database_exists(cfg)) return std::nullopt;
    return store::find_row(*open_existing(cfg), host);
}

struct azion_facts {
    std::string not_asked; // why Azion was not asked, when it was not
    std::optional<azion::certificate> certificate;
    std::string certificate_problem;
    std::optional<azion::workload> workload;
    std::string workload_problem;
};

asio::awaitable<std::vector<dns::name_report>> explain(dns::checker& c,
                                                       std::vector<std::string> names) {
    auto reports = co_await c.explain(std::move(names));
    c.shutdown();
    co_return reports;
}

asio::awaitable<azion_facts> ask_azion(azion::client& api, std::optional<std::int64_t> certificate,
                                       std::optional<std::int64_t> workload) {
    azion_facts facts;
    auto slot = co_await api.acquire_slot();
    if (certificate) {
        auto r = co_await api.get_certificate(slot, *certificate);
        if (r)
            facts.certificate = std::move(r.value);
        else
            facts.certificate_problem = r.diag.summary();
    }
    if (workload) {
        auto r = co_await api.get_workload(slot, *workload);
        if (r)
            facts.workload = std::move(r.value.current);
        else
            facts.workload_problem = r.diag.summary();
    }
    slot = {};
    api.shutdown();
    co_return facts;
}

} // namespace

int check_command(const config& cfg, const std::string& host, bool as_json) {
    const auto row = find_row(cfg, host);
    auto parsed = hostname::parse_row_names(host, row ? row->alternative_names : std::nullopt);
    if (!parsed.ok()) {
        if (as_json)
            std::cout << to_json_text(json::object{{"host", host}, {"error", parsed.why}}) << "\n";
        else
            std::cout << host << ": " << parsed.why << "\n";
        return 1;
    }

    asio::io_context ioc{1};
    dns::checker_options options;
    options.resolver.servers = cfg.dns.servers;
    options.targets = cfg.dns.targets;
    options.edge_hostname = cfg.dns.edge_hostname;
    dns::checker checker(ioc.get_executor(), options);
    auto dns_future = asio::co_spawn(ioc, explain(checker, parsed.names), asio::use_future);
    ioc.run();
    const auto reports = dns_future.get();

    azion_facts azion;
    if (!row || (!row->certificate_id && !row->workload_id)) {
        azion.not_asked =
            row ? "the row has no certificate or workload yet" : "no row for this hostname";
    } else {
        try {
            auto token = resolve_token(cfg.azion);
            asio::io_context api_ioc{1};
            azion::client api(api_ioc.get_executor(), cfg.azion, std::move(token.token));
            auto f = asio::co_spawn(api_ioc, ask_azion(api, row->certificate_id, row->workload_id),
                                    asio::use_future);
            api_ioc.run();
            azion = f.get();
        } catch (const config_error& e) {
            azion.not_asked = std::string("no Azion token here (") + e.what() + ")";
        }
    }

    const bool all_point = dns::all_point(reports);

    if (as_json) {
        json::object out{{"host", host}, {"names", dns::to_json(reports)}, {"would_request", all_point}};
        if (row)
            out["row"] = {{"id", row->id},
                          {"state", row->state},
                          {"detail", row->detail.value_or("")},
                          {"certificate_id", row->certificate_id ? json::value(*row->certificate_id)
                                                                 : json::value(nullptr)},
                          {"workload_id", row->workload_id ? json::value(*row->workload_id)
                                                           : json::value(nullptr)}};
        else
            out["row"] = nullptr;
        json::object at_azion;
        if (!azion.not_asked.empty()) at_azion["not_asked"] = azion.not_asked;
        if (azion.certificate)
            at_azion["certificate"] = {
                {"id", azion.certificate->id},
                {"status", azion.certificate->status},
                {"status_detail", azion.certificate->status_detail},
                {"validity", azion.certificate->validity ? json::value(*azion.certificate->validity)
                                                         : json::value(nullptr)},
                {"renewed_at", azion.certificate->renewed_at
                                   ? json::value(*azion.certificate->renewed_at)
                                   : json::value(nullptr)}};
        else if (!azion.certificate_problem.empty())
            at_azion["certificate_problem"] = azion.certificate_problem;
        if (azion.workload) {
            json::array domains;
            for (const auto& d : azion.workload->domains)
                domains.emplace_back(d);
            at_azion["workload"] = {{"id", azion.workload->id},
                                    {"domains", std::move(domains)},
                                    {"certificate", azion.workload->certificate
                                                        ? json::value(*azion.workload->certificate)
                                                        : json::value(nullptr)}};
        } else if (!azion.workload_problem.empty())
            at_azion["workload_problem"] = azion.workload_problem;
        out["azion"] = std::move(at_azion);
        std::cout << to_json_text(out) << "\n";
        return all_point ? 0 : 1;
    }

    std::cout << host << "\n";
    for (const auto& r : reports) {
        const auto v = r.verdict();
        std::cout << "  " << r.name << ": " << dns::verdict_word(v.result) << "\n";
        if (!r.pointing.line.empty()) std::cout << "    " << r.pointing.line << "\n";
        if (r.caa && r.caa->result != dns::outcome::points)
            std::cout << "    " << r.caa->line << "\n";
        else if (!r.caa_found.empty())
            std::cout << "    " << r.caa_found << "\n";
    }
    std::cout << (all_point ? "  every name points to Azion: a certificate request would go ahead\n"
                            : "  not every name is ready: no certificate would be requested now\n");
    if (row) {
        const auto detail = row->detail.value_or("");
        std::cout << "row #" << row->id << ": " << row->state << (detail.empty() ? "" : " — ") << first_line(detail)
                  << "\n";
    } else {
        std::cout << "no row for this hostname (certq enqueue " << host << " adds one)\n";
    }
    if (!azion.not_asked.empty()) std::cout << "Azion not asked: " << azion.not_asked << "\n";
    if (azion.certificate) {
        const auto& c = *azion.certificate;
        std::cout << "certificate " << c.id << " at Azion: " << c.status
                  << (c.validity ? ", valid until " + *c.validity : std::string())
                  << (c.renewed_at ? ", renewed " + *c.renewed_at : std::string())
                  << (c.status_detail.empty() ? std::string() : " — " + c.status_detail) << "\n";
    } else if (!azion.certificate_problem.empty()) {
        std::cout << "certificate " << row->certificate_id.value_or(0) << ": "
                  << azion.certificate_problem << "\n";
    }
    if (azion.workload) {
        const auto& w = *azion.workload;
        std::string domains;
        for (const auto& d : w.domains)
            domains += (domains.empty() ? "" : ", ") + d;
        std::cout << "workload " << w.id << " at Azion: serves "
                  << (w.certificate ? "certificate " + std::to_string(*w.certificate)
                                    : std::string("Azion's default certificate"))
                  << (row && w.certificate && w.certificate == row->certificate_id ? " (this row's)"
                                                                                   : "")
                  << " for " << (domains.empty() ? "no domains" : domains) << "\n";
    } else if (!azion.workload_problem.empty()) {
        std::cout << "workload " << row->workload_id.value_or(0) << ": " << azion.workload_problem
                  << "\n";
    }
    return all_point ? 0 : 1;
}

} // namespace certq
