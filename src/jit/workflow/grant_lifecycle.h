#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "jit/audit/event.h"
#include "jit/base/status.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"
#include "jit/workflow/deps.h"

namespace jit {

// Moves privileges into and out of target systems, keeping store, audit log,
// check index and target in step. Thread-safe (all state is in deps).
//
// Ordering, chosen so a crash at any point never leaves a privilege held
// without a record that will take it away:
//  - activation commits the grant first, then asks the connector; a refusal
//    sends the grant to revoke_pending (cleanup) and the request to failed;
//  - ending commits the decision first (grant revoke_pending, request
//    terminal, index entry gone), then revokes in the target and ends the
//    grant; a failed revoke stays revoke_pending and is retried.
// What a break-glass activation adds to Activate.
struct ActivationExtras {
  // Written in the activation's transaction: the one-time code marked used,
  // the after-the-fact review opened. A refused activation writes neither.
  std::vector<CredentialWrite> credentials;
  std::vector<ReviewWrite> reviews;
  // Eligibility is re-checked as this subject instead of the one the
  // directory or the identity provider knows by req.subject (a break-glass
  // code vouches for who it is).
  std::optional<Subject> eligible_as;
};

class GrantLifecycle {
 public:
  explicit GrantLifecycle(const WorkflowDeps& deps) : deps_(deps) {}

  // Activates `req` (approved, or pending for auto-approval). When
  // `stored_state` is empty the request is new and inserted in the same
  // transaction; `leading_events` (e.g. request.created) go first.
  // Re-checks policy (THREATS T7) and that approvals still bind the request
  // (T6); on refusal the request ends `failed` with request.rejected and the
  // result is that request, not an error. Errors: kAborted (lost a race),
  // kUnavailable (store/audit down; nothing changed).
  StatusOr<Request> Activate(Request req,
                             std::optional<RequestState> stored_state,
                             std::vector<AuditEvent> leading_events,
                             const std::string& actor,
                             ActivationExtras extras = {});

  // Ends active grant `grant_id` for `reason` (expired | revoked |
  // completed), then revokes in the target (a failed revoke leaves the grant
  // revoke_pending and is not an error). Errors: kNotFound; kAborted when
  // the grant is no longer active, or for kExpired when its expires_at (by
  // the clock) has not come; kUnavailable (nothing changed).
  StatusOr<Grant> End(const std::string& grant_id, EndReason reason,
                      const std::string& actor, const std::string& comment);

  // Revokes revoke_pending grant `g` in the target and ends its sessions;
  // success ends the grant, failure schedules a retry with backoff.
  Status CompleteRevoke(Grant g);

  // End(kExpired) for a batch of grants as the store listed them (the
  // expiry scheduler's): one result per grant of `due`, in order, the grant
  // as ended (revoke_pending) or End's error for it. All decisions go to the
  // store in one Store::CommitEach (one transaction and fsync where the
  // store can); a grant that fails (lost a race, extended meanwhile) fails
  // alone. Unlike End this does not revoke: CompleteRevokes does, after.
  std::vector<StatusOr<Grant>> EndExpired(const std::vector<Grant>& due);

  // CompleteRevoke for a batch of revoke_pending grants: the target calls
  // run concurrently, at most kParallelRevokes at a time per connector, and
  // their outcomes (ended, or failed and scheduled for retry with backoff
  // and alert, each exactly as CompleteRevoke records it) go to the store
  // in one Store::CommitEach. One result per grant, in order.
  std::vector<Status> CompleteRevokes(const std::vector<Grant>& pending);

  // Connector calls in flight per connector in CompleteRevokes.
  static constexpr size_t kParallelRevokes = 8;

  // Applies approved extension request `ext` (pending, or new when
  // `stored_state` is empty) to its grant: one grant, expires_at moved, no
  // gap (THREATS T15). Errors: kAborted when the grant is not active.
  StatusOr<Request> Extend(Request ext,
                           std::optional<RequestState> stored_state,
                           std::vector<AuditEvent> leading_events,
                           const std::string& actor);

