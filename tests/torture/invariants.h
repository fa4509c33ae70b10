#pragma once

// The invariants of DESIGN.md checked from outside a jitd that was killed
// and restarted: through its API (as auditor), the fake target's state
// file and call log, and the ledger of what clients were told.

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "tests/integration/jitd_process.h"
#include "tests/torture/ledger.h"

namespace jit::torture {

class InvariantChecker {
 public:
  // `dir` holds the fake target's target.json and calls.log.
  InvariantChecker(const testing::JitdProcess& jitd, Ledger& ledger,
                   std::string dir)
      : jitd_(jitd), ledger_(ledger), dir_(std::move(dir)) {}

  // Right after jitd answered ready: no grant that expired before
  // `spawned` is still active (revoked before serving, T10). Then waits
  // (bounded, 15 s) until nothing is overdue: no revoke_pending grant and
  // no active grant past expires_at. Returns the time from `spawned_mono`
  // until then (a violation and the bound when it never gets there).
  std::chrono::milliseconds WaitReconciled(
      SystemTime spawned, std::chrono::steady_clock::time_point spawned_mono);

  // Every invariant, with client traffic stopped (the scheduler may still
  // run): requests acknowledged exist and are consistent with their
  // grants, target == jitd, revokes effective at most once, one terminal
  // state each, the audit chain verifies.
  void CheckAll();

  // Exports the log with the real `jit` CLI and verifies the export
  // offline with the audit public key.
  void VerifyAuditOffline(const std::string& jit_bin,
                          const std::string& work_dir);

  int64_t audit_events() const { return audit_seq_; }

 private:
  // GET as auditor; status 0 when jitd did not answer.
  testing::Reply Get(const std::string& target) const;
  std::vector<nlohmann::json> LiveGrants();
  std::set<std::string> TargetHeld();
  void CheckRequests();
  void CheckGrants();
  void CheckGrant(const std::string& id, const nlohmann::json& g,
                  const std::set<std::string>& held_after,
                  SystemTime held_read_at);
  void CheckUnknownHeld(const std::set<std::string>& held);
  void CheckCallLog();
  void CheckAudit();
  void ApplyAuditEvent(const nlohmann::json& e);
  void WaitNoRevokePending(const std::string& grant_id);

  const testing::JitdProcess& jitd_;
  Ledger& ledger_;
  std::string dir_;
  // Call log: read so far, and per grant the effective calls seen.
  size_t call_log_offset_ = 0;
  std::map<std::string, int> granted_new_;
  std::map<std::string, int> revoked_removed_;
  // Audit log: read through seq, and per grant/request what it recorded.
  int64_t audit_seq_ = 0;
  std::map<std::string, int> end_decisions_;
  std::map<std::string, int> target_ends_;
  std::map<std::string, int> request_terminals_;
  std::set<std::string> activated_requests_;
};

}  // namespace jit::torture
