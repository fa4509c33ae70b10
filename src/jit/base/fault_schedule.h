#pragma once

// When an injected fault strikes: the schedule a fault-injecting wrapper
// (FaultyStore, FaultyConnector) follows per operation. For tests.

#include <chrono>
#include <cstdint>
#include <mutex>

#include "jit/base/status.h"

namespace jit {

struct FaultSchedule {
  // Which calls fail (any that applies; all zero/negative: none):
  int every_nth = 0;       // call N, 2N, 3N, ... (1-based)
  int64_t after = -1;      // every call after the first `after` (0: all)
  double probability = 0;  // each call with this chance, drawn from `seed`
  uint64_t seed = 1;
  int64_t max_faults = -1;  // stop failing after this many (-1: no limit)
  StatusCode code = StatusCode::kUnavailable;
  // Added before every call, failing or not.
  std::chrono::milliseconds latency{0};
  // A failing call still does its work, then reports the error (a timeout
  // after the target acted, a lost answer to a COMMIT that landed).
  bool apply_then_fail = false;
};

// What to do with one call.
struct FaultDecision {
  Status error;  // OK: no fault
  std::chrono::milliseconds latency{0};
  bool apply = true;  // whether the wrapped call runs
};

// Counts calls of one operation and decides per call. Thread-safe.
class FaultInjector {
 public:
  FaultInjector() = default;
  explicit FaultInjector(FaultSchedule s) : schedule_(s) {}

  FaultDecision Next();
  // Replaces the schedule; counts start again.
  void Set(FaultSchedule s);
  void Clear() { Set(FaultSchedule{}); }
  int64_t calls() const;
  int64_t faults() const;

 private:
  bool Strikes(int64_t call) const;  // requires mu_

  mutable std::mutex mu_;
  FaultSchedule schedule_;  // guarded by mu_
  int64_t calls_ = 0;       // guarded by mu_
  int64_t faults_ = 0;      // guarded by mu_
};

}  // namespace jit
