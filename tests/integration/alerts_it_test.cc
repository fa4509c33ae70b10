// Alerts end to end: the real jitd binary sending emergency use and drift
// to a signed webhook notifier and a Slack-compatible one, both a real
// receiver on 127.0.0.1 (docs/audit.md "Alerts", THREATS T16).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "jit/connectors/webhook/test_http_receiver.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

const std::string kHookSecret = "it-alerts-secret-0123456789abcdef";

class AlertsItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestHttpReceiverOptions options;
    options.secret = kHookSecret;
    receiver_ = std::make_unique<TestHttpReceiver>(options);
    ASSERT_TRUE(receiver_->Start().ok());
    // The receiver's own handling is for connector actions; alerts get 200.
    for (int i = 0; i < 50; ++i)
      receiver_->PushAnswer(CannedAnswer{200, "{}", {}});
    const std::string secret_file =
        WriteSecretFile(tmp_.path(), "hook.secret", kHookSecret);
    // eve holds "glass" in the target with no grant from jitd: drift.
    std::ofstream(tmp_.path() + "/demo.json") << R"({"version": 1, "grants": {
      "planted": {"request_id": "", "subject": "eve", "target_user": "eve",
                  "entitlement": "glass", "expires_at": ""}}})";
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), Config(secret_file));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string Config(const std::string& secret_file) const {
    return R"(storage: sqlite
auth:
  tokens:
    - {subject: alice, groups: [dev], token: ")" +
           kAlice + R"("}
    - {subject: bob, groups: [sre], token: ")" +
           kBob + R"("}
    - {subject: audrey, groups: [audit], token: ")" +
           kAuditor + R"("}
roles: {admin: [secops], auditor: [audit], enforcer: [hosts]}
connectors:
  - name: demo
    type: fake
    state_file: )" +
           tmp_.path() + R"(/demo.json
    discovery: {mode: report, every: 1s}
entitlements:
  - {name: glass, connector: demo, max_duration: 1h}
policies:
  - name: break-glass
    subjects: {groups: [dev]}
    entitlements: [glass]
    approval: {groups: [sre], count: 1}
    emergency: {allowed: true, max_duration: 15m, notify: [sec-oncall]}
