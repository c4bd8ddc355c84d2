#include "azion/types.hpp"

#include "azion/error.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace certq::azion {
namespace json = boost::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

const json::value* member(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::string text_of(const json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    if (!v) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    return {};
}

std::optional<std::string> optional_text_of(const json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

std::optional<std::int64_t> int_of(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->get_uint64());
    // Some error bodies carry ids as strings.
    if (v->is_string()) {
        const auto s = v->get_string();
        std::int64_t out = 0;
        if (s.empty() || s.size() > 18) return std::nullopt;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            out = out * 10 + (c - '0');
        }
        return out;
    }
    return std::nullopt;
}

std::optional<certificate> certificate_from(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    auto id = int_of(member(o, "id"));
    if (!id) return std::nullopt;
    certificate c;
    c.id = *id;
    c.name = text_of(o, "name");
    c.status = text_of(o, "status");
    c.status_detail = text_of(o, "status_detail");
    c.validity = optional_text_of(o, "validity");
    c.renewed_at = optional_text_of(o, "renewed_at");
    if (const auto* names = member(o, "subject_name"); names && names->is_array())
        for (const auto& n : names->get_array())
            if (n.is_string()) c.subject_name.emplace_back(n.get_string());
    return c;
}

std::optional<json::value> parse(std::string_view body, boost::system::error_code& ec) {
    boost::system::error_code parse_ec;
    auto v = json::parse(body, parse_ec);
    if (parse_ec) {
        ec = error::bad_response;
        return std::nullopt;
    }
    return v;
}

std::optional<workload> workload_from(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    auto id = int_of(member(o, "id"));
    if (!id) return std::nullopt;
    workload w;
    w.id = *id;
    w.name = text_of(o, "name");
    if (const auto* domains = member(o, "domains"); domains && domains->is_array())
        for (const auto& d : domains->get_array())
            if (d.is_string()) w.domains.emplace_back(d.get_string());
    if (const auto* tls = member(o, "tls"); tls && tls->is_object()) {
        const auto* cert = member(tls->get_object(), "certificate");
        if (cert && !cert->is_null()) {
            w.certificate = int_of(cert);
            if (!w.certificate) return std::nullopt; // neither an id nor null: not understood
        }
    }
    return w;
}

} // namespace

certificate_status classify_status(std::string_view status) {
    if (iequals(status, "active")) return certificate_status::active;
    if (iequals(status, "failed")) return certificate_status::failed;
    if (iequals(status, "expired")) return certificate_status::expired;
    return certificate_status::pending;
}

