#include "jit/workflow/slack/slack_actions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kSecret = "slack-unit-signing-secret-0123456789";

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

std::string Payload(const std::string& user, std::string_view action,
                    const std::string& value) {
  return json{
      {"type", "block_actions"},
      {"user", {{"id", user}, {"username", "someone"}}},
      {"team", {{"id", "T0001"}}},
      {"actions",
       json::array(
           {{{"type", "button"}, {"action_id", action}, {"value", value}}})}}
      .dump();
}

class SlackActionsTest : public ::testing::Test {
 protected:
  SlackActionsTest()
      : service_(Config(), rig_.requests, rig_.policies, &seen_, rig_.clock) {}

  static SlackIntegrationConfig Config() {
    SlackIntegrationConfig c;
    c.signing_secret = kSecret;
    c.users = {{"U0ALICE", "alice"},   {"U0BOB", "bob"},
               {"U0ALT", "alice-alt"}, {"U0MAL", "mallory"},
               {"U0IDP", "ivan"},      {"U0GONE", "nobody-known"}};
    return c;
  }

  SlackDelivery Signed(const std::string& payload) const {
    SlackDelivery d;
    d.payload = payload;
    d.body = "payload=" + FormEncode(payload);
    d.timestamp = std::to_string(
        std::chrono::floor<seconds>(rig_.clock.Now().time_since_epoch())
            .count());
    d.signature = SlackSignature(kSecret, *d.timestamp, d.body);
    return d;
  }

  StatusOr<json> Press(const std::string& user, std::string_view action,
                       const std::string& value) {
    return service_.Handle(Signed(Payload(user, action, value)));
  }

  // A db-write request of alice waiting for one sre approval.
  std::string Pending() {
    auto v = rig_.Ask("alice", "db-write", minutes(30));
    EXPECT_TRUE(IsOk(v));
    return v.ok() ? v->request.id : "";
  }

  int Count(const std::string& id, AuditType type) {
    int n = 0;
    for (const AuditEvent& e : rig_.EventsOf(id)) n += e.type == type;
    return n;
  }

  TestRig rig_;
  SeenSubjects seen_{rig_.clock};
  SlackActionService service_;
};

TEST_F(SlackActionsTest, MappedApproverApprovesAndTheAuditSaysSlack) {
  const std::string id = Pending();
  auto answer = Press("U0BOB", kSlackApproveAction, id);
  ASSERT_TRUE(IsOk(answer));
  EXPECT_EQ((*answer)["replace_original"], true) << answer->dump();
  EXPECT_NE((*answer)["text"].get<std::string>().find("Approved by bob"),
            std::string::npos)
      << answer->dump();
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kActive);
  bool found = false;
  for (const AuditEvent& e : rig_.EventsOf(id)) {
    if (e.type != AuditType::kRequestApproved) continue;
    const json data = json::parse(e.data);
    EXPECT_EQ(e.actor, "bob");
    EXPECT_EQ(data["via"], "slack");
    EXPECT_EQ(data["via_user"], "U0BOB");
    found = true;
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(rig_.VerifyAudit().ok);
}

TEST_F(SlackActionsTest, DenyFromSlack) {
  const std::string id = Pending();
  auto answer = Press("U0BOB", kSlackDenyAction, id);
  ASSERT_TRUE(IsOk(answer));
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kDenied);
  ASSERT_EQ(Count(id, AuditType::kRequestDenied), 1);
  for (const AuditEvent& e : rig_.EventsOf(id)) {
    if (e.type == AuditType::kRequestDenied) {
      EXPECT_EQ(json::parse(e.data)["via"], "slack");
    }
  }
}

