#pragma once
// The DNS pre-check of a row: every name must lead to Azion and allow Let's Encrypt by CAA.
// Look-ups are shared: within a wave (a short time), the same question is asked once however
// many rows need it — a provider's CNAME target, a parent's CAA, the edge name's addresses.

#include "asio/async_semaphore.hpp"
#include "dns/resolver.hpp"
#include "dns/verdict.hpp"

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>

namespace certq::dns {

struct checker_options {
    resolver_options resolver;
    std::vector<std::string> targets;
    std::string edge_hostname;
    std::size_t max_concurrent_rows = 32;
    /// How long an answer is reused. Short: rows checked together share answers, while a
    /// re-check minutes later always asks again (a customer may have fixed the record).
    std::chrono::milliseconds wave{std::chrono::seconds{5}};
};

struct checker_stats {
    std::uint64_t queries = 0;  ///< sent to a server
    std::uint64_t reused = 0;   ///< answered from the wave's cache or a query under way
    bool resolvers_up = true;   ///< the configured resolvers answer (see check())
};

/// Everything the check found about one name, for a person asking why (certq check).
struct name_report {
    std::string name;
    name_result pointing;            ///< where it leads
    std::optional<name_result> caa;  ///< asked only when it points
    std::string caa_found;           ///< the governing CAA set, or that there is none
    /// The name's result as the row's verdict counts it.
    name_result verdict() const;
};

class checker {
public:
    /// Throws std::runtime_error if the resolver cannot start.
    checker(boost::asio::any_io_executor ex, checker_options options);

    /// The verdict on all names of one row. Never throws for DNS trouble: that is inconclusive.
    /// An inconclusive verdict caused by queries nobody answered is told apart from a name's
    /// own trouble (a lame delegation, a dead provider) by asking a control question, the
    /// first Azion target: when that is not answered either, certq's resolvers are down and
    /// the verdict says so (resolvers_down). The first verdict after they answer again
    /// carries how long they were down.
    boost::asio::awaitable<row_verdict> check(std::vector<std::string> names);

    /// What was found for each name (the look-ups of check(), shared the same way).
    boost::asio::awaitable<std::vector<name_report>> explain(std::vector<std::string> names);

    void shutdown();
    const checker_stats& stats() const { return stats_; }

    /// Takes new servers, targets and edge hostname (a reload); cached answers are dropped.
    /// Throws std::runtime_error for servers c-ares cannot use, changing nothing.
    void reconfigure(const checker_options& options);

private:
    boost::asio::awaitable<answer> ask(std::string name, record_type type);
    /// Whether the resolvers answer at all: the control question, asked at most once a wave.
    boost::asio::awaitable<bool> resolvers_answer();
    void note_answered();
    void note_silent();
    boost::asio::awaitable<name_report> check_name(std::string name);
    boost::asio::awaitable<edge_addresses> edge();

    struct entry {
        std::optional<answer> value;
        std::chrono::steady_clock::time_point expires{};
        std::shared_ptr<boost::asio::steady_timer> ready; // woken when an answer under way lands
    };

    boost::asio::any_io_executor ex_;
    checker_options options_;
    resolver resolver_;
    async_semaphore rows_;
    std::map<std::pair<int, std::string>, entry> cache_;
    checker_stats stats_;
    // Resolver health. `silent_since_` is when the current run of unanswered queries began.
    std::optional<std::chrono::steady_clock::time_point> silent_since_;
    std::optional<std::chrono::steady_clock::time_point> down_since_;
    std::chrono::steady_clock::time_point control_asked_{};
    bool control_answered_ = true;
    std::shared_ptr<boost::asio::steady_timer> control_pending_; // woken when the control answer lands
    std::chrono::milliseconds outage_to_report_{0};
};

} // namespace certq::dns
