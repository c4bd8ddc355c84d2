#include "notify/outbox.hpp"

#include <algorithm>

namespace certq::notify {

outbox::outbox(backoff_config retry, std::int64_t delivered_through)
    : retry_(retry), last_loaded_(delivered_through) {}

void outbox::add(event_record e, bool wanted) {
    const auto id = e.id;
    if (id <= last_loaded_) return;
    last_loaded_ = id;
    if (!wanted) return; // done at once: nothing undone below the cursor holds it back
    by_row_[e.domain_id].push_back(id);
    items_.emplace(id, item{std::move(e), 0, false, {}, std::nullopt});
}

std::vector<event_record> outbox::take_ready(clock::time_point now, std::size_t max) {
    std::vector<std::pair<std::int64_t, item*>> heads;
    for (auto& [row, ids] : by_row_) {
        auto& head = items_.at(ids.front());
        if (!head.in_flight && head.next_at <= now) heads.emplace_back(ids.front(), &head);
    }
    // Oldest first: a backlog drains in the order it built up.
    std::sort(heads.begin(), heads.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<event_record> out;
    for (auto& [id, head] : heads) {
        if (out.size() == max) break;
        head->in_flight = true;
        if (!head->first_attempt) head->first_attempt = now;
        ++head->attempts;
        out.push_back(head->event);
    }
    return out;
}

void outbox::delivered(std::int64_t id) {
    auto it = items_.find(id);
    if (it == items_.end()) return;
    auto& row = by_row_[it->second.event.domain_id];
    row.erase(std::remove(row.begin(), row.end(), id), row.end());
    if (row.empty()) by_row_.erase(it->second.event.domain_id);
    items_.erase(it);
}

bool outbox::failed(std::int64_t id, clock::time_point now, double jitter) {
    auto it = items_.find(id);
    if (it == items_.end()) return false;
    auto& i = it->second;
    i.in_flight = false;
    if (i.first_attempt && now - *i.first_attempt >= retry_.give_up_after) {
        delivered(id); // given up: done, never silently (the caller logs and counts it)
        return true;
    }
    auto delay = retry_.first;
    for (int n = 1; n < i.attempts && delay < retry_.max; ++n)
        delay *= 2;
    delay = std::min(delay, retry_.max);
    const auto spread =
        std::chrono::duration_cast<clock::duration>(std::chrono::duration<double, std::milli>(
            static_cast<double>(delay.count()) * (0.5 + jitter / 2)));
    i.next_at = now + spread;
    return false;
}

std::int64_t outbox::delivered_through() const {
    // Every loaded event is either undone (in items_) or done: all below the lowest undone one
    // are done. (Loaded ids start above the persisted cursor, so this never goes back.)
    return items_.empty() ? last_loaded_ : items_.begin()->first - 1;
}

std::optional<outbox::clock::time_point> outbox::oldest_first_attempt() const {
    std::optional<clock::time_point> oldest;
    for (const auto& [id, i] : items_)
        if (i.first_attempt && (!oldest || *i.first_attempt < *oldest)) oldest = i.first_attempt;
    return oldest;
}

std::optional<outbox::clock::time_point> outbox::next_due() const {
    std::optional<clock::time_point> next;
    for (const auto& [row, ids] : by_row_) {
        const auto& head = items_.at(ids.front());
        if (head.in_flight) continue;
        if (!next || head.next_at < *next) next = head.next_at;
    }
    return next;
}

} // namespace certq::notify
