#pragma once
// What integration tests share: a scratch directory, the real certqd binary as a child process,
// a SQLite connection to its database, and waiting for conditions under a deadline.

#include "azion_sim.hpp"
#include "config/config.hpp"
#include "store/sql.hpp"
#include "store/sqlite.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certq::testing {

/// A fresh directory under $TMPDIR, removed at destruction unless CERTQ_KEEP_TEST_DIRS is set.
class scratch_dir {
public:
    scratch_dir();
    ~scratch_dir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// A client configuration that trusts the simulator's CA (written into `dir`) and talks to it.
azion_config client_config_for(const sim::azion_simulator& sim, const scratch_dir& dir);

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every = std::chrono::milliseconds{50});

/// A child process with its stderr (and stdout) captured to a file.
class process {
public:
    process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::filesystem::path& output);
    ~process(); // SIGKILLs a child still running
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signo) const;
    /// Waits for the exit; the exit status, or 128+signal. nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    std::string output() const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path output_;
};

/// The receiving end of NOTIFY_SOCKET: a datagram socket the daemon writes its state to
/// (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1).
class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path);
    ~notify_socket();
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;
    const std::filesystem::path& path() const { return path_; }
    /// Everything received so far, one message per entry.
    const std::vector<std::string>& drain();
    bool saw(const std::string& needle);
    /// When the first message containing `needle` was received (as exact as the caller's
    /// draining: a drain blocks up to 100 ms for a message); nullopt when none yet.
    std::optional<std::chrono::steady_clock::time_point> arrived(const std::string& needle);

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> messages_;
    std::vector<std::chrono::steady_clock::time_point> arrivals_;
};

/// A port on 127.0.0.1 free for both UDP and TCP when asked (the kernel's choice).
unsigned short free_loopback_port();

/// NSD, Debian's authoritative DNS server, serving every zone file of tests/integration/dns on
/// 127.0.0.1 at a free port (or `port`), in the foreground and unprivileged. It answers
/// SERVFAIL for names under lame.net (a zone without a file) and REFUSED outside its zones.
class nsd_server {
public:
    explicit nsd_server(const scratch_dir& dir, unsigned short port = 0);
    ~nsd_server();
    unsigned short port() const { return port_; }
    /// "127.0.0.1:<port>", as dns.servers takes it.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    /// Rewrites a zone's records (after its SOA/NS header) and has NSD reload it; returns once
    /// NSD has read the new serial.
    void replace_zone(const std::string& zone, const std::string& records);
    std::string output() const { return proc_->output(); }

private:
    std::filesystem::path dir_;
    unsigned short port_ = 0;
    std::unique_ptr<process> proc_;
    int serial_ = 1;
};

/// Settings a test may change before writing certqd's configuration.
struct daemon_settings {
    double requests_per_second = 50;
    int burst = 1;
    int max_in_flight = 8;
    std::string poll_first = "500ms";
    std::string poll_max = "2s";
    std::string poll_give_up_after = "1h";
    std::string timeout = "10s";
    std::string dns_yaml = "dns: { check: false }\n";
    std::string http_listen; // "" turns /metrics off
    std::string http_auth;   // http.auth: a token file
    std::string log_yaml = "log: { level: info }\n";
    std::string extra_yaml; // appended verbatim
    std::string database;   // "": the environment's SQLite file; or a PostgreSQL URI
};

/// Which database certqd works on in a test.
enum class engine { sqlite, postgresql };
/// "SQLite" / "PostgreSQL", for parameterised tests' names.
std::string engine_name(engine e);

/// A simulator, a database (a SQLite file in the scratch directory, or a fresh database on the
/// test program's PostgreSQL server) and a config for certqd.
class environment {
public:
    explicit environment(sim::sim_options options = {}, daemon_settings settings = {},
                         engine e = engine::sqlite);
    ~environment();

    sim::azion_simulator& sim() { return sim_; }
    const std::filesystem::path& config_path() const { return config_; }
    const std::filesystem::path& database_path() const { return database_; }
    const scratch_dir& dir() const { return dir_; }

    /// Writes (again) certqd.yaml from the settings.
    void write_config(const daemon_settings& settings);

    /// Starts certqd with these extra arguments; AZION_TOKEN is the simulator's token.
    std::unique_ptr<process> start_daemon(const std::vector<std::string>& args = {},
                                          const std::map<std::string, std::string>& env = {});

    /// A connection to the database, as a user's tool would open one. The schema is created
    /// by opening the store once (certqd does the same at start).
    sql::connection& sql();
    /// The SQLite connection (tests of SQLite itself: PRAGMAs, the sqlite3 tool's locks).
    sqlite::database& db();

    /// Inserts `count` rows, hostname name_of(i), in one transaction, as a bulk load would.
    void insert_hostnames(int count, const std::function<std::string(int)>& name_of);

    std::string state_of(const std::string& hostname);
    /// The row's detail ("" when NULL; "(no row)" when there is no such row).
    std::string detail_of(const std::string& hostname);
    std::map<std::string, std::int64_t> counts_by_state();
    std::int64_t count(const std::string& text);

private:
    scratch_dir dir_;
    sim::azion_simulator sim_;
    std::filesystem::path config_;
    std::filesystem::path database_;
    engine engine_ = engine::sqlite;
    std::string database_uri_;
    std::unique_ptr<sql::connection> sql_;
    int daemon_runs_ = 0;
};

/// Runs the real `certq --config <env's config> args...` with `input` on stdin; returns what it
/// printed (stdout and stderr) and sets `exit_code`. `vars` are extra environment variables.
std::string run_certq(environment& env, const std::vector<std::string>& args,
                      const std::string& input = "", int* exit_code = nullptr,
                      const std::map<std::string, std::string>& vars = {});

/// A plain HTTP GET to 127.0.0.1:port; returns (status, body), or status 0 when it failed.
std::pair<unsigned, std::string> http_get(unsigned short port, const std::string& target);

/// What came back from an HTTP request: status 0 when none did.
struct http_reply {
    unsigned status = 0;
    std::string head; ///< the status line and headers, as sent
    std::string body;
    /// A header's value ("" when absent), its name compared case-insensitively.
    std::string header(const std::string& name) const;
};

/// Sends `raw` (a whole HTTP/1.1 request, which should say Connection: close) to 127.0.0.1:port
/// and reads the answer until the server closes.
http_reply http_send(unsigned short port, const std::string& raw);

/// METHOD target with Host 127.0.0.1 and these extra header lines ("Name: value").
http_reply http_fetch(unsigned short port, const std::string& target, const std::vector<std::string>& headers = {},
                      const std::string& method = "GET");

/// The port of certqd's HTTP server (http.listen with port 0), from its log; 0 when it has not
/// said within 30 s.
unsigned short logged_http_port(const process& daemon);

/// One sample of /metrics, e.g. `certq_dns_resolvers_up` or `certq_domains{state="active"}`;
/// -1 when absent.
double metric_value(unsigned short port, const std::string& series);

/// The most requests the simulator received within any one second.
int most_requests_in_one_second(const std::vector<sim::recorded_request>& requests);

/// Checks the transitions table: every row's chain starts with from_state NULL, each
/// from_state equals the previous to_state, and the last to_state is the row's state.
/// Returns a description of the first breach, or "" when all chains are whole.
std::string check_transitions(sql::connection& db);
inline std::string check_transitions(environment& env) {
    return check_transitions(env.sql());
}

} // namespace certq::testing