TEST_F(SlackActionsTest, SelfApprovalAlsoUnderAnAliasIsRefused_T1) {
  const std::string id = Pending();
  for (const std::string user : {"U0ALICE", "U0ALT"}) {
    auto answer = Press(user, kSlackApproveAction, id);
    ASSERT_TRUE(IsOk(answer));
    EXPECT_EQ((*answer)["response_type"], "ephemeral") << answer->dump();
    EXPECT_EQ((*answer)["replace_original"], false);
    EXPECT_NE((*answer)["text"].get<std::string>().find("self_approval"),
              std::string::npos)
        << answer->dump();
  }
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(Count(id, AuditType::kRequestApproved), 0);
}

TEST_F(SlackActionsTest, NonApproverIsRefused_T3) {
  const std::string id = Pending();
  auto answer = Press("U0MAL", kSlackApproveAction, id);
  ASSERT_TRUE(IsOk(answer));
  EXPECT_NE((*answer)["text"].get<std::string>().find("not_an_approver"),
            std::string::npos)
      << answer->dump();
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);
}

TEST_F(SlackActionsTest, UnmappedUserChangesNothing) {
  const std::string id = Pending();
  const size_t events = rig_.Audit().size();
  auto answer = Press("U0STRANGER", kSlackApproveAction, id);
  ASSERT_TRUE(IsOk(answer));
  EXPECT_EQ((*answer)["response_type"], "ephemeral");
  EXPECT_NE((*answer)["text"].get<std::string>().find("not mapped"),
            std::string::npos)
      << answer->dump();
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(rig_.Audit().size(), events);
}

TEST_F(SlackActionsTest, IdpUserActsWithTheGroupsLastSeen) {
  const std::string id = Pending();
  // Not seen yet: jitd cannot tell whether ivan is an approver.
  auto unknown = Press("U0IDP", kSlackApproveAction, id);
  ASSERT_TRUE(IsOk(unknown));
  EXPECT_NE((*unknown)["text"].get<std::string>().find("sign in"),
            std::string::npos)
      << unknown->dump();
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);
  seen_.Record(Subject{"ivan", "ivan", {"sre"}});
  rig_.clock.Advance(seconds(1));  // a new press, not a replay of the first
  ASSERT_TRUE(IsOk(Press("U0IDP", kSlackApproveAction, id)));
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kActive);
}

TEST_F(SlackActionsTest, BadSignatureAndReplayChangeNothing) {
  const std::string id = Pending();
  SlackDelivery d = Signed(Payload("U0BOB", kSlackApproveAction, id));
  SlackDelivery forged = d;
  forged.signature =
      SlackSignature("not-the-secret-0123456789", *d.timestamp, d.body);
  EXPECT_TRUE(HasError(service_.Handle(forged), StatusCode::kUnauthenticated));
  SlackDelivery stale = d;
  stale.timestamp =
      std::to_string(std::chrono::floor<seconds>(
                         (rig_.clock.Now() - minutes(6)).time_since_epoch())
                         .count());
  stale.signature = SlackSignature(kSecret, *stale.timestamp, d.body);
  EXPECT_TRUE(HasError(service_.Handle(stale), StatusCode::kUnauthenticated));
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(Count(id, AuditType::kRequestApproved), 0);

  ASSERT_TRUE(IsOk(service_.Handle(d)));
  const size_t events = rig_.Audit().size();
  EXPECT_TRUE(HasError(service_.Handle(d), StatusCode::kUnauthenticated));
  EXPECT_EQ(rig_.Audit().size(), events);
}

TEST_F(SlackActionsTest, ExtendButtonExtendsTheHoldersGrant) {
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant.empty());
  rig_.clock.Advance(minutes(26));
  // Only the holder may extend.
  auto other = Press("U0BOB", kSlackExtendAction, grant);
  ASSERT_TRUE(IsOk(other));
  EXPECT_EQ((*other)["response_type"], "ephemeral") << other->dump();
  const SystemTime before = rig_.StoredGrant(grant).expires_at;
  auto answer = Press("U0ALICE", kSlackExtendAction, grant);
  ASSERT_TRUE(IsOk(answer));
  EXPECT_EQ((*answer)["replace_original"], true) << answer->dump();
  // One more term of 30 minutes counted from now.
  EXPECT_EQ(rig_.StoredGrant(grant).expires_at, rig_.clock.Now() + minutes(30));
  EXPECT_GT(rig_.StoredGrant(grant).expires_at, before);
  bool via = false;
  for (const AuditEvent& e : rig_.Audit()) {
    if (e.type == AuditType::kRequestCreated &&
        json::parse(e.data).value("extends", "") == grant)
      via = json::parse(e.data).value("via", "") == "slack";
  }
  EXPECT_TRUE(via);
}

