#include "jit/workflow/alert_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "jit/base/duration.h"
#include "jit/connectors/webhook/test_http_receiver.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kSecret = "alert-hook-secret-0123456789abcdef";

// Polls `pred` every 10 ms for at most `limit`: the notifier delivers on
// its own thread to a real receiver.
bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jit-alerts-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

NotifierConfig Notifier(const std::string& name, NotifierType type,
                        const std::string& url,
                        std::set<std::string, std::less<>> events) {
  NotifierConfig c;
  c.name = name;
  c.type = type;
  c.url = ParseWebhookUrl(url).value();
  if (type == NotifierType::kWebhook) c.secret = kSecret;
  c.private_addresses = PrivateAddresses::kAllow;
  c.events = std::move(events);
  c.timeout = 2s;
  c.min_backoff = 20ms;
  c.max_backoff = 100ms;
  return c;
}

const std::set<std::string, std::less<>> kEveryAlert = {
    "emergency.used", "grant.revoke_failed", "drift.found",
    "audit.verify_failed", "request.created"};

class AlertNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_ = std::make_unique<TestHttpReceiver>(
        TestHttpReceiverOptions{kSecret, "", "", std::chrono::seconds(300)});
    ASSERT_TRUE(IsOk(receiver_->Start()));
  }
  void TearDown() override {
    if (notifier_) notifier_->Stop();
  }

  void StartNotifier(std::vector<NotifierConfig> notifiers,
                     const std::string& state_dir = "") {
    if (notifier_) notifier_->Stop();
    auto created =
        AlertNotifier::Create(rig_.store, feed_, rig_.policies, rig_.metrics,
                              rig_.clock, std::move(notifiers), state_dir);
    ASSERT_TRUE(IsOk(created));
    notifier_ = std::move(created).value();
    notifier_->Start();
  }

  // The receiver answers 200 to the next `n` deliveries (its own handling
  // is for connector actions and would refuse alerts with 400).
  void Accept(int n) {
    for (int i = 0; i < n; ++i)
      receiver_->PushAnswer(CannedAnswer{200, "{}", {}});
  }

  void Published() {
    auto head = rig_.store.GetAuditHead();
    ASSERT_TRUE(IsOk(head));
    feed_.Published(head->seq);
  }

  std::string Emergency(std::string justification = "database down, INC-7") {
    CreateRequestInput in;
    in.entitlement = "break-glass";
    in.duration = 10min;
    in.justification = std::move(justification);
    in.ticket = "INC-7";
    in.emergency = jit::Emergency::kYes;
    auto made = rig_.requests.Create(rig_.P("alice"), in);
    EXPECT_TRUE(IsOk(made));
    Published();
    return made.ok() ? made->request.id : "";
  }

  void Drift(const std::string& holder) {
    AuditEvent e;
    e.time = rig_.clock.Now();
    e.type = AuditType::kDriftFound;
    e.actor = "jitd";
    e.subject = holder;
    e.data = json{{"connector", "demo"},  {"target_user", holder},
                  {"privilege", "root"},  {"detail", "found by test"},
                  {"action", "reported"}, {"since", nullptr}}
                 .dump();
    ChangeSet cs;
    cs.events.push_back(e);
    ASSERT_TRUE(IsOk(rig_.store.Commit(cs)));
    Published();
  }

  // A grant whose revoke keeps failing until it alerts (5 minutes).
  std::string FailingRevoke() {
    std::string grant_id = rig_.ActiveGrant("alice", 30min);
    rig_.demo->SetFailing(true);
    rig_.clock.Advance(30min);
    for (int i = 0; i < 20 && !RevokeAlerted(grant_id); ++i) {
      rig_.RunDue();
      rig_.clock.Advance(1min);
    }
    EXPECT_TRUE(RevokeAlerted(grant_id));
    Published();
    return grant_id;
  }

  bool RevokeAlerted(const std::string& grant_id) {
    for (const AuditEvent& e : rig_.EventsOf(grant_id)) {
      if (e.type == AuditType::kGrantRevokeFailed &&
          json::parse(e.data).value("alert", false))
        return true;
    }
    return false;
  }

  std::vector<ReceivedDelivery> At(const std::string& path) const {
    std::vector<ReceivedDelivery> out;
    for (ReceivedDelivery& d : receiver_->Deliveries()) {
      if (d.target == path) out.push_back(std::move(d));
    }
    return out;
  }

  TestRig rig_;
  AuditFeed feed_;
  std::unique_ptr<TestHttpReceiver> receiver_;
  std::unique_ptr<AlertNotifier> notifier_;
};

