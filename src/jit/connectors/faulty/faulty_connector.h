#pragma once

#include <memory>
#include <vector>

#include "jit/base/fault_schedule.h"
#include "jit/connectors/connector.h"

namespace jit {

// A Connector that fails, slows down or half-fails on a schedule, for
// fault tests: grant, revoke and kill-sessions each have their own
// schedule; the other methods pass straight through.
//
// A failing call returns the schedule's code without touching the target,
// unless `apply_then_fail`: then the target acts and the caller still sees
// the error (a timeout after the change landed). Latency is waited out
// before the call, but never past `deadline`: a latency that does not fit
// returns kDeadlineExceeded at the deadline and changes nothing, as a
// target that does not answer in time. Thread-safe.
class FaultyConnector final : public Connector {
 public:
  explicit FaultyConnector(std::unique_ptr<Connector> inner)
      : inner_(std::move(inner)) {}

  Connector& inner() { return *inner_; }
  FaultInjector& grants() { return grants_; }
  FaultInjector& revokes() { return revokes_; }
  FaultInjector& kills() { return kills_; }

  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;

  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override {
    return inner_->IsActive(g, deadline);
  }
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override {
    return inner_->ListSessions(g, deadline);
  }
  bool SharesPrivilege(const GrantSpec& a, const GrantSpec& b) const override {
    return inner_->SharesPrivilege(a, b);
  }
  bool CanDiscover() const override { return inner_->CanDiscover(); }
  StatusOr<std::vector<Holding>> Discover(Deadline deadline) override {
    return inner_->Discover(deadline);
  }
  bool Covers(const GrantSpec& g, const Holding& h) const override {
    return inner_->Covers(g, h);
  }
  Status RevokeHolding(const Holding& h, Deadline deadline) override {
    return inner_->RevokeHolding(h, deadline);
  }
  StatusOr<std::vector<Activity>> ActivitySince(const GrantSpec& g,
                                                SystemTime since,
                                                Deadline deadline) override {
    return inner_->ActivitySince(g, since, deadline);
  }

 private:
  // The decision's wait and error, or OK when the call should go ahead
  // (then `apply_error` is what to report after it).
  Status Before(FaultInjector& f, Deadline deadline, Status& apply_error);

  std::unique_ptr<Connector> inner_;
  FaultInjector grants_;
  FaultInjector revokes_;
  FaultInjector kills_;
};

}  // namespace jit
