#include "store/sql.hpp"

#include "config/config.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"
#include "store/sqlite.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace certq::sql {

std::optional<std::string> cursor::column_optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return column_text(column);
}

std::optional<std::int64_t> cursor::column_optional_int(int column) const {
    if (is_null(column)) return std::nullopt;
    return column_int(column);
}

std::string connection::indexed_by(std::string_view index) const {
    return kind() == dialect::sqlite ? " INDEXED BY " + std::string(index) + " " : std::string(" ");
}

const char* connection::now_text() const {
    return kind() == dialect::sqlite ? "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" : "certq_now_text()";
}

const char* connection::greatest() const {
    return kind() == dialect::sqlite ? "max" : "greatest";
}

std::string connection::unix_ms_of(std::string_view iso_text) const {
    const std::string e(iso_text);
    if (kind() == dialect::sqlite)
        return "CAST(round((julianday(" + e + ") - 2440587.5) * 86400000) AS INTEGER)";
    return "CAST(round(extract(epoch FROM CAST(" + e + " AS timestamptz)) * 1000) AS BIGINT)";
}

transaction::transaction(connection& c, commit_durability d) : c_(c) {
    c_.begin(d);
}

transaction::~transaction() {
    if (done_) return;
    try {
        c_.rollback();
    } catch (const store::database_error&) {
        // The connection is gone or the transaction already ended: nothing to undo here.
    }
}

void transaction::commit() {
    c_.commit();
    done_ = true;
}

bool is_postgresql_uri(std::string_view database) { return certq::is_postgresql_uri(database); }

std::string printable(std::string_view database) {
    std::string out(database);
    if (!is_postgresql_uri(out)) return out;
    const auto start = out.find("://") + 3;
    const auto at = out.find('@', start);
    const auto colon = out.find(':', start);
    if (at != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    for (auto p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
        const auto end = out.find('&', p);
        out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
    }
    return out;
}

std::string to_dollar_placeholders(std::string_view sql) {
    std::string out;
    out.reserve(sql.size());
    char quote = 0;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (quote) {
            if (c == quote) quote = 0;
            out += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            out += c;
        } else if (c == '?' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            out += '$';
        } else {
            out += c;
        }
    }
    return out;
}

namespace {

// ---- SQLite ---------------------------------------------------------------------------------

class sqlite_cursor final : public cursor {
public:
    explicit sqlite_cursor(sqlite::statement s) : s_(std::move(s)) {}
    bool step() override { return s_.step(); }
    bool is_null(int c) const override { return s_.is_null(c); }
    std::int64_t column_int(int c) const override { return s_.column_int(c); }
    std::string column_text(int c) const override { return s_.column_text(c); }

private:
    sqlite::statement s_;
};

void bind_all(sqlite::statement& s, const arg* first, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const int index = static_cast<int>(i + 1);
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>)
                    s.bind_null(index);
                else
                    s.bind(index, v);
            },
            first[i].value());
    }
}

class sqlite_connection final : public connection {
public:
    sqlite_connection(const std::filesystem::path& path, bool create) : db_(path, create) {
        // A user's tool may hold the write lock for a while; the database thread waits for it
        // rather than failing, and the network loop is on another thread meanwhile.
        sqlite3_busy_timeout(db_.handle(), 5000);
        db_.exec("PRAGMA journal_mode = WAL");
        db_.exec("PRAGMA synchronous = NORMAL");
        db_.exec("PRAGMA foreign_keys = ON");
    }
    dialect kind() const override { return dialect::sqlite; }
    void exec(std::string_view sql) override { db_.exec(sql); }
    using connection::query;
    using connection::run;
    std::unique_ptr<cursor> query(std::string_view sql, std::span<const arg> args) override {
        auto s = db_.prepare(sql);
        bind_all(s, args.data(), args.size());
        return std::make_unique<sqlite_cursor>(std::move(s));
    }
    std::int64_t run(std::string_view sql, std::span<const arg> args) override {
        auto s = db_.prepare(sql);
        bind_all(s, args.data(), args.size());
        s.run();
        return db_.changes();
    }
    void begin(commit_durability d) override {
        // In WAL mode synchronous=FULL fsyncs the log at each commit; NORMAL leaves that to the
        // checkpoint. Only commits that must outlive a power cut pay for the fsync.
        full_ = d == commit_durability::full;
        if (full_) db_.exec("PRAGMA synchronous = FULL");
        try {
            db_.exec("BEGIN IMMEDIATE"); // may time out on another writer's lock
        } catch (const sqlite::error&) {
            normal_again();
            throw;
        }
    }
    void commit() override {
        db_.exec("COMMIT");
        normal_again();
    }
    void rollback() override {
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        normal_again();
    }
    std::string describe() const override { return db_.path().string(); }
    sqlite::database* sqlite_handle() override { return &db_; }

private:
    void normal_again() {
        if (!full_) return;
        full_ = false;
        sqlite3_exec(db_.handle(), "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
    }

    sqlite::database db_;
    bool full_ = false;
};

// ---- PostgreSQL -----------------------------------------------------------------------------

class pg_cursor final : public cursor {
public:
    explicit pg_cursor(pg::result r) : r_(std::move(r)) {}
    bool step() override { return ++row_ < r_.rows(); }
    bool is_null(int c) const override { return r_.is_null(row_, c); }
    std::int64_t column_int(int c) const override { return r_.is_null(row_, c) ? 0 : r_.integer(row_, c); }
    std::string column_text(int c) const override {
        return r_.is_null(row_, c) ? std::string() : r_.text(row_, c);
    }

private:
    pg::result r_;
    int row_ = -1;
};

std::vector<pg::parameter> as_text(std::span<const arg> args) {
    std::vector<pg::parameter> out;
    out.reserve(args.size());
    for (const auto& a : args) {
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>)
                    out.push_back(std::nullopt);
                else if constexpr (std::is_same_v<T, std::string>)
                    out.push_back(v);
                else
                    out.push_back(std::to_string(v));
            },
            a.value());
    }
    return out;
}

