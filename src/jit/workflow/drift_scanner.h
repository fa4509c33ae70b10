#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jit/base/status.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/grant_lifecycle.h"

namespace jit {

// What to scan: one connector's `discovery:` block.
struct DriftTarget {
  std::string connector;
  bool enforce = false;  // revoke what no grant covers (else report only)
  std::chrono::milliseconds every = std::chrono::minutes(10);
};

struct DriftPass {
  int holdings = 0;  // privileges the target showed
  int standing = 0;  // of those, covered by no live grant
  int reported = 0;  // drift.found events written (new findings only)
  int revoked = 0;   // standing privileges removed (enforce)
  int errors = 0;    // discovery or revoke failures
};

// Finds standing privileges: what a connector's target shows as held that
// no live (active or revoke_pending) grant covers. Each finding is recorded
// once as drift.found while it persists (again if it comes back after it
// was gone, and once more after a restart); in enforce mode every finding is
// revoked on every pass until it is gone. ScanOnce() is what tests drive;
// Start() runs each target every `every` on the monotonic clock.
// Thread-safe.
class DriftScanner {
 public:
  DriftScanner(const WorkflowDeps& deps, const GrantLifecycle& lifecycle,
               std::vector<DriftTarget> targets)
      : deps_(deps), lifecycle_(lifecycle), targets_(std::move(targets)) {}
  ~DriftScanner() { Stop(); }

  // One pass over `target`. Errors: kNotFound for an unknown connector;
  // the connector's Discover() error; store errors.
  StatusOr<DriftPass> ScanOnce(const DriftTarget& target);

  const std::vector<DriftTarget>& targets() const { return targets_; }
  void Start();
  void Stop();

 private:
  void Loop();
  // Specs of every live grant on `connector`.
  StatusOr<std::vector<GrantSpec>> LiveSpecs(const std::string& connector);

  const WorkflowDeps& deps_;
  const GrantLifecycle& lifecycle_;
  const std::vector<DriftTarget> targets_;
  std::mutex scan_mu_;  // one pass at a time
  // connector -> findings reported and still present; guarded by scan_mu_
  std::map<std::string, std::set<std::string>> known_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace jit
