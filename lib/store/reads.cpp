#include "store/reads.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace certq::store {

namespace {

constexpr const char* problem_states = "('invalid', 'dns_waiting', 'dns_failed', 'throttled', 'failed', 'moved')";

// LIKE's own characters in the user's text match themselves.
std::string like_pattern(std::string_view text) {
    std::string out = "%";
    for (const char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return out + "%";
}

} // namespace

row_page list_rows(sql::connection& db, const row_filter& filter) {
    // Only the conditions in use are written: an "?1 = '' OR state = ?1" would hide the index
    // from both planners.
    std::string where;
    std::vector<sql::arg> args;
    const auto add = [&](const std::string& condition, sql::arg value) {
        args.push_back(std::move(value));
        where += (where.empty() ? " WHERE " : " AND ") + condition + "?" + std::to_string(args.size());
    };
    if (filter.state) add("state = ", std::string(to_string(*filter.state)));
    if (!filter.contains.empty()) {
        std::string any = "(lower(hostname) LIKE ?" + std::to_string(args.size() + 1) + " ESCAPE '\\'";
        args.emplace_back(like_pattern(filter.contains));
        if (!filter.whole_name.empty()) {
            any += " OR lower(hostname) LIKE ?" + std::to_string(args.size() + 1) + " ESCAPE '\\'" +
                   " OR id IN (SELECT domain_id FROM row_names WHERE name = ?" + std::to_string(args.size() + 2) + ")";
            args.emplace_back(like_pattern(filter.whole_name));
            args.emplace_back(filter.whole_name);
        }
        where += (where.empty() ? " WHERE " : " AND ") + any + ")";
    }
    if (filter.after) add(filter.newest_first ? "id < " : "id > ", *filter.after);
    const auto limit = std::max(filter.limit, 1);
    args.emplace_back(limit + 1); // one more tells whether a next page exists
    auto stmt = db.query("SELECT id, hostname, state, detail, certificate_id, workload_id, valid_until, created_at, "
                         "updated_at FROM domains" +
                             where + " ORDER BY id " + (filter.newest_first ? "DESC" : "ASC") + " LIMIT ?" +
                             std::to_string(args.size()),
                         args);
    row_page page;
    while (stmt->step()) {
        if (static_cast<int>(page.rows.size()) == limit) {
            page.next = page.rows.back().id;
            break;
        }
        page.rows.push_back({stmt->column_int(0), stmt->column_text(1), stmt->column_text(2),
                             stmt->column_optional_text(3), stmt->column_optional_int(4),
                             stmt->column_optional_int(5), stmt->column_optional_int(6), stmt->column_text(7),
                             stmt->column_text(8)});
    }
    return page;
}

std::optional<row_story> find_row(sql::connection& db, const std::string& host) {
    const auto read = [&db](const std::string& name) {
        return db.query("SELECT id, hostname, alternative_names, names, state, detail, wanted, certificate_id, "
                        "request_name, validity, valid_until, renewed_at, workload_id, attempts, polls, "
                        "next_attempt_at, state_since, created_at, updated_at FROM domains WHERE hostname = ?1",
                        {name});
    };
    auto row = read(host);
    // An absolute name (trailing dot) finds the row written without it.
    if (!row->step()) {
        if (host.empty() || host.back() != '.') return std::nullopt;
        row = read(host.substr(0, host.size() - 1));
        if (!row->step()) return std::nullopt;
    }
    row_story r;
    r.id = row->column_int(0);
    r.hostname = row->column_text(1);
    r.alternative_names = row->column_optional_text(2);
    r.names = row->column_optional_text(3);
    r.state = row->column_text(4);
    r.detail = row->column_optional_text(5);
    r.wanted = row->column_text(6);
    r.certificate_id = row->column_optional_int(7);
    r.certificate_name = row->column_optional_text(8);
    r.validity = row->column_optional_text(9);
    r.valid_until_ms = row->column_optional_int(10);
    r.renewed_at = row->column_optional_text(11);
    r.workload_id = row->column_optional_int(12);
    r.attempts = row->column_int(13);
    r.polls = row->column_int(14);
    r.next_attempt_ms = row->column_optional_int(15);
    r.state_since_ms = row->column_int(16);
    r.created_at = row->column_text(17);
    r.updated_at = row->column_text(18);
    return r;
}

void read_history(sql::connection& db, row_story& r, std::size_t max_transitions) {
    if (r.workload_id) {
        auto count = db.query("SELECT count(*) FROM domains WHERE workload_id = ?1", {*r.workload_id});
        r.workload_rows = count->step() ? count->column_int(0) : 0;
        auto others = db.query("SELECT hostname, state FROM domains WHERE workload_id = ?1 AND id != ?2 "
                               "ORDER BY id LIMIT 20",
                               {*r.workload_id, r.id});
        while (others->step()) r.workload_others.emplace_back(others->column_text(0), others->column_text(1));
    }
    // The newest first, so a row re-queued a thousand times shows its latest story.
    auto t = db.query("SELECT id, at, from_state, to_state, detail FROM transitions WHERE domain_id = ?1 "
                      "ORDER BY id DESC LIMIT ?2",
                      {r.id, static_cast<std::int64_t>(std::min<std::size_t>(max_transitions, 1'000'000'000)) + 1});
    while (t->step()) {
        if (r.transitions.size() == max_transitions) {
            auto count = db.query("SELECT count(*) FROM transitions WHERE domain_id = ?1", {r.id});
            r.transitions_omitted = (count->step() ? count->column_int(0) : 0) - static_cast<std::int64_t>(max_transitions);
            break;
        }
        r.transitions.push_back({t->column_int(0), t->column_text(1), t->column_optional_text(2), t->column_text(3),
                                 t->column_optional_text(4)});
    }
    std::reverse(r.transitions.begin(), r.transitions.end());
}

std::string reason_of(std::string_view detail) {
    detail = detail.substr(0, detail.find('\n'));
    const auto in_word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == '_' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
    };
    std::string out;
    std::size_t i = 0;
    while (i < detail.size()) {
        if (!in_word(detail[i])) {
            out += detail[i++];
            continue;
        }
        auto end = i;
        while (end < detail.size() && in_word(detail[end])) ++end;
        auto word = detail.substr(i, end - i);
        // Punctuation closing a sentence or a label ("example.com:", "at 05:00.") is kept.
        std::string_view tail;
        while (!word.empty() && (word.back() == '.' || word.back() == ':')) {
            tail = detail.substr(i + word.size() - 1, tail.size() + 1);
            word.remove_suffix(1);
        }
        const bool digit = word.find_first_of("0123456789") != std::string_view::npos;
        const bool inner_dot = word.find('.') != std::string_view::npos;
        if (digit || inner_dot) {
            if (!(out.size() >= 3 && out.compare(out.size() - 3, 3, "…") == 0)) out += "…";
        } else {
            out += word;
        }
        out += tail;
        i = end;
    }
    return out;
}

problem_report problems(sql::connection& db, std::size_t max_rows, std::size_t max_groups) {
    problem_report report;
    report.max_rows = static_cast<std::int64_t>(max_rows);
    auto stmt = db.query(std::string("SELECT state, coalesce(detail, ''), hostname FROM domains") +
                             db.indexed_by("domains_state") + " WHERE state IN " + problem_states +
                             " ORDER BY id DESC LIMIT ?1",
                         {static_cast<std::int64_t>(max_rows) + 1});
    std::map<std::pair<std::string, std::string>, problem_group> by_reason;
    while (stmt->step()) {
        if (static_cast<std::size_t>(report.rows_examined) == max_rows) {
            report.limited = true;
            break;
        }
        ++report.rows_examined;
        auto state = stmt->column_text(0);
        auto reason = reason_of(stmt->column_text(1));
        auto& g = by_reason[{state, reason}];
        if (g.rows++ == 0) {
            g.state = std::move(state);
            g.reason = std::move(reason);
            g.example = stmt->column_text(2);
        }
    }
    for (auto& [key, g] : by_reason) report.groups.push_back(std::move(g));
    std::stable_sort(report.groups.begin(), report.groups.end(),
                     [](const auto& a, const auto& b) { return a.rows > b.rows; });
    if (report.groups.size() > max_groups) report.groups.resize(max_groups);
    return report;
}

std::vector<throughput_bucket> throughput(sql::connection& db, std::chrono::minutes span, std::chrono::minutes bucket,
                                          wall_time now) {
    const auto bucket_ms = std::chrono::duration_cast<millis>(bucket).count();
    const auto first = (to_unix_ms(now - span) / bucket_ms) * bucket_ms;
    const auto last = (to_unix_ms(now) / bucket_ms) * bucket_ms;
    std::vector<throughput_bucket> out;
    for (auto start = first; start <= last; start += bucket_ms) out.push_back({from_unix_ms(start), {}});
    std::string terminal;
    for (const auto s : all_states)
        if (is_terminal(s)) terminal += (terminal.empty() ? "'" : ", '") + std::string(to_string(s)) + "'";
    // Grouped by minute in SQL (a few hundred groups at most), then into buckets here.
    auto stmt = db.query("SELECT to_state, " + db.unix_ms_of("at") + " / 60000 AS minute, count(*) FROM transitions" +
                             " WHERE at >= ?1 AND to_state IN (" + terminal + ") GROUP BY to_state, minute",
                         {format_iso8601(from_unix_ms(first))});
    while (stmt->step()) {
        const auto ms = stmt->column_int(1) * 60000;
        if (ms < first || ms > last + bucket_ms - 1) continue; // a clock set back: after now
        if (const auto to = parse_state(stmt->column_text(0)))
            out[static_cast<std::size_t>((ms - first) / bucket_ms)].finished[*to] += stmt->column_int(2);
    }
    return out;
}

} // namespace certq::store
