#pragma once
// Schema migrations: migrations/NNNN_name.sql, embedded in the binary at build time, applied in
// order inside one transaction; the version reached is kept in PRAGMA user_version.

#include "store/postgres.hpp"
#include "store/sqlite.hpp"

#include <string>
#include <vector>

namespace certq::store {

struct migration {
    int version;
    const char* name;
    const char* sql;
};

/// The migrations this binary knows, ascending by version.
const std::vector<migration>& embedded_migrations();

/// The newest schema version this binary can work with.
int latest_schema_version();

/// The database's schema version (0 for a new file).
int schema_version(sqlite::database& db);

struct migration_report {
    int from_version;
    int to_version;
};

/// Applies every migration newer than the database's version, all or nothing. Throws
/// sqlite::error when a migration fails (the database is left as it was), and
/// std::runtime_error when the database is newer than this binary knows.
migration_report migrate(sqlite::database& db,
                         const std::vector<migration>& migrations = embedded_migrations());

/// The PostgreSQL migrations (migrations/postgresql/), numbered as their SQLite counterparts.
const std::vector<migration>& embedded_postgresql_migrations();

/// The database's schema version: the one row of certq_schema; 0 without that table.
int schema_version(pg::connection& db);

/// As the SQLite migrate: under a transaction-scoped advisory lock (two daemons starting
/// together wait for each other), all or nothing, a newer database refused. Throws pg::error
/// when a migration fails.
migration_report migrate(pg::connection& db,
                         const std::vector<migration>& migrations = embedded_postgresql_migrations());

/// The advisory lock key migrations take (pg_advisory_xact_lock), 'certq' + 1 in ASCII.
inline constexpr std::int64_t migration_lock_key = 0x6365727471'01;

} // namespace certq::store
