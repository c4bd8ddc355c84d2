#include "harness.hpp"

#include "pg_server.hpp"
#include "store/domain_store.hpp"
#include "test_pki.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace certq::testing {

scratch_dir::scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "certq-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

scratch_dir::~scratch_dir() {
    if (std::getenv("CERTQ_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

notify_socket::notify_socket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind the notify socket " + path.string());
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

notify_socket::~notify_socket() { ::close(fd_); }

const std::vector<std::string>& notify_socket::drain() {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) > 0;) {
        messages_.emplace_back(buf, static_cast<std::size_t>(n));
        arrivals_.push_back(std::chrono::steady_clock::now());
    }
    return messages_;
}

std::optional<std::chrono::steady_clock::time_point> notify_socket::arrived(const std::string& needle) {
    drain();
    for (std::size_t i = 0; i < messages_.size(); ++i)
        if (messages_[i].find(needle) != std::string::npos) return arrivals_[i];
    return std::nullopt;
}

bool notify_socket::saw(const std::string& needle) {
    for (const auto& m : drain())
        if (m.find(needle) != std::string::npos) return true;
    return false;
}

unsigned short free_loopback_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len);
        const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
        const bool tcp_free = ::bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(tcp);
        ::close(udp);
        if (tcp_free) return ntohs(addr.sin_port);
    }
    throw std::runtime_error("no free loopback port");
}

namespace {

const char* const test_zones[] = {"azionedge.net", "provider.net", "otherhost.net", "example.com",
                                  "example.org",   "caa-strict.net", "caa-ok.net"};

std::string zone_header(const std::string& zone, int serial) {
    return "$ORIGIN " + zone + ".\n$TTL 60\n@ IN SOA ns1." + zone + ". hostmaster." + zone + ". ( " +
           std::to_string(serial) + " 3600 600 86400 60 )\n@ IN NS ns1." + zone + ".\nns1 IN A 127.0.0.1\n";
}

} // namespace

nsd_server::nsd_server(const scratch_dir& dir, unsigned short port) : dir_(dir / "nsd") {
    std::filesystem::create_directories(dir_);
    const std::filesystem::path zones = std::filesystem::path(CERTQ_SOURCE_DIR) / "tests/integration/dns";
    port_ = port ? port : free_loopback_port();
    std::ofstream conf(dir_ / "nsd.conf");
    conf << "server:\n"
         << "  ip-address: 127.0.0.1@" << port_ << "\n"
         << "  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
         << "  zonelistfile: \"" << (dir_ / "zone.list").string() << "\"\n"
         << "  xfrdfile: \"" << (dir_ / "xfrd.state").string() << "\"\n"
         << "  pidfile: \"" << (dir_ / "nsd.pid").string() << "\"\n"
         << "  xfrdir: \"" << dir_.string() << "\"\n"
         << "  zonesdir: \"" << dir_.string() << "\"\n"
         << "  server-count: 1\n  verbosity: 2\n"
         << "remote-control:\n  control-enable: no\n";
    for (const char* zone : test_zones) {
        std::filesystem::copy_file(zones / (std::string(zone) + ".zone"), dir_ / (std::string(zone) + ".zone"),
                                   std::filesystem::copy_options::overwrite_existing);
        conf << "zone:\n  name: " << zone << "\n  zonefile: " << zone << ".zone\n";
    }
    // A zone NSD is told to serve but has no file for: it answers SERVFAIL for every name in
    // it, as a recursive resolver does for a lame delegation or broken DNSSEC.
    conf << "zone:\n  name: lame.net\n  zonefile: lame.net.zone\n";
    conf.close();
    proc_ = std::make_unique<process>(std::vector<std::string>{"/usr/sbin/nsd", "-d", "-c", (dir_ / "nsd.conf").string()},
                                      std::map<std::string, std::string>{}, dir_ / "nsd.log");
    if (!wait_for([&] { return output().find("nsd started") != std::string::npos || !proc_->running(); }, std::chrono::seconds{20}) ||
        !proc_->running())
        throw std::runtime_error("nsd did not start:\n" + output());
}

nsd_server::~nsd_server() {
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds{10});
}

void nsd_server::replace_zone(const std::string& zone, const std::string& records) {
    ++serial_;
    {
        std::ofstream out(dir_ / (zone + ".zone"), std::ios::trunc);
        out << zone_header(zone, serial_) << records;
    }
    const auto before = output().size();
    proc_->signal(SIGHUP);
    if (!wait_for([&] { return output().find("zone " + zone, before) != std::string::npos; }, std::chrono::seconds{20}))
        throw std::runtime_error("nsd did not reload " + zone + ":\n" + output());
}