notifiers:
  - name: secops-hook
    type: webhook
    url: )" +
           receiver_->Url("/hook") + R"(
    secret_file: )" +
           secret_file + R"(
    allow_private_addresses: true
    events: [emergency.used, drift.found, audit.verify_failed]
  - name: sec-oncall
    type: slack
    url: )" +
           receiver_->Url("/slack") + R"(
    allow_private_addresses: true
)";
  }

  std::vector<ReceivedDelivery> Of(const std::string& path,
                                   const std::string& type = "") const {
    std::vector<ReceivedDelivery> out;
    for (ReceivedDelivery& d : receiver_->Deliveries()) {
      if (d.target != path) continue;
      if (!type.empty() && (!d.body.is_object() || d.body["type"] != type))
        continue;
      out.push_back(std::move(d));
    }
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<TestHttpReceiver> receiver_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(AlertsItTest, EmergencyAndDriftReachTheNotifiers) {
  Reply asked = jitd_->Post(
      "/v1/requests", kAlice,
      {{"entitlement", "glass"},
       {"duration", "10m"},
       {"emergency", true},
       {"justification", "<!channel> primary down @here \u202Eexe.txt"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string request_id = asked.body.value("id", "");

  ASSERT_TRUE(WaitUntil(
      [&] {
        return !Of("/hook", "emergency.used").empty() &&
               !Of("/hook", "drift.found").empty() && !Of("/slack").empty();
      },
      std::chrono::seconds(20)))
      << jitd_->log();

  std::vector<ReceivedDelivery> used = Of("/hook", "emergency.used");
  ASSERT_EQ(used.size(), 1u);
  EXPECT_TRUE(used[0].signature_ok) << used[0].rejection;
  EXPECT_EQ(used[0].rejection, "");
  const nlohmann::json& f = used[0].body["fields"];
  EXPECT_EQ(f["requester"], "alice");
  EXPECT_EQ(f["entitlement"], "glass");
  EXPECT_EQ(f["duration"], "10m");
  EXPECT_EQ(f["justification"], "<!channel> primary down @here \u202Eexe.txt");
  EXPECT_EQ(f["request_id"], request_id);

  std::vector<ReceivedDelivery> drift = Of("/hook", "drift.found");
  ASSERT_GE(drift.size(), 1u);
  EXPECT_TRUE(drift[0].signature_ok) << drift[0].rejection;
  EXPECT_EQ(drift[0].body["fields"]["target_user"], "eve");
  EXPECT_EQ(drift[0].body["fields"]["privilege"], "glass");

  // The Slack notifier is named by the policy only: the emergency, nothing
  // else, and no mention survives.
  std::vector<ReceivedDelivery> slack = Of("/slack");
  ASSERT_EQ(slack.size(), 1u);
  EXPECT_EQ(slack[0].raw_body.find("<!channel>"), std::string::npos)
      << slack[0].raw_body;
  EXPECT_EQ(slack[0].raw_body.find("\u202E"), std::string::npos);
  EXPECT_NE(slack[0].raw_body.find("&lt;!channel&gt;"), std::string::npos)
      << slack[0].raw_body;

  Reply metrics = jitd_->Get("/metrics", "");
  EXPECT_NE(
      metrics.raw.find("jitd_alerts_sent_total{notifier=\"sec-oncall\"} 1"),
      std::string::npos)
      << metrics.raw;
}

TEST_F(AlertsItTest, AnEditedLogIsAlertedOnceHoweverOftenItIsVerified) {
  Reply asked = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "glass"},
                             {"duration", "10m"},
                             {"justification", "look at the slow query log"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string seq =
      Sqlite(jitd_->db_path(),
             "SELECT seq FROM audit WHERE type = 'request.created' LIMIT 1;");
  ASSERT_FALSE(seq.empty());
  // Edited while jitd is down (the triggers refuse it otherwise); jitd
  // verifies at start-up, then an auditor asks three times.
  jitd_->Stop();
  ASSERT_EQ(Sqlite(jitd_->db_path(),
                   "DROP TRIGGER IF EXISTS audit_no_update;"
                   "UPDATE audit SET data = replace(data, 'slow query log', "
                   "'payroll') WHERE seq = " +
                       seq.substr(0, seq.find('\n')) + ";"),
            "");
  Status restarted = jitd_->Start();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  for (int i = 0; i < 3; ++i) {
    Reply v = jitd_->Get("/v1/audit/verify", kAuditor);
    ASSERT_EQ(v.status, 200) << v.raw;
    ASSERT_EQ(v.body.value("ok", true), false) << v.raw;
  }
  ASSERT_TRUE(
      WaitUntil([&] { return !Of("/hook", "audit.verify_failed").empty(); },
                std::chrono::seconds(20)))
      << jitd_->log();
  // One more verification after the alert: still the same failure.
  ASSERT_EQ(jitd_->Get("/v1/audit/verify", kAuditor).status, 200);
  Reply head = jitd_->Get("/v1/audit?limit=1000", kAuditor);
  int raised = 0;
  for (const auto& e : head.body["items"])
    raised += e["type"] == "audit.verify_failed";
  EXPECT_EQ(raised, 1) << head.raw;
  std::vector<ReceivedDelivery> got = Of("/hook", "audit.verify_failed");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].signature_ok);
  EXPECT_EQ(
      std::to_string(got[0].body["fields"]["first_bad_seq"].get<int64_t>()) +
          "\n",
      seq);
}

TEST(AlertsConfigItTest, PolicyNamingAnUnknownNotifierIsRefused) {
  TempDir tmp;
  std::string config = TestConfig(tmp.path() + "/target");
  const std::string line = "    emergency: {allowed: true, max_duration: 15m}";
  size_t at = config.find(line);
  ASSERT_NE(at, std::string::npos);
  config.replace(at, line.size(),
                 "    emergency: {allowed: true, max_duration: 15m, "
                 "notify: [nobody]}");
  JitdProcess bad(tmp.path(), config);
  auto result = bad.RunToExit();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_NE(result->first, 0);
  EXPECT_NE(result->second.find("emergency.notify names unknown notifier "
                                "\"nobody\""),
            std::string::npos)
      << result->second;
}

}  // namespace
}  // namespace jit::testing
