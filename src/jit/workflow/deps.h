#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/connectors/connector.h"
#include "jit/policy/policy.h"
#include "jit/storage/store.h"
#include "jit/workflow/grant_index.h"
#include "jit/workflow/metrics.h"
#include "jit/workflow/seen_subjects.h"
#include "jit/workflow/step_up_verifier.h"

namespace jit {

// What a reload swaps in at once: the policies and the directory of known
// subjects (name -> current groups), used to re-check eligibility at
// activation, when the requester is not the caller (THREATS T7).
struct PolicySnapshot {
  std::shared_ptr<const PolicySet> policies;
  std::map<std::string, Subject> directory;
};

// Holds the policy snapshot in force. Thread-safe; readers get an immutable
// snapshot that stays valid while they use it.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const PolicySnapshot> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const PolicySnapshot> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const PolicySnapshot> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PolicySnapshot> current_;  // guarded by mu_
};

// The configured connectors by name. Filled at start-up, read-only after.
class ConnectorSet {
 public:
  void Add(const std::string& name, std::unique_ptr<Connector> c) {
    by_name_[name] = std::move(c);
  }
  Connector* Find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second.get();
  }

 private:
  std::map<std::string, std::unique_ptr<Connector>> by_name_;
};

// Everything the workflow services borrow; all outlive the services.
// Gives every event of `events` whose data has no "policy_version" the
// hash of the policies in force, `version`: the log then says under which
// policy each step happened. (Defined in events.cc.)
void StampPolicyVersion(std::vector<AuditEvent>& events,
                        const std::string& version);

struct WorkflowDeps {
  Store& store;
  PolicyHolder& policies;
  const ConnectorSet& connectors;
  GrantIndex& index;
  Metrics& metrics;
  const Clock& clock;
  std::chrono::milliseconds connector_timeout = std::chrono::seconds(30);
  // A pending request nobody answers times out after this unless the
  // policy sets approval_timeout.
  std::chrono::milliseconds default_approval_timeout = std::chrono::hours(24);
  // Identity-provider subjects as last seen, for the activation re-check
  // of subjects the config's directory does not list (null: none).
  const SeenSubjects* seen_subjects = nullptr;
  // Second factors for require.mfa and approval.mfa (null: nobody shows
  // one, so such policies refuse).
  StepUpVerifier* step_up = nullptr;

  // Store::Commit, with the version of the policies in force stamped on
  // every event (StampPolicyVersion). Same errors.
  Status Commit(ChangeSet& cs) const {
    StampPolicyVersion(cs.events, policies.Get()->policies->version_hash());
    return store.Commit(cs);
  }
  // Store::CommitEach, stamped the same way.
  std::vector<Status> CommitEach(std::span<ChangeSet> sets) const {
    auto snap = policies.Get();
    for (ChangeSet& cs : sets) {
      StampPolicyVersion(cs.events, snap->policies->version_hash());
    }
    return store.CommitEach(sets);
  }
};

}  // namespace jit
