#pragma once
// certq check HOST: why is this hostname (not) on HTTPS? The DNS pre-check run now, the row's
// state, and its certificate and workload as Azion shows them.

#include "config/config.hpp"

#include <string>

namespace certq {

/// Prints the explanation (text or JSON). Returns 0 when every name would pass the pre-check,
/// 1 when one would not or the answer is inconclusive. Throws on a database it cannot read.
int check_command(const config& cfg, const std::string& host, bool as_json);

} // namespace certq
