// Slack approvals end to end: the real jitd binary posts a pending request
// to a Slack-compatible incoming webhook (a real receiver on 127.0.0.1)
// with Approve/Deny buttons, and answers button presses sent the way Slack
// signs them to POST /v1/integrations/slack/actions (docs/slack.md). Only
// the correctly signed, fresh, first, non-self press by a mapped approver
// changes anything (THREATS T1, T9).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "jit/connectors/webhook/test_http_receiver.h"
#include "jit/workflow/slack/slack_signature.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using nlohmann::json;

const std::string kSigningSecret = "it-slack-signing-secret-0123456789";

std::string FormEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UnixNow(std::chrono::seconds offset = std::chrono::seconds(0)) {
  return std::to_string(
      std::chrono::floor<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch() + offset)
          .count());
}

// A press as Slack sends it: form body payload=<json>, signed.
struct Press {
  std::string body;
  std::string timestamp;
  std::string signature;
};

Press MakePress(const std::string& user, const std::string& action,
                const std::string& value, const std::string& timestamp,
                const std::string& secret = kSigningSecret) {
  const json payload = {
      {"type", "block_actions"},
      {"user", {{"id", user}}},
      {"actions",
       json::array(
           {{{"type", "button"}, {"action_id", action}, {"value", value}}})}};
  Press p;
  p.body = "payload=" + FormEncode(payload.dump());
  p.timestamp = timestamp;
  p.signature = SlackSignature(secret, timestamp, p.body);
  return p;
}

class SlackItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_ = std::make_unique<TestHttpReceiver>(TestHttpReceiverOptions{});
    ASSERT_TRUE(receiver_->Start().ok());
    for (int i = 0; i < 20; ++i)
      receiver_->PushAnswer(CannedAnswer{200, "ok", {}});
    const std::string secret_file =
        WriteSecretFile(tmp_.path(), "slack.secret", kSigningSecret);
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
  - {name: demo, type: fake}
entitlements:
  - {name: db-write, connector: demo, max_duration: 1h}
policies:
  - name: db-write-one-sre
    subjects: {groups: [dev]}
    entitlements: [db-write]
    require: {justification_min_chars: 10}
    approval: {groups: [sre], count: 1}
notifiers:
  - name: approvals
    type: slack
    url: )" +
           receiver_->Url("/slack") + R"(
    allow_private_addresses: true
    events: [request.created]
integrations:
  slack:
    signing_secret_file: )" +
           secret_file + R"(
    users: {U0BOB: bob, U0ALICE: alice}
)";
  }

  Reply Send(const Press& p) const {
    return jitd_->Call("POST", "/v1/integrations/slack/actions", "", p.body,
                       {{"Content-Type", "application/x-www-form-urlencoded"},
                        {"X-Slack-Request-Timestamp", p.timestamp},
                        {"X-Slack-Signature", p.signature}});
  }

  std::string State(const std::string& id) const {
    return jitd_->Get("/v1/requests/" + id, kAuditor).body.value("state", "");
  }

  std::vector<json> Approvals(const std::string& id) const {
    std::vector<json> out;
    Reply audit = jitd_->Get("/v1/audit?limit=1000", kAuditor);
    for (const json& e : audit.body["items"]) {
      if (e["type"] == "request.approved" && e["request_id"] == id)
        out.push_back(e);
    }
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<TestHttpReceiver> receiver_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(SlackItTest, OnlyAFreshCorrectlySignedNonSelfPressApproves) {
  Reply asked = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "db-write"},
                             {"duration", "30m"},
                             {"ticket", "OPS-7"},
                             {"justification", "migrate the orders table"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string id = asked.body.value("id", "");
  ASSERT_EQ(asked.body.value("state", ""), "pending");

  // The message with buttons reaches the incoming webhook.
  ASSERT_TRUE(WaitUntil([&] { return !receiver_->Deliveries().empty(); },
                        std::chrono::seconds(20)))
      << jitd_->log();
  const ReceivedDelivery msg = receiver_->Deliveries()[0];
  EXPECT_EQ(msg.target, "/slack");
  json buttons;
  for (const json& b : msg.body["blocks"])
    if (b["type"] == "actions") buttons = b["elements"];
  ASSERT_EQ(buttons.size(), 2u) << msg.raw_body;
  EXPECT_EQ(buttons[0]["action_id"], "jitd_approve");
  EXPECT_EQ(buttons[0]["value"], id);
  EXPECT_EQ(buttons[1]["action_id"], "jitd_deny");
  EXPECT_EQ(buttons[1]["value"], id);
  for (const char* shown : {"alice", "db-write", "30m", "OPS-7",
                            "migrate the orders table", "db-write-one-sre"}) {
    EXPECT_NE(msg.raw_body.find(shown), std::string::npos) << shown;
  }

  // Wrong secret, stale, from the future, unsigned: 401, nothing changes.
  EXPECT_EQ(Send(MakePress("U0BOB", "jitd_approve", id, UnixNow(),
                           "not-the-signing-secret-0123"))
                .status,
            401);
  EXPECT_EQ(Send(MakePress("U0BOB", "jitd_approve", id,
                           UnixNow(-std::chrono::minutes(6))))
                .status,
            401);
  EXPECT_EQ(Send(MakePress("U0BOB", "jitd_approve", id,
                           UnixNow(std::chrono::minutes(6))))
                .status,
            401);
  Press unsigned_press = MakePress("U0BOB", "jitd_approve", id, UnixNow());
  unsigned_press.signature = "";
  EXPECT_EQ(Send(unsigned_press).status, 401);
  // A tampered body under a good signature.
  Press tampered = MakePress("U0BOB", "jitd_approve", id, UnixNow());
  tampered.body += "&x=1";
  EXPECT_EQ(Send(tampered).status, 401);

  // Correctly signed but unmapped, or the requester herself: refused in
  // Slack, nothing changes.
  Reply stranger = Send(MakePress("U0EVE", "jitd_approve", id, UnixNow()));
  ASSERT_EQ(stranger.status, 200) << stranger.raw;
  EXPECT_EQ(stranger.body["response_type"], "ephemeral");
  EXPECT_NE(stranger.raw.find("not mapped"), std::string::npos);
  Reply self = Send(MakePress("U0ALICE", "jitd_approve", id, UnixNow()));
  ASSERT_EQ(self.status, 200) << self.raw;
  EXPECT_EQ(self.body["response_type"], "ephemeral");
  EXPECT_NE(self.raw.find("self_approval"), std::string::npos) << self.raw;
  EXPECT_EQ(State(id), "pending");
  EXPECT_TRUE(Approvals(id).empty());

  // bob's press approves, and the audit says it came from Slack.
  const Press good = MakePress("U0BOB", "jitd_approve", id, UnixNow());
  Reply approved = Send(good);
  ASSERT_EQ(approved.status, 200) << approved.raw;
  EXPECT_EQ(approved.body["replace_original"], true) << approved.raw;
  EXPECT_NE(approved.raw.find("Approved by bob"), std::string::npos);
  EXPECT_EQ(State(id), "active");
  std::vector<json> events = Approvals(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"], "bob");
  EXPECT_EQ(events[0]["data"]["via"], "slack") << events[0].dump();
  EXPECT_EQ(events[0]["data"]["via_user"], "U0BOB");

  // The same press again is a replay: 401, no second event.
  EXPECT_EQ(Send(good).status, 401);
  EXPECT_EQ(Approvals(id).size(), 1u);
  EXPECT_EQ(jitd_->Get("/v1/audit/verify", kAuditor).body.value("ok", false),
            true);
}

}  // namespace
}  // namespace jit::testing
