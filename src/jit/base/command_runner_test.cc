#include "jit/base/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr milliseconds kGenerous{10'000};

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "jit_cmd_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Waits (bounded) until process `pid` has ended; true if it did. A pidfd
// becomes readable on exit, so this waits on an event, not a timer.
bool ProcessEnds(pid_t pid, milliseconds within) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(within.count()));
  ::close(fd);
  return ready == 1;
}

StatusOr<CommandResult> Sh(const std::string& script,
                           std::map<std::string, std::string> env = {},
                           milliseconds timeout = kGenerous) {
  PosixCommandRunner runner;
  return runner.Run({"/bin/sh", "-c", script}, env, timeout);
}

TEST(PosixCommandRunnerTest, PassesEachArgumentLiterallyWithoutShell) {
  PosixCommandRunner runner;
  auto r = runner.Run({"/bin/echo", "a b", "; rm -rf /", "$HOME", "*"}, {},
                      kGenerous);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "a b ; rm -rf / $HOME *\n");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(PosixCommandRunnerTest, ArgumentsArriveAsSeparateArgv) {
  PosixCommandRunner runner;
  auto r = runner.Run({"/bin/sh", "-c", "printf '[%s]\\n' \"$@\"", "sh",
                       "one two", "x\"; touch /tmp/pwned #"},
                      {}, kGenerous);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "[one two]\n[x\"; touch /tmp/pwned #]\n");
}

TEST(PosixCommandRunnerTest, EnvironmentIsExactlyTheGivenMap) {
  PosixCommandRunner runner;
  auto r = runner.Run({"/usr/bin/env"}, {{"FOO", "bar baz"}, {"EMPTY", ""}},
                      kGenerous);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Nothing of the test process (PATH, HOME...) leaks through.
  EXPECT_EQ(r->out, "EMPTY=\nFOO=bar baz\n");
}

TEST(PosixCommandRunnerTest, EmptyEnvironmentGivesChildNoVariables) {
  PosixCommandRunner runner;
  auto r = runner.Run({"/usr/bin/env"}, {}, kGenerous);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "");
}

TEST(PosixCommandRunnerTest, ReportsExitCode) {
  auto r = Sh("exit 7");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 7);
}

TEST(PosixCommandRunnerTest, KilledBySignalReports128PlusSignal) {
  auto r = Sh("kill -TERM $$");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(PosixCommandRunnerTest, CapturesStdoutAndStderrApart) {
  auto r = Sh("echo to-out; echo to-err >&2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "to-out\n");
  EXPECT_EQ(r->err, "to-err\n");
}

TEST(PosixCommandRunnerTest, StdinIsDevNull) {
  // `cat` would wait forever on an inherited terminal or pipe.
  PosixCommandRunner runner;
  auto r = runner.Run({"/bin/cat"}, {}, kGenerous);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(PosixCommandRunnerTest, DoesNotLeakOpenDescriptorsToChild) {
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaked, 3);
  auto r = Sh("[ -e /proc/self/fd/" + std::to_string(leaked) +
              " ] && echo open || echo closed");
  ::close(leaked);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "closed\n");
}

TEST(PosixCommandRunnerTest, RunsChildInItsOwnProcessGroup) {
  auto r =
      Sh("ps -o pgid= -p $$ | tr -d ' '; echo $$", {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  if (r->exit_code != 0) GTEST_SKIP() << "ps not available: " << r->err;
  std::istringstream lines(r->out);
  std::string pgid, pid;
  lines >> pgid >> pid;
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, std::to_string(::getpgrp()));
}

TEST(PosixCommandRunnerTest, TimeoutKillsWholeProcessGroupAndReturnsQuickly) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/bg.pid";
  auto start = std::chrono::steady_clock::now();
  // A background grandchild and a foreground child, both sleeping 10 s.
  auto r = Sh("/bin/sleep 10 & echo $! > " + pid_file + "; /bin/sleep 10", {},
              milliseconds(1000));
  auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, seconds(5));
  std::ifstream in(pid_file);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild) << "script did not start in time";
  EXPECT_TRUE(ProcessEnds(grandchild, milliseconds(5000)));
}

TEST(PosixCommandRunnerTest, ChildThatClosesOutputStillTimesOut) {
  auto start = std::chrono::steady_clock::now();
  auto r = Sh("exec >&- 2>&-; /bin/sleep 10", {}, milliseconds(300));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

TEST(PosixCommandRunnerTest, ChildThatClosesOutputEarlyIsWaitedFor) {
  auto r = Sh("exec >&- 2>&-; exit 4");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 4);
}

TEST(PosixCommandRunnerTest, NonPositiveTimeoutFailsWithoutRunning) {
  TempDir dir;
  const std::string marker = dir.path() + "/ran";
  PosixCommandRunner runner;
  auto r = runner.Run({"/usr/bin/touch", marker}, {}, milliseconds(0));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(PosixCommandRunnerTest, CapsEachStreamAt64KiBAndDrainsTheRest) {
  auto r =
      Sh("/usr/bin/head -c 300000 /dev/zero; /usr/bin/head -c 200000 "
         "/dev/zero >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out.size(), 64u * 1024);
  EXPECT_EQ(r->err.size(), 64u * 1024);
  // The child was not blocked on a full pipe: it reached its exit.
  EXPECT_EQ(r->exit_code, 3);
}

TEST(PosixCommandRunnerTest, MissingProgramIsUnavailable) {
  PosixCommandRunner runner;
  auto r = runner.Run({"/nonexistent/program"}, {}, kGenerous);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/program"));
}

TEST(PosixCommandRunnerTest, RelativeProgramPathIsRejected) {
  PosixCommandRunner runner;
  for (const char* program : {"echo", "./echo", "bin/echo", ""}) {
    auto r = runner.Run({program, "x"}, {}, kGenerous);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << program;
  }
}

TEST(PosixCommandRunnerTest, EmptyArgvIsRejected) {
  PosixCommandRunner runner;
  auto r = runner.Run({}, {}, kGenerous);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(PosixCommandRunnerTest, NulInArgumentOrEnvironmentIsRejected) {
  PosixCommandRunner runner;
  std::string with_nul("a\0b", 3);
  EXPECT_EQ(runner.Run({"/bin/echo", with_nul}, {}, kGenerous).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      runner.Run({"/bin/echo"}, {{"K", with_nul}}, kGenerous).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      runner.Run({"/bin/echo"}, {{"K=V", "x"}}, kGenerous).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(PosixCommandRunnerTest, ConcurrentRunsKeepTheirOutputApart) {
  PosixCommandRunner runner;
  constexpr int kThreads = 8;
  std::vector<std::string> outputs(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&runner, &outputs, i] {
      for (int round = 0; round < 5; ++round) {
        auto r = runner.Run({"/bin/echo", std::to_string(i)}, {}, kGenerous);
        outputs[i] += r.ok() ? r->out : "error\n";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    std::string want;
    for (int round = 0; round < 5; ++round) want += std::to_string(i) + "\n";
    EXPECT_EQ(outputs[i], want);
  }
}

}  // namespace
}  // namespace jit
