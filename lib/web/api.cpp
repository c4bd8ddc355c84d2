#include "web/api.hpp"

#include "hostname/names.hpp"
#include "store/database_error.hpp"
#include "store/reads.hpp"
#include "store/status.hpp"
#include "util/json_text.hpp"
#include "dns/report.hpp"
#include "web/json.hpp"

#include <boost/json.hpp>
#include <boost/locale/utf.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>

namespace certq::web {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A query parameter that cannot be used: answered 400 with the message.
struct bad_request : std::runtime_error {
    using std::runtime_error::runtime_error;
};

response json_answer(const json::value& v) {
    return {200, "application/json", to_json_text(v) + "\n", {}};
}

// Text from the URL is kept as bytes; PostgreSQL refuses bytes that are not UTF-8, and no
// hostname holds them, so they are the client's mistake.
bool valid_utf8(std::string_view s) {
    using utf = boost::locale::utf::utf_traits<char>;
    for (auto p = s.begin(); p != s.end();) {
        const auto c = utf::decode(p, s.end());
        if (c == boost::locale::utf::illegal || c == boost::locale::utf::incomplete) return false;
    }
    return true;
}

std::string shown(std::string_view text) { return to_json_text(json::value(text.substr(0, 100))); }

std::int64_t whole_number(std::string_view name, std::string_view text, std::int64_t low, std::int64_t high) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < low || v > high)
        throw bad_request(std::string(name) + ": must be a whole number from " + std::to_string(low) + " to " +
                          std::to_string(high) + ", got " + shown(text));
    return v;
}

std::string state_words() {
    std::string all;
    for (const auto s : all_states) all += (all.empty() ? "" : ", ") + std::string(to_string(s));
    return all;
}

// Only the parameters an endpoint knows: a misspelt one is an error, not a silently wider answer.
void only_known(const boost::urls::url_view& u, std::initializer_list<std::string_view> known) {
    for (const auto& p : u.params()) {
        if (std::find(known.begin(), known.end(), p.key) == known.end()) {
            std::string names;
            for (const auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
            throw bad_request("unknown parameter " + shown(p.key) +
                              (names.empty() ? "; this endpoint takes none" : "; this endpoint takes " + names));
        }
    }
}

store::row_filter list_filter(const boost::urls::url_view& u) {
    only_known(u, {"state", "q", "order", "limit", "after"});
    store::row_filter f;
    for (const auto& p : u.params()) {
        if (p.key == "state") {
            if (p.value.empty()) continue;
            f.state = parse_state(p.value);
            if (!f.state) throw bad_request("state: unknown state " + shown(p.value) + "; one of " + state_words());
        } else if (p.key == "q") {
            if (p.value.size() > 253) throw bad_request("q: at most 253 characters (a hostname's length)");
            if (!valid_utf8(p.value)) throw bad_request("q: not UTF-8 text");
            f.contains = p.value;
            // A whole name also finds the row that has it as an alternative name, and a
            // Unicode name the row stored in its A-label form.
            std::string why;
            if (const auto name = hostname::normalise(p.value, why)) {
                f.whole_name = *name;
            }
        } else if (p.key == "order") {
            if (p.value != "newest" && p.value != "oldest")
                throw bad_request("order: newest or oldest, got " + shown(p.value));
            f.newest_first = p.value == "newest";
        } else if (p.key == "limit") {
            f.limit = static_cast<int>(whole_number("limit", p.value, 1, 500));
        } else if (p.key == "after") {
            if (p.value.empty()) continue;
            std::int64_t id = 0;
            const auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), id);
            if (ec != std::errc{} || end != p.value.data() + p.value.size() || id < 0)
                throw bad_request("after: not a cursor this API gave (use the \"next\" of the previous page)");
            f.after = id;
        }
    }
    return f;
}