TEST_F(AlertNotifierTest, EachAlertTypeArrivesOnceInOrderWithItsFields) {
  Accept(50);
  StartNotifier({Notifier("secops-hook", NotifierType::kWebhook,
                          receiver_->Url("/hook"), kEveryAlert)});
  const std::string emergency = Emergency();
  auto pending = rig_.Ask("alice", "db-write", 30min);
  ASSERT_TRUE(IsOk(pending));
  Published();
  // Its auto-approved request.created raises nothing; the revoke does.
  const std::string grant_id = FailingRevoke();
  Drift("mallory");
  VerifyFailureAlarm alarm(rig_.store, rig_.clock, "");
  VerifyResult broken;
  broken.ok = false;
  broken.first_bad_seq = 3;
  broken.reason = "event 3 was edited";
  ASSERT_TRUE(IsOk(alarm.Verified(broken)));
  Published();

  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() >= 6; }))
      << notifier_->LastError("secops-hook");
  // Nothing more comes: every later event was looked at and skipped.
  auto head = rig_.store.GetAuditHead();
  ASSERT_TRUE(IsOk(head));
  ASSERT_TRUE(WaitUntil(
      [&] { return notifier_->NotifiedThrough("secops-hook") == head->seq; }));
  std::vector<ReceivedDelivery> got = At("/hook");
  ASSERT_EQ(got.size(), 6u);
  std::vector<std::string> types;
  int64_t last_seq = 0;
  for (const ReceivedDelivery& d : got) {
    EXPECT_TRUE(d.signature_ok) << d.raw_body;
    EXPECT_EQ(d.body["delivery_id"], d.delivery_id);
    EXPECT_EQ(d.body["notifier"], "secops-hook");
    EXPECT_GT(d.body["seq"].get<int64_t>(), last_seq);
    last_seq = d.body["seq"].get<int64_t>();
    types.push_back(d.body["type"]);
  }
  EXPECT_THAT(types, ElementsAre("request.created", "emergency.used",
                                 "request.created", "grant.revoke_failed",
                                 "drift.found", "audit.verify_failed"));
  EXPECT_EQ(got[0].body["fields"]["request_id"], emergency);
  EXPECT_EQ(got[1].body["fields"]["request_id"], emergency);
  EXPECT_EQ(got[2].body["fields"]["request_id"], pending->request.id);
  EXPECT_EQ(got[3].body["fields"]["grant_id"], grant_id);
  EXPECT_EQ(got[3].body["fields"]["error"],
            "fake connector: failing (test control)");
  EXPECT_EQ(got[4].body["fields"]["target_user"], "mallory");
  EXPECT_EQ(got[5].body["fields"]["first_bad_seq"], 3);
  EXPECT_EQ(got[5].body["fields"]["reason"], "event 3 was edited");
}

TEST_F(AlertNotifierTest, AFilteredNotifierGetsOnlyItsEvents) {
  Accept(50);
  StartNotifier({Notifier("drift-only", NotifierType::kWebhook,
                          receiver_->Url("/drift"), {"drift.found"}),
                 // Named by policy break-glass (emergency.notify), no events.
                 Notifier("sec-oncall", NotifierType::kSlack,
                          receiver_->Url("/slack"), {})});
  Emergency();
  Drift("mallory");
  FailingRevoke();
  auto head = rig_.store.GetAuditHead();
  ASSERT_TRUE(IsOk(head));
  ASSERT_TRUE(WaitUntil([&] {
    return notifier_->NotifiedThrough("drift-only") == head->seq &&
           notifier_->NotifiedThrough("sec-oncall") == head->seq;
  }));
  std::vector<ReceivedDelivery> drift = At("/drift");
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].body["type"], "drift.found");
  EXPECT_EQ(drift[0].body["fields"]["target_user"], "mallory");
  EXPECT_EQ(drift[0].body["fields"]["connector"], "demo");
  EXPECT_EQ(drift[0].body["fields"]["action"], "reported");
  std::vector<ReceivedDelivery> slack = At("/slack");
  ASSERT_EQ(slack.size(), 1u);
  EXPECT_THAT(slack[0].body["text"].get<std::string>(),
              HasSubstr("alice used emergency access to break-glass for 10m"));
  EXPECT_EQ(slack[0].delivery_id, "");  // Slack bodies are not signed
}

