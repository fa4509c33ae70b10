#include "jit/expiry/expiry_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "jit/base/crash_point.h"

namespace jit {
namespace {

constexpr int kBatch = 1000;
constexpr int kMaxItems = 1'000'000;  // bounds one pass per kind

}  // namespace

// One DueRevokes batch in two store rounds: every expired grant's end
// decided in one, then every revoke (those and the due retries) done in the
// targets and recorded in the other.
void ExpiryScheduler::RevokeBatch(const std::vector<Grant>& due,
                                  DueWork& work) {
  std::vector<Grant> expired;
  std::vector<Grant> revokes;
  size_t retries = 0;
  for (const Grant& g : due) {
    if (g.state == GrantState::kActive) {
      expired.push_back(g);
    } else {
      CrashPoint("revoke.retry");
      revokes.push_back(g);
      ++retries;
    }
  }
  for (StatusOr<Grant>& ended : lifecycle_.EndExpired(expired)) {
    if (!ended.ok()) {
      ++work.errors;
      continue;
    }
    CrashPoint("expiry.after_end");
    ++work.expired;
    revokes.push_back(std::move(ended).value());
  }
  std::vector<Status> results = lifecycle_.CompleteRevokes(revokes);
  for (size_t i = 0; i < retries; ++i) {
    ++work.revoke_retries;
    if (!results[i].ok()) ++work.revoke_failures;
  }
  for (size_t i = retries; i < results.size(); ++i) {
    if (!results[i].ok()) {
      spdlog::warn("grant_id={} revoke pending: {}", revokes[i].id,
                   results[i].ToString());
    }
  }
}

DueWork ExpiryScheduler::RunDue(SystemTime now) {
  DueWork work;
  CrashPoint("expiry.pass");
  const int batches = kMaxItems / std::max(batch_, 1);
  for (int batch = 0; batch < batches; ++batch) {
    // Claimed, so replicas on one database never revoke the same grant
    // twice; a claim left by a failure below runs out and is retried then.
    StatusOr<std::vector<Grant>> due =
        store_.ClaimDueRevokes(now, batch_, kRevokeClaimLease);
    if (!due.ok()) {
      spdlog::warn("expiry: cannot read due revokes: {}",
                   due.status().ToString());
      ++work.errors;
      break;
    }
    if (!due->empty()) CrashPoint("expiry.after_claim");
    // Claimed grants leave the due set whatever became of them, so the
    // next batch holds other work.
    RevokeBatch(*due, work);
    if (static_cast<int>(due->size()) < batch_) break;
  }
  StatusOr<std::vector<Request>> timeouts = store_.DueTimeouts(now, kBatch);
  if (timeouts.ok()) {
    for (const Request& r : *timeouts) {
      if (requests_.TimeOut(r).ok()) {
        ++work.timed_out;
      } else {
        ++work.errors;
      }
    }
  } else {
    ++work.errors;
  }
  StatusOr<std::vector<Request>> starts = store_.DueActivations(now, kBatch);
  if (starts.ok()) {
    for (const Request& r : *starts) {
      if (requests_.ActivateDue(r).ok()) {
        ++work.activated;
      } else {
        ++work.errors;
      }
    }
  } else {
    ++work.errors;
  }
  return work;
}

void ExpiryScheduler::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ExpiryScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExpiryScheduler::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

void ExpiryScheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    RunDue(clock_.Now());
    lock.lock();
    wake_.wait_for(lock, tick_, [this] { return stopping_ || poked_; });
    poked_ = false;
  }
}

}  // namespace jit
