// Faults of real systems under the real jitd (DESIGN invariant 2): the
// PostgreSQL store goes away in the middle of traffic and comes back.
// Changes are refused with 503 while it is down, nothing is granted
// without a committed record, and work resumes after.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/postgres_server.h"
#include "tests/torture/fault_it_util.h"

namespace jit::torture {
namespace {

using testing::TempDir;
using testing::WaitUntil;

TEST(FaultItTest, PostgresStoreRestartFailsClosedThenWorkResumes) {
  if (!testing::PostgresInstalled())
    GTEST_SKIP() << "PostgreSQL 15 is not installed";
  auto pg = testing::PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  ASSERT_TRUE((*pg)->Exec("CREATE DATABASE jitd_store").ok());
  TempDir tmp;
  const std::string dsn_file = tmp.path() + "/store.dsn";
  std::ofstream(dsn_file) << (*pg)->Dsn("postgres", "jitd_store") << "\n";
  std::filesystem::permissions(
      dsn_file,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
  std::string config = TortureConfig(tmp.path());
  const std::string sqlite = "storage: sqlite\n";
  ASSERT_EQ(config.find(sqlite), 0u);
  config.replace(0, sqlite.size(),
                 "storage:\n  postgres: {dsn_file: " + dsn_file + "}\n");
  JitdProcess jitd(tmp.path(), config);
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  Reply held = AskRead(jitd);
  ASSERT_EQ(held.status, 201) << held.raw;
  Reply waiting = AskAdmin(jitd);
  ASSERT_EQ(waiting.status, 201) << waiting.raw;
  const std::string grant = Field(held, "grant_id");
  const std::string pending = Field(waiting, "id");
  std::set<std::string> target_before = TargetHeld(tmp.path());

  ASSERT_TRUE((*pg)->Stop().ok());
  // While the store is down every change is refused and none is granted.
  for (int i = 0; i < 5; ++i) ExpectRefused(AskRead(jitd), "ask while down");
  ExpectRefused(jitd.Post("/v1/requests/" + pending + "/approve", kBobToken,
                          nlohmann::json::object()),
                "approve while down");
  ExpectRefused(jitd.Post("/v1/grants/" + grant + "/revoke", kAliceToken,
                          {{"reason", "done"}}),
                "revoke while down");
  EXPECT_EQ(TargetHeld(tmp.path()), target_before);

  ASSERT_TRUE((*pg)->StartAgain().ok());
  // The pool reconnects on its own; bounded wait for the first success.
  ASSERT_TRUE(WaitUntil([&] { return AskRead(jitd).status == 201; },
                        std::chrono::seconds(20)))
      << jitd.log();
  ExpectWorkResumes(jitd, tmp.path(), grant, pending);
}

}  // namespace
}  // namespace jit::torture
