#include "database.hpp"

#include "store/migrations.hpp"

#include <filesystem>
#include <stdexcept>

namespace certq {

bool database_exists(const config& cfg) {
    return sql::is_postgresql_uri(cfg.database.string()) || std::filesystem::exists(cfg.database);
}

std::unique_ptr<sql::connection> open_existing(const config& cfg) {
    const auto where = cfg.database.string();
    if (!database_exists(cfg)) throw std::runtime_error(where + ": no database yet (run certq migrate or start certqd)");
    auto db = sql::open(where, database_password(), false);
    const int version = sql::schema_version(*db);
    if (version < store::latest_schema_version())
        throw std::runtime_error(db->describe() + ": schema version " + std::to_string(version) +
                                 " is older than this certq's; run certq migrate");
    return db;
}

} // namespace certq
