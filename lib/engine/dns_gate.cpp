#include "engine/dns_gate.hpp"

namespace certq::engine {

boost::asio::awaitable<dns_verdict> unchecked_dns_gate::check(const std::vector<std::string>&) {
    co_return dns_verdict{dns_verdict::outcome::points, {}};
}

boost::asio::awaitable<dns_verdict> resolving_dns_gate::check(const std::vector<std::string>& names) {
    auto v = co_await checker_.check(names);
    dns_verdict out;
    out.detail = std::move(v.detail);
    out.names_not_pointing = v.names_not_pointing;
    out.caa_forbids = v.caa_forbids;
    out.names_inconclusive = v.names_inconclusive;
    out.resolver_outage = v.resolver_outage;
    switch (v.result) {
    case dns::outcome::points: out.result = dns_verdict::outcome::points; break;
    case dns::outcome::not_pointing: out.result = dns_verdict::outcome::not_yet; break;
    case dns::outcome::inconclusive:
        out.result = v.resolvers_down ? dns_verdict::outcome::unavailable : dns_verdict::outcome::inconclusive;
        break;
    }
    co_return out;
}

} // namespace certq::engine
