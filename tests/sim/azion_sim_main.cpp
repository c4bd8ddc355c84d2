// azion-sim: the simulated Azion API as a program, for scripts/demo and manual runs. Serves on
// 127.0.0.1 until SIGTERM or SIGINT, then writes its statistics.

#include "azion_sim.hpp"
#include "test_pki.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"azion-sim: a simulated Azion API v4 (certificates) on 127.0.0.1"};
    certq::sim::sim_options options;
    unsigned short port = 0;
    std::string port_file, ca_file, stats_file;
    long issue_delay_ms = 2000;
    std::vector<std::string> failing;
    app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)");
    app.add_option("--port-file", port_file, "write the chosen port here once listening");
    app.add_option("--ca-file", ca_file, "write the CA certificate (PEM) here")->required();
    app.add_option("--stats-file", stats_file, "write request statistics (JSON) here on exit");
    app.add_option("--token", options.token, "the token clients must send");
    app.add_option("--issue-delay-ms", issue_delay_ms, "time from request to issuance");
    app.add_option("--fail", failing, "a name whose issuance fails (repeatable)");
    app.add_option("--rate-limit", options.rate_limit, "requests per second before 429 (0: off)");
    app.add_option("--burst", options.rate_burst, "server-side burst");
    long latency_min_ms = 0, latency_max_ms = 0;
    app.add_option("--latency-ms", latency_min_ms, "time to answer each request (lower bound)");
    app.add_option("--latency-max-ms", latency_max_ms, "upper bound of the time to answer (uniform)");
    CLI11_PARSE(app, argc, argv);
    options.issue_delay = std::chrono::milliseconds{issue_delay_ms};
    options.latency_min = std::chrono::milliseconds{latency_min_ms};
    options.latency_max = std::chrono::milliseconds{std::max(latency_min_ms, latency_max_ms)};
    options.failing_names.insert(failing.begin(), failing.end());

    // Block the signals before any thread starts so only sigwait below receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    try {
        certq::sim::azion_simulator sim(options);
        certq::sim::write_file(ca_file, sim.ca_pem());
        const auto chosen = sim.start(port);
        if (!port_file.empty()) {
            certq::sim::write_file(port_file + ".tmp", std::to_string(chosen) + "\n");
            std::rename((port_file + ".tmp").c_str(), port_file.c_str());
        }
        std::cerr << "azion-sim: serving " << sim.base_url() << "\n";
        int received = 0;
        sigwait(&signals, &received);
        sim.stop();
        const auto stats = boost::json::serialize(sim.stats());
        if (!stats_file.empty()) certq::sim::write_file(stats_file, stats + "\n");
        std::cerr << "azion-sim: stopped; " << stats << "\n";
    } catch (const std::exception& e) {
        std::cerr << "azion-sim: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
