// certqd: the daemon. Wiring only: arguments, configuration, logging, signals; the work is in
// lib/engine.

#include "azion/client.hpp"
#include "command_line.hpp"
#include "config/config.hpp"
#include "engine/db_worker.hpp"
#include "engine/dns_gate.hpp"
#include "engine/scheduler.hpp"
#include "notify/notifier.hpp"
#include "logging.hpp"
#include "metrics/metrics.hpp"
#include "store/migrations.hpp"
#include "web/api.hpp"
#include "web/auth.hpp"
#include "web/http_server.hpp"
#include "web/reader.hpp"
#include "web/site.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <malloc.h>
#include <csignal>
#include <functional>
#include <iostream>

namespace asio = boost::asio;

namespace {

using certq::exit_ok;
using certq::exit_runtime;
using certq::exit_usage;

void print_summary(const certq::config& cfg, std::ostream& out) {
    out << "database:        " << certq::sql::printable(cfg.database.string()) << "\n"
        << "azion:           " << cfg.azion.base_url << cfg.azion.certificates_path << "\n"
        << "rate limit:      " << cfg.azion.rate_limit.requests_per_second << "/s, burst "
        << cfg.azion.rate_limit.burst << ", " << cfg.azion.max_in_flight << " in flight\n"
        << "dns check:       " << (cfg.dns.check ? "on" : "off") << "\n"
        << "poll:            " << certq::format_duration(cfg.poll.first) << " .. "
        << certq::format_duration(cfg.poll.max) << ", give up after "
        << certq::format_duration(cfg.poll.give_up_after) << "\n";
}

// "1204 active, 310 pending, 12 dns_waiting": the service's one-line status, biggest first.
std::string status_line(const std::map<certq::domain_state, std::int64_t>& counts) {
    std::vector<std::pair<std::int64_t, certq::domain_state>> order;
    for (const auto& [state, n] : counts) order.emplace_back(n, state);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string line;
    for (const auto& [n, state] : order)
        line += (line.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(certq::to_string(state));
    return line.empty() ? "no rows" : line;
}

certq::dns::checker_options dns_options_of(const certq::config& cfg) {
    certq::dns::checker_options o;
    o.resolver.servers = cfg.dns.servers;
    o.targets = cfg.dns.targets;
    o.edge_hostname = cfg.dns.edge_hostname;
    return o;
}

// The token the web answers require, if any. Throws config_error when it cannot be read or when
// http.listen would expose the answers beyond this machine without one.
std::optional<std::string> http_access(const certq::config& cfg) {
    if (cfg.http.listen.empty()) return std::nullopt;
    auto token = certq::web::load_http_token(cfg.http);
    if (!token && !certq::web::is_loopback_listen(cfg.http.listen))
        throw certq::config_error("http.listen: " + cfg.http.listen +
                                  " is not a loopback address, and http.auth names no token; anyone who can "
                                  "reach it would read every row. Set http.auth to a token file (or pass the "
                                  "credential http-token), or listen on 127.0.0.1");
    return token;
}

std::int64_t db_unfinished(certq::engine::db_worker& db) {
    // Before the loop runs, a direct read on this thread is safe: nothing else uses the store.
    return db.unsafe_store().unfinished();
}

// SIGHUP: rates, DNS, schedules, budgets and logging change in place without dropping work;
// what only a restart can change is named in the log. A bad file changes nothing.
void reload(const std::string& file, certq::config& running, certq::azion::client& api,
            certq::dns::checker* dns, certq::engine::scheduler& sched) {
    certq::config next;
    try {
        next = certq::load_config(file);
        if (dns) dns->reconfigure(dns_options_of(next));
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the running configuration: {}", e.what());
        return;
    }
    certq::setup_logging(next.log);
    api.set_rate(next.azion.rate_limit.requests_per_second, next.azion.rate_limit.burst);
    sched.reconfigure(next);
    const auto restart_needed = [&](bool changed, const char* key) {
        if (changed) spdlog::warn("reload: {} changed; it takes effect when certqd restarts", key);
    };
    restart_needed(next.database != running.database, "database");
    restart_needed(next.azion.base_url != running.azion.base_url ||
                       next.azion.certificates_path != running.azion.certificates_path,
                   "azion.base_url/certificates_path");
    restart_needed(next.azion.token_file != running.azion.token_file || next.azion.ca_file != running.azion.ca_file ||
                       next.azion.auth_scheme != running.azion.auth_scheme,
                   "azion.token_file/ca_file/auth_scheme");
    restart_needed(next.azion.timeout != running.azion.timeout || next.azion.max_in_flight != running.azion.max_in_flight,
                   "azion.timeout/max_in_flight");
    restart_needed(next.dns.check != running.dns.check, "dns.check");
    const auto hooks = [](const certq::notify_config& n) {
        std::string all;
        for (const auto& h : n.webhooks) {
            all += h.url + "|" + h.secret_file + "|";
            for (const auto& e : h.events) all += e + ",";
        }
        return all + std::to_string(n.timeout.count()) + "|" + n.ca_file + "|" + std::to_string(n.retry.first.count()) +
               "|" + std::to_string(n.retry.max.count()) + "|" + std::to_string(n.retry.give_up_after.count());
    };
    restart_needed(hooks(next.notify) != hooks(running.notify), "notify");
    restart_needed(next.http.listen != running.http.listen || next.http.auth != running.http.auth,
                   "http.listen/auth");
    running = next;
    spdlog::info("reloaded {}: {}/s burst {}, log level {}", file, next.azion.rate_limit.requests_per_second,
                 next.azion.rate_limit.burst, next.log.level);
}

} // namespace

namespace {

// Waits for the leader lock (PostgreSQL), trying once a second, then starts the work. A
// standby has answered READY=1 already and says what it waits for in its status line.
asio::awaitable<void> await_leadership(certq::engine::db_worker& db, certq::engine::scheduler& sched,
                                       certq::metrics::registry& metrics, std::function<void()> start_work) {
    asio::steady_timer retry(co_await asio::this_coro::executor);
    bool said = false;
    while (!sched.stopping()) {
        auto job = [](certq::store::domain_store& s) { return s.take_leadership(); };
        if (co_await db.run(std::move(job))) {
            metrics.leader = 1;
            spdlog::info("leading: this certqd holds the leader lock and works the queue");
            sd_notify(0, "STATUS=leading: working the queue");
            start_work();
            co_return;
        }
        if (!said) {
            spdlog::info("standby: another certqd works the queue; this one takes over when it stops");
            sd_notify(0, "STATUS=standby: another certqd holds the leader lock");
            said = true;
        }
        retry.expires_after(std::chrono::seconds{1});
        co_await retry.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

} // namespace

int main(int argc, char** argv) {
    // A reload requested before the handler below is in place must not end the daemon.
    std::signal(SIGHUP, SIG_IGN);
    // glibc gives memory back to the kernel once 128 KiB lie free at the top of a heap; the
    // database thread's heap rises and falls by more than that with every batch, so each
    // batch paid for madvise and fresh page faults (32,000 faults per 2,000 rows; 600 with
    // this). Keeping a few MiB costs nothing next to the peak, which stays where it was.
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_TOP_PAD, 1 << 20);
    CLI::App app{"certqd: Let's Encrypt certificates at Azion for every row of the domains table"};
    std::string config_file;
    bool exit_when_done = false;
    bool check_config = false;
    app.add_option("-c,--config", config_file, "configuration file (YAML)")->required();
    app.add_flag("--exit-when-done", exit_when_done,
                 "exit 0 once every row is in a terminal state");
    app.add_flag("--check-config", check_config, "validate the configuration and exit");
    app.set_version_flag("--version", "certqd " CERTQ_VERSION);
    int leave_with = exit_ok;
    auto loaded = certq::parse_command_line(app, argc, argv, config_file, "certqd", leave_with);
    if (!loaded) return leave_with;
    auto cfg = std::move(*loaded);
    if (check_config) {
        std::cout << config_file << ": configuration is valid\n";
        print_summary(cfg, std::cout);
        try {
            auto token = certq::resolve_token(cfg.azion);
            std::cout << "token:           from " << token.origin << "\n";
        } catch (const certq::config_error& e) {
            std::cout << "token:           not found here (" << e.what() << ")\n";
        }
        int bad_secrets = 0;
        for (const auto& hook : cfg.notify.webhooks) {
            try {
                certq::notify::load_secret(hook);
                std::cout << "webhook:         " << certq::notify::receiver_label(hook.url) << " (secret readable)\n";
            } catch (const certq::config_error& e) {
                std::cout << "webhook:         " << e.what() << "\n";
                ++bad_secrets;
            }
        }
        try {
            const auto http_token = http_access(cfg);
            std::cout << "http:            "
                      << (cfg.http.listen.empty() ? "off"
                          : http_token           ? cfg.http.listen + ", a bearer token required"
                                                 : cfg.http.listen + ", loopback only, no token")
                      << "\n";
        } catch (const certq::config_error& e) {
            std::cout << "http:            " << e.what() << "\n";
            ++bad_secrets;
        }
        return bad_secrets ? exit_usage : exit_ok;
    }

    certq::setup_logging(cfg.log);
    certq::token_source token;
    std::optional<std::string> http_token;
    try {
        token = certq::resolve_token(cfg.azion);
        http_token = http_access(cfg);
    } catch (const certq::config_error& e) {
        spdlog::critical("{}: {}", config_file, e.what());
        return exit_usage;
    }

    try {
        const auto database_password = certq::database_password();
        certq::engine::db_worker db(cfg.database.string(), database_password);
        db.on_connection_lost([](const std::string& why) {
            // Fencing: a certqd that cannot reach its database must not go on calling Azion
            // (another may hold the leader lock by now), and nothing it has in memory is safe to
            // act on. Exiting ends every call at once; systemd starts a fresh process, which
            // waits as a standby until it holds the lock.
            spdlog::critical("lost the database connection ({}); exiting at once, every API call with it", why);
            spdlog::default_logger()->flush(); // not shutdown(): the network thread may be logging
            sd_notify(0, "STATUS=lost the database connection; exiting");
            std::_Exit(exit_runtime);
        });
        spdlog::info("certqd {} starting: database {} (schema {}), Azion {}{}, token from {}",
                     CERTQ_VERSION, db.unsafe_store().sql().describe(), certq::store::latest_schema_version(),
                     cfg.azion.base_url, cfg.azion.certificates_path, token.origin);

        asio::io_context ioc{1};
        certq::metrics::registry metrics;
        certq::azion::client api(ioc.get_executor(), cfg.azion, std::move(token.token), &metrics);
        certq::engine::unchecked_dns_gate unchecked;
        std::optional<certq::dns::checker> resolver;
        std::optional<certq::engine::resolving_dns_gate> resolving;
        if (cfg.dns.check) {
            resolver.emplace(ioc.get_executor(), dns_options_of(cfg));
            resolving.emplace(*resolver);
            spdlog::info("DNS pre-check on: targets {}, edge hostname {}, resolvers {}",
                         fmt::join(cfg.dns.targets, ", "),
                         cfg.dns.edge_hostname.empty() ? "(none)" : cfg.dns.edge_hostname,
                         cfg.dns.servers.empty() ? "from /etc/resolv.conf" : fmt::format("{}", fmt::join(cfg.dns.servers, ", ")));
        } else {
            spdlog::warn("dns.check is off: names are requested without checking that they point "
                         "to Azion; a name that does not spends its Let's Encrypt failure budget");
        }
        certq::engine::dns_gate& dns = resolving ? static_cast<certq::engine::dns_gate&>(*resolving)
                                                 : unchecked;

        certq::engine::scheduler_options options;
        options.exit_when_done = exit_when_done;
        options.max_request_rows =
            std::max<std::size_t>(256, static_cast<std::size_t>(cfg.azion.max_in_flight) * 8);
        options.metrics = &metrics;
        for (const auto& hook : cfg.notify.webhooks) options.webhook_urls.push_back(hook.url);
        options.on_counts = [](const std::map<certq::domain_state, std::int64_t>& counts) {
            sd_notify(0, ("STATUS=" + status_line(counts)).c_str());
        };
        certq::engine::scheduler sched(ioc.get_executor(), cfg, api, dns, db, options);
        std::optional<certq::notify::notifier> notifier;
        if (!cfg.notify.webhooks.empty()) {
            notifier.emplace(ioc.get_executor(), cfg.notify, db, &metrics);
            spdlog::info("webhooks: {} receiver(s)", cfg.notify.webhooks.size());
        }

        // Liveness: a beat on the loop every second. /healthz answers 200 while beats come,
        // and the systemd watchdog is fed from the same beat, so a loop that stops making
        // progress is seen (and restarted) while a locked database — on its own thread — is not
        // mistaken for one.
        auto last_beat = std::chrono::steady_clock::now();
        std::uint64_t watchdog_usec = 0;
        const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
        asio::steady_timer beat(ioc);
        std::function<void()> heartbeat = [&] {
            last_beat = std::chrono::steady_clock::now();
            if (watchdog) sd_notify(0, "WATCHDOG=1");
            beat.expires_after(std::chrono::seconds{1});
            beat.async_wait([&](const boost::system::error_code& ec) {
                if (!ec) heartbeat();
            });
        };
        heartbeat();

        std::optional<certq::web::reader> web_reader;
        std::optional<certq::dns::checker> web_dns; // for the API's live checks when dns.check is off
        std::optional<certq::web::api> web_api;
        std::optional<certq::web::site> web_site;
        std::optional<certq::web::http_server> http; // last: its sessions use everything above
        if (!cfg.http.listen.empty()) {
            web_reader.emplace(cfg.database.string(), database_password);
            if (!resolver) {
                try {
                    web_dns.emplace(ioc.get_executor(), dns_options_of(cfg));
                } catch (const std::exception& e) {
                    spdlog::warn("the API's live DNS checks are off: {}", e.what());
                }
            }
            certq::dns::checker* explainer = resolver ? &*resolver : web_dns ? &*web_dns : nullptr;
            web_api.emplace(
                *web_reader,
                [&] {
                    certq::web::live_facts f;
                    f.leader = metrics.leader != 0;
                    f.rate_configured = cfg.azion.rate_limit.requests_per_second;
                    f.rate_in_force = api.current_rate();
                    f.congestion_events = api.congestion_events();
                    for (const auto& hook : cfg.notify.webhooks)
                        f.webhooks.push_back({hook.url, certq::notify::receiver_label(hook.url), hook.events});
                    f.expiry_warning = cfg.monitor.expiry_warning;
                    return f;
                },
                explainer ? certq::web::api::dns_explainer([explainer](std::vector<std::string> names) {
                    return explainer->explain(std::move(names));
                })
                          : nullptr);
            const auto metrics_answer = [&] {
                metrics.rate_configured = cfg.azion.rate_limit.requests_per_second;
                metrics.rate_current = api.current_rate();
                metrics.rate_congestion_events = api.congestion_events();
                if (resolver) {
                    metrics.dns_queries = resolver->stats().queries;
                    metrics.dns_reused = resolver->stats().reused;
                    metrics.dns_resolvers_up = resolver->stats().resolvers_up ? 1 : 0;
                }
                return certq::web::response{200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(), {}};
            };
            const auto health_answer = [&] {
                const bool alive = std::chrono::steady_clock::now() - last_beat < std::chrono::seconds{5};
                const bool dns_up = !resolver || resolver->stats().resolvers_up;
                return certq::web::response{alive && dns_up ? 200u : 503u, "text/plain; charset=utf-8",
                                            !alive    ? "the loop has stopped making progress\n"
                                            : !dns_up ? "DNS resolvers are not answering: DNS checks wait\n"
                                                      : "ok\n",
                                            {}};
            };
            web_site.emplace(cfg.http.listen, http_token, *web_api, metrics_answer, health_answer);
            http.emplace(ioc.get_executor(), cfg.http.listen,
                         [&](certq::web::request req) { return web_site->handle(std::move(req)); });
            http->start();
            spdlog::info("web page on http://{}:{}/ (and /api/v1/, /metrics, /healthz){}",
                         cfg.http.listen.substr(0, cfg.http.listen.rfind(':')), http->port(),
                         http_token ? "; a bearer token is required" : "");
        }

        asio::signal_set signals(ioc, SIGTERM, SIGINT);
        signals.async_wait([&](const boost::system::error_code& ec, int signo) {
            if (ec) return;
            spdlog::info("received {}", signo == SIGTERM ? "SIGTERM" : "SIGINT");
            sd_notify(0, "STOPPING=1");
            sched.stop();
        });
        asio::signal_set hangup(ioc, SIGHUP);
        std::function<void()> await_hangup = [&] {
            hangup.async_wait([&](const boost::system::error_code& ec, int) {
                if (ec) return;
                reload(config_file, cfg, api, resolver ? &*resolver : web_dns ? &*web_dns : nullptr, sched);
                await_hangup();
            });
        };
        await_hangup();

        std::exception_ptr failure;
        const auto waiting = db_unfinished(db);
        spdlog::info("ready: {} row(s) waiting; SIGHUP reloads {}, SIGTERM stops", waiting, config_file);
        sd_notify(0, ("READY=1\nSTATUS=started, " + std::to_string(waiting) + " row(s) to work on").c_str());
        const auto finish = [&](std::exception_ptr e) {
            failure = e;
            signals.cancel();
            hangup.cancel();
            beat.cancel();
            if (http) http->stop();
            if (resolver) resolver->shutdown();
            if (web_dns) web_dns->shutdown();
            if (notifier) notifier->stop();
        };
        // The queue's work: requests, polls and webhooks. On PostgreSQL only the certqd holding
        // the leader lock does it; the others wait as standbys, ready and healthy, calling
        // nobody, so the API rate and Let's Encrypt's budgets are spent by one process.
        bool working = false;
        const auto start_work = [&] {
            working = true;
            if (notifier) asio::co_spawn(ioc, notifier->run(), asio::detached);
            asio::co_spawn(ioc, sched.run(), finish);
        };
        if (db.unsafe_store().sql().kind() == certq::sql::dialect::postgresql) {
            metrics.leader = 0;
            asio::co_spawn(ioc, await_leadership(db, sched, metrics, start_work), [&](std::exception_ptr e) {
                if (e || !working) finish(e);
            });
        } else {
            start_work();
        }
        ioc.run();
        if (failure) std::rethrow_exception(failure);
        spdlog::info("certqd stopped");
        return exit_ok;
    } catch (const certq::config_error& e) {
        spdlog::critical("{}: {}", config_file, e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return exit_runtime;
    }
}
