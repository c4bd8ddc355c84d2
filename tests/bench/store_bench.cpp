// How the store's hot queries scale with the table, on either engine: a database of N rows
// (default 200,000) in the mix a large run has, the time of each query the engine makes on every
// scan, and rows per second through the store's writes (one row per transaction, as the engine
// writes them: a state change, and a durable admission into `requesting`).
//
//   store_bench [rows]                 a SQLite file in $TMPDIR
//   store_bench [rows] --postgresql    a throwaway PostgreSQL server started for the run

#include "pg_server.hpp"
#include "store/domain_store.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

using namespace certq;
using clock_type = std::chrono::steady_clock;

template <class F> double time_ms(F&& f, int repeat) {
    const auto start = clock_type::now();
    for (int i = 0; i < repeat; ++i)
        f();
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count() / repeat;
}

int main(int argc, char** argv) {
    long rows = 200'000;
    bool postgresql = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--postgresql")
            postgresql = true;
        else
            rows = std::stol(arg);
    }
    std::unique_ptr<testing::pg_server> server;
    std::string database;
    const auto path = std::filesystem::temp_directory_path() /
                      ("certq-bench-" + std::to_string(::getpid()) + ".db");
    if (postgresql) {
        server = std::make_unique<testing::pg_server>();
        database = server->fresh_database();
    } else {
        database = path.string();
    }
    {
        store::domain_store s(database);
        auto& db = s.sql();
        std::printf("engine: %s\n",
                    postgresql ? "PostgreSQL 15 (fsync off: a test server)" : "SQLite (WAL)");
        const auto now_ms = to_unix_ms(wall_now());
        const auto t_insert = time_ms(
            [&] {
                sql::transaction tx(db);
                for (long i = 0; i < rows; ++i) {
                    // 70 % active, 15 % queued, 10 % pending (half due), 5 % dns_waiting in the
                    // future.
                    const long r = i % 20;
                    const char* state = r < 14   ? "active"
                                        : r < 17 ? "queued"
                                        : r < 19 ? "pending"
                                                 : "dns_waiting";
                    std::optional<std::int64_t> certificate, next_at;
                    if (r == 17 || r == 18 || r < 14) certificate = i;
                    if (r == 17)
                        next_at = now_ms - 1000;
                    else if (r == 18 || r == 19)
                        next_at = now_ms + 3'600'000;
                    db.run(
                        "INSERT INTO domains (hostname, state, certificate_id, next_attempt_at) "
                        "VALUES (?1, ?2, ?3, ?4)",
                        {"h" + std::to_string(i) + ".customer" + std::to_string(i % 1000) + ".com",
                         state, certificate, next_at});
                }
                tx.commit();
            },
            1);
        std::printf("rows: %ld (inserted in one transaction in %.0f ms, %.0f rows/s)\n", rows,
                    t_insert, static_cast<double>(rows) / (t_insert / 1000));
        if (postgresql) db.exec("ANALYZE");
        const auto now = wall_now();
        std::size_t got = 0;
        std::printf(
            "due(requests, 256):      %8.2f ms\n",
            time_ms([&] { got = s.due(store::domain_store::queue::requests, now, 256, {}).size(); },
                    20));
        std::printf("  rows returned: %zu\n", got);
        std::printf(
            "due(polls, 1000):        %8.2f ms\n",
            time_ms([&] { got = s.due(store::domain_store::queue::polls, now, 1000, {}).size(); },
                    20));
        std::printf("  rows returned: %zu\n", got);
        std::printf("unfinished():            %8.2f ms\n", time_ms([&] { s.unfinished(); }, 10));
        std::printf("counts():                %8.2f ms\n", time_ms([&] { s.counts(); }, 10));
        // Queued rows (r = 15, 16) in turn: each written once per repetition, as the engine does.
        long next_queued = 15;
        const auto queued_row = [&] {
            const auto id = next_queued + 1; // ids start at 1
            next_queued += next_queued % 20 == 15 ? 1 : 19;
            return s.find(id);
        };
        constexpr int writes = 500;
        const double change_ms = time_ms(
            [&] {
                auto row = queued_row();
                if (!row) return;
                auto after = *row;
                after.detail = "benchmark";
                after.attempts += 1;
                const std::vector<store::domain_change> change{
                    {row->state, row->generation, after}};
                s.apply(change, store::durability::normal);
            },
            writes);
        std::printf("apply(), one row:        %8.2f ms (%.0f rows/s)\n", change_ms,
                    1000 / change_ms);
        const double admit_ms = time_ms(
            [&] {
                auto row = queued_row();
                if (!row) return;
                auto after = *row;
                after.state = domain_state::requesting;
                s.admit({row->state, row->generation, after}, {{"customer1.com"}, row->hostname},
                        {1'000'000, 5, std::chrono::hours{168}}, now);
            },
            writes);
        std::printf("admit() (durable):       %8.2f ms (%.0f rows/s)\n", admit_ms, 1000 / admit_ms);
    }
    if (!postgresql) {
        std::printf("file size:               %8.1f MiB\n",
                    static_cast<double>(std::filesystem::file_size(path)) / 1048576.0);
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path.string() + suffix);
    }
    return 0;
}
