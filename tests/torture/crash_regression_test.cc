// Crashes at named points that once broke an invariant, replayed
// deterministically against the real jitd (each found by jitd_torture).
#include <gtest/gtest.h>

#include "tests/torture/fault_it_util.h"

namespace jit::torture {
namespace {

using testing::JitdProcess;
using testing::Reply;
using testing::TempDir;
using testing::WaitUntil;

// Starts jitd armed at `point`, drives asks until the point fires (bounded),
// then restarts it unarmed.
void CrashAtAndRestart(JitdProcess& jitd, const std::string& point) {
  jitd.SetEnv({{"JITD_CRASH_POINT", point}});
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  bool died = WaitUntil(
      [&] {
        (void)AskRead(jitd);
        return jitd.Exited();
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(died) << point << " never fired\n" << jitd.log();
  EXPECT_NE(jitd.log().find("crash point " + point + " fired"),
            std::string::npos);
  jitd.SetEnv({});
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
}

// A scheduler pass claimed an expired grant (ClaimDueRevokes) and died
// before ending it. With one process per store that claim died too: the
// next start-up ends the grant before serving. Once the claim kept it
// active, and held in the target, for the claim's whole lease after the
// restart.
TEST(ExpiryClaimCrashTest, ClaimedButNotEndedIsRevokedBeforeReady) {
  TempDir tmp;
  JitdProcess jitd(tmp.path(), TortureConfig(tmp.path()));
  jitd.SetEnv({{"JITD_CRASH_POINT", "expiry.after_claim"}});
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  Reply asked = jitd.Post("/v1/requests", kAliceToken,
                          {{"entitlement", "read"},
                           {"duration", "1s"},
                           {"justification", "fault test: read the logs"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string grant = Field(asked, "grant_id");
  ASSERT_TRUE(
      WaitUntil([&] { return jitd.Exited(); }, std::chrono::seconds(20)))
      << "expiry.after_claim never fired\n"
      << jitd.log();
  ASSERT_TRUE(TargetHeld(tmp.path()).contains(grant));
  jitd.SetEnv({});
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  EXPECT_FALSE(TargetHeld(tmp.path()).contains(grant));
  Reply g = jitd.Get("/v1/grants/" + grant, kAliceToken);
  EXPECT_EQ(Field(g, "state"), "ended") << g.raw;
  EXPECT_EQ(Field(g, "ended_reason"), "expired") << g.raw;
}

// A crash anywhere in writing the first checkpoint leaves a log that
// verifies after the restart. Once the event was committed before its file
// and a crash between the two was reported as a removed checkpoint file (a
// false tamper alarm, recorded as audit.verify_failed).
class CheckpointCrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointCrashTest, FirstCheckpointCutShortStillVerifies) {
  TempDir tmp;
  std::string config = TortureConfig(tmp.path());
  const std::string audit =
      "audit: {checkpoint_events: 40, checkpoint_every: 2s}";
  ASSERT_NE(config.find(audit), std::string::npos);
  config.replace(config.find(audit), audit.size(),
                 "audit: {checkpoint_events: 3, checkpoint_every: 1s}");
  JitdProcess jitd(tmp.path(), config);
  CrashAtAndRestart(jitd, GetParam());
  Reply v = jitd.Get("/v1/audit/verify", kAuditorToken);
  EXPECT_EQ(v.status, 200);
  EXPECT_TRUE(v.body.is_object() && v.body["ok"] == true) << v.raw;
  // And it keeps verifying once a later checkpoint is written.
  auto checkpoints = [&] {
    Reply r = jitd.Get("/v1/audit/verify", kAuditorToken);
    return r.body.is_object() && r.body["checkpoints"].is_number()
               ? r.body["checkpoints"].get<int>()
               : -1;
  };
  const int before = checkpoints();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(AskRead(jitd).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return checkpoints() > before; },
                        std::chrono::seconds(10)))
      << jitd.log();
  v = jitd.Get("/v1/audit/verify", kAuditorToken);
  EXPECT_TRUE(v.body.is_object() && v.body["ok"] == true) << v.raw;
}

INSTANTIATE_TEST_SUITE_P(Points, CheckpointCrashTest,
                         ::testing::Values("checkpoint.before_file",
                                           "checkpoint.after_file",
                                           "checkpoint.after_commit"),
                         [](const auto& info) {
                           std::string name = info.param.substr(11);
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace jit::torture