json::object status_json(const store::queue_status& st, const live_facts& facts, wall_time read_at) {
    json::object counts;
    for (const auto s : all_states) {
        const auto it = st.counts.find(s);
        counts[to_string(s)] = it == st.counts.end() ? 0 : it->second;
    }
    json::array hooks;
    for (std::size_t i = 0; i < st.webhook_backlog.size() && i < facts.webhooks.size(); ++i)
        hooks.push_back(json::object{{"receiver", facts.webhooks[i].label},
                                     {"started", st.webhook_backlog[i].started},
                                     {"waiting", st.webhook_backlog[i].waiting}});
    const auto eta = st.eta();
    return {{"generated_at", format_iso8601(read_at)},
            {"role", facts.leader ? "leader" : "standby"},
            {"counts", std::move(counts)},
            {"total", st.total},
            {"unfinished", st.unfinished},
            {"throughput",
             {{"window_seconds", st.window.count()},
              {"finished", st.finished_recently},
              {"per_minute", st.per_minute ? json::value(std::round(*st.per_minute * 100) / 100) : json::value(nullptr)},
              {"span_seconds", st.span ? json::value(static_cast<double>(st.span->count()) / 1000.0)
                                       : json::value(nullptr)}}},
            {"eta_seconds", eta ? json::value(eta->count()) : json::value(nullptr)},
            {"rate",
             {{"configured", facts.rate_configured},
              {"in_force", std::round(facts.rate_in_force * 100) / 100},
              {"congestion_events", facts.congestion_events}}},
            {"webhooks", std::move(hooks)},
            {"expiring",
             {{"count", st.expiring},
              {"within_seconds", std::chrono::duration_cast<std::chrono::seconds>(st.expiry_warning).count()}}}};
}

// Bucket sizes that give the chart between 36 and 168 bars.
std::chrono::minutes bucket_for(std::chrono::hours span) {
    using namespace std::chrono_literals;
    return span <= 2h ? 1min : span <= 6h ? 5min : span <= 24h ? 10min : span <= 72h ? 30min : 60min;
}

json::object index_json() {
    return {{"endpoints",
             json::array{"/api/v1/status", "/api/v1/throughput?hours=24", "/api/v1/problems",
                         "/api/v1/domains?state=&q=&order=newest&limit=50&after=", "/api/v1/domains/{hostname}",
                         "/api/v1/domains/{hostname}/dns"}},
            {"docs", "README.md, section \"JSON API\""}};
}

json::object page_json(const store::row_page& page) {
    json::array rows;
    for (const auto& r : page.rows) rows.push_back(to_json(r));
    return {{"domains", std::move(rows)},
            {"next", page.next ? json::value(std::to_string(*page.next)) : json::value(nullptr)}};
}

json::object dns_json(const std::string& host, const std::vector<dns::name_report>& reports) {
    return {{"host", host},
            {"checked_at", format_iso8601(wall_now())},
            {"would_request", dns::all_point(reports)},
            {"names", dns::to_json(reports)}};
}

// What a client is told when a read fails: whether it ran out of time; the rest (which may
// name the server, user or file) goes to the log only.
response database_failure(const store::database_error& e) {
    if (e.timed_out())
        return json_error(503, "the read took longer than its time limit; narrow it (a state, a longer search text)");
    spdlog::warn("web: a read failed: {}", e.what());
    return json_error(503, "the database did not answer; certqd's log says why");
}

} // namespace

response json_error(unsigned status, const std::string& message) {
    return {status, "application/json", to_json_text(json::object{{"error", message}, {"status", status}}) + "\n", {}};
}

api::api(reader& db, facts_source facts, dns_explainer dns, double dns_rate, int dns_burst)
    : db_(db), facts_(std::move(facts)), dns_(std::move(dns)), dns_budget_(dns_rate, dns_burst) {}

