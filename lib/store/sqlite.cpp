#include "store/sqlite.hpp"

namespace certq::sqlite {

database::database(const std::filesystem::path& path, bool create) : path_(path) {
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw error(rc, path.string() + ": cannot open the database: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
}

database::~database() {
    for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
}

// Enough for every statement the daemon and the tools use; past that, statements are finalized
// as before (a tool that builds SQL text on the fly must not grow the pool without bound).
constexpr std::size_t max_idle_statements = 128;

sqlite3_stmt* database::take(std::string_view sql) {
    if (auto it = idle_.find(std::string(sql)); it != idle_.end()) {
        auto* stmt = it->second;
        idle_.erase(it);
        return stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) fail(rc, "cannot prepare \"" + std::string(sql.substr(0, 60)) + "\"");
    return stmt;
}

void database::recycle(sqlite3_stmt* stmt) {
    if (!stmt) return;
    if (idle_.size() >= max_idle_statements) {
        sqlite3_finalize(stmt);
        return;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    idle_.emplace(sqlite3_sql(stmt), stmt);
}

void database::fail(int code, std::string_view doing) const {
    throw error(code, path_.string() + ": " + std::string(doing) + ": " + sqlite3_errmsg(db_));
}

void database::exec(std::string_view sql) {
    char* message = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw error(rc, path_.string() + ": " + why);
    }
}

statement database::prepare(std::string_view sql) { return statement(*this, sql); }
std::int64_t database::changes() const { return sqlite3_changes64(db_); }
std::int64_t database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

statement::statement(database& db, std::string_view sql) : db_(&db), stmt_(db.take(sql)) {}

statement::~statement() { db_->recycle(stmt_); }

statement::statement(statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

statement& statement::bind(int index, std::int64_t value) {
    if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) db_->fail(rc, "bind");
    return *this;
}

statement& statement::bind(int index, double value) {
    if (int rc = sqlite3_bind_double(stmt_, index, value); rc != SQLITE_OK) db_->fail(rc, "bind");
    return *this;
}

statement& statement::bind(int index, std::string_view value) {
    const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8);
    if (rc != SQLITE_OK) db_->fail(rc, "bind");
    return *this;
}

statement& statement::bind_null(int index) {
    if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) db_->fail(rc, "bind");
    return *this;
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    db_->fail(rc, "query");
}

void statement::run() {
    while (step()) {
    }
    reset();
}

void statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t statement::column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
double statement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string statement::column_text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (!text) return {};
    return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> statement::column_optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return column_text(column);
}

std::optional<std::int64_t> statement::column_optional_int(int column) const {
    if (is_null(column)) return std::nullopt;
    return column_int(column);
}

transaction::transaction(database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

transaction::~transaction() {
    if (done_) return;
    // A destructor must not throw; a failed rollback leaves SQLite to roll back on close.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

} // namespace certq::sqlite
