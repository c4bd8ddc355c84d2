#pragma once
// A throwaway PostgreSQL server for tests: initdb into a temporary directory, `postgres` in the
// foreground on a free 127.0.0.1 port as this test's child, stopped (SIGINT: fast shutdown) and
// removed at destruction. PostgreSQL refuses to run as root, so under root it runs as the
// unprivileged system user `certq-pg`, created here when missing.

#include "harness.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace certq::testing {

class pg_server {
public:
    pg_server();
    ~pg_server();
    pg_server(const pg_server&) = delete;
    pg_server& operator=(const pg_server&) = delete;

    /// postgresql://certq@127.0.0.1:<port>/<database>
    std::string uri(const std::string& database) const;
    /// An empty database with a name no other test of this run uses; its URI.
    std::string fresh_database();
    /// Whether PostgreSQL's server programs are installed (tests skip cleanly without them).
    static bool available();

private:
    std::string create_database(const std::string& name);

    std::filesystem::path dir_;
    unsigned short port_ = 0;
    std::unique_ptr<process> server_;
    int databases_ = 0;
};

/// One server for the whole test program, started on first use (starting one takes ~1 s).
pg_server& shared_pg_server();

} // namespace certq::testing
