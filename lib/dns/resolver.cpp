#include "dns/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>

namespace certq::dns {

namespace asio = boost::asio;

namespace {

// c-ares keeps process-wide state; initialise it once.
void library_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
    });
}

int type_code(record_type t) {
    switch (t) {
    case record_type::a: return ns_t_a;
    case record_type::aaaa: return ns_t_aaaa;
    case record_type::caa: return 257; // CAA (RFC 8659); not in older nameser.h
    }
    return ns_t_a;
}

std::uint16_t read16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

struct raw_record {
    std::string owner;
    int type;
    const unsigned char* data;
    std::size_t length;
};

// Walks the answer section. Name compression is left to c-ares (ares_expand_name).
bool read_answer_section(const unsigned char* abuf, int alen, std::vector<raw_record>& out) {
    if (alen < 12) return false;
    const auto qdcount = read16(abuf + 4);
    const auto ancount = read16(abuf + 6);
    const unsigned char* p = abuf + 12;
    const unsigned char* end = abuf + alen;
    auto expand = [&](const unsigned char* at, std::string& name, long& used) {
        char* text = nullptr;
        if (ares_expand_name(at, abuf, alen, &text, &used) != ARES_SUCCESS) return false;
        name = text;
        ares_free_string(text);
        return true;
    };
    for (int i = 0; i < qdcount; ++i) {
        std::string ignored;
        long used = 0;
        if (!expand(p, ignored, used) || p + used + 4 > end) return false;
        p += used + 4;
    }
    for (int i = 0; i < ancount; ++i) {
        raw_record rr;
        long used = 0;
        if (!expand(p, rr.owner, used) || p + used + 10 > end) return false;
        p += used;
        rr.type = read16(p);
        const auto rdlength = read16(p + 8);
        p += 10;
        if (p + rdlength > end) return false;
        rr.data = p;
        rr.length = rdlength;
        out.push_back(std::move(rr));
        p += rdlength;
    }
    return true;
}

answer parse_answer(const std::string& qname, record_type type, const unsigned char* abuf,
                    int alen) {
    answer a;
    a.chain.push_back(canonical_name(qname));
    std::vector<raw_record> records;
    if (!abuf || !read_answer_section(abuf, alen, records)) {
        a.result = status::error;
        a.error = "unreadable answer";
        return a;
    }
    // Follow the chain as answered; a loop or an absurd length ends it.
    for (int hops = 0; hops < 16; ++hops) {
        const auto& current = a.chain.back();
        auto it = std::find_if(records.begin(), records.end(), [&](const raw_record& rr) {
            return rr.type == ns_t_cname && canonical_name(rr.owner) == current;
        });
        if (it == records.end()) break;
        char* target = nullptr;
        long used = 0;
        if (ares_expand_name(it->data, abuf, alen, &target, &used) != ARES_SUCCESS) break;
        std::string next = canonical_name(target);
        ares_free_string(target);
        if (std::find(a.chain.begin(), a.chain.end(), next) != a.chain.end()) break;
        a.chain.push_back(std::move(next));
    }
    const auto& canonical = a.chain.back();
    for (const auto& rr : records) {
        if (canonical_name(rr.owner) != canonical) continue;
        char text[INET6_ADDRSTRLEN] = {};
        if (type == record_type::a && rr.type == ns_t_a && rr.length == 4)
            a.addresses.emplace_back(inet_ntop(AF_INET, rr.data, text, sizeof text));
        else if (type == record_type::aaaa && rr.type == ns_t_aaaa && rr.length == 16)
            a.addresses.emplace_back(inet_ntop(AF_INET6, rr.data, text, sizeof text));
    }
    if (type == record_type::caa) {
        ares_caa_reply* caa = nullptr;
        if (ares_parse_caa_reply(abuf, alen, &caa) == ARES_SUCCESS) {
            for (auto* r = caa; r; r = r->next)
                a.caa.push_back({r->critical != 0,
                                 std::string(reinterpret_cast<const char*>(r->property), r->plength),
                                 std::string(reinterpret_cast<const char*>(r->value), r->length)});
            ares_free_data(caa);
        }
    }
    a.result = a.addresses.empty() && a.caa.empty() ? status::nodata : status::ok;
    return a;
}

