#include "jit/connectors/linux_sudo/grant_processes.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Field;

const SystemTime kStart = SystemTime(std::chrono::seconds(1'795'460'400));

ProcessInfo Proc(pid_t pid, pid_t ppid, uid_t uid, SystemTime started,
                 std::string exe, std::optional<std::string> sudo_user = {}) {
  ProcessInfo p;
  p.pid = pid;
  p.ppid = ppid;
  p.real_uid = uid;
  p.started = started;
  p.exe = std::move(exe);
  p.cmdline = p.exe;
  p.sudo_user = std::move(sudo_user);
  return p;
}

std::vector<pid_t> Pids(const std::vector<ProcessInfo>& procs) {
  std::vector<pid_t> out;
  for (const ProcessInfo& p : procs) out.push_back(p.pid);
  return out;
}

const GrantProcessQuery kQuery{1001, "alice", kStart, "/usr/bin/sudo"};

TEST(GrantProcessesTest, SelectsTheUsersSudoTreesStartedUnderTheGrant) {
  std::vector<ProcessInfo> table = {
      Proc(1, 0, 0, kStart - 1h, "/sbin/init"),
      Proc(10, 1, 0, kStart + 1s, "/usr/sbin/runuser"),
      Proc(11, 10, 1001, kStart + 1s, "/usr/bin/sudo"),  // alice's sudo
      Proc(12, 11, 0, kStart + 1s, "/bin/sleep", "alice"),
      Proc(13, 12, 0, kStart + 2s, "/bin/sh"),          // no env, a child
      Proc(20, 1, 1002, kStart + 1s, "/usr/bin/sudo"),  // bob's sudo
      Proc(21, 20, 0, kStart + 1s, "/bin/sleep", "bob"),
      Proc(30, 1, 1001, kStart - 1h, "/usr/bin/sudo"),  // before the grant
      Proc(31, 30, 0, kStart - 1h, "/bin/sleep", "alice"),
      Proc(40, 1, 0, kStart + 5s, "/usr/sbin/daemon", "alice"),  // escaped
      Proc(50, 1, 1001, kStart + 5s, "/home/alice/sudo"),        // not sudo
  };
  std::vector<ProcessInfo> selected = SelectGrantProcesses(table, kQuery);
  EXPECT_THAT(Pids(selected), ElementsAre(11, 12, 13, 40));
  EXPECT_THAT(SessionsOf(selected), ElementsAre(Field(&Session::id, "11"),
                                                Field(&Session::id, "40")));
}

TEST(GrantProcessesTest, StartTimesGetSlack) {
  std::vector<ProcessInfo> table = {
      Proc(11, 1, 1001, kStart - kStartSlack, "/usr/bin/sudo"),
      Proc(12, 1, 1001, kStart - kStartSlack - 1s, "/usr/bin/sudo"),
  };
  EXPECT_THAT(Pids(SelectGrantProcesses(table, kQuery)), ElementsAre(11));
}

TEST(GrantProcessesTest, GoneAccountStillMatchesByEnvironment) {
  GrantProcessQuery q = kQuery;
  q.uid.reset();
  std::vector<ProcessInfo> table = {
      Proc(11, 1, 1001, kStart + 1s, "/usr/bin/sudo"),
      Proc(12, 11, 0, kStart + 1s, "/bin/sleep", "alice"),
  };
  EXPECT_THAT(Pids(SelectGrantProcesses(table, q)), ElementsAre(12));
}

TEST(GrantProcessesTest, ReadsThisProcessFromProc) {
  StatusOr<std::vector<ProcessInfo>> table = ReadProcessTable("/proc");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto self =
      std::find_if(table->begin(), table->end(),
                   [](const ProcessInfo& p) { return p.pid == ::getpid(); });
  ASSERT_NE(self, table->end());
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_EQ(self->real_uid, ::getuid());
  EXPECT_LE(self->started, std::chrono::system_clock::now() + 2s);
  EXPECT_GE(self->started, std::chrono::system_clock::now() - 10min);
  EXPECT_NE(self->cmdline.find("linux_sudo_unit_test"), std::string::npos);
}

TEST(GrantProcessesTest, MissingProcIsUnavailable) {
  EXPECT_EQ(ReadProcessTable("/nonexistent-proc").status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace jit
