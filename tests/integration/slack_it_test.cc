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
    - {subject: adam, groups: [secops], token: ")" +
           kAdmin + R"("}
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
    emergency: {allowed: true, max_duration: 15m}
notifiers:
  - name: approvals
    type: slack
    url: )" +
           receiver_->Url("/slack") + R"(
    allow_private_addresses: true
    events: [request.created, grant.expiring, emergency.used]
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

  // The messages posted so far whose header says `title`.
  std::vector<ReceivedDelivery> Posted(const std::string& title) const {
    std::vector<ReceivedDelivery> out;
    for (const ReceivedDelivery& d : receiver_->Deliveries()) {
      if (!d.body.is_object() || !d.body.contains("blocks")) continue;
      for (const json& b : d.body["blocks"]) {
        if (b.value("type", "") == "header" &&
            b["text"].value("text", "") == title) {
          out.push_back(d);
        }
      }
    }
    return out;
  }

  // The buttons of a posted message.
  static json Buttons(const ReceivedDelivery& d) {
    for (const json& b : d.body["blocks"])
      if (b["type"] == "actions") return b["elements"];
    return json::array();
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

// Emergency use, by an emergency request and by a break-glass code, is
// posted to the same channel as requests waiting for approval, without
// buttons (the use has begun or is already asked for with its own).
TEST_F(SlackItTest, EmergencyUsePostsToTheApproversChannel) {
  Reply urgent = jitd_->Post("/v1/requests", kAlice,
                             {{"entitlement", "db-write"},
                              {"duration", "10m"},
                              {"emergency", true},
                              {"ticket", "INC-1"},
                              {"justification", "orders table is locked up"}});
  ASSERT_EQ(urgent.status, 201) << urgent.raw;
  const std::string urgent_id = urgent.body.value("id", "");
  // This policy still wants an approver for emergency requests.
  ASSERT_EQ(urgent.body.value("state", ""), "pending") << urgent.raw;

  Reply issued = jitd_->Post("/v1/breakglass/codes", kAdmin, {{"count", 1}});
  ASSERT_EQ(issued.status, 201) << issued.raw;
  const std::string code = issued.body["items"][0].value("code", "");
  Reply glass =
      jitd_->Post("/v1/breakglass/activate", "",
                  {{"code", code},
                   {"subject", "alice"},
                   {"entitlement", "db-write"},
                   {"duration", "5m"},
                   {"ticket", "INC-2"},
                   {"justification", "the primary is down, <!channel>"}});
  ASSERT_EQ(glass.status, 201) << glass.raw;
  const std::string glass_id = glass.body.value("id", "");

  ASSERT_TRUE(
      WaitUntil([&] { return Posted("Emergency access used").size() >= 2; },
                std::chrono::seconds(20)))
      << jitd_->log();
  std::vector<ReceivedDelivery> used = Posted("Emergency access used");
  ASSERT_EQ(used.size(), 2u);
  for (const ReceivedDelivery& d : used) {
    EXPECT_EQ(d.target, "/slack");
    EXPECT_TRUE(Buttons(d).empty()) << d.raw_body;
  }
  for (const char* shown :
       {"alice", "db-write", "10m", "INC-1", "orders table is locked up"}) {
    EXPECT_NE(used[0].raw_body.find(shown), std::string::npos) << shown;
  }
  EXPECT_NE(used[0].raw_body.find(urgent_id), std::string::npos);
  EXPECT_NE(used[1].raw_body.find(glass_id), std::string::npos);
  EXPECT_NE(used[1].raw_body.find("INC-2"), std::string::npos);
  // User text cannot ping the channel.
  EXPECT_EQ(used[1].raw_body.find("<!channel>"), std::string::npos);
  EXPECT_NE(used[1].raw_body.find("&lt;!channel&gt;"), std::string::npos);
  // The emergency request also waits for approval, with buttons; the code
  // stood in for the approvers.
  std::vector<ReceivedDelivery> asks = Posted("Approval needed");
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_NE(asks[0].raw_body.find(urgent_id), std::string::npos);
  EXPECT_EQ(Buttons(asks[0]).size(), 2u);
}

// Five minutes before a grant ends its holder is told, with an Extend
// button; only the holder's correctly signed press asks for the extension,
// which then waits for an approver like any other.
TEST_F(SlackItTest, ExpiringGrantIsPostedWithAnExtendButtonThatWorks) {
  Reply asked = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "db-write"},
                             {"duration", "4m"},
                             {"justification", "rebuild the orders index"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string id = asked.body.value("id", "");
  Reply ok =
      jitd_->Post("/v1/requests/" + id + "/approve", kBob, {{"comment", "go"}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  const std::string grant_id = ok.body.value("grant_id", "");
  ASSERT_FALSE(grant_id.empty()) << ok.raw;
  const std::string expires_before =
      jitd_->Get("/v1/grants/" + grant_id, kAlice).body.value("expires_at", "");
  ASSERT_FALSE(expires_before.empty());

  // The notice pass runs every 15 s: the grant ends within 5 minutes.
  ASSERT_TRUE(WaitUntil([&] { return !Posted("Access expires soon").empty(); },
                        std::chrono::seconds(30)))
      << jitd_->log();
  const ReceivedDelivery msg = Posted("Access expires soon")[0];
  json buttons = Buttons(msg);
  ASSERT_EQ(buttons.size(), 1u) << msg.raw_body;
  EXPECT_EQ(buttons[0]["action_id"], "jitd_extend");
  EXPECT_EQ(buttons[0]["value"], grant_id);
  for (const char* shown : {"alice", "db-write", "expires in 5 minutes"})
    EXPECT_NE(msg.raw_body.find(shown), std::string::npos) << shown;

  // A bad signature, or someone else's press: nothing asked.
  EXPECT_EQ(Send(MakePress("U0ALICE", "jitd_extend", grant_id, UnixNow(),
                           "not-the-signing-secret-0123"))
                .status,
            401);
  Reply other = Send(MakePress("U0BOB", "jitd_extend", grant_id, UnixNow()));
  ASSERT_EQ(other.status, 200) << other.raw;
  EXPECT_EQ(other.body["response_type"], "ephemeral") << other.raw;
  Reply pending = jitd_->Get("/v1/requests?state=pending", kAuditor);
  ASSERT_EQ(pending.status, 200);
  ASSERT_TRUE(pending.body["items"].empty()) << pending.raw;

  // The holder's press asks for one more term; bob approves it from Slack
  // and the grant ends later than before.
  Reply extend = Send(MakePress("U0ALICE", "jitd_extend", grant_id, UnixNow()));
  ASSERT_EQ(extend.status, 200) << extend.raw;
  EXPECT_NE(extend.raw.find("Extension asked by alice"), std::string::npos)
      << extend.raw;
  pending = jitd_->Get("/v1/requests?state=pending", kAuditor);
  ASSERT_EQ(pending.body["items"].size(), 1u) << pending.raw;
  const std::string ext_id = pending.body["items"][0].value("id", "");
  Reply approved = Send(MakePress("U0BOB", "jitd_approve", ext_id, UnixNow()));
  ASSERT_EQ(approved.status, 200) << approved.raw;
  EXPECT_NE(approved.raw.find("Approved by bob"), std::string::npos)
      << approved.raw;
  const std::string expires_after =
      jitd_->Get("/v1/grants/" + grant_id, kAlice).body.value("expires_at", "");
  EXPECT_GT(expires_after, expires_before);
}

}  // namespace
}  // namespace jit::testing
