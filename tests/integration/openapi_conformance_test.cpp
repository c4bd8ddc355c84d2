// certq's requests and the simulator's answers checked against Azion's published OpenAPI spec
// (../shared/azion/openapi.yaml beside the checkout). Reference data, not part of the product:
// when the file is absent (a user's clone), these tests skip.

#include "azion/client.hpp"
#include "azion_sim.hpp"
#include "harness.hpp"
#include "test_pki.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace certq::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

std::filesystem::path spec_path() {
    if (const char* env = std::getenv("CERTQ_OPENAPI")) return env;
    return std::filesystem::path(CERTQ_SOURCE_DIR) / ".." / "shared" / "azion" / "openapi.yaml";
}

class OpenApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (std::filesystem::exists(spec_path())) spec_ = new YAML::Node(YAML::LoadFile(spec_path().string()));
    }
    static void TearDownTestSuite() {
        delete spec_;
        spec_ = nullptr;
    }
    void SetUp() override {
        if (!spec_) GTEST_SKIP() << "Azion's spec is not at " << spec_path();
    }
    static YAML::Node schema(const std::string& name) { return (*spec_)["components"]["schemas"][name]; }
    static YAML::Node path(const std::string& p) { return (*spec_)["paths"][p]; }
    static std::set<std::string> parameter_names(const YAML::Node& op) {
        std::set<std::string> names;
        for (const auto& p : op["parameters"]) {
            if (p["$ref"]) {
                const auto ref = p["$ref"].as<std::string>();
                names.insert((*spec_)["components"]["parameters"][ref.substr(ref.rfind('/') + 1)]["name"].as<std::string>());
            } else {
                names.insert(p["name"].as<std::string>());
            }
        }
        return names;
    }
    static YAML::Node* spec_;
};
YAML::Node* OpenApi::spec_ = nullptr;

TEST_F(OpenApi, TheCallsCertqMakesExistWithTheParametersItUses) {
    EXPECT_TRUE(path("/workspace/tls/certificates/request")["post"]);
    EXPECT_TRUE(path("/workspace/tls/certificates/{certificate_id}")["get"]);
    EXPECT_TRUE(path("/workspace/tls/certificates/{certificate_id}")["delete"]);
    const auto list = path("/workspace/tls/certificates")["get"];
    ASSERT_TRUE(list);
    const auto params = parameter_names(list);
    for (const char* p : {"id", "name", "fields", "page", "page_size"}) EXPECT_TRUE(params.count(p)) << p;
}

TEST_F(OpenApi, RequestBodyFitsCertificateRequest) {
    azion::certificate_request r;
    r.name = std::string(250, 'n');
    r.common_name = "shop.example.com";
    r.alternative_names = {"www.shop.example.com"};
    r.key_algorithm = "ecc_384";
    const auto body = json::parse(azion::to_json(r)).as_object();
    const auto s = schema("CertificateRequest");
    ASSERT_TRUE(s);
    for (const auto& [key, value] : body) {
        const auto prop = s["properties"][std::string(key)];
        ASSERT_TRUE(prop) << key << " is not a property of CertificateRequest";
        EXPECT_FALSE(prop["readOnly"] && prop["readOnly"].as<bool>()) << key << " is read-only";
        if (prop["enum"]) {
            std::set<std::string> allowed;
            for (const auto& e : prop["enum"]) allowed.insert(e.as<std::string>());
            EXPECT_TRUE(allowed.count(std::string(value.as_string()))) << key;
        }
        if (prop["maxLength"] && value.is_string()) {
            EXPECT_LE(value.as_string().size(), prop["maxLength"].as<std::size_t>()) << key;
        }
    }
    for (const auto& req : s["required"]) {
        const auto key = req.as<std::string>();
        const auto prop = s["properties"][key];
        if (prop["readOnly"] && prop["readOnly"].as<bool>()) continue;
        EXPECT_TRUE(body.contains(key)) << "required " << key << " is not sent";
    }
    EXPECT_EQ(s["properties"]["common_name"]["maxLength"].as<int>(), 64);
}

asio::awaitable<int> exercise(azion::client& api) {
    auto slot = co_await api.acquire_slot();
    azion::certificate_request r;
    r.name = "certq-1-shop.example.com";
    r.common_name = "shop.example.com";
    auto created = co_await api.request_certificate(slot, r);
    co_await api.get_certificate(slot, created.value.id);
    std::vector<std::int64_t> ids{created.value.id};
    co_await api.list_certificates(slot, ids);
    co_await api.get_certificate(slot, 1);
    co_return 0;
}

