#pragma once
// A thin RAII layer over the SQLite C API: one connection, prepared statements, transactions.
// Failures throw sqlite::error carrying SQLite's result code, so callers that can pause and
// retry (busy, full disk) tell them apart from a broken database.

#include "store/database_error.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace certq::sqlite {

class error : public store::database_error {
public:
    error(int code, const std::string& what) : store::database_error(what), code_(code) {}
    /// The primary result code (SQLITE_BUSY, SQLITE_FULL, ...).
    int code() const { return code_ & 0xff; }
    /// True for conditions that pass by themselves: another writer, a full disk being cleared.
    bool timed_out() const override { return code() == SQLITE_INTERRUPT; }
    bool is_transient() const {
        return code() == SQLITE_BUSY || code() == SQLITE_LOCKED || code() == SQLITE_FULL ||
               code() == SQLITE_IOERR;
    }

private:
    int code_;
};

class statement;

class database {
public:
    /// Opens (creating if asked) the file. Throws error naming the path.
    explicit database(const std::filesystem::path& path, bool create = true);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    /// Runs one or more statements without results.
    void exec(std::string_view sql);
    statement prepare(std::string_view sql);
    std::int64_t changes() const;
    std::int64_t last_insert_rowid() const;
    sqlite3* handle() const { return db_; }
    const std::filesystem::path& path() const { return path_; }

    [[noreturn]] void fail(int code, std::string_view doing) const;

private:
    friend class statement;
    // Statements are kept for reuse: one whose statement object is gone goes back here, reset,
    // and the next prepare of the same SQL text takes it instead of parsing it again.
    sqlite3_stmt* take(std::string_view sql);
    void recycle(sqlite3_stmt* stmt);

    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
    std::unordered_multimap<std::string, sqlite3_stmt*> idle_;
};

class statement {
public:
    /// Prepares `sql`, or takes the connection's idle statement of the same text. Destroying
    /// the statement hands it back to the connection, reset, for the next prepare.
    statement(database& db, std::string_view sql);
    ~statement();
    statement(statement&& other) noexcept;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    statement& operator=(statement&&) = delete;

    statement& bind(int index, std::int64_t value);
    statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    statement& bind(int index, double value);
    statement& bind(int index, std::string_view value);
    statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    statement& bind_null(int index);
    template <class T> statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    /// Steps once: true while a row is available, false when done.
    bool step();
    /// Steps to completion for statements without results.
    void run();
    void reset();

    bool is_null(int column) const;
    std::int64_t column_int(int column) const;
    double column_double(int column) const;
    /// Text of a column, whatever its stored type (SQLite converts); "" for NULL.
    std::string column_text(int column) const;
    std::optional<std::string> column_optional_text(int column) const;
    std::optional<std::int64_t> column_optional_int(int column) const;

private:
    database* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

/// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() was called.
class transaction {
public:
    explicit transaction(database& db);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit();

private:
    database& db_;
    bool done_ = false;
};

} // namespace certq::sqlite
