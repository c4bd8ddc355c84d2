#pragma once
// DNS look-ups with c-ares driven by the Asio loop: c-ares' sockets are watched by Asio and its
// timeouts run on an Asio timer, so no thread ever blocks on a resolver.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace certq::dns {

/// How a query ended. Only `ok`, `nxdomain` and `nodata` are answers about the name; the rest
/// say nothing about it and make a check inconclusive.
enum class status { ok, nxdomain, nodata, servfail, refused, timeout, unreachable, error };

const char* to_string(status s);
constexpr bool is_answer(status s) {
    return s == status::ok || s == status::nxdomain || s == status::nodata;
}

enum class record_type { a, aaaa, caa };

struct caa_record {
    bool critical = false;
    std::string tag;   // "issue", "issuewild", "iodef", ...
    std::string value; // as written, e.g. "letsencrypt.org" or "digicert.com; cansignhttpexchanges=yes"
};

/// The answer to one query. `chain` is the CNAME chain as answered, starting at the name
/// asked for: chain[i] is a CNAME to chain[i+1]; its last element is the canonical name.
struct answer {
    status result = status::error;
    std::vector<std::string> chain;
    std::vector<std::string> addresses; // A or AAAA records of the canonical name, as text
    std::vector<caa_record> caa;
    std::string error; // c-ares' words when result is not an answer
};

struct resolver_options {
    std::vector<std::string> servers;  ///< "ip" or "ip:port"; empty: /etc/resolv.conf
    std::chrono::milliseconds timeout{1500}; ///< per try, per server
    int tries = 2;
};

class resolver {
public:
    /// Initialises c-ares. Throws std::runtime_error if c-ares cannot start or a server is
    /// not an address.
    resolver(boost::asio::any_io_executor ex, const resolver_options& options);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    /// One query. Never throws for DNS failures: they are in answer::result. Completes with
    /// status::error ("cancelled") after shutdown().
    boost::asio::awaitable<answer> query(std::string name, record_type type);

    /// Cancels every query under way.
    void shutdown();

    /// Uses these servers ("ip[:port]"; empty: /etc/resolv.conf) from the next query on.
    /// Throws std::runtime_error naming a server c-ares cannot use.
    void set_servers(const std::vector<std::string>& servers);

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

/// Lower case, no trailing dot: the form names are compared in.
std::string canonical_name(std::string_view name);

/// True if `name` equals `zone` or lies under it (label-wise: "xazionedge.net" is not under
/// "azionedge.net").
bool is_at_or_under(std::string_view name, std::string_view zone);

} // namespace certq::dns
