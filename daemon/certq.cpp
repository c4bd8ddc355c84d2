// certq: the operator's tool over certqd's database. It reads and writes the same SQLite file
// and works while certqd runs.

#include "config/config.hpp"
#include "store/domain_store.hpp"
#include "store/migrations.hpp"
#include "store/status.hpp"

#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>

namespace {

enum exit_code { exit_ok = 0, exit_runtime = 1, exit_usage = 2 };

int migrate(const certq::config& cfg) {
    certq::sqlite::database db(cfg.database);
    certq::store::configure_connection(db);
    const auto report = certq::store::migrate(db);
    if (report.from_version == report.to_version)
        std::cout << cfg.database.string() << ": schema is up to date (version " << report.to_version << ")\n";
    else
        std::cout << cfg.database.string() << ": migrated schema from version " << report.from_version
                  << " to " << report.to_version << "\n";
    return exit_ok;
}

int status(const certq::config& cfg) {
    if (!std::filesystem::exists(cfg.database)) {
        std::cerr << "certq: " << cfg.database.string() << ": no database yet (run certq migrate or start certqd)\n";
        return exit_runtime;
    }
    certq::sqlite::database db(cfg.database, false);
    sqlite3_busy_timeout(db.handle(), 5000);
    const auto st = certq::store::read_status(db);
    std::cout << st.total << " rows";
    for (const auto& [state, n] : st.counts) std::cout << ", " << n << " " << certq::to_string(state);
    std::cout << "\n" << std::fixed << std::setprecision(1) << st.per_minute()
              << " rows/min finished over the last " << st.window.count() / 60 << " min";
    if (st.unfinished == 0) std::cout << "; nothing left to do\n";
    else if (auto eta = st.eta()) std::cout << "; " << st.unfinished << " left, about "
                                            << certq::format_duration(*eta) << " to go\n";
    else std::cout << "; " << st.unfinished << " left\n";
    return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"certq: the operator's tool for certqd"};
    std::string config_file = "/etc/certq/certqd.yaml";
    app.add_option("-c,--config", config_file, "certqd's configuration file")->capture_default_str();
    app.set_version_flag("--version", "certq " CERTQ_VERSION);
    app.require_subcommand(1);
    auto* migrate_cmd = app.add_subcommand("migrate", "create or upgrade the database schema");
    auto* status_cmd = app.add_subcommand("status", "rows per state, recent throughput, time to go");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? exit_ok : exit_usage;
    }
    certq::config cfg;
    try {
        cfg = certq::load_config(config_file);
    } catch (const certq::config_error& e) {
        std::cerr << "certq: " << e.what() << "\n";
        return exit_usage;
    }
    try {
        if (*migrate_cmd) return migrate(cfg);
        if (*status_cmd) return status(cfg);
    } catch (const std::exception& e) {
        std::cerr << "certq: " << e.what() << "\n";
        return exit_runtime;
    }
    return exit_usage;
}