TEST_F(AlertNotifierTest, EmergencyAlertCarriesWhoWhatWhyHowLong) {
  Accept(10);
  StartNotifier({Notifier("secops-hook", NotifierType::kWebhook,
                          receiver_->Url("/hook"), {"emergency.used"})});
  const std::string id = Emergency("primary is down, failing over");
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() == 1; }));
  const json body = At("/hook")[0].body;
  EXPECT_EQ(body["type"], "emergency.used");
  EXPECT_EQ(body["time"], FormatTime(rig_.clock.Now()));
  EXPECT_EQ(body["fields"],
            json({{"requester", "alice"},
                  {"entitlement", "break-glass"},
                  {"duration", "10m"},
                  {"policy", "break-glass"},
                  {"justification", "primary is down, failing over"},
                  {"ticket", "INC-7"},
                  {"request_id", id}}));
}

TEST_F(AlertNotifierTest, ApprovalNeededNamesTheApproverGroups) {
  Accept(10);
  StartNotifier({Notifier("approvals", NotifierType::kWebhook,
                          receiver_->Url("/hook"), {"request.created"})});
  auto pending = rig_.Ask("alice", "prod-admin", 20min);
  ASSERT_TRUE(IsOk(pending));
  Published();
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() == 1; }));
  const json fields = At("/hook")[0].body["fields"];
  EXPECT_EQ(fields["requester"], "alice");
  EXPECT_EQ(fields["entitlement"], "prod-admin");
  EXPECT_EQ(fields["approvals_required"], 2);
  EXPECT_EQ(fields["approver_groups"], json::array({"sre"}));
  EXPECT_EQ(fields["policy"], "admin-two-sre");
  EXPECT_EQ(fields["request_id"], pending->request.id);
}

TEST_F(AlertNotifierTest,
       ReceiverDownThenUpLosesNothingAndRestartSendsNothingTwice) {
  TempDir state;
  const NotifierConfig hook =
      Notifier("secops-hook", NotifierType::kWebhook, receiver_->Url("/hook"),
               {"drift.found"});
  receiver_->Stop();
  StartNotifier({hook}, state.path());
  Drift("u1");
  Drift("u2");
  ASSERT_TRUE(
      WaitUntil([&] { return !notifier_->LastError("secops-hook").empty(); }));
  // The URL's path (for Slack, its secret) stays out of messages.
  EXPECT_THAT(notifier_->LastError("secops-hook"),
              ::testing::Not(HasSubstr("/hook")));
  EXPECT_THAT(notifier_->LastError("secops-hook"), HasSubstr("localhost:"));
  EXPECT_THAT(rig_.metrics.Render(0),
              HasSubstr("jitd_alert_failures_total{notifier=\"secops-hook\"}"));
  Accept(50);
  ASSERT_TRUE(IsOk(receiver_->Start()));  // same port
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() >= 2; }));

  notifier_->Stop();
  Drift("u3");
  StartNotifier({hook}, state.path());  // a restart: position from the file
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() >= 3; }));
  auto head = rig_.store.GetAuditHead();
  ASSERT_TRUE(IsOk(head));
  ASSERT_TRUE(WaitUntil(
      [&] { return notifier_->NotifiedThrough("secops-hook") == head->seq; }));
  std::vector<std::string> holders;
  for (const ReceivedDelivery& d : At("/hook"))
    holders.push_back(d.body["fields"]["target_user"]);
  EXPECT_THAT(holders, ElementsAre("u1", "u2", "u3"));
  EXPECT_THAT(
      rig_.metrics.Render(0),
      HasSubstr("jitd_alerts_sent_total{notifier=\"secops-hook\"} 3\n"));
}

TEST_F(AlertNotifierTest, ANewNotifierStartsAtTheHeadNotTheHistory) {
  Drift("old");
  TempDir state;
  Accept(10);
  StartNotifier({Notifier("hook", NotifierType::kWebhook,
                          receiver_->Url("/hook"), {"drift.found"})},
                state.path());
  Drift("new");
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() == 1; }));
  EXPECT_EQ(At("/hook")[0].body["fields"]["target_user"], "new");
}

