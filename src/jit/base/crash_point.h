#pragma once

// Crash points: named places where a test run of jitd dies on the spot, as
// if killed with SIGKILL, so the torture test (tests/torture) can check that
// a crash at exactly that place loses nothing (DESIGN "Invariants").
//
// For tests only. Unarmed (the normal case) a crash point costs one relaxed
// atomic load. They are armed once, at start-up, from the environment:
//   JITD_CRASH_POINT=name[,name...]   the points that may fire ("*" = all)
//   JITD_CRASH_AFTER=N                fire at the N-th hit of an armed point
//                                     (default 1, counted over all of them)
//   JITD_CRASH_PROBABILITY=P          instead: each hit fires with
//   JITD_CRASH_SEED=S                 probability P (0 < P <= 1), drawn from
//                                     a generator seeded with S (default 1)
// A point that fires writes "jitd: crash point NAME fired" to stderr and
// raises SIGKILL: no destructor, flush or atexit handler runs.
//
// Every name is in kCrashPointNames; CrashPoint("typo") does not compile.
// The armed state is process-wide by necessity (it must reach every layer
// without new parameters); it is set before any thread starts and only
// read afterwards.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"

namespace jit {

// Each name is `part.place`; see docs/RELIABILITY.md for where each sits.
inline constexpr std::array<std::string_view, 21> kCrashPointNames = {
    // request_service.cc
    "request.create.after_commit",  // a request that waits, committed
    "approval.after_commit",        // an approval committed, not acted on
    // grant_lifecycle.cc: activation commits the grant, then grants
    "activate.after_commit",        // recorded active; target not asked yet
    "activate.after_connector",     // target holds it; not yet in the index
    "activate.fail.before_commit",  // target refused; failure not recorded
    // grant_lifecycle.cc: ending commits the decision, then revokes
    "end.after_commit",             // revoke_pending recorded; target not asked
    "revoke.before_connector",      // about to revoke in the target
    "revoke.after_connector",       // revoked in the target; end not committed
    "revoke.after_commit",          // ended recorded
    "revoke.failure.after_commit",  // a failed revoke recorded for retry
    "extend.after_commit",          // expires_at moved; target not told
    // expiry_scheduler.cc and jitd_server.cc
    "expiry.pass",              // the start of one scheduler pass
    "expiry.after_claim",       // due revokes claimed, none ended yet
    "expiry.after_end",         // one expired grant ended inside a pass
    "revoke.retry",             // retrying a revoke_pending grant
    "startup.after_reconcile",  // revokes done at start-up; not yet serving
    // storage: the transaction that holds a change and its audit events
    "store.commit.before",  // rows and audit events written, no COMMIT
    "store.commit.after",   // COMMIT done, caller not told
    // checkpoint_writer.cc
    "checkpoint.before_file",   // checkpoint signed, nothing written
    "checkpoint.after_file",    // latest file written, event not stored
    "checkpoint.after_commit",  // event stored too
};

namespace crash_point_internal {

void NotACrashPointName();  // never defined: a typo fails to compile

inline std::atomic<bool> armed{false};
void Reached(int index);

}  // namespace crash_point_internal

// A crash point name checked at compile time against kCrashPointNames.
class CrashPointName {
 public:
  consteval CrashPointName(const char* name)  // NOLINT: implicit on purpose
      : index_(Find(name)) {}
  int index() const { return index_; }

 private:
  static consteval int Find(std::string_view name) {
    for (size_t i = 0; i < kCrashPointNames.size(); ++i) {
      if (kCrashPointNames[i] == name) return static_cast<int>(i);
    }
    crash_point_internal::NotACrashPointName();
    return -1;
  }
  int index_;
};

// Dies here (SIGKILL) when this point is armed and its turn has come.
inline void CrashPoint(CrashPointName name) {
  if (!crash_point_internal::armed.load(std::memory_order_relaxed)) return;
  crash_point_internal::Reached(name.index());
}

struct CrashPointSettings {
  std::vector<std::string> names;  // each in kCrashPointNames, or "*"
  int64_t after = 1;               // fire at this hit (when probability is 0)
  double probability = 0;          // > 0: fire at random with this chance
  uint64_t seed = 1;
};

// Arms (or, with no names, disarms) the crash points. Call before starting
// threads. kInvalidArgument for an unknown name, after < 1 or a
// probability outside [0, 1]; nothing changes then.
Status ArmCrashPoints(const CrashPointSettings& settings);
void DisarmCrashPoints();

inline bool CrashPointsArmed() {
  return crash_point_internal::armed.load(std::memory_order_relaxed);
}

// Reads the JITD_CRASH_* variables (see above); none set disarms.
StatusOr<CrashPointSettings> CrashPointSettingsFromEnvironment();
// Reads them and arms; errors name the variable.
Status ArmCrashPointsFromEnvironment();

}  // namespace jit
