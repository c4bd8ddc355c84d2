#pragma once
// A thin RAII layer over libpq, as store/sqlite.hpp is over SQLite: a connection, results that
// free themselves, parameters passed as text (never spliced into SQL), and the two PostgreSQL
// features certq builds on: LISTEN/NOTIFY and session advisory locks. Blocking: callers run it
// on the database thread.

#include "store/database_error.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace certq::pg {

/// A failed call: the server's message with its SQLSTATE (e.g. "23505"), or libpq's.
class error : public store::database_error {
public:
    error(std::string sqlstate, const std::string& message)
        : store::database_error(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const { return sqlstate_; }
    /// Class 08 (connection exception) or 57P01..57P03 (the server ended the session:
    /// pg_terminate_backend, shutdown).
    bool connection_lost() const override {
        return sqlstate_.rfind("08", 0) == 0 || sqlstate_ == "57P01" || sqlstate_ == "57P02" || sqlstate_ == "57P03";
    }
    /// 57014: query_canceled, which statement_timeout raises.
    bool timed_out() const override { return sqlstate_ == "57014"; }

private:
    std::string sqlstate_;
};

/// One query's rows, all in memory (certq's queries are bounded by LIMIT).
class result {
public:
    explicit result(PGresult* r) : r_(r, &PQclear) {}
    int rows() const { return PQntuples(r_.get()); }
    int columns() const { return PQnfields(r_.get()); }
    bool is_null(int row, int column) const { return PQgetisnull(r_.get(), row, column) != 0; }
    std::string text(int row, int column) const;
    /// The column as an integer; a boolean ("t"/"f") is 1 or 0. Throws error otherwise.
    std::int64_t integer(int row, int column) const;
    /// Rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const;

private:
    std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

/// A parameter: NULL, or text PostgreSQL converts to the column's type.
using parameter = std::optional<std::string>;
inline parameter param(std::int64_t v) {
    return std::to_string(v);
}
inline parameter param(std::string_view v) {
    return std::string(v);
}

struct notification {
    std::string channel;
    std::string payload;
};

class connection {
public:
    /// Connects to `uri` (postgresql://user@host:port/db?sslmode=...). `password`, when given,
    /// is used unless the URI has one; otherwise libpq's own sources apply (PGPASSWORD,
    /// PGPASSFILE, ~/.pgpass). Throws error naming the server when it cannot connect.
    explicit connection(const std::string& uri,
                        const std::optional<std::string>& password = std::nullopt);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Runs statements without parameters (several, separated by ';').
    void exec(std::string_view sql);
    /// Runs one statement with $1, $2 … bound to `params`; throws error on failure.
    result query(std::string_view sql, const std::vector<parameter>& params = {});
    /// Parses and plans `sql` ($1.. placeholders, `params` of them) once as statement `name`.
    void prepare(const std::string& name, const std::string& sql, int params);
    /// Runs the statement prepare() named.
    result query_prepared(const std::string& name, const std::vector<parameter>& params);

    /// LISTEN on `channel`.
    void listen(const std::string& channel);
    /// Reads what the server sent without waiting; the notifications received since the last
    /// call. Throws error when the connection is gone.
    std::vector<notification> notifications();
    /// Waits up to `timeout` for the server to send something (a notification).
    void wait_readable(std::chrono::milliseconds timeout);

    /// pg_try_advisory_lock(key): true when this session now holds it (or already did).
    bool try_advisory_lock(std::int64_t key);

    /// False once the server closed the connection or it broke.
    bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
    /// The server's process id for this session (pg_terminate_backend takes it).
    int backend_pid() const { return PQbackendPID(conn_); }
    /// "user@host:port/db", without the password, for messages.
    std::string describe() const;
    PGconn* handle() const { return conn_; }

private:
    [[noreturn]] void fail(PGresult* r, std::string_view doing) const;

    PGconn* conn_ = nullptr;
};

/// Quotes a string as an SQL identifier ("name"), for the few statements that cannot take a
/// parameter (CREATE DATABASE, LISTEN).
std::string quote_identifier(std::string_view name);

} // namespace certq::pg
