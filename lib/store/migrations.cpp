#include "store/migrations.hpp"

namespace certq::store {

namespace {

void refuse_newer(const std::string& database, int current, int latest) {
    if (current > latest)
        throw std::runtime_error(database + ": the database has schema version " + std::to_string(current) +
                                 " but this certq knows versions up to " + std::to_string(latest) +
                                 "; it was written by a newer certq: upgrade certq");
}

} // namespace

int latest_schema_version() {
    const auto& all = embedded_migrations();
    return all.empty() ? 0 : all.back().version;
}

int schema_version(sqlite::database& db) {
    auto stmt = db.prepare("PRAGMA user_version");
    return stmt.step() ? static_cast<int>(stmt.column_int(0)) : 0;
}

migration_report migrate(sqlite::database& db, const std::vector<migration>& migrations) {
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    // BEGIN IMMEDIATE before reading the version: two processes starting together must not
    // both decide to apply the same migration.
    sqlite::transaction tx(db);
    const int current = schema_version(db);
    refuse_newer(db.path().string(), current, latest);
    for (const auto& m : migrations) {
        if (m.version <= current) continue;
        try {
            db.exec(m.sql);
        } catch (const sqlite::error& e) {
            throw sqlite::error(e.code(), std::string("migration ") + m.name + ": " + e.what());
        }
    }
    if (latest != current) db.exec("PRAGMA user_version = " + std::to_string(latest));
    tx.commit();
    return {current, latest};
}

int schema_version(pg::connection& db) {
    auto exists = db.query("SELECT to_regclass('certq_schema') IS NOT NULL");
    if (exists.text(0, 0) != "t") return 0;
    auto version = db.query("SELECT version FROM certq_schema");
    return version.rows() ? static_cast<int>(version.integer(0, 0)) : 0;
}

migration_report migrate(pg::connection& db, const std::vector<migration>& migrations) {
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    db.exec("BEGIN");
    try {
        db.query("SELECT pg_advisory_xact_lock($1)", {pg::param(migration_lock_key)});
        const int current = schema_version(db);
        refuse_newer(db.describe(), current, latest);
        for (const auto& m : migrations) {
            if (m.version <= current) continue;
            try {
                db.exec(m.sql);
            } catch (const pg::error& e) {
                throw pg::error(e.sqlstate(), std::string("migration postgresql/") + m.name + ": " + e.what());
            }
        }
        if (latest != current) db.query("UPDATE certq_schema SET version = $1", {pg::param(latest)});
        db.exec("COMMIT");
        return {current, latest};
    } catch (...) {
        if (db.ok()) {
            try {
                db.exec("ROLLBACK");
            } catch (const pg::error&) {
                // The original failure is the one to report.
            }
        }
        throw;
    }
}

} // namespace certq::store
