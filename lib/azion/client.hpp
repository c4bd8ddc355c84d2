#pragma once
// The Azion API v4 client: HTTPS with peer verification, keep-alive connections reused across
// calls, a deadline per call, and every call paced by one shared token bucket and bounded by a
// cap on calls in flight. Beast stays in client.cpp; this header is cheap to include.

#include "azion/error.hpp"
#include "azion/types.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace certq::azion {

/// The outcome of a call: a value, or an error code with diagnostics.
template <class T> struct result {
    T value{};
    boost::system::error_code ec;
    diagnostics diag;
    explicit operator bool() const { return !ec; }
};

/// Counters of what the client did, for logs and metrics.
struct client_stats {
    std::uint64_t calls = 0;          ///< HTTP exchanges attempted
    std::uint64_t connections = 0;    ///< TLS connections opened
    std::uint64_t rate_limited = 0;   ///< 429 answers
};

class client {
public:
    /// Loads the trust store (system + cfg.ca_file). Throws config_error if ca_file cannot be
    /// used or base_url cannot be parsed. `token` is sent as `Authorization: <scheme> <token>`.
    client(boost::asio::any_io_executor ex, const azion_config& cfg, std::string token,
           metrics::registry* metrics = nullptr);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// A held place among the calls in flight. Every call takes one; hold it across a
    /// sequence (commit, then send) to keep that sequence inside the cap.
    class slot;

    /// Waits for a place among max_in_flight. An empty slot means the client was shut down.
    boost::asio::awaitable<slot> acquire_slot();

    /// POST …/request. Retryable failures mean the request may or may not have been received.
    boost::asio::awaitable<result<certificate>> request_certificate(slot&,
                                                                   const certificate_request&);
    /// GET …/{id}. error::not_found when Azion has no such certificate.
    boost::asio::awaitable<result<certificate>> get_certificate(slot&, std::int64_t id);
    /// GET …?id=a,b,c — at most 100 ids per call; certificates Azion does not know are absent.
    boost::asio::awaitable<result<std::vector<certificate>>>
    list_certificates(slot&, std::span<const std::int64_t> ids);
    /// GET …?name=… (Azion matches by substring, without case), every page, then only the
    /// certificates whose name equals `name` exactly.
    boost::asio::awaitable<result<std::vector<certificate>>> find_by_name(slot&,
                                                                          const std::string& name);
    /// DELETE …/{id}. A 404 is success: what was to be removed is gone.
    boost::asio::awaitable<result<bool>> delete_certificate(slot&, std::int64_t id);

    /// GET /workspace/workloads/{id}: its domains and certificate. error::not_found when Azion
    /// has no such workload.
    boost::asio::awaitable<result<workload_answer>> get_workload(slot&, std::int64_t id);
    /// PATCH /workspace/workloads/{id} with only the fields in `patch`. The answer may be
    /// `pending` (202): the change is being applied; read the workload again to see it.
    boost::asio::awaitable<result<workload_answer>> patch_workload(slot&, std::int64_t id,
                                                                   const workload_patch& patch);

    /// Stops waiting callers and closes every connection; calls in progress fail with
    /// operation_aborted or error::shut_down. Safe to call more than once.
    void shutdown();

    void set_rate(double requests_per_second, int burst);
    /// The rate in force: the configured one, or less while recovering from 429s.
    double current_rate() const;
    /// Times 429s cut the rate in force (one per congestion event, not per 429).
    std::uint64_t congestion_events() const;
    const client_stats& stats() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

class client::slot {
public:
    slot() = default;
    slot(slot&&) noexcept;
    slot& operator=(slot&&) noexcept;
    ~slot();
    explicit operator bool() const { return owner_ != nullptr; }

private:
    friend struct client::impl;
    explicit slot(client::impl* owner) : owner_(owner) {}
    client::impl* owner_ = nullptr;
};

} // namespace certq::azion
