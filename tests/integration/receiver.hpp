#pragma once
// A provider's webhook receiver on 127.0.0.1, for tests: it checks every request's Standard
// Webhooks signature with the specification's algorithm (its own code, not certq's), records
// what arrived, and can refuse, or hang, as real receivers do. HTTP or HTTPS (a test PKI).

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace certq::testing {

struct received {
    std::string id;        ///< webhook-id
    std::string timestamp; ///< webhook-timestamp
    bool signature_ok = false;
    bool timestamp_fresh = false; ///< within five minutes of the receiver's clock
    unsigned answered = 0;        ///< the status it answered (0: it hung)
    boost::json::object body;
};

class webhook_receiver {
public:
    /// `secret` as configured (`whsec_<base64>`); `port` 0: a free one. Starts serving at once.
    webhook_receiver(std::string secret, bool https, unsigned short port = 0);
    ~webhook_receiver();
    webhook_receiver(const webhook_receiver&) = delete;
    webhook_receiver& operator=(const webhook_receiver&) = delete;

    unsigned short port() const;
    std::string url() const;           ///< http(s)://127.0.0.1:<port>/hooks/certq
    const std::string& ca_pem() const; ///< for notify.ca_file (https)

    /// Answers 500 to the next `n` requests.
    void refuse_next(int n);
    /// Holds every request without answering (until stop, or set_hang(false)).
    void set_hang(bool hang);
    /// Answers 503 to everything, as a receiver that is down behind its load balancer. (Closing
    /// the port instead would let a sender's retries to it connect to themselves: the kernel
    /// may pick the closed port as a loopback connection's own source port.)
    void set_down(bool down);
    /// Stops serving (the port is closed; requests are refused by the kernel).
    void stop();

    std::vector<received> requests() const;
    /// The requests answered 2xx, in arrival order.
    std::vector<received> delivered() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace certq::testing
