#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jit/base/status.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/principal.h"

namespace jit {

struct CreateRequestInput {
  std::string entitlement;
  Duration duration{0};
  std::string justification;
  std::string ticket;
  std::optional<SystemTime> start_at;
  Emergency emergency = Emergency::kNo;
  // A TOTP code for policies with require.mfa; empty = none given.
  // (Initialized so that brace-initialized inputs stay warning-free.)
  std::string mfa_code = {};
};

struct ExtendInput {
  Duration duration{0};
  std::string justification;
  std::string mfa_code = {};  // as in CreateRequestInput
};

struct CheckResult {
  bool allowed = false;
  std::string grant_id;
  std::optional<SystemTime> expires_at;
};

// A request together with its approvals, as the API shows it.
struct RequestView {
  Request request;
  std::vector<Approval> approvals;
};

// The request workflow: ask, approve, deny, cancel, end early, extend,
// check. Enforces separation of duties (THREATS T1-T3) and who may see what.
// Thread-safe; every state change is one store transaction with its audit
// event(s).
//
// Errors, shared by all methods (nothing changed on error):
//   kInvalidArgument      bad input (reason invalid_request);
//   kNotFound             no such id, or not visible to the caller;
//   kPermissionDenied     reason forbidden | self_approval | not_an_approver;
//   kFailedPrecondition   reason policy_denied, with every reason in details();
//   kAborted / conflict   the state no longer allows the call;
//   kUnavailable          store or audit not writable.
class RequestService {
 public:
  RequestService(const WorkflowDeps& deps, GrantLifecycle& lifecycle)
      : deps_(deps), lifecycle_(lifecycle) {}

  // Asks for an entitlement. A refused ask stores no request but writes a
  // request.rejected event and answers policy_denied with the reasons.
  // `in.mfa_code`, when given, is checked (and used up) first: a wrong or
  // used code is kPermissionDenied "mfa_failed" and nothing is recorded.
  StatusOr<RequestView> Create(const Principal& who,
                               const CreateRequestInput& in);
  // Records the caller's approval; with enough distinct approvers the request
  // is approved and, unless planned for later, activated at once (the answer
  // is then active, or failed when activation was refused). Errors:
  // self_approval (the requester under any alias), not_an_approver, conflict
  // (not pending, past its approval deadline, or the caller already decided).
  // Under a policy with approval.mfa the caller must show a second factor
  // (`mfa_code` or a recent MFA sign-in; see StepUpVerifier): otherwise
  // kPermissionDenied "mfa_required", or "mfa_failed" for a bad code.
  StatusOr<RequestView> Approve(const Principal& who, const std::string& id,
                                const std::string& comment,
                                std::string_view mfa_code = {});
  // Same rules as Approve; a pending request becomes denied.
  StatusOr<RequestView> Deny(const Principal& who, const std::string& id,
                             const std::string& comment,
                             std::string_view mfa_code = {});
  // By the requester (any alias) or an admin, while pending or approved.
  StatusOr<RequestView> Cancel(const Principal& who, const std::string& id,
                               const std::string& comment);
  StatusOr<RequestView> Get(const Principal& who, const std::string& id);
  StatusOr<Page<RequestView>> List(const Principal& who, RequestFilter filter);
  // The requester's earlier requests, for whoever decides request `id`:
  // at most `limit` (1..50) of them, newest first, without `id` itself
  // (request_history.cc). Open to the requester, to auditors and admins,
  // and to anyone who may decide `id` while it is pending (an approver of
  // its policy who is not the requester under any alias); for anyone else
  // `id` does not exist (kNotFound), as for Get.
  StatusOr<std::vector<RequestView>> History(const Principal& who,
                                             const std::string& id, int limit);

  // Ends a grant early: by its holder -> completed ("task done"), by an
  // admin -> revoked.
  StatusOr<Grant> EndGrant(const Principal& who, const std::string& grant_id,
                           const std::string& reason);
  // Asks to extend a grant the caller holds; returns the new request that
  // `extends` it (active at once when auto-approved).
  StatusOr<RequestView> Extend(const Principal& who,
                               const std::string& grant_id,
                               const ExtendInput& in);
  StatusOr<Grant> GetGrant(const Principal& who, const std::string& id);
  StatusOr<Page<Grant>> ListGrants(const Principal& who, GrantFilter filter);

  // The hot path: answers from the in-memory index only. Checking another
  // subject needs the enforcer or admin role.
  StatusOr<CheckResult> Check(const Principal& who, const std::string& subject,
                              const std::string& entitlement) const;
  // The same by target: does account `target_user` hold a grant on
  // `connector` now? For enforcement points (PAM); needs enforcer or admin.
  StatusOr<CheckResult> CheckTarget(const Principal& who,
                                    const std::string& connector,
                                    const std::string& target_user) const;

  // A certificate for `public_key` under the caller's own active grant
  // `grant_id`, from its connector's certificate authority; recorded as
  // grant.credential_issued before it is handed out. `source_address`
  // (may be empty) restricts where it may be used from.
  // Errors: kNotFound (no such grant of the caller), kFailedPrecondition
  // "conflict" (grant not active), kInvalidArgument (connector issues no
  // certificates, bad key), kUnavailable (audit log down: no certificate).
  StatusOr<std::string> IssueCertificate(const Principal& who,
                                         const std::string& grant_id,
                                         const std::string& public_key,
                                         const std::string& source_address);
  // The certificate authority of connector `name`: public key, KRL.
  // kNotFound when `name` is no certificate-issuing connector.
  StatusOr<std::string> CaPublicKey(const std::string& name) const;
  StatusOr<std::string> RevocationList(const std::string& name) const;

  // For the scheduler: pending past its approval deadline -> timed_out.
  Status TimeOut(const Request& r);
  // For the scheduler: approved planned work whose start_at has come.
  Status ActivateDue(const Request& r);

 private:
  StatusOr<CertificateAuthority*> AuthorityOf(const std::string& name) const;
  StatusOr<RequestView> View(Request r);
  Status RecordRejection(const Principal& who, const CreateRequestInput& in,
                         const std::vector<std::string>& reasons,
                         std::string_view at);
  bool MaySee(const Principal& who, const Request& r) const;
  Status CheckApprover(const Principal& who, const Request& r) const;
  StatusOr<SecondFactor> SecondFactorOf(const Principal& who,
                                        std::string_view mfa_code);
  Status CheckApproverStepUp(const Principal& who, const Request& r,
                             std::string_view mfa_code);
  StatusOr<RequestView> Settle(const Principal& who, Request r);
  StatusOr<RequestView> Proceed(const Request& approved);
  StatusOr<Request> NewRequest(const Principal& who,
                               const CreateRequestInput& in, const Decision& d,
                               SystemTime now) const;
  StatusOr<RequestView> Admit(const Principal& who, Request req,
                              const Decision& d, SystemTime now);

  const WorkflowDeps& deps_;
  GrantLifecycle& lifecycle_;
};

}  // namespace jit
