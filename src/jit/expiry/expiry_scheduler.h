#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/storage/store.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/request_service.h"

namespace jit {

struct DueWork {
  int expired = 0;         // active grants past expires_at, decided and revoked
  int revoke_retries = 0;  // revoke_pending grants retried
  int revoke_failures = 0;
  int timed_out = 0;
  int activated = 0;  // planned work whose start_at came
  int errors = 0;     // store errors and lost races (retried next round)
};

// Runs the time-driven work: expiry, revoke retries, approval timeouts and
// planned activations. RunDue() does one pass over what is due at `now` and
// is what tests drive with a FakeClock; Start() runs it in a loop that wakes
// at least every `tick` (on the monotonic clock), so grants are revoked
// within about one tick of expires_at. Thread-safe.
class ExpiryScheduler {
 public:
  ExpiryScheduler(
      Store& store, GrantLifecycle& lifecycle, RequestService& requests,
      const Clock& clock,
      std::chrono::milliseconds tick = std::chrono::milliseconds(200),
      int batch = kDefaultBatch)
      : store_(store),
        lifecycle_(lifecycle),
        requests_(requests),
        clock_(clock),
        tick_(tick),
        batch_(batch) {}

  // Grants claimed per store round. One machine (SQLite) wants large
  // batches (one fsync each); replicas sharing a database want small ones
  // (kReplicaBatch), so a batch is revoked and recorded well within
  // kRevokeClaimLease and the replicas share a storm.
  static constexpr int kDefaultBatch = 1000;
  static constexpr int kReplicaBatch = 100;
  ~ExpiryScheduler() { Stop(); }

  // One pass; processes everything due at `now` in batches (bounded).
  DueWork RunDue(SystemTime now);

  void Start();
  void Stop();
  // Wakes the loop early (e.g. after a grant with a short life was made).
  void Poke();

 private:
  void Loop();
  // Ends and revokes one batch of claimed due revokes.
  void RevokeBatch(const std::vector<Grant>& due, DueWork& work);

  Store& store_;
  GrantLifecycle& lifecycle_;
  RequestService& requests_;
  const Clock& clock_;
  std::chrono::milliseconds tick_;
  int batch_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool poked_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace jit
