// jitd_torture: kills the real jitd over and over (at a named crash point
// or with SIGKILL at a random moment) under mixed traffic, restarts it and
// checks every invariant of DESIGN.md after each recovery. Exit code 0 only
// when no violation was found. See docs/RELIABILITY.md.
#include <signal.h>
#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "jit/base/crash_point.h"
#include "tests/torture/invariants.h"
#include "tests/torture/reconcile_run.h"
#include "tests/torture/traffic.h"

namespace jit::torture {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct Options {
  int iterations = 50;
  uint64_t seed = 0;       // 0: from the clock (printed)
  int crash_percent = 60;  // the rest are kill -9 at a random moment
  int64_t reconcile_grants = 0;
  int max_minutes = 0;  // 0: no limit
  std::string keep_dir;
};

struct Summary {
  int iterations = 0;
  int crash_iterations = 0;
  int kill_iterations = 0;
  int crashed_in_startup = 0;
  int point_not_reached = 0;
  std::map<std::string, int> fired;
  milliseconds longest_recovery{0};
  milliseconds total_recovery{0};
  int64_t traffic_ops = 0;
};

// The crash points traffic reaches with a healthy target; a failing one
// (activate.fail.*, revoke.failure.*) is covered by the fault tests.
int AfterLimit(std::string_view name) {
  if (name.starts_with("store.commit") || name == "expiry.pass") return 30;
  return 3;
}

class Torture {
 public:
  Torture(const Options& o, const std::string& dir)
      : options_(o),
        dir_(dir),
        rng_(o.seed),
        jitd_(dir, TortureConfig(dir)),
        checker_(jitd_, ledger_, dir),
        checks_(jitd_, ledger_) {}

  int Run();

 private:
  bool RecoverAndCheck();
  // False when jitd cannot be brought back (the run stops).
  bool Iterate(int i);
  void CrashIteration();
  void KillIteration();
  // Traffic until jitd dies by itself or `limit` passes; true if it died.
  bool TrafficUntilDeath(milliseconds limit, int max_ops);
  std::string NewLog();
  void PrintSummary(std::chrono::seconds took) const;

  Options options_;
  std::string dir_;
  std::mt19937_64 rng_;
  Ledger ledger_;
  testing::JitdProcess jitd_;
  InvariantChecker checker_;
  CheckLoop checks_;
  Summary summary_;
  size_t log_offset_ = 0;
  int64_t traffic_seed_ = 1;
};

std::string Torture::NewLog() {
  std::string log = jitd_.log();
  std::string fresh = log.size() > log_offset_ ? log.substr(log_offset_) : "";
  log_offset_ = log.size();
  return fresh;
}

bool Torture::RecoverAndCheck() {
  jitd_.SetEnv({});
  SystemTime spawned = std::chrono::system_clock::now();
  steady_clock::time_point spawned_mono = steady_clock::now();
  Status started = jitd_.Start();
  if (!started.ok()) {
    ledger_.Violation("restart_failed", started.ToString().substr(0, 2000));
    return false;
  }
  milliseconds took = checker_.WaitReconciled(spawned, spawned_mono);
  summary_.longest_recovery = std::max(summary_.longest_recovery, took);
  summary_.total_recovery += took;
  checks_.Stop();
  checker_.CheckAll();
  NewLog();
  return true;
}

bool Torture::TrafficUntilDeath(milliseconds limit, int max_ops) {
  Traffic traffic(jitd_, ledger_, static_cast<uint64_t>(traffic_seed_++));
  auto end = steady_clock::now() + limit;
  for (int op = 0; op < 100'000; ++op) {
    if (jitd_.Exited()) return true;
    if (steady_clock::now() >= end) return false;
    if (op < max_ops) {
      traffic.Step();
      summary_.traffic_ops++;
    } else {
      // Out of traffic: let grants expire and the scheduler work.
      std::this_thread::sleep_for(milliseconds(20));  // polls jitd's exit
    }
  }
  return jitd_.Exited();
}

void Torture::CrashIteration() {
  ++summary_.crash_iterations;
  size_t pick = std::uniform_int_distribution<size_t>(
      0, kCrashPointNames.size() - 1)(rng_);
  std::string name(kCrashPointNames[pick]);
  int after = std::uniform_int_distribution<int>(1, AfterLimit(name))(rng_);
  jitd_.Stop();  // graceful: the armed start below is a fresh process
  NewLog();
  jitd_.SetEnv({{"JITD_CRASH_POINT", name},
                {"JITD_CRASH_AFTER", std::to_string(after)}});
  checks_.Start();
  if (!jitd_.Start().ok()) {
    ++summary_.crashed_in_startup;
    jitd_.Kill9();  // in case it hung instead of dying
  } else {
    int ops = std::uniform_int_distribution<int>(10, 60)(rng_);
    if (!TrafficUntilDeath(milliseconds(3000), ops)) {
      ++summary_.point_not_reached;
      jitd_.Kill9();
    }
  }
  jitd_.Exited();
  std::string log = NewLog();
  size_t at = log.find("jitd: crash point ");
  if (at != std::string::npos) {
    std::string rest = log.substr(at + 18);
    ++summary_.fired[rest.substr(0, rest.find(' '))];
  }
}

void Torture::KillIteration() {
  ++summary_.kill_iterations;
  checks_.Start();
  milliseconds delay(std::uniform_int_distribution<int>(50, 1500)(rng_));
  pid_t pid = jitd_.pid();
  // The kill lands at a random moment, usually in the middle of a request,
  // a revoke or a commit, not between two client calls.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread killer([&] {
    std::unique_lock lock(mu);
    cv.wait_for(lock, delay, [&] { return done; });
    if (pid > 0) kill(pid, SIGKILL);
  });
  int ops = std::uniform_int_distribution<int>(10, 60)(rng_);
  TrafficUntilDeath(delay + milliseconds(100), ops);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  killer.join();
  jitd_.Kill9();  // reaps
}

