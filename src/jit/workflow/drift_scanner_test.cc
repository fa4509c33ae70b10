#include "jit/workflow/drift_scanner.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

class DriftScannerTest : public testing::Test {
 protected:
  std::vector<json> DriftEvents() {
    std::vector<json> out;
    for (const AuditEvent& e : rig.Audit()) {
      if (e.type == AuditType::kDriftFound) out.push_back(json::parse(e.data));
    }
    return out;
  }

  TestRig rig;
  DriftTarget report{"demo", false, minutes(10)};
  DriftTarget enforce{"demo", true, minutes(10)};
};

TEST_F(DriftScannerTest, ReportsAPlantedPrivilegeOnceWhileItLasts) {
  rig.demo->PlantStanding(
      Holding{"mallory", "prod-admin", std::nullopt, "granted by hand"});
  DriftScanner scanner(rig.deps, rig.lifecycle, {report});

  StatusOr<DriftPass> first = scanner.ScanOnce(report);
  ASSERT_TRUE(IsOk(first));
  EXPECT_EQ(first->standing, 1);
  EXPECT_EQ(first->reported, 1);
  std::vector<json> events = DriftEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["connector"], "demo");
  EXPECT_EQ(events[0]["target_user"], "mallory");
  EXPECT_EQ(events[0]["privilege"], "prod-admin");
  EXPECT_EQ(events[0]["action"], "reported");
  EXPECT_EQ(events[0]["detail"], "granted by hand");

  // Still there: not reported again. Report mode leaves it in place.
  ASSERT_TRUE(IsOk(scanner.ScanOnce(report)));
  EXPECT_EQ(DriftEvents().size(), 1u);
  EXPECT_EQ(rig.demo->Planted().size(), 1u);
  EXPECT_TRUE(rig.VerifyAudit().ok);
}

TEST_F(DriftScannerTest, AFindingThatComesBackIsReportedAgain) {
  Holding h{"mallory", "prod-admin", std::nullopt, ""};
  rig.demo->PlantStanding(h);
  DriftScanner scanner(rig.deps, rig.lifecycle, {report});
  ASSERT_TRUE(IsOk(scanner.ScanOnce(report)));
  ASSERT_TRUE(IsOk(rig.demo->RevokeHolding(
      h, std::chrono::steady_clock::now() + seconds(5))));
  ASSERT_TRUE(IsOk(scanner.ScanOnce(report)));
  rig.demo->PlantStanding(h);
  ASSERT_TRUE(IsOk(scanner.ScanOnce(report)));
  EXPECT_EQ(DriftEvents().size(), 2u);
}

TEST_F(DriftScannerTest, PrivilegesOfLiveGrantsAreNotDrift) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  DriftScanner scanner(rig.deps, rig.lifecycle, {enforce});
  StatusOr<DriftPass> pass = scanner.ScanOnce(enforce);
  ASSERT_TRUE(IsOk(pass));
  EXPECT_EQ(pass->holdings, 1);
  EXPECT_EQ(pass->standing, 0);
  EXPECT_TRUE(DriftEvents().empty());
  EXPECT_TRUE(rig.demo->Holds(grant_id));
}

TEST_F(DriftScannerTest, TheSamePrivilegeForAnotherAccountIsDrift) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  rig.demo->PlantStanding(Holding{"bob", "dev-shell", std::nullopt, ""});
  DriftScanner scanner(rig.deps, rig.lifecycle, {report});
  StatusOr<DriftPass> pass = scanner.ScanOnce(report);
  ASSERT_TRUE(IsOk(pass));
  EXPECT_EQ(pass->standing, 1);
  ASSERT_EQ(DriftEvents().size(), 1u);
  EXPECT_EQ(DriftEvents()[0]["target_user"], "bob");
}

