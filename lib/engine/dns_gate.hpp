#pragma once
// The seam for the DNS pre-check: before a row is requested, every name on it is shown to the
// gate, which answers whether they all point to Azion.

#include "dns/checker.hpp"
#include "engine/state_machine.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace certq::engine {

class dns_gate {
public:
    virtual ~dns_gate() = default;
    /// The verdict on all `names` of one row (common name first). Never throws for a name
    /// that does not resolve: that is a verdict, not an error.
    virtual boost::asio::awaitable<dns_verdict> check(const std::vector<std::string>& names) = 0;
};

/// The gate when `dns.check` is false: every name passes. Providers whose resolvers see a
/// different view of DNS than Let's Encrypt does turn the check off, taking the risk that a
/// request is sent for a name that does not point to Azion yet.
class unchecked_dns_gate final : public dns_gate {
public:
    boost::asio::awaitable<dns_verdict> check(const std::vector<std::string>& names) override;
};

/// The gate when `dns.check` is true: every name is resolved (c-ares) and must lead to Azion
/// and allow Let's Encrypt by CAA.
class resolving_dns_gate final : public dns_gate {
public:
    explicit resolving_dns_gate(dns::checker& checker) : checker_(checker) {}
    boost::asio::awaitable<dns_verdict> check(const std::vector<std::string>& names) override;

private:
    dns::checker& checker_;
};

} // namespace certq::engine
