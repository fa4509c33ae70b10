#pragma once

// Mixed client traffic against a running jitd for the torture test, and a
// check loop that asks /v1/check from outside throughout (also while jitd
// is down and while it recovers).

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/jitd_process.h"
#include "tests/torture/ledger.h"

namespace jit::torture {

// Tokens of the torture config (fixtures, not secrets).
inline const std::string kAliceToken = "torture-alice-token-000";
inline const std::string kDaveToken = "torture-dave-token-0000";
inline const std::string kBobToken = "torture-bob-token-00000";
inline const std::string kCarolToken = "torture-carol-token-000";
inline const std::string kAuditorToken = "torture-audrey-token-00";
inline const std::string kEnforcerToken = "torture-host-token-0000";

// The jitd config after listen/data_dir: SQLite store, a fake connector
// whose target state and call log live in `dir`, short-lived auto-approved
// `read` grants and `admin` grants that need one approver.
std::string TortureConfig(const std::string& dir);

// One random operation per Step(): ask (auto or needing approval),
// approve, deny, cancel, end, extend. Records every success in the ledger.
// Not thread-safe; one per driver thread.
class Traffic {
 public:
  Traffic(const testing::JitdProcess& jitd, Ledger& ledger, uint64_t seed)
      : jitd_(jitd), ledger_(ledger), rng_(seed) {}

  void Step();
  int64_t ops() const { return ops_; }

 private:
  void AskRead(const std::string& token);
  void AskAdmin(const std::string& token);
  void Approve();
  void Deny();
  void Cancel();
  void End();
  void Extend();
  // Records a request body jitd answered with (new or decided).
  void Note(const nlohmann::json& request, const std::string& token);
  std::string PickPending();
  std::string PickActive();

  const testing::JitdProcess& jitd_;
  Ledger& ledger_;
  std::mt19937_64 rng_;
  std::vector<std::pair<std::string, std::string>> pending_;  // id, token
  std::vector<std::pair<std::string, std::string>> active_;   // grant, token
  int64_t ops_ = 0;
};

// Asks /v1/check for alice and dave (read and admin) in a loop on its own
// thread, every 10 ms, until Stop(); every allow goes to the ledger, which
// flags an allow at or after expires_at.
class CheckLoop {
 public:
  CheckLoop(const testing::JitdProcess& jitd, Ledger& ledger)
      : jitd_(jitd), ledger_(ledger) {}
  ~CheckLoop() { Stop(); }
  void Start();
  void Stop();

 private:
  void Run();
  const testing::JitdProcess& jitd_;
  Ledger& ledger_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace jit::torture