std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_time(std::string_view text) {
    using namespace std::chrono;
    // Fixed positions: YYYY-MM-DD?HH:MM:SS
    const auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
        if (at + n > text.size()) return std::nullopt;
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (text[i] < '0' || text[i] > '9') return std::nullopt;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
               se = digits(17, 2);
    if (!y || !mo || !d || !h || !mi || !se || text[4] != '-' || text[7] != '-' ||
        (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':')
        return std::nullopt;
    const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
    if (!date.ok() || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
    std::size_t at = 19;
    milliseconds fraction{0};
    if (at < text.size() && text[at] == '.') {
        ++at;
        int scale = 100, ms = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
            ms += (text[at] - '0') * scale;
            scale /= 10;
            ++at;
        }
        fraction = milliseconds{ms};
    }
    minutes offset{0};
    if (at < text.size()) {
        const auto zone = text.substr(at);
        if (zone == "Z" || zone == "z") {
            // UTC
        } else if ((zone[0] == '+' || zone[0] == '-') && (zone.size() == 6 || zone.size() == 5)) {
            const auto oh = digits(at + 1, 2);
            const auto om = digits(at + (zone.size() == 6 ? 4 : 3), 2);
            if (!oh || !om || (zone.size() == 6 && zone[3] != ':')) return std::nullopt;
            offset = hours{*oh} + minutes{*om};
            if (zone[0] == '-') offset = -offset;
        } else {
            return std::nullopt;
        }
    }
    const auto local = sys_days{date} + hours{*h} + minutes{*mi} + seconds{*se} + fraction;
    return time_point_cast<milliseconds>(local - offset);
}

certificate_status certificate::kind() const { return classify_status(status); }

std::string to_json(const certificate_request& request) {
    json::object body;
    body["name"] = request.name;
    body["challenge"] = request.challenge;
    body["authority"] = request.authority;
    body["common_name"] = request.common_name;
    json::array names;
    for (const auto& n : request.alternative_names) names.emplace_back(n);
    body["alternative_names"] = std::move(names);
    if (!request.key_algorithm.empty()) body["key_algorithm"] = request.key_algorithm;
    return json::serialize(body);
}

std::optional<certificate> parse_certificate_response(std::string_view body,
                                                      boost::system::error_code& ec) {
    auto v = parse(body, ec);
    if (!v) return std::nullopt;
    const json::value* data = v->is_object() ? member(v->get_object(), "data") : nullptr;
    // GET by id answers with the envelope; tolerate a bare certificate as well.
    auto cert = certificate_from(data ? *data : *v);
    if (!cert) ec = error::bad_response;
    return cert;
}

std::optional<certificate_page> parse_certificate_page(std::string_view body,
                                                       boost::system::error_code& ec) {
    auto v = parse(body, ec);
    if (!v) return std::nullopt;
    if (!v->is_object()) {
        ec = error::bad_response;
        return std::nullopt;
    }
    const auto& o = v->get_object();
    const auto* results = member(o, "results");
    if (!results || !results->is_array()) {
        ec = error::bad_response;
        return std::nullopt;
    }
    certificate_page page;
    for (const auto& item : results->get_array())
        if (auto c = certificate_from(item)) page.results.push_back(std::move(*c));
    page.count = int_of(member(o, "count")).value_or(static_cast<std::int64_t>(page.results.size()));
    page.next = optional_text_of(o, "next");
    if (page.next && page.next->empty()) page.next.reset();
    return page;
}

std::vector<api_error_item> parse_errors(std::string_view body) {
    std::vector<api_error_item> out;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return out;
    const auto* errors = member(v.get_object(), "errors");
    if (!errors || !errors->is_array()) return out;
    for (const auto& e : errors->get_array()) {
        if (!e.is_object()) continue;
        const auto& o = e.get_object();
        api_error_item item;
        item.status = text_of(o, "status");
        item.code = text_of(o, "code");
        item.title = text_of(o, "title");
        item.detail = text_of(o, "detail");
        if (const auto* src = member(o, "source"); src && src->is_object())
            item.pointer = text_of(src->get_object(), "pointer");
        if (const auto* meta = member(o, "meta"); meta && meta->is_object())
            item.existing_certificate = int_of(member(meta->get_object(), "certificate"));
        out.push_back(std::move(item));
    }
    return out;
}

std::string describe_errors(const std::vector<api_error_item>& errors, std::string_view body) {
    std::string out;
    for (const auto& e : errors) {
        std::string one = e.title;
        if (!e.detail.empty() && e.detail != e.title) one += (one.empty() ? "" : ": ") + e.detail;
        if (!e.pointer.empty()) one += " (" + e.pointer + ")";
        if (one.empty()) continue;
        out += (out.empty() ? "" : "; ") + one;
    }
    if (!out.empty()) return out;
    // Not Azion's error shape (a proxy's HTML page, say): keep a printable prefix.
    for (char c : body.substr(0, 200))
        out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : ' ';
    return out;
}

std::string to_json(const workload_patch& patch) {
    json::object body;
    if (patch.domains) {
        json::array domains;
        for (const auto& d : *patch.domains) domains.emplace_back(d);
        body["domains"] = std::move(domains);
    }
    if (patch.set_certificate) {
        json::object tls;
        if (patch.certificate) tls["certificate"] = *patch.certificate;
        else tls["certificate"] = nullptr;
        body["tls"] = std::move(tls);
    }
    return json::serialize(body);
}

std::optional<workload_answer> parse_workload_response(std::string_view body, boost::system::error_code& ec) {
    auto v = parse(body, ec);
    if (!v || !v->is_object()) {
        ec = error::bad_response;
        return std::nullopt;
    }
    const auto& o = v->get_object();
    const auto* data = member(o, "data");
    auto w = data ? workload_from(*data) : std::nullopt;
    if (!w) {
        ec = error::bad_response;
        return std::nullopt;
    }
    workload_answer a;
    a.current = std::move(*w);
    a.pending = iequals(text_of(o, "state"), "pending");
    return a;
}

} // namespace certq::azion