TEST_F(SlackActionsTest, AnExtendReplayedAfterARestartIsRefused) {
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant.empty());
  rig_.clock.Advance(minutes(26));
  SlackDelivery press = Signed(Payload("U0ALICE", kSlackExtendAction, grant));
  {
    SlackActionService before(Config(), rig_.requests, rig_.policies, &seen_,
                              rig_.clock, {}, &rig_.store);
    ASSERT_TRUE(IsOk(before.Handle(press)));
  }
  const SystemTime extended = rig_.StoredGrant(grant).expires_at;
  const size_t events = rig_.Audit().size();
  // jitd restarted within the window: its memory is new, the store is not.
  rig_.clock.Advance(minutes(1));
  SlackActionService after(Config(), rig_.requests, rig_.policies, &seen_,
                           rig_.clock, {}, &rig_.store);
  EXPECT_TRUE(HasError(after.Handle(press), StatusCode::kUnauthenticated));
  EXPECT_EQ(rig_.StoredGrant(grant).expires_at, extended);
  EXPECT_EQ(rig_.Audit().size(), events);
}

TEST_F(SlackActionsTest, MalformedPayloadsAndUnknownActions) {
  EXPECT_TRUE(HasError(service_.Handle(Signed("not json")),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(service_.Handle(Signed(R"({"type":"view_submission"})")),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(
      service_.Handle(Signed(R"({"type":"block_actions","actions":[]})")),
      StatusCode::kInvalidArgument));
  auto unknown = Press("U0BOB", "jitd_frobnicate", "req_1");
  ASSERT_TRUE(IsOk(unknown));
  EXPECT_EQ((*unknown)["response_type"], "ephemeral");
  auto bad_id = Press("U0BOB", kSlackApproveAction, "../../etc/passwd");
  ASSERT_TRUE(IsOk(bad_id));
  EXPECT_EQ((*bad_id)["response_type"], "ephemeral");
}

TEST_F(SlackActionsTest, UserTextInAnswersIsEscaped_T16) {
  auto answer = Press("U0BOB", "<!channel>", "x");
  ASSERT_TRUE(IsOk(answer));
  EXPECT_EQ(answer->dump().find("<!channel>"), std::string::npos)
      << answer->dump();
}

class SlackConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("slack_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    secret_ = (dir_ / "signing.secret").string();
    std::ofstream(secret_) << kSecret << "\n";
    Chmod(std::filesystem::perms::owner_read |
          std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Chmod(std::filesystem::perms p) {
    std::filesystem::permissions(secret_, p,
                                 std::filesystem::perm_options::replace);
  }
  StatusOr<SlackIntegrationConfig> Parse(json users) {
    return ParseSlackIntegrationConfig(
        {{"signing_secret_file", secret_}, {"users", std::move(users)}},
        "jitd.yaml:9");
  }

  std::filesystem::path dir_;
  std::string secret_;
};

TEST_F(SlackConfigTest, ReadsSecretAndUsers) {
  auto c = Parse({{"U012ABC", "alice"}, {"W0XYZ", "bob"}});
  ASSERT_TRUE(IsOk(c));
  EXPECT_EQ(c->signing_secret, kSecret);
  EXPECT_EQ(c->users.at("U012ABC"), "alice");
  EXPECT_EQ(c->users.size(), 2u);
}

TEST_F(SlackConfigTest, RefusesASecretTheGroupOrOthersMayRead) {
  using std::filesystem::perms;
  Chmod(perms::owner_read | perms::group_read);
  EXPECT_TRUE(HasError(Parse(json::object()), StatusCode::kInvalidArgument));
  Chmod(perms::owner_read | perms::others_read);
  EXPECT_TRUE(HasError(Parse(json::object()), StatusCode::kInvalidArgument));
  Chmod(perms::owner_read);
  EXPECT_TRUE(IsOk(Parse(json::object())));
}

TEST_F(SlackConfigTest, RefusesBadKeysUsersAndMissingSecret) {
  auto unknown = ParseSlackIntegrationConfig(
      {{"signing_secret_file", secret_}, {"token", "x"}}, "f:1");
  EXPECT_TRUE(HasError(unknown, StatusCode::kInvalidArgument));
  EXPECT_NE(unknown.status().message().find("unknown key"), std::string::npos);
  EXPECT_TRUE(HasError(ParseSlackIntegrationConfig(json::object(), "f:1"),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(
      HasError(Parse({{"alice", "alice"}}), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(Parse({{"U012ABC", ""}}), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(Parse({{"U012ABC", 7}}), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(Parse(json::array()), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(
      ParseSlackIntegrationConfig(
          {{"signing_secret_file", (dir_ / "missing").string()}}, "f:1"),
      StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

json ActionsBlock(const json& message) {
  for (const json& b : message["blocks"])
    if (b["type"] == "actions") return b;
  return nullptr;
}

TEST(SlackButtonsTest, PendingRequestGetsApproveAndDeny) {
  Alert a;
  a.type = "request.created";
  a.seq = 4;
  a.time = RigStart();
  a.summary = "alice asks for db-write for 30m; 1 approval needed";
  a.fields = {{"requester", "alice"},
              {"entitlement", "db-write"},
              {"duration", "30m"},
              {"policy", "db-write-one-sre"},
              {"justification", "<!here> fix"},
              {"ticket", "OPS-1"},
              {"request_id", "req_0123"}};
  const json actions = ActionsBlock(SlackAlertMessage(a));
  ASSERT_FALSE(actions.is_null());
  const json want = json::parse(R"([
    {"type": "button", "action_id": "jitd_approve", "style": "primary",
     "text": {"type": "plain_text", "text": "Approve"}, "value": "req_0123"},
    {"type": "button", "action_id": "jitd_deny", "style": "danger",
     "text": {"type": "plain_text", "text": "Deny"}, "value": "req_0123"}])");
  EXPECT_EQ(actions["elements"], want) << actions.dump(2);
  const std::string text = SlackAlertMessage(a).dump();
  for (const char* shown :
       {"*Requester*\\nalice", "*Entitlement*\\ndb-write", "*Duration*\\n30m",
        "*Policy*\\ndb-write-one-sre", "*Ticket*\\nOPS-1",
        "*Request*\\nreq_0123", "&lt;!here&gt; fix"}) {
    EXPECT_NE(text.find(shown), std::string::npos) << shown << " in " << text;
  }
}

TEST(SlackButtonsTest, ExpiringGrantGetsExtendOthersNone) {
  Alert a;
  a.type = "grant.expiring";
  a.time = RigStart();
  a.summary = "alice's access to dev-shell expires in 5 minutes";
  a.fields = {{"subject", "alice"}, {"grant_id", "grt_77"}};
  const json actions = ActionsBlock(SlackAlertMessage(a));
  ASSERT_FALSE(actions.is_null());
  ASSERT_EQ(actions["elements"].size(), 1u);
  EXPECT_EQ(actions["elements"][0]["action_id"], "jitd_extend");
  EXPECT_EQ(actions["elements"][0]["value"], "grt_77");
  EXPECT_EQ(SlackAlertMessage(a)["blocks"][0]["text"]["text"],
            "Access expires soon");
  a.type = "emergency.used";
  a.fields["request_id"] = "req_1";
  EXPECT_TRUE(ActionsBlock(SlackAlertMessage(a)).is_null());
}

}  // namespace
}  // namespace jit
