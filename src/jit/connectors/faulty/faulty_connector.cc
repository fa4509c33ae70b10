#include "jit/connectors/faulty/faulty_connector.h"

#include <thread>

namespace jit {

Status FaultyConnector::Before(FaultInjector& f, Deadline deadline,
                               Status& apply_error) {
  FaultDecision d = f.Next();
  if (d.latency.count() > 0) {
    auto until = std::chrono::steady_clock::now() + d.latency;
    // Injected latency: the slow target being simulated.
    std::this_thread::sleep_until(std::min<Deadline>(until, deadline));
    if (until > deadline)
      return DeadlineExceededError("faulty connector: target did not answer");
  }
  if (d.error.ok() || d.apply) {
    apply_error = d.error;
    return OkStatus();
  }
  return d.error;
}

Status FaultyConnector::Grant(const GrantSpec& g, Deadline deadline) {
  Status after;
  if (Status s = Before(grants_, deadline, after); !s.ok()) return s;
  Status done = inner_->Grant(g, deadline);
  return done.ok() ? after : done;
}

Status FaultyConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  Status after;
  if (Status s = Before(revokes_, deadline, after); !s.ok()) return s;
  Status done = inner_->Revoke(g, deadline);
  return done.ok() ? after : done;
}

StatusOr<std::vector<Session>> FaultyConnector::KillSessions(
    const GrantSpec& g, Deadline deadline) {
  Status after;
  if (Status s = Before(kills_, deadline, after); !s.ok()) return s;
  StatusOr<std::vector<Session>> done = inner_->KillSessions(g, deadline);
  if (!done.ok() || after.ok()) return done;
  return after;
}

}  // namespace jit
