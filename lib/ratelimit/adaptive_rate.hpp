#pragma once
// The rate the API is asked at, found from its 429s: the configured rate is a ceiling, and the
// rate in force follows the level Azion actually admits. Pure: time is passed in.
//
// Modelled on TCP CUBIC, scaled from packets to requests per second. A congestion event (the
// 429s answering requests sent at one rate count once, however many there are) records the
// rate in force as the level where refusals began and cuts the rate; the rate then climbs back
// along a concave curve to just under that level, holds there, and only after `hold` probes
// upward along a convex curve, slowly at first, faster the longer nothing is refused — so a
// limit that rose is found within seconds of the probe, while a steady limit costs one event
// (about a second of Retry-After) per `hold`. Events that follow each other closely mean the
// limit fell below the cut: each one cuts deeper, down to half.

#include <chrono>
#include <optional>

namespace certq {

struct adaptive_rate_options {
    /// Cut at a lone event (new rate = cut × level).
    double cut = 0.9;
    /// Where the climb after an event levels off, as a share of the level where 429s began.
    double hold_at = 0.97;
    /// From an event to the first probe above the level held.
    std::chrono::milliseconds hold{std::chrono::seconds{18}};
    /// Growth of the probe: level × (1 + probe_growth × s³), s seconds into the probe.
    double probe_growth = 0.003;
    /// An event within this time of the previous pause's end is a repeat: cut deeper.
    std::chrono::milliseconds repeat_window{std::chrono::seconds{3}};
    /// The level where 429s began is the mean rate in force over this span before them.
    std::chrono::milliseconds level_span{std::chrono::seconds{2}};
    /// The rate never goes below ceiling × floor.
    double floor = 1.0 / 64;
};

class adaptive_rate {
public:
    using clock = std::chrono::steady_clock;

    /// A congestion event: the rate at which 429s began and the rate in force from now on.
    struct congestion {
        double level;
        double rate;
        bool repeat; ///< close on the heels of the previous one: the limit fell
    };

    explicit adaptive_rate(double ceiling, adaptive_rate_options options = {});

    /// The rate in force at `now`, in requests per second: at most the ceiling, above 0.
    double rate(clock::time_point now) const;

    /// A 429 arrived at `now` for a request sent at `sent`, and new requests wait until
    /// `resume` (Retry-After). Returns the event when this 429 begins one; nullopt when it
    /// belongs to an event already counted (the request left before that event's cut).
    std::optional<congestion> throttled(clock::time_point now, clock::time_point sent,
                                        clock::time_point resume);

    /// The configured rate changed (reload): the level found is kept, under the new ceiling.
    void set_ceiling(double ceiling) { ceiling_ = ceiling; }
    double ceiling() const { return ceiling_; }
    /// Whether an event has ever happened (before that the rate is the ceiling).
    bool limited() const { return event_.has_value(); }

private:
    double recent_rate(clock::time_point now) const;

    struct event_state {
        clock::time_point at;     // when the cut was made
        clock::time_point resume; // end of the pause that followed it
        double level;             // rate in force when 429s began
        double start;             // rate right after the cut
        double plateau;           // where the concave climb levels off
        int repeats;              // events in quick succession before this one
    };

    adaptive_rate_options options_;
    double ceiling_;
    std::optional<event_state> event_;
};

} // namespace certq
