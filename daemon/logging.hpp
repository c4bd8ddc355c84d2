#pragma once
// Log set-up for the daemon: spdlog to stderr, as text (with systemd priority prefixes when
// stderr is the journal) or as JSON lines.

#include "config/config.hpp"

namespace certq {

/// Installs the default logger per `log`. Safe to call again to change level or format.
void setup_logging(const log_config& log);

} // namespace certq
