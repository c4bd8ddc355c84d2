#include "dns/verdict.hpp"

#include <libpsl.h>

#include <algorithm>

namespace certq::dns {
namespace {

const char* arrow = " \u2192 ";

std::string render_chain(const std::vector<std::string>& chain) {
    std::string out = chain.empty() ? std::string() : chain.front();
    for (std::size_t i = 1; i < chain.size(); ++i) out += arrow + std::string("CNAME ") + chain[i];
    return out;
}

std::string lower_trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return canonical_name(text.substr(first, last - first + 1));
}

bool known_tag(const std::string& tag) {
    static const std::set<std::string> known{"issue", "issuewild", "iodef", "contactemail",
                                             "contactphone", "issuemail", "issuevmc"};
    return known.count(canonical_name(tag)) != 0;
}

} // namespace

name_result judge_pointing(const std::string& name, const answer& v4, const answer& v6,
                           const std::vector<std::string>& targets, const edge_addresses& edge) {
    name_result r{name, outcome::inconclusive, {}};
    const answer& primary = is_answer(v4.result) ? v4 : v6;
    const auto& chain = primary.chain.empty() ? std::vector<std::string>{canonical_name(name)}
                                              : primary.chain;
    for (const auto& hop : chain)
        for (const auto& target : targets)
            if (is_at_or_under(hop, canonical_name(target))) {
                r.result = outcome::points;
                r.line = render_chain(chain);
                return r;
            }

    std::vector<std::string> addresses;
    for (const auto* a : {&v4, &v6})
        if (a->result == status::ok) addresses.insert(addresses.end(), a->addresses.begin(), a->addresses.end());

    if (!edge.hostname.empty() && !addresses.empty()) {
        if (!edge.known) {
            r.line = name + ": cannot compare with " + edge.hostname + " (" + edge.problem + ")";
            return r;
        }
        for (const auto& a : addresses)
            if (edge.addresses.count(a)) {
                r.result = outcome::points;
                r.line = name + arrow + a + " (Azion's edge " + edge.hostname + ")";
                return r;
            }
    }

    if (!is_answer(v4.result) || !is_answer(v6.result)) {
        const auto& failed = is_answer(v4.result) ? v6 : v4;
        // c-ares' own words only where ours say nothing ("error"): for the others they repeat
        // ours or mislead (it says "Could not contact DNS servers" for a SERVFAIL).
        r.line = name + ": DNS check inconclusive (" + to_string(failed.result) +
                 (failed.result != status::error || failed.error.empty() ? "" : ": " + failed.error) + ")";
        return r;
    }

    r.result = outcome::not_pointing;
    if (v4.result == status::nxdomain || v6.result == status::nxdomain) {
        r.line = render_chain(chain) + ": no such name (NXDOMAIN)";
    } else if (chain.size() > 1) {
        r.line = render_chain(chain) + " (not Azion)";
    } else if (!addresses.empty()) {
        std::string shown;
        for (std::size_t i = 0; i < addresses.size() && i < 3; ++i)
            shown += (i ? ", " : "") + addresses[i];
        if (addresses.size() > 3) shown += ", ...";
        r.line = name + arrow + (addresses.front().find(':') == std::string::npos ? "A " : "AAAA ") + shown +
                 (edge.hostname.empty()
                      ? std::string(" (no CNAME to Azion; set dns.edge_hostname to accept an apex "
                                    "that answers with Azion's addresses)")
                      : " (not Azion's edge " + edge.hostname + ")");
    } else {
        r.line = render_chain(chain) + ": no A or AAAA records";
    }
    return r;
}

std::vector<std::string> caa_climb(const std::string& name) {
    std::vector<std::string> out;
    std::string current = canonical_name(name);
    const psl_ctx_t* psl = psl_builtin();
    while (!current.empty()) {
        if (psl && psl_is_public_suffix(psl, current.c_str()) && !out.empty()) break;
        out.push_back(current);
        const auto dot = current.find('.');
        if (dot == std::string::npos) break;
        current = current.substr(dot + 1);
    }
    return out;
}

bool caa_allows_letsencrypt(const std::vector<caa_record>& records) {
    bool any_issue = false;
    for (const auto& r : records) {
        if (r.critical && !known_tag(r.tag)) return false;
        if (canonical_name(r.tag) != "issue") continue;
        any_issue = true;
        const auto domain = lower_trim(std::string_view(r.value).substr(0, r.value.find(';')));
        if (domain == "letsencrypt.org") return true;
    }
    return !any_issue;
}

std::string describe_caa(const std::vector<caa_record>& records) {
    std::string out;
    for (const auto& r : records)
        out += (out.empty() ? "" : ", ") + std::to_string(r.critical ? 128 : 0) + " " + r.tag +
               " \"" + r.value + "\"";
    return out;
}

name_result judge_caa(const std::string& name,
                      const std::vector<std::pair<std::string, answer>>& climb) {
    name_result r{name, outcome::points, {}};
    for (const auto& [asked, a] : climb) {
        if (!is_answer(a.result)) {
            r.result = outcome::inconclusive;
            r.line = name + ": CAA look-up" + (asked == name ? "" : " at " + asked) + " inconclusive (" +
                     to_string(a.result) + ")";
            return r;
        }
        if (a.caa.empty()) continue;
        if (caa_allows_letsencrypt(a.caa)) return r;
        r.result = outcome::not_pointing;
        r.caa = true;
        r.line = name + ": points to Azion, but CAA at " + asked + " " + caa_allowance(a.caa) + " (" +
                 describe_caa(a.caa) + "); Let's Encrypt needs 0 issue \"letsencrypt.org\" there";
        return r;
    }
    return r;
}

std::string caa_allowance(const std::vector<caa_record>& records) {
    std::vector<std::string> issuers;
    bool critical_unknown = false;
    for (const auto& r : records) {
        if (r.critical && !known_tag(r.tag)) critical_unknown = true;
        if (canonical_name(r.tag) != "issue") continue;
        const auto issuer = lower_trim(std::string_view(r.value).substr(0, r.value.find(';')));
        if (!issuer.empty()) issuers.push_back(issuer);
    }
    if (critical_unknown)
        return "has a critical property no certificate authority may ignore";
    if (issuers.empty()) return "allows no certificate authority";
    std::string out = "allows only ";
    for (std::size_t i = 0; i < issuers.size(); ++i) out += (i ? ", " : "") + issuers[i];
    return out;
}

row_verdict combine(const std::vector<name_result>& names) {
    row_verdict v;
    const bool any_not = std::any_of(names.begin(), names.end(),
                                     [](const name_result& n) { return n.result == outcome::not_pointing; });
    const bool any_unsure = std::any_of(names.begin(), names.end(),
                                        [](const name_result& n) { return n.result == outcome::inconclusive; });
    v.result = any_not ? outcome::not_pointing : any_unsure ? outcome::inconclusive : outcome::points;
    for (const auto& n : names) {
        if (n.result == outcome::points) continue;
        v.detail += (v.detail.empty() ? "" : "\n") + n.line;
        if (n.result == outcome::inconclusive) v.names_inconclusive = true;
        else if (n.caa) v.caa_forbids = true;
        else v.names_not_pointing = true;
    }
    return v;
}

} // namespace certq::dns
