#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/policy/policy.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/principal.h"

namespace jit {

// What `POST /v1/policies/explain` asks: would `subject` (with `groups`)
// get `entitlement` for `duration`, with this justification and ticket?
struct ExplainInput {
  // Empty: the caller. Another subject needs auditor or admin.
  std::string subject;
  // Only with another subject: its groups. Unset: the groups the config's
  // directory lists for it (none when it is not listed).
  std::optional<std::vector<std::string>> groups;
  std::string entitlement;
  Duration duration{0};
  std::string justification;
  std::string ticket;
  Emergency emergency = Emergency::kNo;
  // Evaluate as if a recent second factor were shown (require.mfa).
  SecondFactor second_factor = SecondFactor::kNone;
};

struct ExplainAnswer {
  Subject subject;            // who was evaluated
  Decision decision;          // as the request path would decide now
  std::string version_hash;   // of the policies that decided
  PolicyApprovers approvers;  // of the deciding policy; empty when denied
};

// Read-only views of the policies in force, and dry runs of an ask through
// the same PolicySet::Evaluate the request path uses. Records nothing.
// Thread-safe (reads an immutable snapshot per call).
class PolicyExplainer {
 public:
  PolicyExplainer(const PolicyHolder& policies, const Clock& clock)
      : policies_(policies), clock_(clock) {}

  // The decision for `in` at the clock's now. Errors: kPermissionDenied
  // when the caller asks about another subject, or names groups, without
  // the auditor or admin role; kInvalidArgument for an empty entitlement
  // or a duration below 1s, or an over-long field.
  StatusOr<ExplainAnswer> Explain(const Principal& who,
                                  const ExplainInput& in) const;

 private:
  const PolicyHolder& policies_;
  const Clock& clock_;
};

}  // namespace jit