status status_of(int ares_status) {
    switch (ares_status) {
    case ARES_SUCCESS: return status::ok;
    case ARES_ENOTFOUND: return status::nxdomain;
    case ARES_ENODATA: return status::nodata;
    case ARES_ESERVFAIL: return status::servfail;
    case ARES_EREFUSED: return status::refused;
    case ARES_ETIMEOUT: return status::timeout;
    case ARES_ECONNREFUSED: return status::unreachable;
    default: return status::error;
    }
}

} // namespace

const char* to_string(status s) {
    switch (s) {
    case status::ok: return "ok";
    case status::nxdomain: return "NXDOMAIN";
    case status::nodata: return "no data";
    case status::servfail: return "SERVFAIL";
    case status::refused: return "REFUSED";
    case status::timeout: return "timeout";
    // c-ares 1.18 ends a query this way when every server answered SERVFAIL, REFUSED or
    // NOTIMP, or could not be reached: it does not say which.
    case status::unreachable: return "no server gave an answer: SERVFAIL, REFUSED or unreachable";
    case status::error: return "error";
    }
    return "error";
}

std::string canonical_name(std::string_view name) {
    std::string out(name);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    });
    while (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

bool is_at_or_under(std::string_view name, std::string_view zone) {
    if (zone.empty()) return false;
    if (name.size() == zone.size()) return name == zone;
    return name.size() > zone.size() && name.substr(name.size() - zone.size()) == zone &&
           name[name.size() - zone.size() - 1] == '.';
}

struct resolver::impl : std::enable_shared_from_this<impl> {
    struct watch {
        explicit watch(asio::any_io_executor ex, int socket) : descriptor(ex, socket), fd(socket) {}
        asio::posix::stream_descriptor descriptor;
        int fd;
        bool want_read = false, want_write = false;
        bool reading = false, writing = false;
        bool closed = false;
    };

    struct pending {
        std::shared_ptr<impl> owner;
        std::string name;
        record_type type;
        asio::any_completion_handler<void(answer)> handler;
    };

    explicit impl(asio::any_io_executor ex) : ex_(ex), timer_(ex) {}

    ~impl() {
        if (channel_) ares_destroy(channel_);
    }

    void start(const resolver_options& o) {
        library_init();
        ares_options options{};
        int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
        options.sock_state_cb = &impl::on_socket_state;
        options.sock_state_cb_data = this;
        options.timeout = static_cast<int>(o.timeout.count());
        options.tries = o.tries;
        if (int rc = ares_init_options(&channel_, &options, mask); rc != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: cannot start: ") + ares_strerror(rc));
        // Remember the system's resolvers, for a reload that empties dns.servers.
        ares_addr_port_node* servers = nullptr;
        if (ares_get_servers_ports(channel_, &servers) == ARES_SUCCESS) {
            for (auto* n = servers; n; n = n->next) {
                char text[INET6_ADDRSTRLEN] = {};
                inet_ntop(n->family, &n->addr, text, sizeof text);
                const int port = n->udp_port ? n->udp_port : 53;
                system_servers_ += (system_servers_.empty() ? "" : ",") +
                                   (n->family == AF_INET6 ? "[" + std::string(text) + "]" : std::string(text)) +
                                   ":" + std::to_string(port);
            }
            ares_free_data(servers);
        }
        if (!o.servers.empty()) set_servers(o.servers);
    }

    void set_servers(const std::vector<std::string>& servers) {
        std::string csv;
        for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
        const std::string& use = csv.empty() ? system_servers_ : csv;
        if (int rc = ares_set_servers_ports_csv(channel_, use.c_str()); rc != ARES_SUCCESS)
            throw std::runtime_error("dns.servers: \"" + use + "\": " + ares_strerror(rc));
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        static_cast<impl*>(data)->socket_state(fd, readable != 0, writable != 0);
    }

    void socket_state(int fd, bool readable, bool writable) {
        auto it = watches_.find(fd);
        if (!readable && !writable) {
            if (it == watches_.end()) return;
            // c-ares closes the socket itself: stop watching it and let go without closing.
            auto w = it->second;
            w->closed = true;
            boost::system::error_code ignored;
            w->descriptor.cancel(ignored);
            w->descriptor.release();
            watches_.erase(it);
            return;
        }
        if (it == watches_.end())
            it = watches_.emplace(fd, std::make_shared<watch>(ex_, fd)).first;
        it->second->want_read = readable;
        it->second->want_write = writable;
        arm(it->second);
    }

    void arm(const std::shared_ptr<watch>& w) {
        if (w->closed || closed_) return;
        if (w->want_read && !w->reading) {
            w->reading = true;
            w->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                     [self = shared_from_this(), w](boost::system::error_code ec) {
                                         w->reading = false;
                                         if (ec || w->closed || self->closed_) return;
                                         ares_process_fd(self->channel_, w->fd, ARES_SOCKET_BAD);
                                         self->arm(w);
                                         self->reset_timer();
                                     });
        }
        if (w->want_write && !w->writing) {
            w->writing = true;
            w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                     [self = shared_from_this(), w](boost::system::error_code ec) {
                                         w->writing = false;
                                         if (ec || w->closed || self->closed_) return;
                                         ares_process_fd(self->channel_, ARES_SOCKET_BAD, w->fd);
                                         self->arm(w);
                                         self->reset_timer();
                                     });
        }
    }

    // c-ares' own retransmission and timeout schedule, run on the loop's timer.
    void reset_timer() {
        if (closed_) return;
        timeval tv{};
        if (!ares_timeout(channel_, nullptr, &tv)) {
            timer_.cancel();
            return;
        }
        timer_.expires_after(std::chrono::seconds{tv.tv_sec} + std::chrono::microseconds{tv.tv_usec});
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->closed_) return;
            ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            self->reset_timer();
        });
    }

    static void on_answer(void* arg, int ares_status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<pending> p(static_cast<pending*>(arg));
        answer a;
        const auto s = status_of(ares_status);
        if (s == status::ok || s == status::nxdomain || s == status::nodata) {
            a = parse_answer(p->name, p->type, abuf, alen);
            if (s != status::ok && a.result != status::error) a.result = s;
            if (s == status::nxdomain) a.addresses.clear();
        } else {
            a.result = s;
            a.chain.push_back(canonical_name(p->name));
            a.error = ares_status == ARES_ECANCELLED || ares_status == ARES_EDESTRUCTION
                          ? "cancelled"
                          : ares_strerror(ares_status);
        }
        // Never complete inside c-ares' call stack: post to the loop.
        auto ex = p->owner->ex_;
        asio::post(ex, [h = std::move(p->handler), a = std::move(a)]() mutable {
            std::move(h)(std::move(a));
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        ares_cancel(channel_);
        for (auto& [fd, w] : watches_) {
            w->closed = true;
            boost::system::error_code ignored;
            w->descriptor.cancel(ignored);
            w->descriptor.release();
        }
        watches_.clear();
    }

    asio::any_io_executor ex_;
    asio::steady_timer timer_;
    ares_channel channel_ = nullptr;
    std::string system_servers_; // from /etc/resolv.conf, for a reload that empties dns.servers
    std::map<int, std::shared_ptr<watch>> watches_;
    bool closed_ = false;
};

resolver::resolver(asio::any_io_executor ex, const resolver_options& options)
    : impl_(std::make_shared<impl>(ex)) {
    impl_->start(options);
}

resolver::~resolver() { impl_->close(); }

void resolver::shutdown() { impl_->close(); }

void resolver::set_servers(const std::vector<std::string>& servers) { impl_->set_servers(servers); }

asio::awaitable<answer> resolver::query(std::string name, record_type type) {
    auto self = impl_;
    if (self->closed_) {
        answer a;
        a.result = status::error;
        a.chain.push_back(canonical_name(name));
        a.error = "cancelled";
        co_return a;
    }
    // A named initiation, not a lambda written inside co_await: gcc 12 destroys such
    // temporaries twice in coroutines.
    auto initiation = [self, name, type](auto handler) {
        auto* p = new impl::pending{self, name, type, std::move(handler)};
        ares_query(self->channel_, name.c_str(), ns_c_in, type_code(type), &impl::on_answer, p);
        self->reset_timer();
    };
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(answer)>(
        std::move(initiation), asio::use_awaitable);
}

} // namespace certq::dns