TEST_F(OpenApi, SimulatorAnswersFitTheResponseSchemas) {
    sim::azion_simulator sim;
    sim.start();
    scratch_dir dir;
    auto cfg = client_config_for(sim, dir);
    asio::io_context ioc;
    azion::client api(ioc.get_executor(), cfg, "sim-token");
    asio::co_spawn(ioc, exercise(api), asio::detached);
    ioc.run_for(20s);
    const auto log = sim.requests();
    ASSERT_EQ(log.size(), 4u);

    const auto cert_schema = schema("Certificate");
    std::set<std::string> props, required;
    for (const auto& p : cert_schema["properties"]) props.insert(p.first.as<std::string>());
    for (const auto& r : cert_schema["required"]) required.insert(r.as<std::string>());
    std::set<std::string> statuses;
    for (const auto& s : cert_schema["properties"]["status"]["enum"]) statuses.insert(s.as<std::string>());
    auto check_certificate = [&](const json::object& c, bool full) {
        for (const auto& [k, v] : c) EXPECT_TRUE(props.count(std::string(k))) << k << " not in Certificate";
        if (full) {
            for (const auto& r : required) EXPECT_TRUE(c.contains(r)) << "required " << r << " missing";
        }
        if (c.contains("status")) {
            std::string st(c.at("status").as_string());
            std::transform(st.begin(), st.end(), st.begin(), ::tolower);
            EXPECT_TRUE(statuses.count(st)) << st;
        }
    };
    // POST and GET answer CertificateResponse: {"state", "data": Certificate}.
    for (std::size_t i : {0u, 1u}) {
        const auto body = json::parse(log[i].response_body).as_object();
        for (const auto& [k, v] : body) EXPECT_TRUE(k == "state" || k == "data") << k;
        EXPECT_LE(body.at("state").as_string().size(), 8u);
        check_certificate(body.at("data").as_object(), true);
    }
    EXPECT_EQ(log[0].status, 201u);
    // The list answers PaginatedCertificateList, with only the fields asked for.
    const auto list = json::parse(log[2].response_body).as_object();
    for (const auto& p : schema("PaginatedCertificateList")["properties"])
        EXPECT_TRUE(list.contains(p.first.as<std::string>())) << p.first.as<std::string>();
    for (const auto& c : list.at("results").as_array()) check_certificate(c.as_object(), false);
    // An unknown id answers 404 with the error shape.
    EXPECT_EQ(log[3].status, 404u);
    const auto err = json::parse(log[3].response_body).as_object();
    ASSERT_TRUE(err.contains("errors"));
    for (const auto& e : err.at("errors").as_array())
        for (const char* k : {"status", "code", "title", "detail"}) EXPECT_TRUE(e.as_object().contains(k)) << k;
}

asio::awaitable<int> exercise_workload(azion::client& api) {
    auto slot = co_await api.acquire_slot();
    azion::certificate_request r;
    r.name = "certq-1-shop.example.com";
    r.common_name = "shop.example.com";
    auto created = co_await api.request_certificate(slot, r);
    co_await api.get_workload(slot, 7);
    azion::workload_patch patch;
    patch.domains = std::vector<std::string>{"shop.example.com"};
    patch.set_certificate = true;
    patch.certificate = created.value.id;
    co_await api.patch_workload(slot, 7, patch);
    co_return 0;
}

TEST_F(OpenApi, WorkloadCallsAndAnswersFitTheSpec) {
    // The calls exist, GET takes `fields`, and the PATCH body holds only PatchedWorkloadRequest's
    // (and TLSWorkloadRequest's) properties.
    const auto one = path("/workspace/workloads/{workload_id}");
    ASSERT_TRUE(one["get"]);
    ASSERT_TRUE(one["patch"]);
    EXPECT_TRUE(parameter_names(one["get"]).count("fields"));
    azion::workload_patch patch;
    patch.domains = std::vector<std::string>{"a.example.com"};
    patch.set_certificate = true;
    patch.certificate = 9;
    const auto body = json::parse(azion::to_json(patch)).as_object();
    for (const auto& [key, value] : body)
        EXPECT_TRUE(schema("PatchedWorkloadRequest")["properties"][std::string(key)]) << key;
    for (const auto& [key, value] : body.at("tls").as_object())
        EXPECT_TRUE(schema("TLSWorkloadRequest")["properties"][std::string(key)]) << key;

    // The simulator answers WorkloadResponse: {"state", "data": Workload}.
    sim::sim_options options;
    options.issue_delay = 0ms;
    sim::azion_simulator sim(options);
    sim.start();
    sim.put_workload({7, "shop", {}, std::nullopt});
    scratch_dir dir;
    auto cfg = client_config_for(sim, dir);
    asio::io_context ioc;
    azion::client api(ioc.get_executor(), cfg, "sim-token");
    asio::co_spawn(ioc, exercise_workload(api), asio::detached);
    ioc.run_for(20s);
    const auto log = sim.requests();
    ASSERT_EQ(log.size(), 3u);
    std::set<std::string> props, required, tls_props;
    for (const auto& p : schema("Workload")["properties"]) props.insert(p.first.as<std::string>());
    for (const auto& r : schema("Workload")["required"]) required.insert(r.as<std::string>());
    for (const auto& p : schema("TLSWorkload")["properties"]) tls_props.insert(p.first.as<std::string>());
    for (std::size_t i : {1u, 2u}) {
        EXPECT_EQ(log[i].status, 200u) << log[i].response_body;
        const auto answer = json::parse(log[i].response_body).as_object();
        for (const auto& [k, v] : answer) EXPECT_TRUE(schema("WorkloadResponse")["properties"][std::string(k)]) << k;
        const auto& w = answer.at("data").as_object();
        for (const auto& [k, v] : w) EXPECT_TRUE(props.count(std::string(k))) << k << " not in Workload";
        for (const auto& [k, v] : w.at("tls").as_object()) EXPECT_TRUE(tls_props.count(std::string(k))) << k;
        if (i == 2) {
            for (const auto& r : required) EXPECT_TRUE(w.contains(r)) << "required " << r << " missing";
        }
    }
    EXPECT_NE(log[1].target.find("fields="), std::string::npos);
    EXPECT_EQ(log[2].method, "PATCH");
}

} // namespace
} // namespace certq::testing
