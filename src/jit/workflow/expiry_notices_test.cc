#include "jit/workflow/expiry_notices.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

int Notices(TestRig& rig, const std::string& grant) {
  int n = 0;
  for (const AuditEvent& e : rig.EventsOf(grant))
    n += e.type == AuditType::kGrantExpiring;
  return n;
}

class ExpiryNoticesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("expiry_notices_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string State() const { return (dir_ / "expiry_notices.json").string(); }

  TestRig rig_;
  std::filesystem::path dir_;
};

TEST_F(ExpiryNoticesTest, NoticesOnceFiveMinutesBeforeExpiry) {
  ExpiryNotices notices(rig_.deps, State());
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant.empty());
  rig_.clock.Advance(minutes(25) - seconds(1));
  ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  EXPECT_EQ(Notices(rig_, grant), 0);
  rig_.clock.Advance(seconds(1));
  auto n = notices.RunDue(rig_.clock.Now());
  ASSERT_TRUE(IsOk(n));
  EXPECT_EQ(*n, 1);
  ASSERT_EQ(Notices(rig_, grant), 1);
  for (int i = 0; i < 3; ++i) {
    rig_.clock.Advance(seconds(30));
    ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  }
  EXPECT_EQ(Notices(rig_, grant), 1);
  for (const AuditEvent& e : rig_.EventsOf(grant)) {
    if (e.type != AuditType::kGrantExpiring) continue;
    auto data = nlohmann::json::parse(e.data);
    EXPECT_EQ(data["expires_at"],
              FormatTime(rig_.StoredGrant(grant).expires_at));
    EXPECT_EQ(data["entitlement"], "dev-shell");
    EXPECT_EQ(e.subject, "alice");
  }
  EXPECT_TRUE(rig_.VerifyAudit().ok);
}

TEST_F(ExpiryNoticesTest, ARestartDoesNotNoticeAgain) {
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  rig_.clock.Advance(minutes(26));
  {
    ExpiryNotices first(rig_.deps, State());
    ASSERT_TRUE(IsOk(first.Load()));
    ASSERT_TRUE(IsOk(first.RunDue(rig_.clock.Now())));
  }
  ExpiryNotices second(rig_.deps, State());
  ASSERT_TRUE(IsOk(second.Load()));
  rig_.clock.Advance(minutes(1));
  ASSERT_TRUE(IsOk(second.RunDue(rig_.clock.Now())));
  EXPECT_EQ(Notices(rig_, grant), 1);
}

TEST_F(ExpiryNoticesTest, AnExtendedGrantIsNoticedAgainBeforeItsNewExpiry) {
  ExpiryNotices notices(rig_.deps, "");
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  rig_.clock.Advance(minutes(26));
  ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  ASSERT_TRUE(IsOk(rig_.requests.Extend(
      rig_.P("alice"), grant,
      ExtendInput{minutes(20), std::string(kGoodReason)})));
  ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  EXPECT_EQ(Notices(rig_, grant), 1);  // new expiry is 24 minutes away
  rig_.clock.Advance(minutes(19));
  ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  EXPECT_EQ(Notices(rig_, grant), 2);
}

TEST_F(ExpiryNoticesTest, EndedGrantsAndBadStateFiles) {
  ExpiryNotices notices(rig_.deps, State());
  const std::string grant = rig_.ActiveGrant("alice", minutes(30));
  ASSERT_TRUE(IsOk(rig_.requests.EndGrant(rig_.P("alice"), grant, "done")));
  rig_.clock.Advance(minutes(26));
  ASSERT_TRUE(IsOk(notices.RunDue(rig_.clock.Now())));
  EXPECT_EQ(Notices(rig_, grant), 0);
  std::ofstream(State()) << "[1, 2]";
  EXPECT_TRUE(HasError(notices.Load(), StatusCode::kInvalidArgument));
  std::ofstream(State()) << R"({"noticed": {"grt_1": "yesterday"}})";
  EXPECT_TRUE(HasError(notices.Load(), StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace jit