asio::awaitable<response> api::handle(request req) {
    if (req.method != "GET" && req.method != "HEAD") {
        auto r = json_error(405, "the API is read-only: GET or HEAD, not " + req.method);
        r.headers.emplace_back("Allow", "GET, HEAD");
        co_return r;
    }
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) co_return json_error(400, "the request target is not a valid URL path");
    const auto u = *parsed;
    std::vector<std::string> path;
    for (auto s : u.segments()) path.push_back(s);
    while (!path.empty() && path.back().empty()) path.pop_back(); // "/api/v1/" as "/api/v1"
    // path[0..1] are "api", "v1" (the site routed on them).
    const std::vector<std::string> rest(path.begin() + std::min<std::size_t>(2, path.size()), path.end());
    for (const auto& segment : rest)
        if (!valid_utf8(segment) || segment.size() > 1024)
            co_return json_error(400, "the path holds bytes that are not UTF-8 text, or a part over 1,024 bytes");
    try {
        if (rest.empty()) {
            only_known(u, {});
            co_return json_answer(index_json());
        }
        if (rest.size() == 1 && rest[0] == "status") {
            only_known(u, {});
            auto facts = facts_();
            auto job = [facts](sql::connection& c) {
                auto st = store::read_status(c);
                for (const auto& hook : facts.webhooks)
                    st.webhook_backlog.push_back(store::webhook_backlog(c, hook.url, hook.events));
                store::count_expiring(c, st, facts.expiry_warning);
                return st;
            };
            if (const auto* st = status_.fresh(status_reuse))
                co_return json_answer(status_json(*st, facts, status_.read_at));
            auto st = co_await db_.run(std::move(job));
            co_return json_answer(status_json(status_.keep(std::move(st)), facts, status_.read_at));
        }
        if (rest.size() == 1 && rest[0] == "throughput") {
            only_known(u, {"hours"});
            std::chrono::hours span{24};
            if (auto it = u.params().find("hours"); it != u.params().end())
                span = std::chrono::hours{whole_number("hours", (*it).value, 1, 168)};
            const auto bucket = bucket_for(span);
            if (const auto* buckets = throughput_.fresh(throughput_reuse, span.count()))
                co_return json_answer(to_json(*buckets, span, bucket));
            auto job = [span, bucket](sql::connection& c) { return store::throughput(c, span, bucket); };
            auto buckets = co_await db_.run(std::move(job));
            co_return json_answer(to_json(throughput_.keep(std::move(buckets), span.count()), span, bucket));
        }
        if (rest.size() == 1 && rest[0] == "problems") {
            only_known(u, {});
            if (const auto* report = problems_.fresh(problems_reuse)) co_return json_answer(to_json(*report));
            auto job = [](sql::connection& c) { return store::problems(c); };
            auto report = co_await db_.run(std::move(job));
            co_return json_answer(to_json(problems_.keep(std::move(report))));
        }
        if (rest.size() == 1 && rest[0] == "domains") {
            const auto filter = list_filter(u);
            auto job = [filter](sql::connection& c) { return store::list_rows(c, filter); };
            const auto page = co_await db_.run(std::move(job));
            co_return json_answer(page_json(page));
        }
        if (rest.size() == 2 && rest[0] == "domains") {
            only_known(u, {});
            auto job = [host = rest[1]](sql::connection& c) {
                auto row = store::find_row(c, host);
                if (row) store::read_history(c, *row);
                return row;
            };
            const auto row = co_await db_.run(std::move(job));
            if (!row) co_return json_error(404, "no row for hostname " + shown(rest[1]));
            co_return json_answer(to_json(*row));
        }
        if (rest.size() == 3 && rest[0] == "domains" && rest[2] == "dns") {
            only_known(u, {});
            auto checking = dns_check(rest[1]);
            co_return co_await std::move(checking);
        }
    } catch (const bad_request& e) {
        co_return json_error(400, e.what());
    } catch (const reader_busy& e) {
        auto r = json_error(503, e.what());
        r.headers.emplace_back("Retry-After", "1");
        co_return r;
    } catch (const store::database_error& e) {
        co_return database_failure(e);
    } catch (const std::exception& e) {
        spdlog::error("web: {} failed: {}", u.path(), e.what());
        co_return json_error(500, "certqd failed to answer; its log says why");
    }
    co_return json_error(404, "no such endpoint: " + shown(u.path()) + "; GET /api/v1/ lists them");
}

asio::awaitable<response> api::dns_check(std::string host) {
    auto job = [host](sql::connection& c) { return store::find_row(c, host); };
    const auto row = co_await db_.run(std::move(job));
    if (!row) co_return json_error(404, "no row for hostname " + shown(host));
    auto names = hostname::parse_row_names(row->hostname, row->alternative_names);
    if (!names.ok()) co_return json_error(422, "the row's names cannot be checked: " + names.why);
    if (!dns_) co_return json_error(503, "live DNS checks are off: certqd could not start a resolver (see its log)");
    // The budget is spent only on checks that will run.
    const auto wait = dns_budget_.try_take(token_bucket::clock::now());
    if (wait > token_bucket::clock::duration::zero()) {
        const auto seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
        auto r = json_error(429, "live DNS checks are limited to protect the resolvers; try again in " +
                                     std::to_string(seconds) + " s");
        r.headers.emplace_back("Retry-After", std::to_string(seconds));
        co_return r;
    }
    auto explaining = dns_(names.names);
    const auto reports = co_await std::move(explaining);
    co_return json_answer(dns_json(row->hostname, reports));
}

} // namespace certq::web
