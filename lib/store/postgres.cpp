#include "store/postgres.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>

namespace certq::pg {

namespace {

std::string trimmed(const char* message) {
    std::string m = message ? message : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
        m.pop_back();
    return m;
}

} // namespace

std::string result::text(int row, int column) const {
    return PQgetvalue(r_.get(), row, column);
}

std::int64_t result::integer(int row, int column) const {
    const char* v = PQgetvalue(r_.get(), row, column);
    const auto end = v + std::char_traits<char>::length(v);
    if (end - v == 1 && (*v == 't' || *v == 'f')) return *v == 't' ? 1 : 0; // a boolean expression
    std::int64_t out = 0;
    if (auto [p, ec] = std::from_chars(v, end, out); ec != std::errc{} || p != end)
        throw error("", std::string("column ") + PQfname(r_.get(), column) +
                            " is not an integer: \"" + v + "\"");
    return out;
}

std::int64_t result::affected() const {
    const char* n = PQcmdTuples(r_.get());
    return *n ? std::stoll(n) : 0;
}

connection::connection(const std::string& uri, const std::optional<std::string>& password) {
    // Keywords override the URI's parameters only where the URI is silent: libpq takes the
    // later value, so the URI (expanded by "dbname") comes last.
    // Keepalives bound how long a connection whose network vanished (no reset) looks alive to
    // certqd: about 11 s, after which a leader fences itself. The server side keeps a vanished
    // client's session (and its leader lock) by its own tcp_keepalives_* settings.
    std::vector<const char*> keys{"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                  "keepalives_interval", "keepalives_count", "tcp_user_timeout"};
    std::vector<const char*> values{"10", "certq", "1", "5", "2", "3", "11000"};
    if (password) {
        keys.push_back("password");
        values.push_back(password->c_str());
    }
    keys.push_back("dbname");
    values.push_back(uri.c_str());
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (!conn_) throw error("", "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        const auto message = trimmed(PQerrorMessage(conn_));
        PQfinish(conn_);
        conn_ = nullptr;
        throw error("08001", "cannot connect to PostgreSQL: " + message);
    }
    // Notices (e.g. "relation already exists, skipping") are not errors: keep them out of stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    // The server's end of the socket too: a client host that vanished without a reset loses its
    // session, and a leader its lock, within about 11 s instead of the OS's two hours.
    exec("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3; "
         "SET tcp_user_timeout = 11000");
}

connection::~connection() {
    if (conn_) PQfinish(conn_);
}

std::string connection::describe() const {
    return std::string(PQuser(conn_)) + "@" + PQhost(conn_) + ":" + PQport(conn_) + "/" +
           PQdb(conn_);
}

void connection::fail(PGresult* r, std::string_view doing) const {
    std::string state;
    std::string message;
    if (r) {
        if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
        message = trimmed(PQresultErrorMessage(r));
        PQclear(r);
    }
    if (message.empty()) message = trimmed(PQerrorMessage(conn_));
    if (state.empty() && PQstatus(conn_) != CONNECTION_OK) state = "08006"; // connection failure
    throw error(state, std::string(doing) + ": " + message);
}

void connection::exec(std::string_view sql) {
    PGresult* r = PQexec(conn_, std::string(sql).c_str());
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, "SQL failed");
    PQclear(r);
}

result connection::query(std::string_view sql, const std::vector<parameter>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    PGresult* r = PQexecParams(conn_, std::string(sql).c_str(), static_cast<int>(values.size()),
                               nullptr, values.data(), nullptr, nullptr, 0);
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, "SQL failed");
    return result(r);
}

void connection::prepare(const std::string& name, const std::string& sql, int params) {
    PGresult* r = PQprepare(conn_, name.c_str(), sql.c_str(), params, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, "SQL failed");
    PQclear(r);
}

result connection::query_prepared(const std::string& name, const std::vector<parameter>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    PGresult* r = PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                 nullptr, 0);
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, "SQL failed");
    return result(r);
}

void connection::listen(const std::string& channel) {
    exec("LISTEN " + quote_identifier(channel));
}

std::vector<notification> connection::notifications() {
    if (PQconsumeInput(conn_) == 0) fail(nullptr, "reading from PostgreSQL");
    std::vector<notification> out;
    while (PGnotify* n = PQnotifies(conn_)) {
        // A session hears its own NOTIFYs too; those are certqd's own writes, already known.
        if (n->be_pid != PQbackendPID(conn_)) out.push_back({n->relname, n->extra ? n->extra : ""});
        PQfreemem(n);
    }
    return out;
}

void connection::wait_readable(std::chrono::milliseconds timeout) {
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (fd.fd < 0) return;
    ::poll(&fd, 1, static_cast<int>(timeout.count()));
}

bool connection::try_advisory_lock(std::int64_t key) {
    auto r = query("SELECT pg_try_advisory_lock($1)", {param(key)});
    return r.rows() == 1 && r.text(0, 0) == "t";
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

} // namespace certq::pg
