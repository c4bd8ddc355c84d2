#pragma once
// What a failed database call throws, whichever engine: the engine pauses and retries on it,
// and a leader on PostgreSQL stops on a lost connection.

#include <stdexcept>
#include <string>

namespace certq::store {

class database_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    /// The connection to the database is gone (PostgreSQL: the server ended the session or
    /// the network failed). SQLite's file never goes away like that.
    virtual bool connection_lost() const { return false; }
    /// The statement was stopped at its time limit (a reader's deadline), not refused.
    virtual bool timed_out() const { return false; }
};

} // namespace certq::store
