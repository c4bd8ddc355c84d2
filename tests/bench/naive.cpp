// certqd against the client a provider would otherwise write from Azion's guide
// (naive_client.sh: curl POST, curl GET every N seconds until active, sqlite3 to record), on
// the same rows against the same simulated API.

#include "bench.hpp"

#include "store/sqlite.hpp"
#include "test_pki.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace certq::bench {

using namespace std::chrono_literals;

void run_naive(const bench_options& o, report& r) {
    // The loop polls every 15 s in Azion's time, scaled as issuance is.
    const double poll_seconds = 15 / o.time_scale;
    const std::string section = "Against a hand-written client: " + std::to_string(o.naive_rows) +
                                " rows, its loop polling every " + fixed(poll_seconds * 1000, 0) +
                                " ms (15 s / " + fixed(o.time_scale, 0) + ")";
    std::printf("%s ...\n", section.c_str());
    std::fflush(stdout);
    const auto allowed = std::chrono::milliseconds{
        static_cast<long>(o.naive_rows * (300'000 / o.time_scale + 2000)) + 60'000};

    // certqd, from its start until it exits with every row active.
    double certqd_seconds = 0;
    std::size_t certqd_calls = 0;
    {
        testing::environment env(realistic_sim(o), bench_daemon(o));
        env.insert_hostnames(o.naive_rows, bench_hostname);
        const auto began = std::chrono::steady_clock::now();
        auto daemon = env.start_daemon({"--exit-when-done"});
        if (daemon->wait(allowed) != 0)
            throw std::runtime_error("certqd did not finish the rows\n" + daemon->output());
        certqd_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        certqd_calls = env.sim().requests().size();
        if (env.count("SELECT count(*) FROM domains WHERE state = 'active'") != o.naive_rows)
            throw std::runtime_error("certqd ended with rows not active");
    }

    // The shell loop, against a simulator of its own with the same behaviour.
    double naive_seconds = 0;
    std::size_t naive_calls = 0;
    {
        testing::scratch_dir dir;
        auto options = realistic_sim(o);
        sim::azion_simulator sim(options);
        sim::write_file(dir / "ca.pem", sim.ca_pem());
        sim.start();
        const auto db_path = dir / "hosts.db";
        {
            sqlite::database db(db_path);
            db.exec("CREATE TABLE hostnames (hostname TEXT PRIMARY KEY, certificate_id INTEGER, "
                    "status TEXT)");
            db.exec("BEGIN");
            auto insert = db.prepare("INSERT INTO hostnames (hostname) VALUES (?1)");
            for (int i = 0; i < o.naive_rows; ++i) {
                insert.bind(1, bench_hostname(i));
                insert.run();
                insert.reset();
            }
            db.exec("COMMIT");
        }
        const auto began = std::chrono::steady_clock::now();
        testing::process loop({"/bin/bash", CERTQ_SOURCE_DIR "/tests/bench/naive_client.sh"},
                              {{"AZION_API", sim.base_url()},
                               {"AZION_TOKEN", options.token},
                               {"CA_FILE", (dir / "ca.pem").string()},
                               {"DB", db_path.string()},
                               {"POLL_INTERVAL", fixed(poll_seconds, 3)}},
                              dir / "naive.log");
        if (loop.wait(allowed) != 0)
            throw std::runtime_error("the hand-written client failed:\n" + loop.output());
        naive_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        naive_calls = sim.requests().size();
        sqlite::database db(db_path);
        auto active = db.prepare("SELECT count(*) FROM hostnames WHERE status = 'active'");
        active.step();
        if (active.column_int(0) != o.naive_rows)
            throw std::runtime_error("the hand-written client left rows behind");
        sim.stop();
    }

    const double faster = naive_seconds / certqd_seconds;
    const double fewer = static_cast<double>(naive_calls) / static_cast<double>(certqd_calls);
    r.add({section, "certqd: wall, API calls",
           fixed(certqd_seconds, 1) + " s, " + std::to_string(certqd_calls), "", std::nullopt});
    r.add({section, "shell loop: wall, API calls",
           fixed(naive_seconds, 1) + " s, " + std::to_string(naive_calls), "", std::nullopt});
    r.add({section, "certqd faster by", fixed(faster, 1) + "x", ">= 20x", faster >= 20});
    r.add({section, "certqd's fewer calls by", fixed(fewer, 1) + "x", ">= 10x", fewer >= 10});
    r.section("hand_written_client") = {{"rows", o.naive_rows},
                                        {"poll_interval_seconds", poll_seconds},
                                        {"certqd_seconds", certqd_seconds},
                                        {"certqd_calls", certqd_calls},
                                        {"loop_seconds", naive_seconds},
                                        {"loop_calls", naive_calls},
                                        {"faster", faster},
                                        {"fewer_calls", fewer}};
}

} // namespace certq::bench
