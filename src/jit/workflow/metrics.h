#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "jit/domain/request.h"

namespace jit {

enum class AlertOutcome { kSent, kFailed };
// A failed authentication was answered 401, or 429 because its source or
// subject was rate limited.
enum class AuthFailureOutcome { kRejected, kRateLimited };

// Process-wide counters rendered as Prometheus text at /metrics. Owned by
// server/ and passed by reference (no global). Thread-safe.
class Metrics {
 public:
  void CountRequestState(RequestState s);
  void CountRevokeFailure();
  void ObserveRevokeLatency(std::chrono::milliseconds latency);
  void SetAuditChainOk(bool ok) { audit_chain_ok_.store(ok ? 1 : 0); }
  // A revoke failed again after failing for longer than the alert threshold.
  void CountRevokeAlert() { revoke_alerts_.fetch_add(1); }
  void CountHttp(int status);
  void CountAuthFailure(AuthFailureOutcome outcome);
  // One delivery attempt of an alert to `notifier` (AlertNotifier).
  void CountAlert(const std::string& notifier, AlertOutcome outcome);

  // `grants_active` is read at render time.
  std::string Render(size_t grants_active) const;

 private:
  static constexpr std::array<double, 9> kBucketsSeconds = {
      0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> transitions_;  // guarded by mu_
  std::array<uint64_t, kBucketsSeconds.size()>
      latency_buckets_{};       // guarded by mu_
  uint64_t latency_count_ = 0;  // guarded by mu_
  // notifier -> {sent, failed attempts}
  std::map<std::string, std::array<uint64_t, 2>> alerts_;  // guarded by mu_
  double latency_sum_ = 0;                                 // guarded by mu_
  // Lock-free: counted on every request, /v1/check included. Index = status.
  std::array<std::atomic<uint64_t>, 600> http_{};
  std::atomic<uint64_t> revoke_failures_{0};
  std::atomic<int> audit_chain_ok_{1};
  std::atomic<uint64_t> revoke_alerts_{0};
  std::atomic<uint64_t> auth_rejected_{0};
  std::atomic<uint64_t> auth_rate_limited_{0};
};

}  // namespace jit
