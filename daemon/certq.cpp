// certq: the operator's tool over certqd's database. It reads and writes the same SQLite file
// and works while certqd runs (WAL; writes wait up to five seconds for the lock).

#include "check.hpp"
#include "database.hpp"
#include "hooks.hpp"
#include "command_line.hpp"
#include "config/config.hpp"
#include "store/domain_store.hpp"
#include "store/migrations.hpp"
#include "store/reads.hpp"
#include "store/status.hpp"
#include "util/json_text.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <iomanip>
#include <limits>
#include <map>
#include <iostream>
#include <sstream>
#include <thread>

namespace {

namespace json = boost::json;
using certq::sql::connection;

using certq::exit_ok;
using certq::exit_runtime;
using certq::exit_usage;

using certq::first_line;
using certq::open_existing;

using certq::nullable;

// 1234567 → "1,234,567": counts and rates as a person reads them.
std::string grouped(std::int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return n < 0 ? "-" + digits : digits;
}

std::string rate_text(double per_minute) {
    if (per_minute >= 10) return grouped(std::llround(per_minute));
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << per_minute;
    return out.str();
}

void print_status(const certq::store::queue_status& st, std::ostream& out) {
    out << st.total << " rows";
    for (const auto& [state, n] : st.counts) out << ", " << n << " " << certq::to_string(state);
    out << "\n";
    if (st.per_minute && st.span)
        out << grouped(st.finished_recently) << " finished " << (st.unfinished > 0 ? "in the last " : "in ")
            << certq::format_duration(*st.span) << " (" << rate_text(*st.per_minute) << "/min)";
    else if (st.finished_recently > 0)
        out << grouped(st.finished_recently) << " finished in the last " << certq::format_duration(st.window)
            << " (too few for a rate)";
    else
        out << "nothing finished in the last " << certq::format_duration(st.window);
    if (st.unfinished == 0) out << "; nothing left to do\n";
    else if (auto eta = st.eta()) out << "; " << grouped(st.unfinished) << " left, about " << certq::format_duration(*eta) << " to go\n";
    else out << "; " << grouped(st.unfinished) << " left\n";
    for (const auto& w : st.webhook_backlog)
        out << "webhook " << w.url << ": "
            << (w.started ? grouped(w.waiting) + " event(s) waiting" : std::string("not started yet")) << "\n";
    if (st.expiring > 0)
        out << grouped(st.expiring) << " certificate(s) end within "
            << (st.expiry_warning.count() % 86'400'000 == 0 ? std::to_string(st.expiry_warning.count() / 86'400'000) + "d"
                                                             : certq::format_duration(st.expiry_warning))
            << " without renewal (certq list --state active; Azion renews 30 days ahead when the names point to it)\n";
}

json::array webhooks_json(const certq::store::queue_status& st) {
    json::array out;
    for (const auto& w : st.webhook_backlog)
        out.push_back({{"url", w.url}, {"started", w.started}, {"waiting", w.waiting}});
    return out;
}

json::object status_json(const certq::store::queue_status& st) {
    json::object counts;
    for (auto s : certq::all_states) counts[certq::to_string(s)] = 0;
    for (const auto& [state, n] : st.counts) counts[certq::to_string(state)] = n;
    std::optional<double> span_seconds;
    if (st.span) span_seconds = static_cast<double>(st.span->count()) / 1000.0;
    std::optional<std::int64_t> eta_seconds;
    if (auto eta = st.eta()) eta_seconds = eta->count();
    return json::object{{"total", st.total},
                        {"unfinished", st.unfinished},
                        {"counts", counts},
                        {"window_seconds", st.window.count()},
                        {"finished_in_window", st.finished_recently},
                        {"finished_per_minute", nullable(st.per_minute)},
                        {"finished_span_seconds", nullable(span_seconds)},
                        {"eta_seconds", nullable(eta_seconds)},
                        {"expiring", st.expiring},
                        {"webhooks", webhooks_json(st)},
                        {"expiry_warning_seconds", st.expiry_warning.count() / 1000}};
}

int status(const certq::config& cfg, bool as_json, int minutes) {
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    auto st = certq::store::read_status(db, std::chrono::minutes{minutes});
    certq::store::count_expiring(db, st, cfg.monitor.expiry_warning);
    for (const auto& hook : cfg.notify.webhooks) st.webhook_backlog.push_back(certq::store::webhook_backlog(db, hook.url, hook.events));
    if (as_json) std::cout << certq::to_json_text(status_json(st)) << "\n";
    else print_status(st, std::cout);
    return exit_ok;
}

volatile std::sig_atomic_t interrupted = 0;

int watch(const certq::config& cfg, int interval) {
    std::signal(SIGINT, [](int) { interrupted = 1; });
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    // One connection for the whole watch (on PostgreSQL a connect is a round trip or three),
    // opened again only when the server dropped it.
    std::unique_ptr<connection> db_handle;
    while (!interrupted) {
        if (!db_handle) db_handle = open_existing(cfg);
        auto& db = *db_handle;
        certq::store::queue_status st;
        try {
            st = certq::store::read_status(db, std::chrono::minutes{5});
        } catch (const certq::store::database_error& e) {
            if (!e.connection_lost()) throw;
            db_handle.reset();
            continue;
        }
        if (tty) std::cout << "\x1b[H\x1b[2J";
        std::cout << "certq watch: " << db.describe() << "  (" << certq::format_iso8601(certq::wall_now())
                  << ", Ctrl-C to stop)\n\n";
        print_status(st, std::cout);
        if (st.total > 0) {
            const auto done = st.total - st.unfinished;
            const int width = 50;
            const int filled = static_cast<int>(width * done / st.total);
            std::cout << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done << "/"
                      << st.total << "\n";
        }
        std::cout.flush();
        for (int i = 0; i < interval * 10 && !interrupted; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    return exit_ok;
}

int list(const certq::config& cfg, const std::string& state, int limit, bool as_json) {
    if (!state.empty() && !certq::parse_state(state))
        throw CLI::ValidationError("--state", "unknown state \"" + state + "\"");
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    certq::store::row_filter filter;
    filter.state = certq::parse_state(state);
    filter.newest_first = false;
    filter.limit = limit;
    json::array rows;
    for (const auto& r : certq::store::list_rows(db, filter).rows) {
        const auto detail = r.detail.value_or("");
        if (as_json) {
            rows.push_back(json::object{{"id", r.id}, {"hostname", r.hostname}, {"state", r.state}, {"detail", detail},
                                        {"certificate_id", nullable(r.certificate_id)}, {"updated_at", r.updated_at}});
        } else {
            std::cout << std::left << std::setw(7) << r.id << std::setw(40) << r.hostname << " " << std::setw(12)
                      << r.state << " " << first_line(detail) << "\n";
        }
    }
    if (as_json) std::cout << certq::to_json_text(rows) << "\n";
    return exit_ok;
}

int show(const certq::config& cfg, const std::string& host, bool as_json) {
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    // A trailing dot (an absolute name) finds the row too.
    auto row = certq::store::find_row(db, host);
    if (!row) {
        std::cerr << "certq: no row for " << host << "\n";
        return exit_runtime;
    }
    certq::store::read_history(db, *row, std::numeric_limits<std::size_t>::max());
    json::object r{{"id", row->id},
                   {"hostname", row->hostname},
                   {"alternative_names", nullable(row->alternative_names)},
                   {"names", nullable(row->names)},
                   {"state", row->state},
                   {"detail", nullable(row->detail)},
                   {"certificate_id", nullable(row->certificate_id)},
                   {"certificate_name", nullable(row->certificate_name)},
                   {"wanted", row->wanted},
                   {"validity", nullable(row->validity)},
                   {"created_at", row->created_at},
                   {"updated_at", row->updated_at}};
    json::array transitions;
    for (const auto& t : row->transitions)
        transitions.push_back(json::object{{"at", t.at}, {"from", t.from_state.value_or("")},
                                           {"to", t.to_state}, {"detail", nullable(t.detail)}});
    if (as_json) {
        r["transitions"] = transitions;
        std::cout << certq::to_json_text(r) << "\n";
        return exit_ok;
    }
    for (const auto& [k, v] : r)
        std::cout << std::left << std::setw(20) << std::string(k) + ":"
                  << (v.is_string() ? std::string(v.as_string()) : certq::to_json_text(v)) << "\n";
    std::cout << "\ntransitions:\n";
    for (const auto& tv : transitions) {
        const auto& o = tv.as_object();
        std::cout << "  " << o.at("at").as_string().c_str() << "  " << std::setw(12)
                  << (o.at("from").as_string().empty() ? "(insert)" : o.at("from").as_string().c_str()) << " -> "
                  << std::setw(12) << o.at("to").as_string().c_str()
                  << (o.at("detail").is_string() ? "  " + first_line(std::string(o.at("detail").as_string())) : "") << "\n";
    }
    return exit_ok;
}

// Lines of stdin: "host [alt ...]", names separated by spaces or commas; blanks and #comments skipped.
std::vector<std::pair<std::string, std::vector<std::string>>> read_rows(std::istream& in) {
    std::vector<std::pair<std::string, std::vector<std::string>>> rows;
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::replace(line.begin(), line.end(), ',', ' ');
        std::istringstream words(line);
        std::string host, san;
        if (!(words >> host)) continue;
        std::vector<std::string> sans;
        while (words >> san) sans.push_back(san);
        rows.emplace_back(host, sans);
    }
    return rows;
}

int enqueue(const certq::config& cfg, const std::vector<std::string>& hosts, const std::vector<std::string>& sans) {
    std::vector<std::pair<std::string, std::vector<std::string>>> rows;
    if (hosts.size() == 1 && hosts[0] == "-") rows = read_rows(std::cin);
    else
        for (const auto& h : hosts) rows.emplace_back(h, sans);
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    certq::sql::transaction tx(db);
    std::size_t added = 0;
    std::vector<std::string> skipped;
    for (const auto& [host, alts] : rows) {
        json::array names;
        for (const auto& a : alts) names.emplace_back(a);
        if (db.run("INSERT INTO domains (hostname, alternative_names) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                   {host, json::serialize(names)}) == 1)
            ++added;
        else
            skipped.push_back(host);
    }
    tx.commit();
    std::cout << "enqueued " << added << " row(s)";
    if (!skipped.empty()) {
        std::cout << "; skipped " << skipped.size() << " already in the table:";
        for (std::size_t i = 0; i < skipped.size() && i < 20; ++i) std::cout << " " << skipped[i];
        if (skipped.size() > 20) std::cout << " ...";
    }
    std::cout << "\n";
    return exit_ok;
}

int retry(const certq::config& cfg, const std::string& state) {
    if (!state.empty()) {
        const auto s = certq::parse_state(state);
        if (!s || !certq::is_terminal(*s) || *s == certq::domain_state::active || *s == certq::domain_state::removed)
            throw CLI::ValidationError("--state", "retry takes failed, dns_failed or invalid, not \"" + state + "\"");
    }
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    const auto requeued =
        state.empty() ? db.run("UPDATE domains SET state = 'queued' WHERE state IN ('failed', 'dns_failed')")
                      : db.run("UPDATE domains SET state = 'queued' WHERE state = ?1", {state});
    std::cout << "re-queued " << requeued << " row(s)\n";
    return exit_ok;
}

int remove(const certq::config& cfg, const std::string& host) {
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    if (db.run("UPDATE domains SET wanted = 'absent' WHERE hostname = ?1", {host}) == 0) {
        std::cerr << "certq: no row for " << host << "\n";
        return exit_runtime;
    }
    std::cout << "marked " << host << " for removal (wanted = absent)\n";
    return exit_ok;
}

// Moving a queue between databases (SQLite to PostgreSQL, or back): every row with everything
// certqd knows of it, and the Let's Encrypt ledger, as JSON lines. A row's transitions stay
// behind (the import records one, "imported", per row).
constexpr const char* domain_columns[] = {
    "hostname", "alternative_names", "certificate_name", "wanted", "workload_id", "state", "detail",
    "certificate_id", "generation", "request_name", "attempts", "polls", "next_attempt_at", "state_since",
    "validity", "created_at", "updated_at", "dns_checks", "names", "dns_excused_ms", "attached_workload_id",
    "previous_certificate_id", "renewed_at", "valid_until", "attach_tries"};
constexpr const char* integer_columns[] = {"certificate_id", "generation", "attempts", "polls", "next_attempt_at",
                                          "state_since", "dns_checks", "dns_excused_ms", "attached_workload_id",
                                          "previous_certificate_id", "valid_until", "attach_tries"};

bool is_integer_column(std::string_view c) {
    return std::find(std::begin(integer_columns), std::end(integer_columns), c) != std::end(integer_columns);
}

int export_rows(const certq::config& cfg) {
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    std::string columns;
    for (const char* c : domain_columns) columns += std::string(columns.empty() ? "" : ", ") + c;
    std::size_t rows = 0, requests = 0;
    // One snapshot for the rows and the ledger, so that a row inserted meanwhile is in both or
    // in neither.
    db.exec(db.kind() == certq::sql::dialect::postgresql ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                         : "BEGIN");
    auto domains = db.query("SELECT " + columns + " FROM domains ORDER BY id");
    while (domains->step()) {
        json::object row;
        int i = 0;
        for (const char* c : domain_columns) {
            if (domains->is_null(i)) row[c] = nullptr;
            else if (is_integer_column(c)) row[c] = domains->column_int(i);
            else row[c] = domains->column_text(i);
            ++i;
        }
        std::cout << json::serialize(json::object{{"table", "domains"}, {"row", std::move(row)}}) << "\n";
        ++rows;
    }
    // One read of the ledger with its registered domains, a request's lines together.
    auto ledger = db.query("SELECT r.id, d.hostname, r.names_key, r.at, l.registered_domain FROM le_requests r "
                           "JOIN domains d ON d.id = r.domain_id "
                           "LEFT JOIN le_request_domains l ON l.request_id = r.id ORDER BY r.id, l.registered_domain");
    std::optional<std::int64_t> current;
    json::object request;
    const auto flush = [&] {
        if (!current) return;
        std::cout << json::serialize(json::object{{"table", "le_requests"}, {"row", std::move(request)}}) << "\n";
        ++requests;
    };
    while (ledger->step()) {
        if (ledger->column_int(0) != current) {
            flush();
            current = ledger->column_int(0);
            request = {{"hostname", ledger->column_text(1)},
                       {"names_key", ledger->column_text(2)},
                       {"at", ledger->column_int(3)},
                       {"registered_domains", json::array{}}};
        }
        if (!ledger->is_null(4)) request["registered_domains"].as_array().emplace_back(ledger->column_text(4));
    }
    flush();
    db.exec("COMMIT");
    std::cerr << "exported " << rows << " row(s) and " << requests << " Let's Encrypt request(s)\n";
    return exit_ok;
}

certq::sql::arg arg_of(const json::value& v) {
    if (v.is_null()) return nullptr;
    if (v.is_int64()) return static_cast<long long>(v.as_int64());
    if (v.is_string()) return std::string(v.as_string());
    throw std::runtime_error("unexpected value " + json::serialize(v));
}

int import_rows(const certq::config& cfg) {
    const auto db_handle = open_existing(cfg);
    auto& db = *db_handle;
    if (auto held = db.query("SELECT count(*) FROM domains"); held->step() && held->column_int(0) > 0)
        throw std::runtime_error(db.describe() + " already holds rows: import into an empty database");
    certq::sql::transaction tx(db, certq::sql::commit_durability::full);
    std::map<std::string, std::int64_t> id_of;
    std::size_t rows = 0, requests = 0, line_number = 0;
    for (std::string line; std::getline(std::cin, line);) {
        ++line_number;
        if (line.empty()) continue;
        const auto where = "line " + std::to_string(line_number);
        boost::system::error_code ec;
        auto parsed = json::parse(line, ec);
        if (ec || !parsed.is_object() || !parsed.as_object().contains("table") || !parsed.as_object().contains("row") ||
            !parsed.at("row").is_object())
            throw std::runtime_error(where + ": not a line of certq export");
        const auto table = std::string(parsed.at("table").as_string());
        const auto& row = parsed.at("row").as_object();
        if (table == "domains") {
            std::string columns, values;
            std::vector<certq::sql::arg> args;
            for (const char* c : domain_columns) {
                if (!row.contains(c)) continue;
                args.push_back(arg_of(row.at(c)));
                columns += std::string(columns.empty() ? "" : ", ") + c;
                values += std::string(values.empty() ? "?" : ", ?") + std::to_string(args.size());
            }
            auto inserted = db.query("INSERT INTO domains (" + columns + ") VALUES (" + values + ") RETURNING id", args);
            if (!inserted->step()) throw std::runtime_error(where + ": the row was not inserted");
            const auto id = inserted->column_int(0);
            inserted.reset();
            const auto hostname = std::string(row.at("hostname").as_string());
            id_of[hostname] = id;
            // The names a row claims (intake's record), rebuilt from the row's own list.
            if (row.contains("names") && row.at("names").is_string()) {
                const auto names = json::parse(row.at("names").as_string());
                if (names.is_array())
                    for (const auto& n : names.as_array())
                        db.run("INSERT INTO row_names (domain_id, name) VALUES (?1, ?2)", {id, std::string(n.as_string())});
            }
            db.run("UPDATE transitions SET detail = 'imported' WHERE domain_id = ?1 AND from_state IS NULL", {id});
            ++rows;
        } else if (table == "le_requests") {
            const auto host = std::string(row.at("hostname").as_string());
            const auto it = id_of.find(host);
            if (it == id_of.end()) throw std::runtime_error(where + ": a request for " + host + ", which has no row");
            certq::store::budget_claim claim;
            claim.names_key = std::string(row.at("names_key").as_string());
            for (const auto& d : row.at("registered_domains").as_array())
                claim.registered_domains.emplace_back(d.as_string());
            certq::store::record_request(db, it->second, claim, certq::from_unix_ms(row.at("at").to_number<std::int64_t>()));
            ++requests;
        } else {
            throw std::runtime_error(where + ": unknown table \"" + table + "\"");
        }
    }
    tx.commit();
    std::cout << "imported " << rows << " row(s) and " << requests << " Let's Encrypt request(s) into "
              << db.describe() << "\n";
    return exit_ok;
}

int migrate(const certq::config& cfg) {
    const auto db = certq::sql::open(cfg.database.string(), certq::database_password());
    const auto [from, to] = certq::sql::migrate(*db);
    if (from == to)
        std::cout << db->describe() << ": schema is up to date (version " << to << ")\n";
    else
        std::cout << db->describe() << ": migrated schema from version " << from << " to " << to << "\n";
    return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"certq: the operator's tool for certqd"};
    std::string config_file = "/etc/certq/certqd.yaml";
    app.add_option("-c,--config", config_file, "certqd's configuration file")->capture_default_str();
    app.set_version_flag("--version", "certq " CERTQ_VERSION);
    app.require_subcommand(1);
    bool as_json = false;
    std::string state, host;
    int limit = 1000, interval = 2, minutes = 5;
    std::vector<std::string> hosts, sans;

    auto* status_cmd = app.add_subcommand("status", "rows per state, recent throughput, time to go");
    status_cmd->add_flag("--json", as_json, "print JSON");
    status_cmd->add_option("--minutes", minutes, "throughput window")->check(CLI::Range(1, 1440));
    auto* watch_cmd = app.add_subcommand("watch", "live progress on the terminal");
    watch_cmd->add_option("--interval", interval, "seconds between refreshes")->check(CLI::Range(1, 3600));
    auto* list_cmd = app.add_subcommand("list", "rows, optionally in one state");
    list_cmd->add_option("--state", state, "only rows in this state");
    list_cmd->add_option("--limit", limit, "at most this many rows")->check(CLI::Range(1, 100000000));
    list_cmd->add_flag("--json", as_json, "print JSON");
    auto* show_cmd = app.add_subcommand("show", "one row and its transitions");
    show_cmd->add_option("host", host, "hostname")->required();
    show_cmd->add_flag("--json", as_json, "print JSON");
    auto* enqueue_cmd = app.add_subcommand("enqueue", "add rows (HOST... or - for stdin, one row per line)");
    enqueue_cmd->add_option("hosts", hosts, "hostnames, or - to read lines \"host [alt ...]\" from stdin")->required();
    enqueue_cmd->add_option("--san", sans, "alternative name for the hosts given as arguments (repeatable)");
    auto* retry_cmd = app.add_subcommand("retry", "re-queue failed and dns_failed rows (or one state)");
    retry_cmd->add_option("--state", state, "failed, dns_failed or invalid");
    auto* remove_cmd = app.add_subcommand("remove", "offboard a hostname (wanted = absent)");
    remove_cmd->add_option("host", host, "hostname")->required();
    auto* migrate_cmd = app.add_subcommand("migrate", "create or upgrade the database schema");
    auto* export_cmd = app.add_subcommand("export", "every row and the Let's Encrypt ledger, as JSON lines on stdout");
    auto* import_cmd = app.add_subcommand("import", "rows from certq export (stdin) into an empty database");
    auto* hooks_cmd = app.add_subcommand("hooks", "webhooks");
    auto* hooks_test_cmd = hooks_cmd->add_subcommand("test", "send a signed test event to each receiver");
    hooks_cmd->require_subcommand(1);
    auto* check_cmd = app.add_subcommand("check", "why is HOST (not) on HTTPS: DNS now, its row, Azion's view");
    check_cmd->add_option("host", host, "hostname")->required();
    check_cmd->add_flag("--json", as_json, "print JSON");
    int leave_with = exit_ok;
    const auto loaded = certq::parse_command_line(app, argc, argv, config_file, "certq", leave_with);
    if (!loaded) return leave_with;
    const auto& cfg = *loaded;
    try {
        if (*status_cmd) return status(cfg, as_json, minutes);
        if (*watch_cmd) return watch(cfg, interval);
        if (*list_cmd) return list(cfg, state, limit, as_json);
        if (*show_cmd) return show(cfg, host, as_json);
        if (*enqueue_cmd) return enqueue(cfg, hosts, sans);
        if (*retry_cmd) return retry(cfg, state);
        if (*remove_cmd) return remove(cfg, host);
        if (*migrate_cmd) return migrate(cfg);
        if (*export_cmd) return export_rows(cfg);
        if (*import_cmd) return import_rows(cfg);
        if (*check_cmd) return certq::check_command(cfg, host, as_json);
        if (*hooks_test_cmd) return certq::hooks_test(cfg);
    } catch (const CLI::ValidationError& e) {
        std::cerr << "certq: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "certq: " << e.what() << "\n";
        return exit_runtime;
    }
    return exit_usage;
}
