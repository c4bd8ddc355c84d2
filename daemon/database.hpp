#pragma once
// How certq's verbs open the database certqd works on: as it is, never created or migrated.

#include "config/config.hpp"
#include "store/sql.hpp"

#include <memory>
#include <string>

namespace certq {

/// The configured database, opened with the credential's password. Throws std::runtime_error
/// when it does not exist yet or its schema is older than this certq's (run certq migrate).
std::unique_ptr<sql::connection> open_existing(const config& cfg);

/// True when there is a database to open (a PostgreSQL URI always counts).
bool database_exists(const config& cfg);

/// A detail's first line, as one-line listings show it.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

} // namespace certq
