#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"
#include "jit/storage/store.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/principal.h"
#include "jit/workflow/request_service.h"

namespace jit {

inline constexpr int kMaxBreakglassCodesPerIssue = 100;
inline constexpr Duration kDefaultBreakglassTtl = std::chrono::hours(24 * 365);
inline constexpr Duration kMaxBreakglassTtl = std::chrono::hours(24 * 730);

struct IssueCodesInput {
  int count = 0;
  Duration ttl = kDefaultBreakglassTtl;
  // Groups a code vouches for when its user is unknown to jitd (the
  // identity provider is down and jitd restarted since it last saw them).
  std::vector<std::string> groups;
  std::string note;  // e.g. "envelope 3, safe B"
};

// Codes just issued: `codes[i]` belongs to `credentials[i]`, shown once.
struct IssuedCodes {
  std::vector<Credential> credentials;
  std::vector<std::string> codes;
};

enum class CodeState { kUnused, kUsed, kRevoked, kExpired };
std::string_view ToString(CodeState s);

// A code as listed: never its secret or hash.
struct CodeView {
  Credential credential;
  CodeState state = CodeState::kUnused;
  std::string used_for;  // the request it activated, when used
};

// An emergency activation: the code authenticates; `subject` says who uses
// it (there may be no identity provider to ask).
struct BreakglassInput {
  std::string code;
  std::string subject;
  CreateRequestInput request;  // entitlement, duration, justification, ticket
};

// Break-glass for when the identity provider, the system of record or
// every approver is unreachable: one-time codes issued in advance (stored
// only as SHA-256), each activating one emergency request at once, without
// approval, for at most the policy's emergency duration. Every use alerts
// (emergency.used) and opens a review that stays open until someone other
// than its user signs it off. Thread-safe; each change is one store
// transaction with its audit event.
//
// Errors: kPermissionDenied (reason forbidden | self_review);
// kInvalidArgument; kUnauthenticated (the code is unknown, used, revoked or
// expired: one message for all); kFailedPrecondition policy_denied (no
// policy allows this emergency; the code stays unused); kNotFound;
// kAborted conflict (already signed off, already ended); kUnavailable.
class BreakglassService {
 public:
  BreakglassService(const WorkflowDeps& deps, GrantLifecycle& lifecycle)
      : deps_(deps), lifecycle_(lifecycle) {}

  // Admins only. Writes breakglass.issued (ids, never codes).
  StatusOr<IssuedCodes> Issue(const Principal& who, const IssueCodesInput& in);
  // Admins and auditors; oldest first.
  StatusOr<std::vector<CodeView>> List(const Principal& who);
  // Admins only: voids an unused code (breakglass.revoked).
  StatusOr<CodeView> Revoke(const Principal& who, const std::string& id);

  // Uses a code: the request is created, approved and activated in one
  // transaction with the code marked used and the review opened. Policy
  // still decides: some policy must let the subject request the entitlement
  // as an emergency (emergency.allowed); the duration is capped by its
  // emergency max_duration. The subject's groups are those jitd knows (the
  // config, or the identity provider's latest token); a subject unknown to
  // jitd counts with the groups the code was issued with. The code stands
  // for the second factor a policy's require.mfa asks for.
  StatusOr<RequestView> Activate(const BreakglassInput& in);

  // Auditors and admins: reviews in `state` (all when nullopt), newest
  // first, at most 1000.
  StatusOr<std::vector<EmergencyReview>> ListReviews(
      const Principal& who, std::optional<ReviewState> state);
  // Auditors and admins, never the person who used the code (under any
  // alias): closes the review with `comment`, the finding (required).
  StatusOr<EmergencyReview> SignOff(const Principal& who,
                                    const std::string& request_id,
                                    const std::string& comment);

  // "ABCDE-FGHJK-..." typed by a person: case, dashes and spaces do not
  // matter, O reads as 0 and I, L as 1. Empty when it cannot be a code.
  static std::string NormalizeCode(std::string_view typed);

 private:
  StatusOr<Credential> LiveCode(const std::string& code, SystemTime now) const;
  StatusOr<Subject> SubjectFor(const std::string& name, const Credential& code,
                               SystemTime now) const;

  const WorkflowDeps& deps_;
  GrantLifecycle& lifecycle_;
};

}  // namespace jit