TEST_F(AlertNotifierTest, AnAlertCommittedBeforeTheFirstDeliveryIsNotSkipped) {
  TempDir state;
  const NotifierConfig hook = Notifier(
      "hook", NotifierType::kWebhook, receiver_->Url("/hook"), {"drift.found"});
  StartNotifier({hook}, state.path());
  notifier_->Stop();  // down before it delivered anything
  Drift("while-down");
  Accept(10);
  StartNotifier({hook}, state.path());
  ASSERT_TRUE(WaitUntil([&] { return At("/hook").size() == 1; }));
  EXPECT_EQ(At("/hook")[0].body["fields"]["target_user"], "while-down");
}

TEST_F(AlertNotifierTest, SlackMessageEscapesUserText_T16) {
  Accept(10);
  StartNotifier({Notifier("sec-oncall", NotifierType::kSlack,
                          receiver_->Url("/slack"), {})});
  Emergency("<!channel> @here <script>alert(1)</script> & \u202Etxt.exe");
  ASSERT_TRUE(WaitUntil([&] { return At("/slack").size() == 1; }));
  const std::string raw = At("/slack")[0].raw_body;
  EXPECT_EQ(raw.find("<!channel>"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("<script>"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("\u202E"), std::string::npos) << raw;
  EXPECT_THAT(raw, HasSubstr("&lt;!channel&gt; @here &lt;script&gt;"));
}

// --- pure parts

AuditEvent Event(AuditType type, json data) {
  AuditEvent e;
  e.seq = 7;
  e.time = RigStart();
  e.type = type;
  e.actor = "jitd";
  e.subject = "alice";
  e.request_id = "req_1";
  e.grant_id = "grt_1";
  e.data = data.dump();
  e.hash = "ab12";
  return e;
}

TEST(AlertForTest, RevokeFailureAlertsOnlyWhenMarked) {
  EXPECT_FALSE(AlertFor(Event(AuditType::kGrantRevokeFailed,
                              {{"alert", false}, {"error", "down"}}),
                        nullptr, nullptr));
  std::optional<Alert> a =
      AlertFor(Event(AuditType::kGrantRevokeFailed,
                     {{"alert", true},
                      {"error", "target down"},
                      {"attempt", 4},
                      {"entitlement", "db-write"},
                      {"next_attempt_at", "2026-11-23T10:40:00Z"}}),
               nullptr, nullptr);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, "grant.revoke_failed");
  EXPECT_EQ(a->seq, 7);
  EXPECT_EQ(a->fields["grant_id"], "grt_1");
  EXPECT_EQ(a->fields["attempt"], 4);
  EXPECT_EQ(a->summary,
            "revoke of db-write from alice has been failing for over 5 "
            "minutes (grant grt_1)");
}

TEST(AlertForTest, OnlyRequestsWaitingForApprovalAlert) {
  EXPECT_FALSE(
      AlertFor(Event(AuditType::kRequestCreated, {{"approvals_required", 0}}),
               nullptr, nullptr));
  EXPECT_TRUE(
      AlertFor(Event(AuditType::kRequestCreated, {{"approvals_required", 1}}),
               nullptr, nullptr));
  for (AuditType t : {AuditType::kGrantActivated, AuditType::kPolicyLoaded,
                      AuditType::kAuditCheckpoint}) {
    EXPECT_FALSE(AlertFor(Event(t, json::object()), nullptr, nullptr));
  }
  // Data that is not a JSON object raises a bare alert, not a crash.
  AuditEvent odd = Event(AuditType::kDriftFound, json::object());
  odd.data = "not json";
  EXPECT_TRUE(AlertFor(odd, nullptr, nullptr));
}

TEST(AlertForTest, EmergencyAlertGoesToNamedNotifiersAndListeners) {
  std::optional<Alert> a =
      AlertFor(Event(AuditType::kEmergencyUsed, {{"notify", {"sec-oncall"}}}),
               nullptr, nullptr);
  ASSERT_TRUE(a);
  NotifierConfig named;
  named.name = "sec-oncall";
  NotifierConfig listener;
  listener.name = "hook";
  listener.events = {"emergency.used"};
  NotifierConfig other;
  other.name = "other";
  other.events = {"drift.found"};
  EXPECT_TRUE(Wants(named, *a));
  EXPECT_TRUE(Wants(listener, *a));
  EXPECT_FALSE(Wants(other, *a));
  EXPECT_NE(AlertDeliveryId("hook", *a), AlertDeliveryId("sec-oncall", *a));
  EXPECT_EQ(AlertDeliveryId("hook", *a), AlertDeliveryId("hook", *a));
}

TEST(SlackTextTest, EscapesMentionsMarkupAndBidi_T16) {
  EXPECT_EQ(SlackText("<!channel> & <@U123> <script>", 100),
            "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;script&gt;");
  EXPECT_EQ(SlackText("abc\u202Edef\u2066x\u200Fy", 100),
            "abc\uFFFDdef\uFFFDx\uFFFDy");
  EXPECT_EQ(SlackText("tab\tnew\nline\x01\x7f bell\a", 100),
            "tab\tnew\nline bell");
  EXPECT_EQ(SlackText("bad \xC3\x28 \xED\xA0\x80 \xF0\x9F", 100),
            "bad \uFFFD( \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD");
  EXPECT_EQ(SlackText("grüße 🙂", 100), "grüße 🙂");
}

TEST(SlackTextTest, CapsLengthAtAWholeCharacterOrEntity) {
  EXPECT_EQ(SlackText(std::string(4096, 'A'), 5), "AAAAA\u2026 (cut)");
  EXPECT_EQ(SlackText("ab<cd", 4), "ab\u2026 (cut)");  // not "ab&l"
  EXPECT_EQ(SlackText("ééééé", 3), "ééé\u2026 (cut)");
  EXPECT_EQ(SlackText("abc", 3), "abc");
}

TEST(SlackAlertMessageTest, ExactJsonWithHostileText_T16) {
  Alert a;
  a.type = "emergency.used";
  a.seq = 12;
  a.time = RigStart();
  a.summary = "<!channel> used emergency access to db for 10m";
  a.fields = {{"requester", "<!channel>"},
              {"entitlement", "db"},
              {"duration", "10m"},
              {"ticket", std::string(300, 'T')},
              {"justification", "@here <script>x</script> & \u202Eexe.txt"},
              {"request_id", "req_9"}};
  const json want = json::parse(R"({
    "text": "Emergency access used: &lt;!channel&gt; used emergency access to db for 10m",
    "blocks": [
      {"type": "header",
       "text": {"type": "plain_text", "text": "Emergency access used"}},
      {"type": "section",
       "text": {"type": "mrkdwn", "verbatim": true,
                "text": "&lt;!channel&gt; used emergency access to db for 10m"}},
      {"type": "section", "fields": [
        {"type": "mrkdwn", "verbatim": true, "text": "*Requester*\n&lt;!channel&gt;"},
        {"type": "mrkdwn", "verbatim": true, "text": "*Entitlement*\ndb"},
        {"type": "mrkdwn", "verbatim": true, "text": "*Duration*\n10m"},
        {"type": "mrkdwn", "verbatim": true, "text": "*Ticket*\n)" +
                                std::string(200, 'T') + R"j(\u2026 (cut)"},
        {"type": "mrkdwn", "verbatim": true, "text": "*Request*\nreq_9"}]},
      {"type": "section",
       "text": {"type": "mrkdwn", "verbatim": true,
                "text": "*Justification*\n@here &lt;script&gt;x&lt;/script&gt; &amp; \ufffdexe.txt"}},
      {"type": "context", "elements": [
        {"type": "mrkdwn", "verbatim": true,
         "text": "jitd emergency.used \u00b7 audit seq 12 \u00b7 2026-11-23T10:00:00.000Z"}]}
    ]})j");
  EXPECT_EQ(SlackAlertMessage(a), want) << SlackAlertMessage(a).dump(2);
}

