// Crashes and restarts of the real jitd: revocation is never lost (THREATS
// T10), and a bad config never replaces a good one (T20).
#include <gtest/gtest.h>

#include <fstream>

#include "jit/base/duration.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

TEST_F(JitdTest, T10_GrantThatExpiredWhileDownIsRevokedBeforeReady) {
  Reply asked = Ask(kAlice, "box", "2s", "deploy hotfix");
  ASSERT_EQ(asked.status, 201) << asked.raw;
  std::string grant_id = asked.body["grant_id"];
  ASSERT_TRUE(Held(grant_id));
  SystemTime expires = *ParseTime(jitd_->Get("/v1/grants/" + grant_id, kAlice)
                                      .body["expires_at"]
                                      .get<std::string>());
  jitd_->Kill9();
  ASSERT_TRUE(
      WaitUntil([&] { return std::chrono::system_clock::now() > expires; },
                std::chrono::seconds(10)));
  EXPECT_TRUE(Held(grant_id));  // nobody revoked it while jitd was down
  ASSERT_TRUE(jitd_->Start().ok());
  // The first moment jitd is ready, the privilege is already gone.
  EXPECT_FALSE(Held(grant_id));
  Reply g = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  EXPECT_EQ(g.body["state"], "ended");
  EXPECT_EQ(g.body["ended_reason"], "expired");
  EXPECT_TRUE(jitd_->Get("/v1/audit/verify", kAuditor).body["ok"].get<bool>());
}

TEST_F(JitdTest, T10_RevokeCutShortByACrashIsFinishedAtStartUp) {
  Reply asked = Ask(kAlice, "box", "1s", "deploy hotfix");
  std::string grant_id = asked.body["grant_id"];
  std::ofstream(target_dir_ + "/fail-revoke") << "down";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return jitd_->Get("/v1/grants/" + grant_id, kAlice).body["state"] ==
               "revoke_pending";
      },
      std::chrono::seconds(10)));
  jitd_->Kill9();
  std::filesystem::remove(target_dir_ + "/fail-revoke");
  ASSERT_TRUE(jitd_->Start().ok());
  EXPECT_FALSE(Held(grant_id));
  EXPECT_EQ(jitd_->Get("/v1/grants/" + grant_id, kAlice).body["state"],
            "ended");
}

TEST_F(JitdTest, ActiveGrantSurvivesARestartAndStillAllows) {
  Reply asked = Ask(kAlice, "box", "10m", "deploy hotfix");
  std::string grant_id = asked.body["grant_id"];
  jitd_->Kill9();
  ASSERT_TRUE(jitd_->Start().ok());
  Reply check = jitd_->Post("/v1/check", kAlice,
                            {{"subject", "alice"}, {"entitlement", "box"}});
  EXPECT_TRUE(check.body["allowed"].get<bool>());
  EXPECT_EQ(check.body["grant_id"], grant_id);
}

TEST_F(JitdTest, T20_BadConfigOnReloadKeepsThePreviousPolicy) {
  std::ofstream(jitd_->config_path(), std::ios::app)
      << "  - name: broken\n    bogus_key: 1\n";
  jitd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return jitd_->log().find("reload refused") != std::string::npos; },
      std::chrono::seconds(10)))
      << jitd_->log();
  EXPECT_NE(jitd_->log().find("jitd.yaml:"), std::string::npos);
  EXPECT_EQ(Ask(kAlice, "read", "5m", "look at the slow query log").status,
            201);
  EXPECT_EQ(jitd_->Get("/readyz", "").status, 200);
}

TEST(JitdConfigTest, T20_MalformedConfigExitsNonZeroNamingFileAndLine) {
  TempDir tmp;
  JitdProcess bad(tmp.path(),
                  "auth:\n  tokens:\n    - {subject: a, token: "
                  "\"0123456789abcdef\", colour: red}\n");
  auto result = bad.RunToExit();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_NE(result->first, 0);
  EXPECT_NE(result->second.find("jitd.yaml:5"), std::string::npos)
      << result->second;
  EXPECT_NE(result->second.find("colour"), std::string::npos) << result->second;

  JitdProcess syntax(tmp.path(), "policies: [\n  - {name: x\n");
  auto r2 = syntax.RunToExit();
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->first, 0);
  EXPECT_NE(r2->second.find("jitd.yaml:"), std::string::npos) << r2->second;
}

}  // namespace
}  // namespace jit::testing

namespace jit::testing {
namespace {

TEST_F(JitdTest, ReloadMayNotChangeAnEntitlementThatHasLiveGrants) {
  Reply asked = Ask(kAlice, "read", "10m", "look at the slow query log");
  ASSERT_EQ(asked.status, 201);
  std::string changed = TestConfig(target_dir_);
  std::string from = "{name: read, connector: demo, max_duration: 1h}";
  changed.replace(changed.find(from), from.size(),
                  "{name: read, connector: demo, params: {role: superuser}, "
                  "max_duration: 1h}");
  jitd_->RewriteConfig(changed);
  jitd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return jitd_->log().find("reload refused") != std::string::npos; },
      std::chrono::seconds(10)))
      << jitd_->log();
  EXPECT_NE(jitd_->log().find("while grant"), std::string::npos);
}

}  // namespace
}  // namespace jit::testing

namespace jit::testing {
namespace {

TEST(JitdConfigTest, DiscoveryOnAConnectorThatCannotListHoldersIsRefused) {
  TempDir tmp;
  std::string config = TestConfig(tmp.path() + "/target");
  const std::string exec_line = "    timeout: 10s\n";
  size_t at = config.find(exec_line);
  ASSERT_NE(at, std::string::npos);
  config.insert(at + exec_line.size(),
                "    discovery: {mode: report, every: 1m}\n");
  JitdProcess bad(tmp.path(), config);
  auto result = bad.RunToExit();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_NE(result->first, 0);
  EXPECT_NE(result->second.find("connector target cannot list holders"),
            std::string::npos)
      << result->second;
}

}  // namespace
}  // namespace jit::testing
