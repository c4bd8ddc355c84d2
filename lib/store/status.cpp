#include "store/status.hpp"

#include <algorithm>

namespace certq::store {

std::optional<std::chrono::seconds> queue_status::eta() const {
    if (unfinished == 0) return std::chrono::seconds{0};
    if (!per_minute || *per_minute <= 0) return std::nullopt;
    return std::chrono::seconds{
        static_cast<std::int64_t>(static_cast<double>(unfinished) * 60.0 / *per_minute)};
}

queue_status read_status(sql::connection& db, std::chrono::seconds window, wall_time now) {
    queue_status st;
    st.window = window;
    auto counts = db.query("SELECT state, count(*) FROM domains GROUP BY state");
    while (counts->step()) {
        const auto n = counts->column_int(1);
        st.total += n;
        if (auto s = parse_state(counts->column_text(0))) {
            st.counts[*s] = n;
            if (!is_terminal(*s)) st.unfinished += n;
        }
    }
    // `at` is ISO 8601 text, so the window is a text comparison and the ends become Unix ms.
    auto recent = db.query("SELECT count(*), " + db.unix_ms_of("min(at)") + ", " + db.unix_ms_of("max(at)") +
                               " FROM transitions "
                               "WHERE to_state IN ('invalid','dns_failed','active','failed','removed') AND at >= ?1",
                           {format_iso8601(now - window)});
    if (!recent->step()) return st;
    st.finished_recently = recent->column_int(0);
    if (st.finished_recently < 2) return st;
    const auto first = from_unix_ms(recent->column_int(1));
    const auto last = from_unix_ms(recent->column_int(2));
    // While rows are left, the span runs to now rather than to the last finish: when work stalls
    // (budgets spent, certqd stopped) the rate then falls and the ETA grows, instead of promising
    // the old pace for ever. Once nothing is left, the run is over and its span ends at its last
    // finish, so a 50 s run reports its pace over those 50 s.
    const auto end = st.unfinished > 0 ? std::max(now, last) : last;
    const auto span = end - first;
    if (span <= millis{0}) return st;
    st.span = span;
    // Finishes after the first one, per time since it: the first marks where the span starts
    // (its work was done before), so counting it too would overstate short runs.
    st.per_minute =
        static_cast<double>(st.finished_recently - 1) * 60000.0 / static_cast<double>(span.count());
    return st;
}

std::int64_t expiring_before(sql::connection& db, wall_time before) {
    // Word for word the WHERE of the partial index domains_valid_until (migration 0007).
    auto stmt = db.query("SELECT count(*) FROM domains" + db.indexed_by("domains_valid_until") +
                             "WHERE state IN ('active', 'moved') AND valid_until < ?1",
                         {to_unix_ms(before)});
    return stmt->step() ? stmt->column_int(0) : 0;
}

void count_expiring(sql::connection& db, queue_status& st, millis warning, wall_time now) {
    st.expiring = expiring_before(db, now + warning);
    st.expiry_warning = warning;
}

queue_status::webhook_waiting webhook_backlog(sql::connection& db, const std::string& url,
                                              const std::vector<std::string>& events) {
    queue_status::webhook_waiting w;
    w.url = url;
    auto cursor = db.query("SELECT delivered_through FROM webhook_cursors WHERE webhook = ?1", {url});
    if (!cursor->step()) return w;
    w.started = true;
    std::string text = "SELECT count(*) FROM events WHERE id > ?1";
    if (!events.empty()) {
        std::string in;
        for (std::size_t i = 0; i < events.size(); ++i) in += (i ? ", ?" : "?") + std::to_string(i + 2);
        text += " AND ((kind = 'state' AND to_state IN (" + in + ")) OR (kind = 'renewed' AND 'renewed' IN (" + in + ")))";
    }
    std::vector<sql::arg> args{cursor->column_int(0)};
    for (const auto& e : events) args.emplace_back(e);
    auto count = db.query(text, args);
    w.waiting = count->step() ? count->column_int(0) : 0;
    return w;
}

} // namespace certq::store
