#include "jit/workflow/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jit/workflow/audit_query.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using json = nlohmann::json;
using std::chrono::minutes;

json RowOf(const json& rows, const char* key, const std::string& value) {
  for (const json& row : rows) {
    if (row[key] == value) return row;
  }
  return json();
}

class ReportTest : public testing::Test {
 protected:
  json Report() {
    AuditQuery audit(rig_.store, rig_.metrics);
    auto r = audit.Summary(rig_.P("olga"), RigStart(),
                           RigStart() + std::chrono::hours(24));
    EXPECT_TRUE(IsOk(r));
    return r.ok() ? *r : json();
  }
  TestRig rig_;
};

// A day of activity through the real workflow: the report answers how
// often, how long and why, who approved and how fast, what was refused.
TEST_F(ReportTest, FoldsADayOfRealActivity) {
  // Two auto-approved dev-shell grants of alice, ended after 10 and 20 min.
  for (int minutes_held : {10, 20}) {
    std::string grant = rig_.ActiveGrant("alice", std::chrono::hours(1));
    rig_.clock.Advance(std::chrono::minutes(minutes_held));
    ASSERT_TRUE(
        IsOk(rig_.requests.EndGrant(rig_.P("alice"), grant, "task done")));
  }
  // db-write approved by dave after 7 minutes, expires after 30.
  auto db = rig_.Ask("alice", "db-write", minutes(30));
  ASSERT_TRUE(IsOk(db));
  rig_.clock.Advance(minutes(7));
  ASSERT_TRUE(
      IsOk(rig_.requests.Approve(rig_.P("dave"), db->request.id, "ok")));
  rig_.clock.Advance(minutes(31));
  rig_.RunDue();
  // One denied by carol, one refused by policy (too long).
  auto denied = rig_.Ask("alice", "db-write", minutes(10));
  ASSERT_TRUE(IsOk(denied));
  rig_.clock.Advance(minutes(2));
  ASSERT_TRUE(
      IsOk(rig_.requests.Deny(rig_.P("carol"), denied->request.id, "no")));
  EXPECT_FALSE(rig_.Ask("alice", "db-write", std::chrono::hours(5)).ok());
  // An emergency.
  CreateRequestInput e{"break-glass", minutes(10),  std::string(kGoodReason),
                       "INC-9",       std::nullopt, Emergency::kYes};
  ASSERT_TRUE(IsOk(rig_.requests.Create(rig_.P("alice"), e)));

  json r = Report();
  EXPECT_EQ(r["grants"], 3);
  EXPECT_EQ(r["requests"]["rejected"], 1);
  EXPECT_EQ(r["requests"]["denied"], 1);
  EXPECT_EQ(r["emergency_uses"], 1);
  EXPECT_EQ(r["emergencies"][0]["entitlement"], "break-glass");
  EXPECT_EQ(r["emergencies"][0]["ticket"], "INC-9");

  json shell = RowOf(r["by_entitlement"], "entitlement", "dev-shell");
  EXPECT_EQ(shell["requests"], 2);
  EXPECT_EQ(shell["grants"], 2);
  EXPECT_EQ(shell["held_seconds_total"], 30 * 60);
  EXPECT_EQ(shell["held_seconds_max"], 20 * 60);
  EXPECT_EQ(shell["recent_purposes"][0], kGoodReason);
  json write = RowOf(r["by_entitlement"], "entitlement", "db-write");
  EXPECT_EQ(write["requests"], 2);
  EXPECT_EQ(write["grants"], 1);
  EXPECT_EQ(write["held_seconds_total"], 30 * 60);  // to its expiry
  EXPECT_EQ(write["rejected"], 1);

  json alice = RowOf(r["by_user"], "subject", "alice");
  EXPECT_EQ(alice["grants"], 3);
  EXPECT_EQ(alice["emergency"], 1);

  json dave = RowOf(r["by_approver"], "approver", "dave");
  EXPECT_EQ(dave["approvals"], 1);
  EXPECT_EQ(dave["seconds_to_decide"]["max"], 7 * 60);
  json carol = RowOf(r["by_approver"], "approver", "carol");
  EXPECT_EQ(carol["denials"], 1);
  EXPECT_EQ(r["seconds_to_approve"]["count"], 1);
  EXPECT_EQ(r["seconds_to_approve"]["p50"], 7 * 60);
  EXPECT_EQ(r["revoke_latency_ms"]["count"], 3);
  ASSERT_FALSE(r["denied"].empty());
  EXPECT_EQ(r["denied"][0]["count"], 1);
}

TEST_F(ReportTest, StandingPrivilegesComeFromDriftFindings) {
  ReportBuilder b;
  AuditEvent e;
  e.type = AuditType::kDriftFound;
  e.time = RigStart();
  e.data = R"({"connector":"pg","target_user":"bob","privilege":"app_admin",)"
           R"("since":"2026-01-01T00:00:00.000Z","action":"reported"})";
  b.Add(e);
  e.time += minutes(10);
  e.data = R"({"connector":"pg","target_user":"bob","privilege":"app_admin",)"
           R"("since":"2026-01-01T00:00:00.000Z","action":"revoked"})";
  b.Add(e);
  json r = b.Finish();
  ASSERT_EQ(r["standing_privileges"].size(), 1u);
  json s = r["standing_privileges"][0];
  EXPECT_EQ(s["target_user"], "bob");
  EXPECT_EQ(s["since"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(s["times_seen"], 2);
  EXPECT_EQ(s["last_action"], "revoked");
  EXPECT_EQ(s["first_seen"], "2026-11-23T10:00:00.000Z");
}

TEST_F(ReportTest, EventsThatAreNotJsonAreCountedAndSkipped) {
  ReportBuilder b;
  AuditEvent e;
  e.data = "not json";
  b.Add(e);
  EXPECT_EQ(b.Finish()["events"], 1);
}

TEST_F(ReportTest, OnlyAuditorsGetReports) {
  AuditQuery audit(rig_.store, rig_.metrics);
  EXPECT_TRUE(HasError(audit.Summary(rig_.P("alice"), RigStart(), RigStart()),
                       StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace jit
