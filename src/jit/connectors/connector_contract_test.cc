#include "jit/connectors/connector_contract_test.h"

#include <stdlib.h>

#include <chrono>
#include <system_error>
#include <vector>

#include "gmock/gmock.h"
#include "jit/base/ids.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

GrantSpec NewSpec() {
  GrantSpec g;
  g.grant_id = NewId("grt_");
  g.request_id = NewId("req_");
  g.subject = "alice";
  g.target_user = "alice";
  g.entitlement = "contract-test";
  g.starts_at = std::chrono::system_clock::now();
  g.expires_at = g.starts_at + 30min;
  return g;
}

bool ActiveOrFail(Connector& c, const GrantSpec& g) {
  StatusOr<bool> active = c.IsActive(g, Soon());
  EXPECT_TRUE(active.ok()) << active.status().ToString();
  return active.ok() && *active;
}

}  // namespace

TestTempDir::TestTempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "jit_connector_XXXXXX")
          .string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = tmpl;
}

TestTempDir::~TestTempDir() {
  std::error_code ignored;  // best effort: a leftover temp dir harms nothing
  std::filesystem::remove_all(path_, ignored);
}

void ConnectorContractTest::SetUp() {
  harness_ = GetParam().make();
  ASSERT_NE(harness_, nullptr);
}

std::string ConnectorContractParamName(
    const testing::TestParamInfo<ConnectorContractParam>& info) {
  return info.param.name;
}

TEST_P(ConnectorContractTest, GrantMakesPrivilegeHeld) {
  GrantSpec g = NewSpec();
  ASSERT_FALSE(ActiveOrFail(connector(), g));
  Status s = connector().Grant(g, Soon());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(ActiveOrFail(connector(), g));
  EXPECT_TRUE(harness().TargetHolds(g));
}

TEST_P(ConnectorContractTest, GrantAgainIsANoOp) {
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  Status again = connector().Grant(g, Soon());
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_TRUE(ActiveOrFail(connector(), g));
  // One revoke undoes it: the second grant did not stack a second privilege.
  ASSERT_TRUE(connector().Revoke(g, Soon()).ok());
  EXPECT_FALSE(ActiveOrFail(connector(), g));
  EXPECT_FALSE(harness().TargetHolds(g));
}

TEST_P(ConnectorContractTest, RevokeRemovesPrivilege) {
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  Status s = connector().Revoke(g, Soon());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(ActiveOrFail(connector(), g));
  EXPECT_FALSE(harness().TargetHolds(g));
}

TEST_P(ConnectorContractTest, RevokeAgainIsOk) {
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  ASSERT_TRUE(connector().Revoke(g, Soon()).ok());
  Status again = connector().Revoke(g, Soon());
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_FALSE(harness().TargetHolds(g));
}

TEST_P(ConnectorContractTest, RevokeOfNeverGrantedIsOk) {
  GrantSpec g = NewSpec();
  Status s = connector().Revoke(g, Soon());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(ActiveOrFail(connector(), g));
}

TEST_P(ConnectorContractTest, GrantsAreIndependent) {
  GrantSpec a = NewSpec();
  GrantSpec b = NewSpec();
  ASSERT_TRUE(connector().Grant(a, Soon()).ok());
  ASSERT_TRUE(connector().Grant(b, Soon()).ok());
  ASSERT_TRUE(connector().Revoke(a, Soon()).ok());
  EXPECT_FALSE(harness().TargetHolds(a));
  EXPECT_TRUE(harness().TargetHolds(b));
  EXPECT_TRUE(ActiveOrFail(connector(), b));
}

TEST_P(ConnectorContractTest, ListSessionsShowsOpenSessions) {
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  harness().OpenSession(g, "s1");
  StatusOr<std::vector<Session>> sessions = connector().ListSessions(g, Soon());
  ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
  EXPECT_THAT(*sessions, ElementsAre(Field(&Session::id, "s1")));
}

TEST_P(ConnectorContractTest, KillSessionsEndsThemAndReportsNoSurvivors) {
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  harness().OpenSession(g, "s1");
  harness().OpenSession(g, "s2");
  StatusOr<std::vector<Session>> survivors =
      connector().KillSessions(g, Soon());
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, IsEmpty());
  StatusOr<std::vector<Session>> left = connector().ListSessions(g, Soon());
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(*left, IsEmpty());
}

TEST_P(ConnectorContractTest, KillSessionsWithNoSessionsIsOk) {
  GrantSpec g = NewSpec();
  StatusOr<std::vector<Session>> survivors =
      connector().KillSessions(g, Soon());
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, IsEmpty());
}

TEST_P(ConnectorContractTest, KillSessionsReportsSurvivors) {
  if (!harness().MakeSessionsSurviveKill())
    GTEST_SKIP() << "target cannot refuse";
  GrantSpec g = NewSpec();
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  harness().OpenSession(g, "stubborn");
  StatusOr<std::vector<Session>> survivors =
      connector().KillSessions(g, Soon());
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, ElementsAre(Field(&Session::id, "stubborn")));
}

TEST_P(ConnectorContractTest, PassedDeadlineFailsAtOnceAndChangesNothing) {
  GrantSpec g = NewSpec();
  const Deadline past = std::chrono::steady_clock::now() - 1ms;
  const auto start = std::chrono::steady_clock::now();

  EXPECT_EQ(connector().Grant(g, past).code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(harness().TargetHolds(g));
  ASSERT_TRUE(connector().Grant(g, Soon()).ok());
  EXPECT_EQ(connector().Revoke(g, past).code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(harness().TargetHolds(g));
  EXPECT_EQ(connector().IsActive(g, past).status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(connector().ListSessions(g, past).status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(connector().KillSessions(g, past).status().code(),
            StatusCode::kDeadlineExceeded);
  // "At once": far below any per-call timeout a connector would use.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace jit