azion_config client_config_for(const sim::azion_simulator& sim, const scratch_dir& dir) {
    sim::write_file(dir / "ca.pem", sim.ca_pem());
    azion_config cfg;
    cfg.base_url = sim.base_url();
    cfg.ca_file = (dir / "ca.pem").string();
    return cfg;
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(every);
    }
}

process::process(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env, const std::filesystem::path& output)
    : output_(output) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        const auto key = entry.substr(0, entry.find('='));
        if (!env.count(key)) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

process::~process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds{10});
    }
}

void process::signal(int signo) const { ::kill(pid_, signo); }

bool process::running() {
    if (status_) return false;
    int raw = 0;
    const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return false;
    }
    return r == 0;
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
    wait_for([this] { return !running(); }, timeout, std::chrono::milliseconds{20});
    return status_;
}

std::string process::output() const {
    std::ifstream in(output_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string engine_name(engine e) { return e == engine::sqlite ? "SQLite" : "PostgreSQL"; }

environment::environment(sim::sim_options options, daemon_settings settings, engine e)
    : sim_(std::move(options)), engine_(e) {
    sim_.start();
    sim::write_file(dir_ / "ca.pem", sim_.ca_pem());
    database_ = dir_ / "certq.db";
    config_ = dir_ / "certqd.yaml";
    if (e == engine::postgresql && settings.database.empty()) settings.database = shared_pg_server().fresh_database();
    database_uri_ = settings.database.empty() ? database_.string() : settings.database;
    write_config(settings);
    // Create the schema the way certqd does, so tests can insert before the daemon starts.
    store::domain_store create(database_uri_);
}

environment::~environment() { sim_.stop(); }

void environment::write_config(const daemon_settings& s) {
    if (!s.database.empty() && s.database != database_uri_) { // the test moves certqd to another database
        database_uri_ = s.database;
        sql_.reset();
    }
    std::ofstream out(config_, std::ios::trunc);
    out << "database: " << database_uri_ << "\n"
        << "azion:\n"
        << "  base_url: " << sim_.base_url() << "\n"
        << "  ca_file: " << (dir_ / "ca.pem").string() << "\n"
        << "  timeout: " << s.timeout << "\n"
        << "  max_in_flight: " << s.max_in_flight << "\n"
        << "  rate_limit: { requests_per_second: " << s.requests_per_second
        << ", burst: " << s.burst << " }\n"
        << s.dns_yaml
        << "poll: { first: " << s.poll_first << ", max: " << s.poll_max
        << ", give_up_after: " << s.poll_give_up_after << " }\n"
        << "http: { listen: \"" << s.http_listen << "\", auth: \"" << s.http_auth << "\" }\n"
        << s.log_yaml
        << s.extra_yaml;
}

std::unique_ptr<process> environment::start_daemon(const std::vector<std::string>& args,
                                                   const std::map<std::string, std::string>& env) {
    std::vector<std::string> argv{CERTQD_PATH, "--config", config_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto log = dir_ / ("certqd-" + std::to_string(++daemon_runs_) + ".log");
    auto vars = env;
    vars.emplace("AZION_TOKEN", "sim-token");
    return std::make_unique<process>(argv, vars, log);
}

std::string run_certq(environment& env, const std::vector<std::string>& args, const std::string& input,
                      int* exit_code, const std::map<std::string, std::string>& vars) {
    static int runs = 0;
    const auto in = env.dir() / ("certq-in-" + std::to_string(++runs));
    {
        std::ofstream out(in);
        out << input;
    }
    std::string command = std::string("'") + CERTQ_PATH + "' --config '" + env.config_path().string() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    process p({"/bin/sh", "-c", command + " < '" + in.string() + "'"}, vars, env.dir() / ("certq-out-" + std::to_string(runs)));
    const auto rc = p.wait(std::chrono::seconds{60});
    if (exit_code) *exit_code = rc.value_or(-1);
    return p.output();
}

unsigned short logged_http_port(const process& daemon) {
    unsigned short port = 0;
    wait_for([&] {
        std::smatch m;
        const auto out = daemon.output();
        if (!std::regex_search(out, m, std::regex("http://[0-9.]+:(\\d+)/ "))) return false;
        port = static_cast<unsigned short>(std::stoi(m[1]));
        return true;
    }, std::chrono::seconds{30});
    return port;
}

double metric_value(unsigned short port, const std::string& series) {
    const auto body = http_get(port, "/metrics").second;
    const auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
}

http_reply http_send(unsigned short port, const std::string& raw) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return {};
    }
    if (::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) < 0) {
        ::close(fd);
        return {};
    }
    std::string response;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    if (response.rfind("HTTP/1.1 ", 0) != 0) return {0, response, {}};
    http_reply r;
    r.status = static_cast<unsigned>(std::stoul(response.substr(9, 3)));
    const auto end = response.find("\r\n\r\n");
    r.head = response.substr(0, end);
    if (end != std::string::npos) r.body = response.substr(end + 4);
    return r;
}