bool Torture::Iterate(int i) {
  bool crash =
      std::uniform_int_distribution<int>(0, 99)(rng_) < options_.crash_percent;
  if (crash) {
    CrashIteration();
  } else {
    KillIteration();
  }
  ++summary_.iterations;
  if (!RecoverAndCheck()) {
    // One more try, so a single failed start does not end the run.
    jitd_.Kill9();
    if (!RecoverAndCheck()) return false;
  }
  if ((i + 1) % 10 == 0) {
    std::cout << "iteration " << i + 1 << ": violations "
              << ledger_.ViolationCounts().size() << " kinds, audit events "
              << checker_.audit_events() << ", longest recovery "
              << summary_.longest_recovery.count() << " ms" << std::endl;
  }
  return true;
}

void Torture::PrintSummary(std::chrono::seconds took) const {
  int total = 0;
  for (const auto& [kind, n] : ledger_.ViolationCounts()) total += n;
  std::cout << "\n== torture summary ==\n"
            << "seed: " << options_.seed << "\n"
            << "iterations: " << summary_.iterations << " ("
            << summary_.crash_iterations << " at a crash point, "
            << summary_.kill_iterations << " kill -9 at a random moment)\n"
            << "crash point fired during start-up: "
            << summary_.crashed_in_startup
            << ", not reached (then kill -9): " << summary_.point_not_reached
            << "\n"
            << "traffic: " << summary_.traffic_ops << " operations, "
            << ledger_.acked_requests() << " requests acknowledged, "
            << ledger_.checks() << " checks (" << ledger_.allowed_checks()
            << " allowed), " << checker_.audit_events() << " audit events\n"
            << "recovery (restart to reconciled): longest "
            << summary_.longest_recovery.count() << " ms, mean "
            << (summary_.iterations > 0
                    ? summary_.total_recovery.count() / summary_.iterations
                    : 0)
            << " ms\n"
            << "fired by point:";
  for (const auto& [name, n] : summary_.fired)
    std::cout << " " << name << "=" << n;
  std::cout << "\nviolations: " << total << "\n";
  for (const auto& [kind, n] : ledger_.ViolationCounts())
    std::cout << "  " << kind << ": " << n << "\n";
  for (const std::string& d : ledger_.ViolationDetails())
    std::cout << "  - " << d << "\n";
  std::cout << "took: " << took.count() << " s" << std::endl;
}

int Torture::Run() {
  auto start = steady_clock::now();
  checks_.Start();
  Status s = jitd_.Start();
  if (!s.ok()) {
    std::cerr << "jitd_torture: jitd does not start: " << s.ToString() << "\n";
    return 2;
  }
  checks_.Stop();
  bool up = true;
  for (int i = 0; i < options_.iterations && up; ++i) {
    if (options_.max_minutes > 0 &&
        steady_clock::now() - start >
            std::chrono::minutes(options_.max_minutes)) {
      std::cout << "time limit reached after " << i << " iterations\n";
      break;
    }
    up = Iterate(i);
  }
  if (up) {
    checker_.VerifyAuditOffline(JIT_BIN, dir_);
  } else {
    std::cerr << "jitd does not restart; its log:\n"
              << jitd_.log().substr(log_offset_) << "\n";
  }
  jitd_.Stop();
  PrintSummary(std::chrono::duration_cast<std::chrono::seconds>(
      steady_clock::now() - start));
  return ledger_.ViolationCounts().empty() ? 0 : 1;
}

}  // namespace
}  // namespace jit::torture

int main(int argc, char** argv) {
  jit::torture::Options o;
  CLI::App app{"jitd_torture: crash jitd under traffic, check invariants"};
  app.add_option("--iterations", o.iterations, "kill/restart cycles (50)");
  app.add_option("--seed", o.seed, "random seed (0: from the clock)");
  app.add_option("--crash-percent", o.crash_percent,
                 "share of iterations armed at a crash point (60)");
  app.add_option("--max-minutes", o.max_minutes,
                 "stop starting iterations after this long (0: no limit)");
  app.add_option("--reconcile-grants", o.reconcile_grants,
                 "instead: seed N grants expired while jitd was down and "
                 "time the restart that revokes them");
  app.add_option("--keep-dir", o.keep_dir,
                 "work in this directory and keep it (default: a temp dir)");
  CLI11_PARSE(app, argc, argv);
  if (o.seed == 0) {
    o.seed = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
  }
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<jit::testing::TempDir> tmp;
  std::string dir = o.keep_dir;
  if (dir.empty()) {
    tmp = std::make_unique<jit::testing::TempDir>();
    dir = tmp->path();
  } else {
    std::filesystem::create_directories(dir);
  }
  if (o.reconcile_grants > 0) {
    return jit::torture::RunReconcileAtScale(o.reconcile_grants, dir);
  }
  std::cout << "jitd_torture: " << o.iterations << " iterations, seed "
            << o.seed << ", dir " << dir << std::endl;
  jit::torture::Torture t(o, dir);
  return t.Run();
}
