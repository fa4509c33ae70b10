#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "jit/storage/store.h"

namespace jit {

// A Store kept in process memory: nothing survives the process. For tests
// and for trying jitd out. Behaves as every Store (StoreContractTest).
// Thread-safe: one mutex serializes every call.
class MemoryStore final : public Store {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // Test hook: while `fail` is true, every Commit that carries audit events
  // returns kUnavailable and writes nothing, as a store whose audit log is
  // not writable would (DESIGN invariant 2). Commits without events work.
  void FailAuditWrites(bool fail);

  Status Commit(ChangeSet& cs) override;
  StatusOr<Request> GetRequest(const std::string& id) override;
  StatusOr<Grant> GetGrant(const std::string& id) override;
  StatusOr<Page<Request>> ListRequests(const RequestFilter& f) override;
  StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) override;
  StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& request_id) override;
  StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& grant_id) override;
  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override;
  StatusOr<std::vector<Grant>> ClaimDueRevokes(
      SystemTime now, int limit, std::chrono::milliseconds lease) override;
  StatusOr<std::vector<Request>> DueActivations(SystemTime now,
                                                int limit) override;
  StatusOr<std::vector<Request>> DueTimeouts(SystemTime now,
                                             int limit) override;
  StatusOr<std::vector<Grant>> ActiveGrants() override;
  StatusOr<std::vector<AuditEvent>> ReadAudit(int64_t after_seq,
                                              int limit) override;
  StatusOr<AuditHead> GetAuditHead() override;
  StatusOr<Credential> GetCredential(CredentialKind kind,
                                     const std::string& id) override;
  StatusOr<Credential> FindCredentialBySecret(
      const std::string& secret_sha256) override;
  StatusOr<std::vector<Credential>> ListCredentials(
      CredentialKind kind) override;
  StatusOr<EmergencyReview> GetReview(const std::string& request_id) override;
  StatusOr<std::vector<EmergencyReview>> ListReviews(
      std::optional<ReviewState> state, int limit) override;
  StatusOr<IdempotentResponse> GetIdempotent(const std::string& principal,
                                             const std::string& route,
                                             const std::string& key) override;
  Status PutIdempotent(const IdempotentResponse& r) override;

 private:
  // Rows keyed by creation position, so iteration is creation order.
  template <typename Row>
  struct Table {
    std::map<int64_t, Row> rows;
    std::unordered_map<std::string, int64_t> position_of;  // id -> position
  };

  // What one Commit would write, checked but not yet applied.
  struct Staged;

  Status StageRequests(const ChangeSet& cs, Staged& staged) const;
  Status StageGrants(const ChangeSet& cs, Staged& staged) const;
  Status StageApprovals(const ChangeSet& cs, Staged& staged) const;
  Status StageCredentials(const ChangeSet& cs, Staged& staged) const;
  Status StageReviews(const ChangeSet& cs, Staged& staged) const;
  Status StageEvents(const ChangeSet& cs, Staged& staged) const;
  void Apply(Staged& staged);
  bool RequestExists(const std::string& id, const Staged& staged) const;
  AuditHead HeadLocked() const;

  std::mutex mu_;
  int64_t next_position_ = 1;  // guarded by mu_
  Table<Request> requests_;    // guarded by mu_
  Table<Grant> grants_;        // guarded by mu_
  std::unordered_map<std::string, std::vector<Approval>>
      approvals_;                  // guarded by mu_
  std::vector<AuditEvent> audit_;  // guarded by mu_
  // Oldest first; guarded by mu_.
  std::vector<Credential> credentials_;
  // Oldest first; guarded by mu_.
  std::vector<EmergencyReview> reviews_;
  std::map<std::tuple<std::string, std::string, std::string>,
           IdempotentResponse>
      idempotent_;                  // guarded by mu_
  bool fail_audit_writes_ = false;  // guarded by mu_
};

}  // namespace jit
