#pragma once
// A table with rows in every state for the web tests: a few worked by certqd itself (DNS from
// NSD, certificates from the simulator), the rest written as a provider's tool would, due in
// 2100 so certqd leaves them where they are. Hostnames and details carry markup, quotes and
// Unicode: the page and the API must show them as text.

#include "harness.hpp"
#include "store/state.hpp"

#include <string>

namespace certq::testing {

/// A detail Azion might return, with everything an attacker would try.
inline const std::string hostile_detail =
    "Azion said: <img src=x onerror=\"window.__pwned=1\"> \"quoted\" & 'single' — ünïcödé 例え "
    "<script>window.__pwned=1</script>";
/// A hostname certqd will find invalid, quoting it in the detail.
inline const std::string hostile_hostname = "<script>window.__pwned=1</script>.example.com";

inline daemon_settings web_settings(const std::string& dns_server) {
    daemon_settings s;
    s.dns_yaml = "dns:\n  check: true\n  servers: [\"" + dns_server + "\"]\n"
                 "  edge_hostname: abc123.map.azionedge.net\n"
                 "  recheck: { first: 1h, max: 1h, give_up_after: 72h }\n";
    s.http_listen = "127.0.0.1:0";
    return s;
}

inline void seed_every_state(environment& env) {
    auto& db = env.sql();
    // Worked by certqd: to active, to dns_waiting (a CNAME elsewhere, CAA for another CA), and
    // to invalid.
    for (const char* host : {"www.good.example.com", "www.shop.example.com", "shop.caa-strict.net"})
        db.run("INSERT INTO domains (hostname) VALUES (?1)", {host});
    db.run("INSERT INTO domains (hostname) VALUES (?1)", {hostile_hostname});
    // Written directly, one per state, not due before 2100.
    for (const auto state : all_states) {
        const std::string name(to_string(state));
        const auto host = std::string(name == "dns_waiting" ? "dns-waiting" : name == "dns_failed" ? "dns-failed" : name) +
                          ".rows.example.net";
        // Two rows share a workload (named at the insert: naming one later makes a row due).
        const bool on_workload = name == "active" || name == "moved";
        db.run("INSERT INTO domains (hostname, workload_id) VALUES (?1, ?2)",
               {host, on_workload ? sql::arg(77) : sql::arg(nullptr)});
        db.run("UPDATE domains SET state = ?1, detail = ?2, next_attempt_at = 4102444800000 WHERE hostname = ?3",
               {name, name == "failed" ? hostile_detail : "seeded as " + name, host});
    }
    db.run("INSERT INTO domains (hostname, alternative_names) VALUES ('xn--bcher-kva.example.net', "
           "'[\"www.xn--bcher-kva.example.net\"]')");
    db.run("UPDATE domains SET state = 'failed', detail = ?1, next_attempt_at = 4102444800000 "
           "WHERE hostname = 'xn--bcher-kva.example.net'",
           {hostile_detail});
}

/// Waits until certqd has worked the rows it works; false after the deadline.
inline bool every_state_settled(environment& env) {
    return wait_for(
        [&] {
            return env.state_of("www.good.example.com") == "active" &&
                   env.state_of("www.shop.example.com") == "dns_waiting" &&
                   env.state_of("shop.caa-strict.net") == "dns_waiting" && env.state_of(hostile_hostname) == "invalid";
        },
        std::chrono::seconds{30});
}

/// NSD for the customer zones, the simulator, and the real certqd serving HTTP on a free port,
/// over seed_every_state's rows once certqd has worked the ones it works.
struct web_daemon {
    scratch_dir nsd_dir;
    std::unique_ptr<nsd_server> nsd;
    std::unique_ptr<environment> env;
    std::unique_ptr<process> daemon;
    unsigned short port = 0;

    /// "" when all is up, else what is not (with certqd's log).
    std::string start() {
        nsd = std::make_unique<nsd_server>(nsd_dir);
        env = std::make_unique<environment>(sim::sim_options{}, web_settings(nsd->address()));
        seed_every_state(*env);
        daemon = env->start_daemon();
        port = logged_http_port(*daemon);
        if (port == 0) return "certqd logged no HTTP port:\n" + daemon->output();
        if (!every_state_settled(*env)) return "certqd did not work the rows it works:\n" + daemon->output();
        return "";
    }
};

} // namespace certq::testing
