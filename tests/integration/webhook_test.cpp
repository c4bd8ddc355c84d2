// Webhooks through the real certqd: signed per Standard Webhooks, in order per row, complete
// across a receiver's refusals and outages and across kill -9, and never in the pipeline's way.

#include "harness.hpp"
#include "receiver.hpp"
#include "test_pki.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <set>

namespace certq::testing {
namespace {

using namespace std::chrono_literals;

std::string make_secret() {
    static const char* const alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::mt19937 random(std::random_device{}());
    std::string b64;
    for (int i = 0; i < 32; ++i)
        b64 += alphabet[random() % 64]; // 24 bytes
    return "whsec_" + b64;
}

struct hook {
    std::string url;
    std::filesystem::path secret_file;
    std::string events; // YAML list, "" for all
};

std::string notify_yaml(const std::vector<hook>& hooks, const std::string& ca_file = "",
                        const std::string& timeout = "1s") {
    std::string y = "notify:\n  webhooks:\n";
    for (const auto& h : hooks) {
        y += "    - url: " + h.url + "\n      secret_file: " + h.secret_file.string() + "\n";
        if (!h.events.empty()) y += "      events: " + h.events + "\n";
    }
    y += "  timeout: " + timeout + "\n  retry: { first: 200ms, max: 1s, give_up_after: 1h }\n";
    if (!ca_file.empty()) y += "  ca_file: " + ca_file + "\n";
    return y;
}

std::filesystem::path write_secret(const scratch_dir& dir, const std::string& name,
                                   const std::string& secret) {
    const auto path = dir / name;
    std::ofstream(path) << "  " << secret << "\n"; // whitespace around it is ignored
    return path;
}

// Every row's events, as the receiver got them (delivered only), in arrival order.
std::map<std::int64_t, std::vector<std::string>> per_row(const std::vector<received>& got) {
    std::map<std::int64_t, std::vector<std::string>> out;
    for (const auto& r : got) {
        const auto& data = r.body.at("data").as_object();
        out[data.at("domain_id").as_int64()].push_back(
            data.contains("to") ? std::string(data.at("to").as_string()) : std::string("renewed"));
    }
    return out;
}

// What the transitions table says of every row, in order.
std::map<std::int64_t, std::vector<std::string>> transitions_per_row(environment& env) {
    std::map<std::int64_t, std::vector<std::string>> out;
    auto stmt = env.db().prepare("SELECT domain_id, to_state FROM transitions ORDER BY id");
    while (stmt.step())
        out[stmt.column_int(0)].push_back(stmt.column_text(1));
    return out;
}

std::size_t unique_ids(const std::vector<received>& got) {
    std::set<std::string> ids;
    for (const auto& r : got)
        ids.insert(r.id);
    return ids.size();
}

daemon_settings webhook_settings(const std::string& notify) {
    daemon_settings s;
    s.requests_per_second = 100;
    s.burst = 10;
    s.poll_first = "200ms";
    s.poll_max = "1s";
    s.extra_yaml = notify;
    return s;
}

TEST(Webhooks, SignedEventsArriveInOrderPerRowOverHttpAndHttpsWithFilters) {
    scratch_dir keys;
    const auto secret_a = make_secret(), secret_b = make_secret();
    webhook_receiver plain(secret_a, false);
    webhook_receiver tls(secret_b, true);
    sim::write_file(keys / "receiver-ca.pem", tls.ca_pem());
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options,
                    webhook_settings(notify_yaml(
                        {{plain.url(), write_secret(keys, "a", secret_a), ""},
                         {tls.url(), write_secret(keys, "b", secret_b), "[active, failed]"}},
                        (keys / "receiver-ca.pem").string())));
    auto daemon = env.start_daemon();
    // A webhook is told what happens from the moment certqd first knows it.
    ASSERT_TRUE(wait_for(
        [&] { return daemon->output().find("delivering events after") != std::string::npos; },
        30s));
    env.insert_hostnames(
        20, [](int i) { return "w" + std::to_string(i) + ".hooks" + std::to_string(i) + ".com"; });
    // queued, requesting, pending, active: 4 events per row for the first receiver.
    ASSERT_TRUE(wait_for(
        [&] { return plain.delivered().size() == 80 && tls.delivered().size() == 20; }, 60s))
        << plain.delivered().size() << " " << tls.delivered().size() << "\n"
        << daemon->output();
    const auto got = plain.delivered();
    EXPECT_EQ(per_row(got), transitions_per_row(env)) << "every state change, in order per row";
    for (const auto& r : got) {
        EXPECT_TRUE(r.signature_ok) << r.id;
        EXPECT_TRUE(r.timestamp_fresh) << r.timestamp;
        EXPECT_EQ(r.id.rfind("msg_", 0), 0u);
    }
    EXPECT_EQ(unique_ids(got), 80u);
    const auto& insert = got.front().body.at("data").as_object();
    EXPECT_TRUE(insert.at("from").is_null()) << "the insert has no from";
    EXPECT_EQ(insert.at("to").as_string(), "queued");
    for (const auto& r : tls.delivered()) {
        EXPECT_TRUE(r.signature_ok);
        const auto& d = r.body.at("data").as_object();
        EXPECT_EQ(d.at("to").as_string(), "active") << "filtered to active and failed";
        EXPECT_FALSE(d.at("certificate_id").is_null());
        EXPECT_EQ(d.at("names").as_array().size(), 1u);
        EXPECT_EQ(r.body.at("type").as_string(), "domain.state_changed");
    }

