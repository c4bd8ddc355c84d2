#include "web/json.hpp"

#include "hostname/names.hpp"
#include "util/json_text.hpp"

#include <boost/json/parse.hpp>

namespace certq::web {

namespace json = boost::json;

namespace {

// The hostname as the customer reads it, when it holds A-labels (xn--…); null otherwise.
json::value unicode_of(const std::string& hostname) {
    if (hostname.find("xn--") == std::string::npos) return nullptr;
    auto readable = hostname::readable(hostname);
    return readable == hostname ? json::value(nullptr) : json::value(std::move(readable));
}

json::value time_or_null(const std::optional<std::int64_t>& unix_ms) {
    return unix_ms ? json::value(format_iso8601(from_unix_ms(*unix_ms))) : json::value(nullptr);
}

// A column holding a JSON array as text: the array, or the text itself when a user stored
// something else there (the row is then `invalid`, and the page shows what was written).
json::value json_column(const std::optional<std::string>& text) {
    if (!text) return json::array{};
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (ec || !v.is_array()) return json::value(*text);
    return v;
}

} // namespace

json::object to_json(const store::row_summary& row) {
    return {{"id", row.id},
            {"hostname", row.hostname},
            {"unicode", unicode_of(row.hostname)},
            {"state", row.state},
            {"detail", nullable(row.detail)},
            {"certificate_id", nullable(row.certificate_id)},
            {"workload_id", nullable(row.workload_id)},
            {"valid_until", time_or_null(row.valid_until_ms)},
            {"created_at", row.created_at},
            {"updated_at", row.updated_at}};
}

json::object to_json(const store::row_story& row) {
    // What a list shows of the row, and the rest of its columns.
    auto domain = to_json(static_cast<const store::row_summary&>(row));
    domain["alternative_names"] = json_column(row.alternative_names);
    domain["names"] = json_column(row.names);
    domain["wanted"] = row.wanted;
    domain["certificate_name"] = nullable(row.certificate_name);
    domain["validity"] = nullable(row.validity);
    domain["renewed_at"] = nullable(row.renewed_at);
    domain["attempts"] = row.attempts;
    domain["polls"] = row.polls;
    domain["next_attempt_at"] = time_or_null(row.next_attempt_ms);
    domain["state_since"] = format_iso8601(from_unix_ms(row.state_since_ms));
    json::array transitions;
    for (const auto& t : row.transitions)
        transitions.push_back(json::object{{"id", t.id},
                                           {"at", t.at},
                                           {"from", nullable(t.from_state)},
                                           {"to", t.to_state},
                                           {"detail", nullable(t.detail)}});
    json::value workload = nullptr;
    if (row.workload_id) {
        json::array others;
        for (const auto& [host, state] : row.workload_others)
            others.push_back(json::object{{"hostname", host}, {"state", state}});
        workload = json::object{{"id", *row.workload_id}, {"rows", row.workload_rows}, {"others", std::move(others)}};
    }
    return {{"domain", std::move(domain)},
            {"workload", std::move(workload)},
            {"transitions", std::move(transitions)},
            {"transitions_omitted", row.transitions_omitted}};
}

json::object to_json(const store::problem_report& report) {
    json::array groups;
    for (const auto& g : report.groups)
        groups.push_back(
            json::object{{"state", g.state}, {"reason", g.reason}, {"rows", g.rows}, {"example", g.example}});
    return {{"groups", std::move(groups)},
            {"rows_examined", report.rows_examined},
            {"limited", report.limited},
            {"max_rows", report.max_rows}};
}

json::object to_json(const std::vector<store::throughput_bucket>& buckets, std::chrono::minutes span,
                     std::chrono::minutes bucket) {
    json::array out;
    for (const auto& b : buckets) {
        json::object o{{"start", format_iso8601(b.start)}};
        for (const auto s : all_states)
            if (is_terminal(s)) o[to_string(s)] = b.count(s);
        out.push_back(std::move(o));
    }
    return {{"hours", std::chrono::duration_cast<std::chrono::hours>(span).count()},
            {"bucket_seconds", std::chrono::duration_cast<std::chrono::seconds>(bucket).count()},
            {"buckets", std::move(out)}};
}

} // namespace certq::web
