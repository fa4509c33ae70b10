#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/workflow/deps.h"

namespace jit {

// Writes the audit event grant.expiring once per grant, `lead` before an
// active grant's expires_at, so notifiers can say "expires in 5 minutes"
// (with an Extend button on Slack). A grant whose expiry moves (extended)
// is noticed again before its new expiry.
//
// Bounded: each pass asks the store only for grants ending within `lead`
// (Store::DueRevokes(now + lead), an indexed range, at most 1000), once
// every `every`; never a scan of all grants.
// Restart-safe: the grants already noticed, with the expiry noticed, are
// kept in `state_path` (empty: not kept), written after each pass that
// wrote events; a crash between the two sends one notice twice rather than
// none. Entries leave the file once their grant has expired.
// Thread-safe.
class ExpiryNotices {
 public:
  ExpiryNotices(const WorkflowDeps& deps, std::string state_path,
                Duration lead = std::chrono::minutes(5),
                std::chrono::milliseconds every = std::chrono::seconds(15));
  ~ExpiryNotices();

  // Reads the state file. kUnavailable when it exists but cannot be read,
  // kInvalidArgument when it is not one of ours.
  Status Load();
  // One pass at `now`: a grant.expiring event for every active grant with
  // expires_at in (now, now + lead] not yet noticed at that expiry. Returns
  // how many were written. Errors: as Store (nothing noticed is lost: the
  // next pass tries again).
  StatusOr<int> RunDue(SystemTime now);

  void Start();
  void Stop();

 private:
  Status Save();  // with mu_ held

  const WorkflowDeps& deps_;
  const std::string state_path_;
  const Duration lead_;
  const std::chrono::milliseconds every_;
  std::mutex mu_;
  // grant id -> expires_at noticed; guarded by mu_.
  std::map<std::string, SystemTime> noticed_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace jit
