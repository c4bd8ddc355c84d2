#pragma once
// Registered domains (eTLD+1) by the Public Suffix List, as Let's Encrypt counts its budgets.

#include <string>
#include <string_view>

namespace certq::hostname {

/// `shop.example.co.uk` → `example.co.uk`. A name that is itself a public suffix, or that the
/// list cannot place, is its own registered domain.
std::string registered_domain(std::string_view name);

/// True for names on the Public Suffix List (`com`, `co.uk`, `github.io`).
bool is_public_suffix(std::string_view name);

/// True when `label` (lower-case A-label form) is a top-level domain in the ICANN section of the
/// Public Suffix List: `com`, `uk`, `xn--p1ai`; false for `test`, `local`, `internal`, `example`.
bool top_level_domain_exists(std::string_view label);

} // namespace certq::hostname