class pg_connection final : public connection {
public:
    pg_connection(const std::string& uri, const std::optional<std::string>& password)
        : db_(uri, password) {}
    dialect kind() const override { return dialect::postgresql; }
    void exec(std::string_view sql) override { db_.exec(sql); }
    using connection::query;
    using connection::run;
    std::unique_ptr<cursor> query(std::string_view sql, std::span<const arg> args) override {
        return std::make_unique<pg_cursor>(execute(sql, args));
    }
    std::int64_t run(std::string_view sql, std::span<const arg> args) override { return execute(sql, args).affected(); }
    void begin(commit_durability d) override {
        // A commit waits for the server's WAL flush only where it must outlive a power cut (one
        // round trip either way).
        try {
            db_.exec(d == commit_durability::normal ? "BEGIN; SET LOCAL synchronous_commit = off" : "BEGIN");
        } catch (const pg::error&) {
            // BEGIN may have gone through before the SET failed: end the aborted transaction, or
            // every later statement of the session would fail.
            if (db_.ok()) PQclear(PQexec(db_.handle(), "ROLLBACK"));
            throw;
        }
    }
    void commit() override { db_.exec("COMMIT"); }
    void rollback() override {
        if (db_.ok()) db_.exec("ROLLBACK");
    }
    std::string describe() const override { return db_.describe(); }
    pg::connection* pg_handle() override { return &db_; }

private:
    // As SQLite's connection keeps its statements: the daemon's statements are a few dozen
    // texts run again and again, so each is parsed and planned by the server once and then
    // only executed. Texts built per call (a list's filters) stop being kept past the cap.
    static constexpr std::size_t max_prepared = 256;

    pg::result execute(std::string_view sql, std::span<const arg> args) {
        std::string text(sql);
        auto it = prepared_.find(text);
        if (it == prepared_.end()) {
            if (prepared_.size() >= max_prepared || !preparable(sql))
                return db_.query(to_dollar_placeholders(sql), as_text(args));
            auto name = "certq_" + std::to_string(prepared_.size() + 1);
            db_.prepare(name, to_dollar_placeholders(sql), static_cast<int>(args.size()));
            it = prepared_.emplace(std::move(text), std::move(name)).first;
        }
        return db_.query_prepared(it->second, as_text(args));
    }
    // Only statements the server plans; anything else (a SET, DDL) runs as it comes.
    static bool preparable(std::string_view sql) {
        const auto start = sql.find_first_not_of(" \t\r\n(");
        if (start == std::string_view::npos) return false;
        const auto word = sql.substr(start, 6);
        for (const char* verb : {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}) {
            const std::string_view v(verb);
            if (word.size() >= v.size() && std::equal(v.begin(), v.end(), word.begin(), [](char a, char b) {
                    return a == (b >= 'a' && b <= 'z' ? static_cast<char>(b - 'a' + 'A') : b);
                }))
                return true;
        }
        return false;
    }

    pg::connection db_;
    std::unordered_map<std::string, std::string> prepared_; ///< SQL text → statement name
};

} // namespace

std::unique_ptr<connection> open(const std::string& database,
                                 const std::optional<std::string>& password, bool create) {
    if (is_postgresql_uri(database)) return std::make_unique<pg_connection>(database, password);
    return std::make_unique<sqlite_connection>(database, create);
}

std::pair<int, int> migrate(connection& c) {
    const auto r =
        c.sqlite_handle() ? store::migrate(*c.sqlite_handle()) : store::migrate(*c.pg_handle());
    return {r.from_version, r.to_version};
}

int schema_version(connection& c) {
    return c.sqlite_handle() ? store::schema_version(*c.sqlite_handle())
                             : store::schema_version(*c.pg_handle());
}

} // namespace certq::sql
