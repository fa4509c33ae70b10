#include "jit/base/fault_schedule.h"

#include <string>

namespace jit {
namespace {

// splitmix64: a reproducible draw per (seed, call number).
double Draw(uint64_t seed, int64_t call) {
  uint64_t x = seed + static_cast<uint64_t>(call) * 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

}  // namespace

bool FaultInjector::Strikes(int64_t call) const {
  const FaultSchedule& s = schedule_;
  if (s.max_faults >= 0 && faults_ >= s.max_faults) return false;
  if (s.every_nth > 0 && call % s.every_nth == 0) return true;
  if (s.after >= 0 && call > s.after) return true;
  return s.probability > 0 && Draw(s.seed, call) < s.probability;
}

FaultDecision FaultInjector::Next() {
  std::lock_guard lock(mu_);
  int64_t call = ++calls_;
  FaultDecision d;
  d.latency = schedule_.latency;
  if (!Strikes(call)) return d;
  ++faults_;
  d.error = Status(schedule_.code,
                   "injected fault (call " + std::to_string(call) + ")");
  d.apply = schedule_.apply_then_fail;
  return d;
}

void FaultInjector::Set(FaultSchedule s) {
  std::lock_guard lock(mu_);
  schedule_ = s;
  calls_ = 0;
  faults_ = 0;
}

int64_t FaultInjector::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

int64_t FaultInjector::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

}  // namespace jit