    // certq hooks test: a signed test event to each receiver, and what each said.
    int rc = -1;
    const auto out = run_certq(env, {"hooks", "test"}, "", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("127.0.0.1:" + std::to_string(plain.port()) + "/hooks/certq: HTTP 200"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("127.0.0.1:" + std::to_string(tls.port()) + "/hooks/certq: HTTP 200"),
              std::string::npos)
        << out;
    EXPECT_EQ(plain.requests().back().body.at("type").as_string(), "certq.test");
    EXPECT_TRUE(plain.requests().back().signature_ok);
    // The cursor is saved within a second of the last delivery.
    std::string status;
    EXPECT_TRUE(wait_for(
        [&] {
            status = run_certq(env, {"status"});
            return status.find(":" + std::to_string(plain.port()) +
                               "/hooks/certq: 0 event(s) waiting") != std::string::npos;
        },
        10s))
        << status;
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Webhooks, ARefusingReceiverAndOneDownForAWhileGetEverythingInOrder) {
    scratch_dir keys;
    const auto secret = make_secret();
    auto receiver = std::make_unique<webhook_receiver>(secret, false);
    const auto port = receiver->port();
    const auto url = receiver->url();
    receiver->refuse_next(5);
    sim::sim_options options;
    options.issue_delay = 200ms;
    auto settings = webhook_settings(notify_yaml({{url, write_secret(keys, "s", secret), ""}}));
    settings.http_listen = "127.0.0.1:0";
    environment env(options, settings);
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for(
        [&] { return daemon->output().find("delivering events after") != std::string::npos; },
        30s));
    env.insert_hostnames(
        10, [](int i) { return "r" + std::to_string(i) + ".refuse" + std::to_string(i) + ".com"; });
    ASSERT_TRUE(wait_for([&] { return receiver->delivered().size() == 40; }, 60s))
        << daemon->output();
    EXPECT_EQ(per_row(receiver->delivered()), transitions_per_row(env));
    // The refused ones were sent again with the same webhook-id.
    std::set<std::string> refused_ids;
    for (const auto& r : receiver->requests())
        if (r.answered == 500) refused_ids.insert(r.id);
    EXPECT_FALSE(refused_ids.empty());
    for (const auto& id : refused_ids) {
        bool redelivered = false;
        for (const auto& r : receiver->delivered())
            redelivered = redelivered || r.id == id;
        EXPECT_TRUE(redelivered) << id;
    }

