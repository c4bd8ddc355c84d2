#include "pg_server.hpp"

#include "store/postgres.hpp"

#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <stdexcept>

namespace certq::testing {

namespace {

constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";
constexpr const char* service_user = "certq-pg";

// The command, run as the unprivileged user when this test runs as root (setpriv execs in
// place: the server stays this test's child, with a PID it can signal).
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
    if (::geteuid() != 0) return argv;
    std::vector<std::string> wrapped{"/usr/bin/setpriv", "--reuid",       service_user,  "--regid",
                                     service_user,       "--init-groups", "--reset-env", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
}

void run_or_throw(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    process p(argv, {}, log);
    const auto rc = p.wait(std::chrono::seconds{120});
    if (rc != 0) throw std::runtime_error(argv.front() + " failed: " + p.output());
}

} // namespace

bool pg_server::available() {
    return std::filesystem::exists(std::string(bin_dir) + "/postgres");
}

pg_server::pg_server() {
    if (!available())
        throw std::runtime_error(std::string("PostgreSQL is not installed (") + bin_dir +
                                 "); run scripts/setup");
    if (::geteuid() == 0 && !::getpwnam(service_user))
        run_or_throw({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir",
                      "/nonexistent", "--shell", "/usr/sbin/nologin", service_user},
                     "/dev/null");
    std::string templ = (std::filesystem::temp_directory_path() / "certq-pg-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("cannot create a directory for PostgreSQL");
    dir_ = templ;
    if (::geteuid() == 0) {
        const auto* pw = ::getpwnam(service_user);
        if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
            throw std::runtime_error("cannot give " + dir_.string() + " to " + service_user);
    }
    run_or_throw(as_server_user({std::string(bin_dir) + "/initdb", "-D", (dir_ / "data").string(),
                                 "-U", "certq", "--auth=trust", "--encoding=UTF8",
                                 "--locale=C.UTF-8", "--no-sync"}),
                 dir_ / "initdb.log");
    port_ = free_loopback_port();
    // Durability settings off: a test kills processes, not the machine.
    server_ = std::make_unique<process>(
        as_server_user({std::string(bin_dir) + "/postgres", "-D", (dir_ / "data").string(), "-p",
                        std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c",
                        "unix_socket_directories=" + dir_.string(), "-c", "fsync=off", "-c",
                        "full_page_writes=off", "-c", "synchronous_commit=off", "-c",
                        "max_connections=200"}),
        std::map<std::string, std::string>{},
        dir_.parent_path() / (dir_.filename().string() + ".log"));
    const bool up = wait_for(
        [&] {
            if (!server_->running()) return true;
            try {
                pg::connection probe(uri("postgres"));
                return true;
            } catch (const pg::error&) {
                return false;
            }
        },
        std::chrono::seconds{60});
    if (!up || !server_->running())
        throw std::runtime_error("PostgreSQL did not start on port " + std::to_string(port_) +
                                 ": " + server_->output());
}

pg_server::~pg_server() {
    if (server_ && server_->running()) {
        server_->signal(SIGINT); // fast shutdown: sessions are ended, nothing waits for clients
        server_->wait(std::chrono::seconds{30});
    }
    const auto log = dir_.parent_path() / (dir_.filename().string() + ".log");
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (!std::getenv("CERTQ_KEEP_TEST_DIRS")) std::filesystem::remove(log, ec);
}

std::string pg_server::uri(const std::string& database) const {
    return "postgresql://certq@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string pg_server::create_database(const std::string& name) {
    pg::connection admin(uri("postgres"));
    admin.exec("CREATE DATABASE " + pg::quote_identifier(name));
    return uri(name);
}

std::string pg_server::fresh_database() {
    return create_database("t" + std::to_string(::getpid()) + "_" + std::to_string(++databases_));
}

pg_server& shared_pg_server() {
    static pg_server server;
    return server;
}

} // namespace certq::testing