TEST(WebhookAlertBodyTest, UserTextStaysData) {
  Alert a;
  a.type = "drift.found";
  a.seq = 3;
  a.time = RigStart();
  a.summary = "s";
  a.fields = {{"detail", "\"},{\"type\":\"forged\"} <b>\xff"}};
  const json body = json::parse(WebhookAlertBody(a, "hook", "alr_1"));
  EXPECT_EQ(
      body,
      json({{"delivery_id", "alr_1"},
            {"notifier", "hook"},
            {"type", "drift.found"},
            {"time", "2026-11-23T10:00:00.000Z"},
            {"seq", 3},
            {"summary", "s"},
            {"fields",
             {{"detail", "\"},{\"type\":\"forged\"} <b>\xEF\xBF\xBD"}}}}));
}

TEST(VerifyFailureAlarmTest, RaisesOncePerDistinctFailureAcrossRestarts) {
  TempDir dir;
  const std::string state = dir.path() + "/verify_alarm.json";
  FakeClock clock(RigStart());
  MemoryStore store;
  auto raised = [&] {
    StatusOr<std::vector<AuditEvent>> events = store.ReadAudit(0, 1000);
    EXPECT_TRUE(events.ok());
    if (!events.ok()) return -1;
    return static_cast<int>(
        std::count_if(events->begin(), events->end(), [](const AuditEvent& e) {
          return e.type == AuditType::kAuditVerifyFailed;
        }));
  };
  VerifyResult bad;
  bad.ok = false;
  bad.first_bad_seq = 5;
  bad.reason = "event 5 was edited";
  {
    VerifyFailureAlarm alarm(store, clock, state);
    ASSERT_TRUE(IsOk(alarm.Load()));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(IsOk(alarm.Verified(bad)));
    EXPECT_EQ(raised(), 1);
  }
  {
    VerifyFailureAlarm alarm(store, clock, state);  // restarted
    ASSERT_TRUE(IsOk(alarm.Load()));
    ASSERT_TRUE(IsOk(alarm.Verified(bad)));
    EXPECT_EQ(raised(), 1);
    VerifyResult other = bad;
    other.first_bad_seq = 2;
    ASSERT_TRUE(IsOk(alarm.Verified(other)));
    EXPECT_EQ(raised(), 2);
    ASSERT_TRUE(IsOk(alarm.Verified(VerifyResult{})));  // repaired: re-armed
    ASSERT_TRUE(IsOk(alarm.Verified(other)));
    EXPECT_EQ(raised(), 3);
  }
  auto events = store.ReadAudit(0, 1000).value();
  const json data = json::parse(events[0].data);
  EXPECT_EQ(data["first_bad_seq"], 5);
  EXPECT_EQ(data["reason"], "event 5 was edited");
  std::ofstream(state) << "garbage";
  VerifyFailureAlarm broken(store, clock, state);
  EXPECT_TRUE(HasError(broken.Load(), StatusCode::kInvalidArgument));
}