    // Down while 200 rows change state; back afterwards.
    const auto before = receiver->delivered().size();
    receiver->set_down(true);
    env.insert_hostnames(200, [](int i) {
        return "d" + std::to_string(i) + ".down" + std::to_string(i % 50) + ".com";
    });
    const auto metrics_port = logged_http_port(*daemon);
    ASSERT_TRUE(wait_for(
        [&] { return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 210; },
        90s))
        << daemon->output();
    ASSERT_TRUE(wait_for(
        [&] {
            return metric_value(metrics_port, "certq_webhook_backlog{webhook=\"127.0.0.1:" +
                                                  std::to_string(port) + "/hooks/certq\"}") > 0;
        },
        30s));
    const auto waiting = run_certq(env, {"status"});
    EXPECT_NE(waiting.find(" event(s) waiting"), std::string::npos) << waiting;
    receiver->set_down(false);
    ASSERT_TRUE(wait_for([&] { return receiver->delivered().size() == before + 800; }, 120s))
        << receiver->delivered().size() << "\n"
        << daemon->output();
    EXPECT_EQ(per_row(receiver->delivered()), transitions_per_row(env))
        << "everything, in order per row";
    EXPECT_GT(metric_value(metrics_port, "certq_webhook_deliveries_total{webhook=\"127.0.0.1:" +
                                             std::to_string(port) +
                                             "/hooks/certq\",result=\"failed\"}"),
              0);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Webhooks, KillNineMidDeliveryLosesNothingAndRepeatsOnlyWithTheSameId) {
    scratch_dir keys;
    const auto secret = make_secret();
    webhook_receiver receiver(secret, false);
    sim::sim_options options;
    options.issue_delay = 200ms;
    environment env(options, webhook_settings(notify_yaml(
                                 {{receiver.url(), write_secret(keys, "s", secret), ""}})));
    {
        auto first = env.start_daemon();
        ASSERT_TRUE(wait_for(
            [&] { return first->output().find("delivering events after") != std::string::npos; },
            30s));
        first->signal(SIGKILL);
        first->wait(10s);
    }
    env.insert_hostnames(150, [](int i) {
        return "k" + std::to_string(i) + ".kill" + std::to_string(i % 30) + ".com";
    });
    std::mt19937 random(20261201);
    std::uniform_int_distribution<std::size_t> progress(20, 120);
    for (int kill = 0; kill < 5; ++kill) {
        auto daemon = env.start_daemon();
        const auto target = receiver.requests().size() + progress(random);
        ASSERT_TRUE(wait_for(
            [&] {
                return receiver.requests().size() >= target || receiver.delivered().size() >= 600;
            },
            60s))
            << daemon->output();
        daemon->signal(SIGKILL);
        ASSERT_EQ(daemon->wait(10s), 128 + SIGKILL);
    }
    auto daemon = env.start_daemon();
    ASSERT_TRUE(wait_for(
        [&] {
            return env.count("SELECT count(*) FROM domains WHERE state = 'active'") == 150 &&
                   unique_ids(receiver.delivered()) == 600;
        },
        120s))
        << unique_ids(receiver.delivered()) << "\n"
        << daemon->output();
    // Every event arrived; a repeat carries the id it had before.
    std::map<std::string, std::string> body_by_id;
    for (const auto& r : receiver.delivered()) {
        const auto body = boost::json::serialize(r.body.at("data"));
        auto [it, first] = body_by_id.emplace(r.id, body);
        if (!first) {
            EXPECT_EQ(it->second, body) << "same id, same event";
        }
    }
    // In order per row, once the repeats are folded.
    std::map<std::int64_t, std::vector<std::string>> seen;
    std::set<std::string> ids;
    for (const auto& r : receiver.delivered()) {
        if (!ids.insert(r.id).second) continue;
        const auto& d = r.body.at("data").as_object();
        seen[d.at("domain_id").as_int64()].push_back(std::string(d.at("to").as_string()));
    }
    EXPECT_EQ(seen, transitions_per_row(env));
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << daemon->output();
}

TEST(Webhooks, AHangingReceiverDoesNotSlowThePipeline) {
    scratch_dir keys;
    const auto secret = make_secret();
    webhook_receiver hanging(secret, false);
    hanging.set_hang(true);
    sim::sim_options options;
    options.issue_delay = 200ms;
    auto settings = webhook_settings(
        notify_yaml({{hanging.url(), write_secret(keys, "s", secret), ""}}, "", "2s"));
    settings.requests_per_second = 50;
    environment env(options, settings);
    env.insert_hostnames(300, [](int i) {
        return "h" + std::to_string(i) + ".hang" + std::to_string(i % 30) + ".com";
    });
    auto daemon = env.start_daemon({"--exit-when-done"});
    // 300 POSTs at 50/s: the run is paced by Azion's rate, whatever the receiver does.
    ASSERT_EQ(daemon->wait(60s), 0) << daemon->output();
    EXPECT_EQ(env.count("SELECT count(*) FROM domains WHERE state = 'active'"), 300);
    EXPECT_GT(hanging.requests().size(), 0u) << "the receiver was tried";
    EXPECT_TRUE(hanging.delivered().empty());
    // The requests to Azion kept their pace: the busiest second stayed at the configured rate.
    std::map<std::int64_t, int> per_second;
    for (const auto& r : env.sim().requests())
        if (r.method == "POST")
            ++per_second[std::chrono::duration_cast<std::chrono::seconds>(r.wall.time_since_epoch())
                             .count()];
    int busiest = 0;
    for (const auto& [s, n] : per_second)
        busiest = std::max(busiest, n);
    EXPECT_GE(busiest, 40);
}

} // namespace
} // namespace certq::testing
