#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// DESIGN "Request lifecycle". Terminal: expired, revoked, completed, denied,
// cancelled, timed_out, failed.
enum class RequestState {
  kPending,
  kApproved,
  kActive,
  kExpired,
  kRevoked,
  kCompleted,
  kDenied,
  kCancelled,
  kTimedOut,
  kFailed,
};

std::string_view ToString(RequestState s);
StatusOr<RequestState> ParseRequestState(std::string_view text);
bool IsTerminal(RequestState s);

enum class Emergency { kNo, kYes };

// One ask for one entitlement for a bounded time. Immutable after creation
// except for `state`, `grant_id`, `updated_at` and `decided_*`.
struct Request {
  std::string id;       // "req_" + 32 hex
  std::string subject;  // who will hold the privilege
  std::string person;   // the human behind `subject` (alias-aware SoD)
  std::vector<std::string> subject_groups;  // groups at creation, for audit
  std::string entitlement;
  Duration duration{0};
  std::string justification;
  std::string ticket;
  std::optional<SystemTime> start_at;
  Emergency emergency = Emergency::kNo;
  RequestState state = RequestState::kPending;
  std::string policy;          // the policy that allowed it
  int approvals_required = 0;  // 0 = auto-approved
  SystemTime created_at{};
  SystemTime updated_at{};
  std::optional<SystemTime> approval_deadline;  // pending -> timed_out after
  std::string extends;   // grant id this request extends, or empty
  std::string grant_id;  // set once active
  std::string binding;   // hash of what approvers approve (THREATS T6)
};

// The hash an approval binds to: every field that decides what is granted.
// A request changed after approval no longer matches its approvals.
std::string RequestBinding(const Request& r);

enum class ApprovalDecision { kApprove, kDeny };

struct Approval {
  std::string request_id;
  std::string approver;         // subject of the approving token
  std::string approver_person;  // the human behind it
  ApprovalDecision decision = ApprovalDecision::kApprove;
  std::string comment;
  std::string binding;  // RequestBinding() of the request as approved
  SystemTime at{};
};

}  // namespace jit
