// certq-bench: the figures a provider plans with, from the real certqd against the simulated
// Azion API on this machine. Prints one table and writes it as JSON. Figures, not pass/fail:
// the goals are printed beside them and the exit status says only whether every section ran.
//
//   certq-bench [--small] [--json FILE] [--only SECTION...]   (scripts/bench runs it)

#include "bench.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <set>

int main(int argc, char** argv) {
    using namespace certq::bench;
    bench_options o;
    std::string json_path;
    bool small = false;
    std::vector<std::string> only;
    const std::set<std::string> sections{"pipeline", "pickup", "scale", "convergence", "naive"};
    CLI::App app{"certq-bench: certqd's figures against the simulated Azion API"};
    app.add_flag(
        "--small", small,
        "the CI run: 500 rows, one convergence scenario, smaller tables (about two minutes)");
    app.add_option("--json", json_path, "write the table and the raw figures here");
    app.add_option("--only", only, "run only these sections")->check(CLI::IsMember(sections));
    app.add_option("--rate", o.rate, "certqd's configured requests per second");
    app.add_option("--rows", o.pipeline_rows, "rows in the pacing run");
    app.add_option("--queued-rows", o.queued_rows, "rows queued for the memory figure");
    app.add_option("--ready-rows", o.ready_rows, "rows in the start-up database");
    app.add_option("--naive-rows", o.naive_rows, "rows for the hand-written client's comparison");
    app.add_option("--convergence-seconds", o.convergence_seconds,
                   "length of each convergence scenario");
    app.add_option("--time-scale", o.time_scale, "Azion's time divided by this is the simulator's");
    CLI11_PARSE(app, argc, argv);
    if (small) {
        // Explicit options still win over the preset.
        if (app.count("--rows") == 0) o.pipeline_rows = 500;
        o.pickup_rows = 200;
        if (app.count("--queued-rows") == 0) o.queued_rows = 10'000;
        if (app.count("--ready-rows") == 0) o.ready_rows = 20'000;
        if (app.count("--naive-rows") == 0) o.naive_rows = 5;
        if (app.count("--convergence-seconds") == 0) o.convergence_seconds = 30;
        o.all_convergence = false;
    }
    const auto wanted = [&](const std::string& s) {
        return only.empty() || std::find(only.begin(), only.end(), s) != only.end();
    };
    report r;
    int failed = 0;
    const std::pair<const char*, void (*)(const bench_options&, report&)> runs[] = {
        {"pipeline", run_pipeline},
        {"pickup", run_pickup},
        {"scale", run_scale},
        {"convergence", run_convergence},
        {"naive", run_naive}};
    for (const auto& [name, run] : runs) {
        if (!wanted(name)) continue;
        try {
            run(o, r);
        } catch (const std::exception& e) {
            std::cerr << "certq-bench: " << name << ": " << e.what() << "\n";
            ++failed;
        }
    }
    r.print();
    if (!json_path.empty()) {
        std::ofstream(json_path) << boost::json::serialize(r.to_json(o)) << "\n";
        std::printf("\nwritten to %s\n", json_path.c_str());
    }
    return failed == 0 ? 0 : 1;
}