std::string http_reply::header(const std::string& name) const {
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon != name.size()) continue;
        if (!std::equal(name.begin(), name.end(), line.begin(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
            continue;
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        return value;
    }
    return "";
}

http_reply http_fetch(unsigned short port, const std::string& target, const std::vector<std::string>& headers,
                      const std::string& method) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& h : headers) raw += h + "\r\n";
    return http_send(port, raw + "\r\n");
}

std::pair<unsigned, std::string> http_get(unsigned short port, const std::string& target) {
    auto r = http_fetch(port, target);
    return {r.status, std::move(r.body)};
}

sql::connection& environment::sql() {
    if (!sql_) sql_ = sql::open(database_uri_);
    return *sql_;
}

sqlite::database& environment::db() {
    if (auto* handle = sql().sqlite_handle()) return *handle;
    throw std::logic_error("environment::db() is for SQLite; this test runs on " + engine_name(engine_));
}

void environment::insert_hostnames(int count, const std::function<std::string(int)>& name_of) {
    sql::transaction tx(sql());
    for (int i = 0; i < count; ++i) sql().run("INSERT INTO domains (hostname) VALUES (?1)", {name_of(i)});
    tx.commit();
}

std::string environment::state_of(const std::string& hostname) {
    auto stmt = sql().query("SELECT state FROM domains WHERE hostname = ?1", {hostname});
    return stmt->step() ? stmt->column_text(0) : std::string("(no row)");
}

std::string environment::detail_of(const std::string& hostname) {
    auto stmt = sql().query("SELECT coalesce(detail, '') FROM domains WHERE hostname = ?1", {hostname});
    return stmt->step() ? stmt->column_text(0) : std::string("(no row)");
}

std::map<std::string, std::int64_t> environment::counts_by_state() {
    std::map<std::string, std::int64_t> out;
    auto stmt = sql().query("SELECT state, count(*) FROM domains GROUP BY state");
    while (stmt->step()) out[stmt->column_text(0)] = stmt->column_int(1);
    return out;
}

std::int64_t environment::count(const std::string& text) {
    auto stmt = sql().query(text);
    return stmt->step() ? stmt->column_int(0) : -1;
}

std::string check_transitions(sql::connection& db) {
    std::map<std::int64_t, std::string> state_of_row;
    {
        auto rows = db.query("SELECT id, state FROM domains");
        while (rows->step()) state_of_row[rows->column_int(0)] = rows->column_text(1);
    }
    std::map<std::int64_t, std::optional<std::string>> last;
    auto t = db.query("SELECT id, domain_id, from_state, to_state FROM transitions ORDER BY id");
    while (t->step()) {
        const auto id = t->column_int(0);
        const auto row = t->column_int(1);
        const auto from = t->column_optional_text(2);
        const auto to = t->column_text(3);
        auto it = last.find(row);
        if (it == last.end()) {
            if (from) return "row " + std::to_string(row) + ": first transition " + std::to_string(id) + " starts from " + *from;
        } else if (from != it->second) {
            return "row " + std::to_string(row) + ": transition " + std::to_string(id) + " starts from " +
                   from.value_or("NULL") + " but the previous ended in " + it->second.value_or("NULL");
        }
        last[row] = to;
    }
    for (const auto& [row, state] : state_of_row) {
        auto it = last.find(row);
        if (it == last.end()) return "row " + std::to_string(row) + " has no transitions";
        if (it->second != state)
            return "row " + std::to_string(row) + " is " + state + " but its last transition is to " +
                   it->second.value_or("NULL");
    }
    return "";
}

int most_requests_in_one_second(const std::vector<sim::recorded_request>& requests) {
    std::vector<std::chrono::steady_clock::time_point> at;
    for (const auto& r : requests) at.push_back(r.at);
    std::sort(at.begin(), at.end());
    int most = 0;
    for (std::size_t first = 0, last = 0; last < at.size(); ++last) {
        while (at[last] - at[first] >= std::chrono::seconds{1}) ++first;
        most = std::max(most, static_cast<int>(last - first + 1));
    }
    return most;
}

} // namespace certq::testing
