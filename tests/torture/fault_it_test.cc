// Faults of real systems under the real jitd (DESIGN invariant 2): a disk
// that fills up under the SQLite store. State changes are refused with 503
// and a JSON error, nothing is half done, and work resumes once the fault
// clears.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "tests/torture/fault_it_util.h"

namespace jit::torture {
namespace {

using testing::TempDir;

TEST(FaultItTest, FullDiskUnderSqliteRefusesChangesWith503AndRecovers) {
  // jitd inherits the ignored SIGXFSZ: a write past the file size limit
  // then fails with EFBIG, as on a full disk, instead of killing it.
  signal(SIGXFSZ, SIG_IGN);
  TempDir tmp;
  JitdProcess jitd(tmp.path(), TortureConfig(tmp.path()));
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  Reply held = AskRead(jitd);
  ASSERT_EQ(held.status, 201) << held.raw;
  Reply waiting = AskAdmin(jitd);
  ASSERT_EQ(waiting.status, 201) << waiting.raw;
  const std::string grant = Field(held, "grant_id");
  const std::string pending = Field(waiting, "id");

  rlimit before{};
  ASSERT_EQ(prlimit(jitd.pid(), RLIMIT_FSIZE, nullptr, &before), 0);
  // Small files (the target's state file) still fit; the database and its
  // write-ahead log do not.
  rlimit full = before;
  full.rlim_cur = 4096;
  ASSERT_EQ(prlimit(jitd.pid(), RLIMIT_FSIZE, &full, nullptr), 0);
  ExpectEveryChangeRefused(jitd, tmp.path(), grant, pending);
  ASSERT_EQ(prlimit(jitd.pid(), RLIMIT_FSIZE, &before, nullptr), 0);

  ExpectWorkResumes(jitd, tmp.path(), grant, pending);
  // And a restart finds the same, intact store.
  jitd.Stop();
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  EXPECT_GT(AuditEvents(jitd), 0);
}

}  // namespace
}  // namespace jit::torture
