#include "jit/storage/faulty/faulty_store.h"

#include <thread>

namespace jit {

void FaultyStore::Wait(std::chrono::milliseconds latency) {
  // Injected latency: the slow disk or network being simulated.
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
}

Status FaultyStore::Commit(ChangeSet& cs) {
  FaultDecision d = commits_.Next();
  Wait(d.latency);
  if (d.error.ok()) return inner().Commit(cs);
  if (!d.apply) return d.error;
  Status applied = inner().Commit(cs);
  return applied.ok() ? d.error : applied;
}

std::vector<Status> FaultyStore::CommitEach(std::span<ChangeSet> sets) {
  // One decision per change set; those not failed outright go to the inner
  // store together, as a group commit would take them.
  std::vector<Status> out(sets.size());
  std::vector<ChangeSet> forwarded;
  std::vector<size_t> where;
  std::vector<Status> reported(sets.size());
  std::chrono::milliseconds latency{0};
  for (size_t i = 0; i < sets.size(); ++i) {
    FaultDecision d = commits_.Next();
    latency = std::max(latency, d.latency);
    reported[i] = d.error;
    if (!d.error.ok() && !d.apply) {
      out[i] = d.error;
      continue;
    }
    forwarded.push_back(sets[i]);
    where.push_back(i);
  }
  Wait(latency);
  std::vector<Status> results = inner().CommitEach(forwarded);
  for (size_t k = 0; k < where.size(); ++k) {
    size_t i = where[k];
    if (results[k].ok()) sets[i].events = std::move(forwarded[k].events);
    out[i] = results[k].ok() ? reported[i] : results[k];
  }
  return out;
}

}  // namespace jit
