#include "store/migrations.hpp"

namespace certq::store {

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
    if (current > latest)
        throw std::runtime_error(db.path().string() + ": the database has schema version " +
                                 std::to_string(current) + " but this certq knows versions up to " +
                                 std::to_string(latest) +
                                 "; it was written by a newer certq: upgrade certq");
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

} // namespace certq::store
