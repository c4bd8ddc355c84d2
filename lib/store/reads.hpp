#pragma once
// What people read about rows: a page of the table, one row's story, what fails most, and how
// many rows finished when. The CLI (`certq list`, `certq show`) and the web API share these, on
// either engine, on a connection of their own.

#include "store/sql.hpp"
#include "store/state.hpp"
#include "util/time.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certq::store {

/// A row as a list shows it.
struct row_summary {
    std::int64_t id = 0;
    std::string hostname;
    std::string state;
    std::optional<std::string> detail;
    std::optional<std::int64_t> certificate_id;
    std::optional<std::int64_t> workload_id;
    std::optional<std::int64_t> valid_until_ms;
    std::string created_at;
    std::string updated_at;
};

struct row_filter {
    std::optional<domain_state> state;
    /// Text the hostname contains, case-insensitively ("" matches every row).
    std::string contains;
    /// `contains` as a whole hostname in its sent form (A-labels), when it is one: it also
    /// matches that spelling, and the row that has it among its names (alternative names too).
    std::string whole_name;
    bool newest_first = true;
    /// Keyset paging: the `next` of the previous page.
    std::optional<std::int64_t> after;
    int limit = 50; ///< rows per page (at least 1)
};

struct row_page {
    std::vector<row_summary> rows;
    /// Where the next page starts; unset on the last page.
    std::optional<std::int64_t> next;
};

/// One page of rows in insertion order (by id). Each page is an index range from the previous
/// page's last id, so the 10,000th page costs what the first does. Throws database_error.
row_page list_rows(sql::connection& db, const row_filter& filter);

struct transition {
    std::int64_t id = 0;
    std::string at;
    std::optional<std::string> from_state;
    std::string to_state;
    std::optional<std::string> detail;
};

/// Everything the table knows about one row: what a list shows, and the rest.
struct row_story : row_summary {
    std::optional<std::string> alternative_names; ///< JSON text as the user wrote it
    std::optional<std::string> names;             ///< JSON text: the names sent (A-labels)
    std::string wanted;
    std::optional<std::string> certificate_name;
    std::optional<std::string> validity;
    std::optional<std::string> renewed_at;
    std::int64_t attempts = 0;
    std::int64_t polls = 0;
    std::optional<std::int64_t> next_attempt_ms;
    std::int64_t state_since_ms = 0;
    // Filled by read_history:
    /// Rows (this one included) that name the same workload, and up to 20 of the others.
    std::int64_t workload_rows = 0;
    std::vector<std::pair<std::string, std::string>> workload_others; ///< hostname, state
    /// Oldest first; the newest `max_transitions` when there are more.
    std::vector<transition> transitions;
    std::int64_t transitions_omitted = 0;
};

/// The row whose hostname is `host` (case-insensitively; a trailing dot ignored), its columns
/// only; nullopt when there is none. Throws database_error.
std::optional<row_story> find_row(sql::connection& db, const std::string& host);

/// Adds what surrounds the row: its newest `max_transitions` transitions and the other rows on
/// its workload. Throws database_error.
void read_history(sql::connection& db, row_story& row, std::size_t max_transitions = 1000);

/// Rows in one state that share a reason: their detail with the names, numbers and addresses
/// that differ from row to row taken out.
struct problem_group {
    std::string state;
    std::string reason;
    std::int64_t rows = 0;
    std::string example; ///< the newest row's hostname
};

struct problem_report {
    std::vector<problem_group> groups; ///< biggest first
    std::int64_t rows_examined = 0;
    bool limited = false; ///< more problem rows exist than were read
    std::int64_t max_rows = 0; ///< how many are read at most
};

/// Groups the newest `max_rows` rows in invalid, dns_waiting, dns_failed, throttled, failed
/// or moved; at most `max_groups` groups. Throws database_error.
problem_report problems(sql::connection& db, std::size_t max_rows = 20000, std::size_t max_groups = 20);

/// `detail`'s first line with the parts that name a row taken out: words holding a digit or an
/// inner dot (hostnames, addresses, times, counts) become "…". Pure.
std::string reason_of(std::string_view detail);

/// Rows that reached each terminal state (is_terminal), per bucket. Buckets cover
/// [start, start + bucket).
struct throughput_bucket {
    wall_time start;
    std::map<domain_state, std::int64_t> finished; ///< a terminal state absent: none
    std::int64_t count(domain_state s) const {
        const auto it = finished.find(s);
        return it == finished.end() ? 0 : it->second;
    }
};

/// The `bucket`-sized buckets from the one holding now - `span` to the one holding `now`,
/// empty ones included. `bucket` is a whole number of minutes. Throws database_error.
std::vector<throughput_bucket> throughput(sql::connection& db, std::chrono::minutes span,
                                          std::chrono::minutes bucket, wall_time now = wall_now());

} // namespace certq::store
