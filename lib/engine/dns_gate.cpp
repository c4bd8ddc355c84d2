#include "engine/dns_gate.hpp"

namespace certq::engine {

boost::asio::awaitable<dns_verdict> unchecked_dns_gate::check(const std::vector<std::string>&) {
    co_return dns_verdict{dns_verdict::outcome::points, {}};
}

} // namespace certq::engine