TEST(ParseNotifierConfigTest, RefusesBadEntries) {
  TempDir dir;
  const std::string secret = dir.path() + "/hook.secret";
  std::ofstream(secret) << kSecret << "\n";
  std::filesystem::permissions(secret, std::filesystem::perms::owner_read,
                               std::filesystem::perm_options::replace);
  const json good = {{"name", "secops-hook"},
                     {"type", "webhook"},
                     {"url", "https://hooks.example.com/jitd"},
                     {"secret_file", secret},
                     {"events", {"drift.found", "audit.verify_failed"}},
                     {"timeout", "3s"}};
  auto parsed = ParseNotifierConfig(good, "jitd.yaml:9");
  ASSERT_TRUE(IsOk(parsed));
  EXPECT_EQ(parsed->secret, kSecret);
  EXPECT_EQ(parsed->timeout, 3s);
  EXPECT_EQ(parsed->events.size(), 2u);
  auto with = [&](const char* key, json value) {
    json j = good;
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return ParseNotifierConfig(j, "jitd.yaml:9").status();
  };
  const std::vector<std::pair<Status, std::string>> cases = {
      {with("colour", "red"), "unknown key \"colour\""},
      {with("name", "Sec Oncall"), "name must be"},
      {with("type", "email"), "type must be webhook or slack"},
      {with("url", "http://hooks.example.com/x"), "must be https"},
      {with("url", "https://169.254.169.254/x"), "169.254.169.254"},
      {with("events", {"grant.activated"}), "unknown alert type"},
      {with("secret_file", nullptr), "secret_file is required"},
      {with("timeout", "2h"), "timeout must be"},
  };
  for (const auto& [status, want] : cases) {
    EXPECT_TRUE(HasError(status, StatusCode::kInvalidArgument)) << want;
    EXPECT_THAT(status.message(), HasSubstr(want));
    EXPECT_THAT(status.message(), HasSubstr("jitd.yaml:9: notifier: "));
  }
  json slack = good;
  slack["type"] = "slack";
  EXPECT_THAT(ParseNotifierConfig(slack, "f:1").status().message(),
              HasSubstr("secret_file is for type webhook"));
  slack.erase("secret_file");
  EXPECT_TRUE(IsOk(ParseNotifierConfig(slack, "f:1")));
}

}  // namespace
}  // namespace jit