TEST_F(DriftScannerTest, EnforceRevokesWhatNoGrantCoversAndRecordsIt) {
  rig.demo->PlantStanding(Holding{"mallory", "prod-admin", std::nullopt, ""});
  DriftScanner scanner(rig.deps, rig.lifecycle, {enforce});
  StatusOr<DriftPass> pass = scanner.ScanOnce(enforce);
  ASSERT_TRUE(IsOk(pass));
  EXPECT_EQ(pass->revoked, 1);
  EXPECT_TRUE(rig.demo->Planted().empty());
  std::vector<json> events = DriftEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["action"], "revoked");
  // Gone: the next pass finds nothing.
  ASSERT_TRUE(IsOk(scanner.ScanOnce(enforce)));
  EXPECT_EQ(DriftEvents().size(), 1u);
}

TEST_F(DriftScannerTest, DiscoveryFailureWritesNothing) {
  rig.demo->PlantStanding(Holding{"mallory", "prod-admin", std::nullopt, ""});
  rig.demo->SetFailing(true);
  DriftScanner scanner(rig.deps, rig.lifecycle, {report});
  EXPECT_TRUE(HasError(scanner.ScanOnce(report), StatusCode::kUnavailable));
  EXPECT_TRUE(DriftEvents().empty());
}

TEST_F(DriftScannerTest, UnknownConnectorIsNotFound) {
  DriftTarget nowhere{"nowhere", false, minutes(1)};
  DriftScanner scanner(rig.deps, rig.lifecycle, {nowhere});
  EXPECT_TRUE(HasError(scanner.ScanOnce(nowhere), StatusCode::kNotFound));
}

// --- Activity recorded by the target joins the grant's trail -------------

TEST(GrantActivityTest, TargetActivityIsAttachedWhenTheGrantEnds) {
  TestRig rig;
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  Grant g = rig.StoredGrant(grant_id);
  rig.demo->RecordActivity(
      grant_id, Activity{g.starts_at - minutes(1), "statement", "7", "before"});
  rig.demo->RecordActivity(grant_id,
                           Activity{g.starts_at + seconds(5), "statement", "42",
                                    "SELECT 1; -- \xff bad byte"});
  rig.clock.Advance(minutes(1));
  ASSERT_TRUE(IsOk(rig.requests.EndGrant(rig.P("alice"), grant_id, "done")));
  std::vector<std::string> types = rig.TypesOf(grant_id);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), "grant.activity");
  json data = json::parse(rig.EventsOf(grant_id).back().data);
  ASSERT_EQ(data["items"].size(), 1u);  // only what happened under the grant
  EXPECT_EQ(data["items"][0]["session"], "42");
  EXPECT_EQ(data["items"][0]["kind"], "statement");
  EXPECT_NE(data["items"][0]["text"].get<std::string>().find("SELECT 1"),
            std::string::npos);
  EXPECT_EQ(data["total"], 1);
  EXPECT_TRUE(rig.VerifyAudit().ok);
}

TEST(GrantActivityTest, LargeActivityIsBatchedAndBounded) {
  TestRig rig;
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  Grant g = rig.StoredGrant(grant_id);
  for (int i = 0; i < 2050; ++i) {
    rig.demo->RecordActivity(grant_id,
                             Activity{g.starts_at + seconds(1), "command", "s",
                                      "/usr/bin/true " + std::to_string(i)});
  }
  ASSERT_TRUE(IsOk(rig.requests.EndGrant(rig.P("alice"), grant_id, "done")));
  int batches = 0;
  json last;
  for (const AuditEvent& e : rig.EventsOf(grant_id)) {
    if (e.type != AuditType::kGrantActivity) continue;
    ++batches;
    last = json::parse(e.data);
  }
  EXPECT_EQ(batches, 20);
  EXPECT_EQ(last["total"], 2050);
  EXPECT_EQ(last["dropped"], 50);
  EXPECT_EQ(last["items"].size(), 100u);
}

}  // namespace
}  // namespace jit
