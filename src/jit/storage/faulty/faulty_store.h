#pragma once

#include <chrono>

#include "jit/base/fault_schedule.h"
#include "jit/storage/forwarding_store.h"

namespace jit {

// A Store that fails, slows down or half-fails on a schedule, for fault
// tests (DESIGN invariant 2: a change whose audit event cannot be written
// does not happen). Commits and reads have their own schedules.
//
// A failing call returns the schedule's code (kUnavailable by default) and
// writes nothing, unless `apply_then_fail`: then the commit lands and the
// caller is told it failed, as when the answer to a COMMIT is lost.
// Latency is a plain wait before the call. Thread-safe; `inner` must
// outlive it.
class FaultyStore final : public ForwardingStore {
 public:
  explicit FaultyStore(Store& inner) : ForwardingStore(inner) {}

  FaultInjector& commits() { return commits_; }
  FaultInjector& reads() { return reads_; }

  Status Commit(ChangeSet& cs) override;
  std::vector<Status> CommitEach(std::span<ChangeSet> sets) override;

  StatusOr<Request> GetRequest(const std::string& id) override {
    return Read([&] { return inner().GetRequest(id); });
  }
  StatusOr<Grant> GetGrant(const std::string& id) override {
    return Read([&] { return inner().GetGrant(id); });
  }
  StatusOr<Page<Request>> ListRequests(const RequestFilter& f) override {
    return Read([&] { return inner().ListRequests(f); });
  }
  StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) override {
    return Read([&] { return inner().ListGrants(f); });
  }
  StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& id) override {
    return Read([&] { return inner().ListApprovals(id); });
  }
  StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& id) override {
    return Read([&] { return inner().RequestsOfGrant(id); });
  }
  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override {
    return Read([&] { return inner().DueRevokes(now, limit); });
  }
  // A claim is a write but fails (or slows) on the reads' schedule, as the
  // query it starts with: a failed claim writes nothing.
  StatusOr<std::vector<Grant>> ClaimDueRevokes(
      SystemTime now, int limit, std::chrono::milliseconds lease) override {
    return Read([&] { return inner().ClaimDueRevokes(now, limit, lease); });
  }
  StatusOr<std::vector<Request>> DueActivations(SystemTime now,
                                                int limit) override {
    return Read([&] { return inner().DueActivations(now, limit); });
  }
  StatusOr<std::vector<Request>> DueTimeouts(SystemTime now,
                                             int limit) override {
    return Read([&] { return inner().DueTimeouts(now, limit); });
  }
  StatusOr<std::vector<Grant>> ActiveGrants() override {
    return Read([&] { return inner().ActiveGrants(); });
  }
  StatusOr<std::vector<AuditEvent>> ReadAudit(int64_t after,
                                              int limit) override {
    return Read([&] { return inner().ReadAudit(after, limit); });
  }
  StatusOr<AuditHead> GetAuditHead() override {
    return Read([&] { return inner().GetAuditHead(); });
  }

 private:
  // Applies one read decision around `call`.
  template <typename Call>
  auto Read(Call call) -> decltype(call()) {
    FaultDecision d = reads_.Next();
    Wait(d.latency);
    if (!d.error.ok()) return d.error;
    return call();
  }
  static void Wait(std::chrono::milliseconds latency);

  FaultInjector commits_;
  FaultInjector reads_;
};

}  // namespace jit