  // Rebuilds the check index from the store's active grants.
  Status RebuildIndex();
  // Rebuilds it from `grants` (read by the caller); those that no longer
  // allow are left out.
  Status RebuildIndex(const std::vector<Grant>& grants);
  // Brings the check index entry of `grant_id` in line with the store, after
  // another replica changed the grant: re-read, then put in (allowing) or
  // taken out (anything else, a failed read included).
  void Refresh(const std::string& grant_id);

  // The policy decision for `req` as it stands now (used at activation and
  // extension), with the subject's current groups (or as `as` when given);
  // denied when the subject is no longer known.
  Decision Recheck(const Request& req, SystemTime now,
                   const Subject* as = nullptr) const;
  // Recheck's denial reasons; empty when it still passes.
  std::vector<std::string> RecheckPolicy(const Request& req, SystemTime now,
                                         const Subject* as = nullptr) const;
  // `name` as jitd knows it now: a configured subject, a live machine token
  // (when `person` is a machine person) or an identity-provider subject
  // seen recently; nullopt otherwise (THREATS T7).
  std::optional<Subject> KnownSubject(const std::string& name,
                                      const std::string& person,
                                      SystemTime now) const;

  // The spec a connector sees for `g`.
  GrantSpec SpecFor(const Grant& g) const;

 private:
  Deadline ConnectorDeadline() const;
  // Active grants other than spec's on `connector_name` that hold the same
  // privilege in the target (Connector::SharesPrivilege).
  std::vector<std::string> ActiveSharers(const Connector& connector,
                                         const std::string& connector_name,
                                         const GrantSpec& spec) const;
  StatusOr<Request> Refuse(Request req,
                           std::optional<RequestState> stored_state,
                           std::vector<AuditEvent> leading_events,
                           const std::string& actor,
                           const std::vector<std::string>& reasons);
  std::vector<std::string> CheckApprovals(const Request& req) const;
  Status FailActivation(Request req, Grant g, const Status& why);
  struct RevokeOutcome;
  // Asks the target to revoke `g` and end its sessions; writes nothing.
  RevokeOutcome RevokeInTarget(const Grant& g) const;
  // The retry (with backoff, alert after kRevokeAlertAfter) of a revoke of
  // `g` that failed for `why`.
  RevokeOutcome RevokeFailure(const Grant& g, const Status& why) const;
  // Metrics and logs once `o` was committed (or not); the result is
  // CompleteRevoke's.
  Status AfterRevokeCommit(const RevokeOutcome& o, const Status& committed);
  // Puts committed active grant `g` into the check index, then re-reads it
  // and removes it again if it no longer allows (a racing End()).
  void Publish(const Grant& g);
  // After a failed End(): puts the grant back if the store still has it
  // active.
  void RestoreIndex(const std::string& grant_id);
  // After Extend's Grant call: revokes `g` in the target again when it
  // ended meanwhile (its revoke may have run before that call landed).
  void UndoLateGrant(Connector& c, const Grant& g, const GrantSpec& spec);

  const WorkflowDeps& deps_;
};

// Backoff before revoke retry number `attempt` (1-based): 1s, 2s, 4s, ... 60s.
std::chrono::milliseconds RevokeBackoff(int attempt);

// How long a claim on due revoke work holds (Store::ClaimDueRevokes, and
// the end decision, which claims the revoke for its maker): longer than a
// batch of revokes normally takes, so a claim is lost when its holder died
// (then another replica revokes within this long); a holder slower than
// this may see another replica revoke the same grant too (revoke is
// idempotent; the generation lets only one record it).
inline constexpr std::chrono::seconds kRevokeClaimLease{15};

// How long a revoke may stay pending before jitd raises the alert.
inline constexpr std::chrono::minutes kRevokeAlertAfter{5};

}  // namespace jit
