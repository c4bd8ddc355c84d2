#pragma once
// One way to talk SQL to either engine: the store, status and the CLI write their statements
// once, with ?1, ?2 … placeholders (SQLite's own; turned into $1, $2 … for PostgreSQL), and read
// results through a cursor. The few spellings that differ are asked of the connection
// (indexed_by, now_text, greatest). Failures throw store::database_error (sqlite::error or
// pg::error).

#include "store/database_error.hpp"

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace certq::sqlite {
class database;
}
namespace certq::pg {
class connection;
}

namespace certq::sql {

enum class dialect { sqlite, postgresql };

/// A bound value: NULL, an integer, a real or text.
class arg {
public:
    arg(std::nullptr_t) {}
    arg(int v) : v_(static_cast<std::int64_t>(v)) {}
    arg(long v) : v_(static_cast<std::int64_t>(v)) {}
    arg(long long v) : v_(static_cast<std::int64_t>(v)) {}
    arg(double v) : v_(v) {}
    arg(bool v) : v_(static_cast<std::int64_t>(v ? 1 : 0)) {}
    arg(std::string v) : v_(std::move(v)) {}
    arg(std::string_view v) : v_(std::string(v)) {}
    arg(const char* v) : v_(std::string(v)) {}
    template <class T> arg(const std::optional<T>& v) {
        if (v) *this = arg(*v);
    }
    const std::variant<std::monostate, std::int64_t, double, std::string>& value() const {
        return v_;
    }

private:
    std::variant<std::monostate, std::int64_t, double, std::string> v_;
};

/// The rows of one statement, read forward.
class cursor {
public:
    virtual ~cursor() = default;
    /// Moves to the next row: false when there is none.
    virtual bool step() = 0;
    virtual bool is_null(int column) const = 0;
    virtual std::int64_t column_int(int column) const = 0;
    /// The column as text whatever its type; "" for NULL.
    virtual std::string column_text(int column) const = 0;
    std::optional<std::string> column_optional_text(int column) const;
    std::optional<std::int64_t> column_optional_int(int column) const;
};

enum class commit_durability {
    normal, ///< survives a crash of certqd (SQLite WAL: lost only with the OS; PostgreSQL with
            ///< synchronous_commit off: the last fraction of a second is lost if the server
            ///< crashes). What it records is reconciled by name after such a loss.
    full,   ///< survives a power cut: on disk before commit returns
};

class connection {
public:
    virtual ~connection() = default;
    virtual dialect kind() const = 0;
    /// Statements without parameters or rows (several, separated by ';').
    virtual void exec(std::string_view sql) = 0;
    /// One statement with ?N placeholders bound to `args` (?1 is args[0]); its rows. Each
    /// engine keeps a statement it has seen prepared for the next call with the same text.
    std::unique_ptr<cursor> query(std::string_view sql, std::initializer_list<arg> args = {}) {
        return query(sql, std::span<const arg>(args.begin(), args.size()));
    }
    std::unique_ptr<cursor> query(std::string_view sql, const std::vector<arg>& args) {
        return query(sql, std::span<const arg>(args));
    }
    virtual std::unique_ptr<cursor> query(std::string_view sql, std::span<const arg> args) = 0;
    /// One statement without rows; how many rows it changed.
    std::int64_t run(std::string_view sql, std::initializer_list<arg> args = {}) {
        return run(sql, std::span<const arg>(args.begin(), args.size()));
    }
    std::int64_t run(std::string_view sql, const std::vector<arg>& args) { return run(sql, std::span<const arg>(args)); }
    virtual std::int64_t run(std::string_view sql, std::span<const arg> args) = 0;
    /// A write transaction (SQLite: BEGIN IMMEDIATE, the write lock taken at once).
    virtual void begin(commit_durability durability = commit_durability::normal) = 0;
    virtual void commit() = 0;
    virtual void rollback() = 0;
    /// Where the connection goes, for messages: a path, or user@host:port/db.
    virtual std::string describe() const = 0;

    // What differs between the engines' SQL.
    /// "INDEXED BY <index>" on SQLite (its planner picks a partial index only when told, for
    /// some queries); nothing on PostgreSQL.
    std::string indexed_by(std::string_view index) const;
    /// The current time as ISO 8601 text with milliseconds, as the schema stores it.
    const char* now_text() const;
    /// The larger of two values: max(a, b) on SQLite, greatest(a, b) on PostgreSQL.
    const char* greatest() const;
    /// Unix milliseconds of an expression holding the schema's ISO 8601 text.
    std::string unix_ms_of(std::string_view iso_text) const;

    /// The underlying handles, for engine-specific work (data_version, LISTEN); null when the
    /// connection is of the other engine.
    virtual sqlite::database* sqlite_handle() { return nullptr; }
    virtual pg::connection* pg_handle() { return nullptr; }
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() was called.
class transaction {
public:
    explicit transaction(connection& c, commit_durability d = commit_durability::normal);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit();

private:
    connection& c_;
    bool done_ = false;
};

/// postgresql://… or postgres://…: a PostgreSQL connection URI (anything else is a SQLite path).
bool is_postgresql_uri(std::string_view database);

/// `database` as it may be shown: a URI's password (user:secret@, password=) replaced by ***.
std::string printable(std::string_view database);

/// Opens `database` (a SQLite path, created when missing, or a PostgreSQL URI) as the tools
/// and the daemon do, with the engine's connection settings; not migrated. `password` is for
/// PostgreSQL when the URI has none.
std::unique_ptr<connection> open(const std::string& database,
                                 const std::optional<std::string>& password = std::nullopt,
                                 bool create = true);

/// Applies the engine's migrations (store/migrations.hpp); returns {from, to}.
std::pair<int, int> migrate(connection& c);

/// The database's schema version (0: none yet).
int schema_version(connection& c);

/// ?N placeholders (outside quoted text) rewritten as $N, for PostgreSQL.
std::string to_dollar_placeholders(std::string_view sql);

} // namespace certq::sql
