#pragma once
// Whether names point to Azion, decided from DNS answers alone: pure functions, unit-tested on
// canned answers. The checker (checker.hpp) gathers the answers.

#include "dns/resolver.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace certq::dns {

enum class outcome { points, not_pointing, inconclusive };

struct name_result {
    std::string name;
    outcome result = outcome::inconclusive;
    std::string line; ///< for a person, starting with the name: e.g. "a → CNAME b (not Azion)"
    bool caa = false; ///< not_pointing because CAA forbids Let's Encrypt (the name does point)
};

/// The addresses of dns.edge_hostname, for apex names that cannot CNAME.
struct edge_addresses {
    std::string hostname;           ///< empty: not configured
    bool known = false;             ///< its look-up gave an answer
    std::set<std::string> addresses;
    std::string problem;            ///< why not known
};

/// Where a name leads, from its A and AAAA answers: a CNAME chain that reaches a name at or
/// under one of `targets`, or (for apex names) addresses shared with the edge hostname.
name_result judge_pointing(const std::string& name, const answer& v4, const answer& v6,
                           const std::vector<std::string>& targets, const edge_addresses& edge);

/// The CAA record set that governs `name`: the first non-empty set climbing from the name
/// towards the root (each look-up follows CNAMEs, as Let's Encrypt's does). `climb` holds the
/// answers in climbing order, (name asked, answer); the climb stops at the first set found or
/// the first look-up that is not an answer.
name_result judge_caa(const std::string& name,
                      const std::vector<std::pair<std::string, answer>>& climb);

/// True if the set lets Let's Encrypt issue a non-wildcard certificate (RFC 8659): no `issue`
/// property at all, or one naming letsencrypt.org; and no critical property it does not know.
bool caa_allows_letsencrypt(const std::vector<caa_record>& records);

/// What a record set that refuses Let's Encrypt allows, for a person: `allows only
/// digicert.com`, `allows no certificate authority`, or that it has a critical property.
std::string caa_allowance(const std::vector<caa_record>& records);

/// `0 issue "digicert.com", 128 iodef "mailto:x@y"`
std::string describe_caa(const std::vector<caa_record>& records);

/// The names a CAA look-up climbs through: `a.b.example.com`, `b.example.com`, `example.com`.
/// The climb ends below the public suffix (libpsl): suffixes such as `com` or `co.uk` carry
/// no CAA records, and an authoritative-only resolver refuses to answer for them.
std::vector<std::string> caa_climb(const std::string& name);

struct row_verdict {
    outcome result = outcome::points;
    std::string detail; ///< one line per name that does not point or could not be checked
    // What the lines are about, for a headline when the row gives up.
    bool names_not_pointing = false;
    bool caa_forbids = false;
    bool names_inconclusive = false;
    /// Set on an inconclusive verdict when certq's own resolvers answer nothing at all (not
    /// the row's fault: it must not be failed or charged time for it).
    bool resolvers_down = false;
    /// On the first verdict after the resolvers answer again: how long they were silent.
    std::chrono::milliseconds resolver_outage{0};
};

/// All names point → points; any name that does not point → not_pointing (naming each name
/// that failed); otherwise any inconclusive name → inconclusive.
row_verdict combine(const std::vector<name_result>& names);

} // namespace certq::dns
