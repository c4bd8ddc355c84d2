#include "web/reader.hpp"

#include "store/postgres.hpp"
#include "store/sqlite.hpp"

#include <sqlite3.h>

namespace certq::web {

reader::reader(std::string database, std::optional<std::string> password, std::chrono::milliseconds time_limit,
               std::size_t max_waiting)
    : database_(std::move(database)), password_(std::move(password)), time_limit_(time_limit),
      max_waiting_(max_waiting) {}

reader::~reader() { pool_.join(); }

int reader::past_deadline(void* self) {
    return std::chrono::steady_clock::now() > static_cast<reader*>(self)->deadline_ ? 1 : 0;
}

sql::connection& reader::connect() {
    if (connection_) return *connection_;
    auto c = sql::open(database_, password_, false);
    if (auto* lite = c->sqlite_handle()) {
        // Never a writer, and interrupted (SQLITE_INTERRUPT) once a job runs past its limit;
        // the handler is asked every few thousand virtual-machine steps.
        lite->exec("PRAGMA query_only = ON");
        sqlite3_progress_handler(lite->handle(), 4000, &reader::past_deadline, this);
    } else {
        c->exec("SET default_transaction_read_only = on; SET statement_timeout = " +
                std::to_string(time_limit_.count()) + "; SET application_name = 'certqd web'");
    }
    connection_ = std::move(c);
    return *connection_;
}

void reader::start_clock() { deadline_ = std::chrono::steady_clock::now() + time_limit_; }

} // namespace certq::web
