#pragma once
// Schema migrations: migrations/NNNN_name.sql, embedded in the binary at build time, applied in
// order inside one transaction; the version reached is kept in PRAGMA user_version.

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

} // namespace certq::store
