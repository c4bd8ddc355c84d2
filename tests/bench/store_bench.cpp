// How the store's hot queries scale with the table: a database of N rows (default 200,000; the
// first argument changes it) in the mix a large run has, and the time of each query the engine
// makes on every scan. Run: build/tests/bench/store_bench [rows]

#include "store/domain_store.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace certq;
using clock_type = std::chrono::steady_clock;

template <class F> double time_ms(F&& f, int repeat) {
    const auto start = clock_type::now();
    for (int i = 0; i < repeat; ++i) f();
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count() / repeat;
}

int main(int argc, char** argv) {
    const long rows = argc > 1 ? std::stol(argv[1]) : 200'000;
    const auto path = std::filesystem::temp_directory_path() / ("certq-bench-" + std::to_string(::getpid()) + ".db");
    store::domain_store s(path);
    const auto t_insert = time_ms([&] {
        sqlite::transaction tx(s.db());
        auto insert = s.db().prepare("INSERT INTO domains (hostname, state, certificate_id, next_attempt_at) "
                                     "VALUES (?1, ?2, ?3, ?4)");
        const auto now_ms = to_unix_ms(wall_now());
        for (long i = 0; i < rows; ++i) {
            // 70 % active, 15 % queued, 10 % pending (half due), 5 % dns_waiting in the future.
            const long r = i % 20;
            const char* state = r < 14 ? "active" : r < 17 ? "queued" : r < 19 ? "pending" : "dns_waiting";
            insert.bind(1, "h" + std::to_string(i) + ".customer" + std::to_string(i % 1000) + ".com").bind(2, state);
            if (r == 17 || r == 18 || r < 14) insert.bind(3, static_cast<std::int64_t>(i));
            else insert.bind_null(3);
            if (r == 17) insert.bind(4, now_ms - 1000);
            else if (r == 18 || r == 19) insert.bind(4, now_ms + 3'600'000);
            else insert.bind_null(4);
            insert.run();
        }
        tx.commit();
    }, 1);
    std::printf("rows: %ld (inserted in one transaction in %.0f ms, %.0f rows/s)\n", rows, t_insert,
                static_cast<double>(rows) / (t_insert / 1000));
    const auto now = wall_now();
    std::size_t got = 0;
    std::printf("due(requests, 256):      %8.2f ms\n",
                time_ms([&] { got = s.due(store::domain_store::queue::requests, now, 256, {}).size(); }, 20));
    std::printf("  rows returned: %zu\n", got);
    std::printf("due(polls, 1000):        %8.2f ms\n",
                time_ms([&] { got = s.due(store::domain_store::queue::polls, now, 1000, {}).size(); }, 20));
    std::printf("  rows returned: %zu\n", got);
    std::printf("unfinished():            %8.2f ms\n", time_ms([&] { s.unfinished(); }, 10));
    std::printf("counts():                %8.2f ms\n", time_ms([&] { s.counts(); }, 10));
    long id = 1;
    std::printf("admit() (fsync'd):       %8.2f ms\n", time_ms([&] {
        auto row = s.find(id * 20 + 15);
        ++id;
        if (!row) return;
        auto after = *row;
        after.state = domain_state::requesting;
        s.admit({row->state, row->generation, after}, {{"customer1.com"}, row->hostname}, {1'000'000, 5, std::chrono::hours{168}}, now);
    }, 50));
    std::printf("file size:               %8.1f MiB\n", static_cast<double>(std::filesystem::file_size(path)) / 1048576.0);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    return 0;
}
