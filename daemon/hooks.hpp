#pragma once
// certq hooks test: a signed test event to each configured receiver, and what each answered.

#include "config/config.hpp"

namespace certq {

/// Returns 0 when every receiver answered 2xx, 1 otherwise (or when none is configured).
int hooks_test(const config& cfg);

} // namespace certq
