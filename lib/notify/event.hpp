#pragma once
// One event told to the provider's systems, as the `events` table holds it, and the JSON a
// webhook receives for it.

#include "config/config.hpp"
#include "store/domain_store.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace certq::notify {

/// An event as the store reads it from the `events` table.
using event_record = store::event_row;

/// Whether the webhook wants it: its `events` names the new state (or `renewed`); none: all.
bool wanted(const webhook_config& hook, const event_record& e);

/// `{"type": "domain.state_changed" | "certificate.renewed", "timestamp": at, "data": {...}}`
/// (Standard Webhooks' payload shape): from (null for the insert), to, at, detail, the row's id,
/// hostname, names, certificate id and workload id.
std::string payload(const event_record& e);

/// The stable webhook-id of an event: the same on every attempt and every receiver, unique
/// across databases (`instance` is the database's own id).
std::string message_id(const std::string& instance, std::int64_t event_id);

} // namespace certq::notify
