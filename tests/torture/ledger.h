#pragma once

// What the torture client was told by jitd (every 201/200 it got, every
// allowed check) and the invariant violations found so far. Thread-safe:
// the traffic driver, the check loop and the invariant checker share one.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "jit/base/clock.h"

namespace jit::torture {

// A request jitd answered 201 for: it must exist after any crash.
struct AckedRequest {
  std::string token;  // whose request (for end/extend of its grant)
  bool terminal_seen = false;
};

class Ledger {
 public:
  void AckRequest(const std::string& id, const std::string& token);
  void AckGrant(const std::string& grant_id, const std::string& token);
  // An approve answered 200 with the request no longer pending.
  void AckApproval(const std::string& request_id);
  // A revoke answered 200: from `at` on, no check may allow the grant.
  void AckEnd(const std::string& grant_id, SystemTime at);
  // A check sent at `sent` allowed `grant_id` until `expires_at` (as the
  // answer said): flags allow-after-expiry and allow-after-revoke.
  void RecordAllowedCheck(const std::string& grant_id, SystemTime sent,
                          SystemTime expires_at);
  void CountCheck();

  void Violation(const std::string& kind, const std::string& detail);

  // Snapshots for the checker.
  std::map<std::string, AckedRequest> Requests() const;
  std::set<std::string> Approvals() const;
  std::map<std::string, SystemTime> Ends() const;
  std::map<std::string, std::string> Grants() const;  // id -> holder token
  std::map<std::string, SystemTime> LastAllowed() const;
  void MarkRequestDone(const std::string& id);
  void ForgetGrant(const std::string& id);  // ended and checked for good

  std::map<std::string, int> ViolationCounts() const;
  std::vector<std::string> ViolationDetails() const;  // first 100
  int64_t checks() const;
  int64_t allowed_checks() const;
  int64_t acked_requests() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, AckedRequest> requests_;    // guarded by mu_
  std::set<std::string> approvals_;                 // guarded by mu_
  std::map<std::string, SystemTime> ends_;          // guarded by mu_
  std::map<std::string, std::string> grants_;       // guarded by mu_
  std::map<std::string, SystemTime> last_allowed_;  // guarded by mu_
  std::map<std::string, int> violation_counts_;     // guarded by mu_
  std::vector<std::string> violation_details_;      // guarded by mu_
  int64_t checks_ = 0;                              // guarded by mu_
  int64_t allowed_checks_ = 0;                      // guarded by mu_
  int64_t acked_requests_ = 0;                      // guarded by mu_
};

}  // namespace jit::torture
