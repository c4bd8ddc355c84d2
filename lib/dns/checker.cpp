#include "dns/checker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace certq::dns {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

checker::checker(asio::any_io_executor ex, checker_options options)
    : ex_(ex), options_(std::move(options)), resolver_(ex, options_.resolver),
      rows_(ex, options_.max_concurrent_rows) {
    for (auto& t : options_.targets) t = canonical_name(t);
    options_.edge_hostname = canonical_name(options_.edge_hostname);
}

void checker::reconfigure(const checker_options& options) {
    resolver_.set_servers(options.resolver.servers);
    options_.resolver.servers = options.resolver.servers;
    options_.targets = options.targets;
    for (auto& t : options_.targets) t = canonical_name(t);
    options_.edge_hostname = canonical_name(options.edge_hostname);
    std::erase_if(cache_, [](const auto& e) { return e.second.value.has_value(); });
}

void checker::shutdown() {
    rows_.close();
    resolver_.shutdown();
}

asio::awaitable<answer> checker::ask(std::string name, record_type type) {
    const auto key = std::make_pair(static_cast<int>(type), canonical_name(name));
    for (int waited = 0; waited < 2; ++waited) {
        auto it = cache_.find(key);
        if (it == cache_.end()) break;
        if (it->second.value && it->second.expires > steady::now()) {
            ++stats_.reused;
            co_return *it->second.value;
        }
        if (it->second.value) break; // expired
        // The same question is under way for another row: wait for its answer.
        auto ready = it->second.ready;
        co_await ready->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (cache_.size() > 10'000) {
        const auto now = steady::now();
        std::erase_if(cache_, [&](const auto& e) { return e.second.value && e.second.expires <= now; });
    }
    auto ready = std::make_shared<asio::steady_timer>(ex_, steady::time_point::max());
    cache_[key] = entry{std::nullopt, {}, ready};
    ++stats_.queries;
    auto a = co_await resolver_.query(key.second, type);
    // SERVFAIL is an answer from the resolver (about the name's servers); silence is not.
    if (is_answer(a.result) || a.result == status::servfail) note_answered();
    else if (a.result == status::timeout || a.result == status::unreachable || a.result == status::refused)
        note_silent();
    // Answers are kept for the wave; failures are not, so the next row asks again.
    if (is_answer(a.result)) cache_[key] = entry{a, steady::now() + options_.wave, nullptr};
    else cache_.erase(key);
    ready->cancel();
    co_return a;
}

void checker::note_answered() {
    silent_since_.reset();
    control_answered_ = true;
    stats_.resolvers_up = true;
    if (!down_since_) return;
    const auto outage = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - *down_since_);
    spdlog::info("DNS resolvers answer again after {}s; DNS checks go on, and rows waiting for DNS "
                 "are not charged that time", outage.count() / 1000);
    outage_to_report_ += outage;
    down_since_.reset();
}

void checker::note_silent() {
    if (!silent_since_) silent_since_ = steady::now();
}

asio::awaitable<bool> checker::resolvers_answer() {
    if (!silent_since_) co_return true; // something was answered since the last silence
    if (control_pending_) {
        // Another row asked already: its answer holds for this one too.
        auto pending = control_pending_;
        co_await pending->async_wait(asio::as_tuple(asio::use_awaitable));
    } else if (steady::now() - control_asked_ >= options_.wave) {
        control_asked_ = steady::now();
        control_pending_ = std::make_shared<asio::steady_timer>(ex_, steady::time_point::max());
        const auto control = options_.targets.empty() ? std::string("azionedge.net") : options_.targets.front();
        const auto a = co_await ask(control, record_type::a);
        control_answered_ = is_answer(a.result) || a.result == status::servfail;
        std::exchange(control_pending_, nullptr)->cancel();
    }
    if (!control_answered_ && !down_since_) {
        down_since_ = *silent_since_;
        stats_.resolvers_up = false;
        spdlog::error("DNS resolvers {} are not answering (every query times out or is refused, even "
                      "for {}): DNS checks wait, and no row is failed or charged time until they answer",
                      options_.resolver.servers.empty() ? std::string("from /etc/resolv.conf")
                                                        : options_.resolver.servers.front() +
                                                              (options_.resolver.servers.size() > 1 ? ", ..." : ""),
                      options_.targets.empty() ? std::string("azionedge.net") : options_.targets.front());
    }
    co_return control_answered_;
}

asio::awaitable<edge_addresses> checker::edge() {
    edge_addresses e;
    e.hostname = options_.edge_hostname;
    if (e.hostname.empty()) co_return e;
    auto v4 = co_await ask(e.hostname, record_type::a);
    auto v6 = co_await ask(e.hostname, record_type::aaaa);
    for (const auto* a : {&v4, &v6})
        if (a->result == status::ok) e.addresses.insert(a->addresses.begin(), a->addresses.end());
    e.known = !e.addresses.empty();
    if (!e.known)
        e.problem = is_answer(v4.result) ? "it has no addresses" : std::string(to_string(v4.result));
    co_return e;
}

asio::awaitable<name_report> checker::check_name(std::string name) {
    name_report report;
    report.name = name;
    auto v4 = co_await ask(name, record_type::a);
    auto v6 = co_await ask(name, record_type::aaaa);
    auto edge_info = co_await edge();
    report.pointing = judge_pointing(name, v4, v6, options_.targets, edge_info);
    if (report.pointing.result != outcome::points) co_return report;
    std::vector<std::pair<std::string, answer>> climb;
    for (const auto& step : caa_climb(name)) {
        auto a = co_await ask(step, record_type::caa);
        const bool stop = !is_answer(a.result) || !a.caa.empty();
        climb.emplace_back(step, std::move(a));
        if (stop) break;
    }
    report.caa = judge_caa(name, climb);
    if (!climb.empty() && is_answer(climb.back().second.result) && !climb.back().second.caa.empty())
        report.caa_found = "CAA at " + climb.back().first + ": " + describe_caa(climb.back().second.caa);
    else if (!climb.empty() && is_answer(climb.back().second.result))
        report.caa_found = "no CAA record set up to " + climb.back().first + " (any certificate authority may issue)";
    co_return report;
}

name_result name_report::verdict() const {
    if (caa && caa->result != outcome::points) return *caa;
    return pointing;
}

asio::awaitable<std::vector<name_report>> checker::explain(std::vector<std::string> names) {
    std::vector<name_report> reports;
    const bool admitted = co_await rows_.acquire();
    if (!admitted) co_return reports;
    semaphore_guard held(rows_);
    for (const auto& n : names) reports.push_back(co_await check_name(n));
    co_return reports;
}

asio::awaitable<row_verdict> checker::check(std::vector<std::string> names) {
    const bool admitted = co_await rows_.acquire();
    if (!admitted) {
        row_verdict v;
        v.result = outcome::inconclusive;
        v.detail = "DNS check not run: shutting down";
        co_return v;
    }
    semaphore_guard held(rows_);
    std::vector<name_result> results;
    for (const auto& n : names) results.push_back((co_await check_name(n)).verdict());
    auto verdict = combine(results);
    if (verdict.result == outcome::inconclusive && !co_await resolvers_answer()) {
        verdict.resolvers_down = true;
        co_return verdict;
    }
    verdict.resolver_outage = std::exchange(outage_to_report_, std::chrono::milliseconds{0});
    co_return verdict;
}

} // namespace certq::dns
