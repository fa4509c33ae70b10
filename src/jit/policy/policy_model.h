#pragma once

#include <re2/re2.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/policy/coverage_index.h"
#include "jit/policy/policy.h"
#include "jit/policy/time_window.h"

namespace jit::policy_internal {

// One entry of `policies:` as loaded and validated. Immutable once built.
struct PolicyDef {
  std::string name;
  std::vector<std::string> subject_users;
  std::vector<std::string> subject_tokens;  // machine tokens by name
  std::vector<std::string> subject_groups;
  std::vector<std::string> entitlements;
  std::optional<Duration> max_duration;  // nullopt: the entitlement's
  int justification_min_chars = 0;
  std::string ticket_pattern;            // "" = no ticket needed
  std::unique_ptr<const RE2> ticket_re;  // set iff ticket_pattern is set
  bool mfa = false;
  bool auto_approve = false;
  std::vector<std::string> approver_groups;
  std::vector<std::string> approver_users;
  int approval_count = 0;     // 0 iff auto_approve
  bool approver_mfa = false;  // approval.mfa: deciders show a second factor
  std::optional<Duration> approval_timeout;
  bool emergency_allowed = false;
  std::optional<Duration> emergency_max_duration;  // nullopt: the cap
  std::vector<std::string> notify;
  std::vector<TimeWindow> windows;  // empty = any time

  // `subject` is listed by name or through one of its groups.
  bool Covers(const Subject& subject) const;
  bool Lists(const std::string& entitlement) const;
  // min(policy max_duration, entitlement max_duration).
  Duration Cap(const Entitlement& e) const;
  // The cap of an emergency request: emergency max_duration, never above Cap.
  Duration EmergencyCap(const Entitlement& e) const;
  // `approver` may approve under this policy (never for auto policies).
  bool AllowsApprover(const Subject& approver) const;
};

}  // namespace jit::policy_internal

namespace jit {

// The data behind a PolicySet: everything Load validated, never changed
// afterwards.
struct PolicySet::Impl {
  std::vector<Entitlement> entitlements;
  std::map<std::string, size_t, std::less<>> entitlement_index;
  std::vector<policy_internal::PolicyDef> policies;
  std::map<std::string, size_t, std::less<>> policy_index;
  // Built from the lists above once they are complete.
  policy_internal::CoverageIndex coverage;
  std::string version_hash;
};

namespace policy_internal {

// SHA-256 hex over a canonical JSON form of `impl`'s entitlements and
// policies (key order fixed, YAML layout irrelevant).
std::string ComputeVersionHash(const PolicySet::Impl& impl);

}  // namespace policy_internal
}  // namespace jit
