#pragma once

#include <span>
#include <string>
#include <vector>

#include "jit/storage/store.h"

namespace jit {

// A Store that passes every call to `inner`; wrappers derive from it and
// override only what they add to (notifying readers, fault injection,
// cutting a benchmark short). Same thread-safety and errors as `inner`,
// which must outlive it.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  Status Commit(ChangeSet& cs) override { return inner_.Commit(cs); }
  std::vector<Status> CommitEach(std::span<ChangeSet> sets) override {
    return inner_.CommitEach(sets);
  }
  StatusOr<Request> GetRequest(const std::string& id) override {
    return inner_.GetRequest(id);
  }
  StatusOr<Grant> GetGrant(const std::string& id) override {
    return inner_.GetGrant(id);
  }
  StatusOr<Page<Request>> ListRequests(const RequestFilter& f) override {
    return inner_.ListRequests(f);
  }
  StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) override {
    return inner_.ListGrants(f);
  }
  StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& id) override {
    return inner_.ListApprovals(id);
  }
  StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& id) override {
    return inner_.RequestsOfGrant(id);
  }
  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override {
    return inner_.DueRevokes(now, limit);
  }
  StatusOr<std::vector<Grant>> ClaimDueRevokes(
      SystemTime now, int limit, std::chrono::milliseconds lease) override {
    return inner_.ClaimDueRevokes(now, limit, lease);
  }
  StatusOr<std::vector<Request>> DueActivations(SystemTime now,
                                                int limit) override {
    return inner_.DueActivations(now, limit);
  }
  StatusOr<std::vector<Request>> DueTimeouts(SystemTime now,
                                             int limit) override {
    return inner_.DueTimeouts(now, limit);
  }
  StatusOr<std::vector<Grant>> ActiveGrants() override {
    return inner_.ActiveGrants();
  }
  StatusOr<std::vector<AuditEvent>> ReadAudit(int64_t after,
                                              int limit) override {
    return inner_.ReadAudit(after, limit);
  }
  StatusOr<AuditHead> GetAuditHead() override { return inner_.GetAuditHead(); }
  StatusOr<Credential> GetCredential(CredentialKind kind,
                                     const std::string& id) override {
    return inner_.GetCredential(kind, id);
  }
  StatusOr<Credential> FindCredentialBySecret(
      const std::string& secret_sha256) override {
    return inner_.FindCredentialBySecret(secret_sha256);
  }
  StatusOr<std::vector<Credential>> ListCredentials(
      CredentialKind kind) override {
    return inner_.ListCredentials(kind);
  }
  StatusOr<EmergencyReview> GetReview(const std::string& request_id) override {
    return inner_.GetReview(request_id);
  }
  StatusOr<std::vector<EmergencyReview>> ListReviews(
      std::optional<ReviewState> state, int limit) override {
    return inner_.ListReviews(state, limit);
  }
  StatusOr<IdempotentResponse> GetIdempotent(const std::string& principal,
                                             const std::string& route,
                                             const std::string& key) override {
    return inner_.GetIdempotent(principal, route, key);
  }
  Status PutIdempotent(const IdempotentResponse& r) override {
    return inner_.PutIdempotent(r);
  }

 protected:
  Store& inner() { return inner_; }

 private:
  Store& inner_;
};

}  // namespace jit
