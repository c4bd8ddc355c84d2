#include "store/status.hpp"

namespace certq::store {

double queue_status::per_minute() const {
    if (window.count() <= 0) return 0;
    return static_cast<double>(finished_recently) * 60.0 / static_cast<double>(window.count());
}

std::optional<std::chrono::seconds> queue_status::eta() const {
    if (unfinished == 0) return std::chrono::seconds{0};
    const double rate = per_minute();
    if (rate <= 0) return std::nullopt;
    return std::chrono::seconds{static_cast<std::int64_t>(static_cast<double>(unfinished) * 60.0 / rate)};
}

queue_status read_status(sqlite::database& db, std::chrono::seconds window) {
    queue_status st;
    st.window = window;
    auto counts = db.prepare("SELECT state, count(*) FROM domains GROUP BY state");
    while (counts.step()) {
        const auto n = counts.column_int(1);
        st.total += n;
        if (auto s = parse_state(counts.column_text(0))) {
            st.counts[*s] = n;
            if (!is_terminal(*s)) st.unfinished += n;
        }
    }
    auto recent = db.prepare(
        "SELECT count(*) FROM transitions WHERE to_state IN "
        "('invalid','dns_failed','active','failed','removed') AND at >= "
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ?1 || ' seconds')");
    recent.bind(1, static_cast<std::int64_t>(window.count()));
    if (recent.step()) st.finished_recently = recent.column_int(0);
    return st;
}

} // namespace certq::store
