// The webhook connector end to end: the real jitd binary delivering signed
// grants and revokes to a real receiver on 127.0.0.1 (THREATS T11, T19).
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

const std::string kHookSecret = "it-webhook-secret-0123456789abcdef";

std::vector<ReceivedDelivery> Of(const TestHttpReceiver& receiver,
                                 const std::string& action,
                                 const std::string& grant_id) {
  std::vector<ReceivedDelivery> out;
  for (const ReceivedDelivery& d : receiver.Deliveries()) {
    if (d.action == action && d.grant_id == grant_id) out.push_back(d);
  }
  return out;
}

class WebhookItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestHttpReceiverOptions options;
    options.secret = kHookSecret;
    receiver_ = std::make_unique<TestHttpReceiver>(options);
    Status started = receiver_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    const std::string secret_file =
        WriteSecretFile(tmp_.path(), "idp.secret", kHookSecret);
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
    - {subject: audrey, groups: [audit], token: ")" +
           kAuditor + R"("}
roles: {admin: [secops], auditor: [audit], enforcer: [hosts]}
connectors:
  - name: idp
    type: webhook
    url: )" +
           receiver_->Url() +
           R"(
    secret_file: )" +
           secret_file + R"(
    timeout: 1s
    retries: 1
    allow_private_addresses: true
entitlements:
  - {name: idp-admins, connector: idp, params: {group_id: g-123}, max_duration: 1h}
policies:
  - name: auto-idp
    subjects: {groups: [dev]}
    entitlements: [idp-admins]
    max_duration: 1h
    approval: {auto: true}
)";
  }

  // An auto-approved grant of idp-admins for `duration`; its grant id.
  std::string ActiveGrant(const std::string& duration) {
    Reply asked =
        jitd_->Post("/v1/requests", kAlice,
                    {{"entitlement", "idp-admins"},
                     {"duration", duration},
                     {"justification", "rotate the IdP signing key"}});
    EXPECT_EQ(asked.status, 201) << asked.raw;
    EXPECT_EQ(asked.body["state"], "active") << asked.raw;
    return asked.body.value("grant_id", "");
  }
  std::string GrantState(const std::string& grant_id) {
    return jitd_->Get("/v1/grants/" + grant_id, kAlice).body.value("state", "");
  }
  bool Allowed() {
    Reply check =
        jitd_->Post("/v1/check", kAlice,
                    {{"subject", "alice"}, {"entitlement", "idp-admins"}});
    return check.status == 200 && check.body.value("allowed", false);
  }

  TempDir tmp_;
  std::unique_ptr<TestHttpReceiver> receiver_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(WebhookItTest, GrantAndExpiryArriveAsSignedDeliveries) {
  std::string grant_id = ActiveGrant("2s");
  ASSERT_FALSE(grant_id.empty());
  EXPECT_TRUE(receiver_->Holds(grant_id));
  std::vector<ReceivedDelivery> grants = Of(*receiver_, "grant", grant_id);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_TRUE(grants[0].signature_ok);
  EXPECT_EQ(grants[0].rejection, "");
  EXPECT_EQ(grants[0].body["subject"], "alice");
  EXPECT_EQ(grants[0].body["entitlement"], "idp-admins");
  EXPECT_EQ(grants[0].body["params"]["group_id"], "g-123");
  EXPECT_TRUE(Allowed());

  ASSERT_TRUE(WaitUntil([&] { return GrantState(grant_id) == "ended"; },
                        std::chrono::seconds(10)))
      << jitd_->log();
  EXPECT_FALSE(receiver_->Holds(grant_id));
  std::vector<ReceivedDelivery> revokes = Of(*receiver_, "revoke", grant_id);
  ASSERT_GE(revokes.size(), 1u);
  EXPECT_TRUE(revokes.back().signature_ok);
  EXPECT_EQ(revokes.back().rejection, "");
  EXPECT_FALSE(Allowed());
}

TEST_F(WebhookItTest, T11_ReceiverDownAtRevokeStaysPendingUntilItIsBack) {
  std::string grant_id = ActiveGrant("2s");
  ASSERT_TRUE(receiver_->Holds(grant_id));
  receiver_->Stop();
  ASSERT_TRUE(
      WaitUntil([&] { return GrantState(grant_id) == "revoke_pending"; },
                std::chrono::seconds(15)))
      << jitd_->log();
  EXPECT_TRUE(receiver_->Holds(grant_id));  // the target still has it ...
  EXPECT_FALSE(Allowed());                  // ... but jitd already denies

  Status back = receiver_->Start();  // same port
  ASSERT_TRUE(back.ok()) << back.ToString();
  ASSERT_TRUE(WaitUntil([&] { return GrantState(grant_id) == "ended"; },
                        std::chrono::seconds(30)))
      << jitd_->log();
  EXPECT_FALSE(receiver_->Holds(grant_id));
  EXPECT_FALSE(Allowed());
}

}  // namespace
}  // namespace jit::testing
