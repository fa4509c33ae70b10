#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jit/audit/event.h"
#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"

namespace jit {

// Insert (`expected` empty) or compare-and-set update of one request.
struct RequestWrite {
  Request request;
  std::optional<RequestState> expected;  // update only if stored state is this
};

// Insert (`expected` empty) or compare-and-set update of one grant. An update
// also requires the stored generation to equal `grant.generation - 1`
// when `fenced` (the writer read generation N and writes N+1).
struct GrantWrite {
  Grant grant;
  std::optional<GrantState> expected;
  bool fenced = true;
};

// A secret jitd handed out once and keeps only as its SHA-256: a machine
// token (CI job, agent) or a one-time break-glass code. Or a TOTP seed,
// which jitd must read back and so keeps sealed (`sealed_secret`): kTotp
// is a subject's confirmed seed, kTotpPending one enrolled but not yet
// confirmed; kTotpUsed marks one used time step of a subject's codes (its
// unique id refuses a replayed code).
enum class CredentialKind {
  kMachineToken,
  kBreakglassCode,
  kTotp,
  kTotpPending,
  kTotpUsed,
};

std::string_view ToString(CredentialKind k);
StatusOr<CredentialKind> ParseCredentialKind(std::string_view text);

struct Credential {
  CredentialKind kind = CredentialKind::kMachineToken;
  std::string id;             // unique per kind: token name, or "bgc_" + hex
  std::string secret_sha256;  // hex; unique over all credentials
  std::vector<std::string> groups;
  std::string created_by;
  SystemTime created_at{};
  std::optional<SystemTime> expires_at;  // none: does not expire
  std::optional<SystemTime> ended_at;    // revoked (token) or used (code)
  std::string ended_by;                  // who revoked or used it
  std::string note;                      // free text given at creation
  // TOTP kinds: the seed sealed by jitd (SecretSealer), never in clear;
  // empty for hashed kinds.
  std::string sealed_secret;
};

enum class CredentialOp {
  kInsert,  // kAlreadyExists when (kind, id) or secret_sha256 is taken
  kEnd,     // compare-and-set: the stored (kind, id) must not be ended yet
            // (kAborted otherwise, also when missing); writes only
            // ended_at and ended_by
};

struct CredentialWrite {
  Credential credential;
  CredentialOp op = CredentialOp::kInsert;
};

// The after-the-fact review every break-glass activation opens. It stays
// open until someone other than the person who used the code signs it off.
enum class ReviewState { kOpen, kSignedOff };

std::string_view ToString(ReviewState s);
StatusOr<ReviewState> ParseReviewState(std::string_view text);

struct EmergencyReview {
  std::string request_id;  // the emergency request (one review each)
  std::string subject;     // who used the code
  std::string person;      // the human behind `subject`
  std::string code_id;     // the break-glass code used ("bgc_...")
  ReviewState state = ReviewState::kOpen;
  SystemTime opened_at{};
  std::string signed_off_by;  // subject of the reviewer
  std::string signed_off_by_person;
  std::optional<SystemTime> signed_off_at;
  std::string comment;  // the reviewer's finding
};

enum class ReviewOp {
  kOpen,     // insert; kAlreadyExists when the request has a review
  kSignOff,  // compare-and-set: the stored review must still be open
             // (kAborted otherwise, also when missing); writes only the
             // signed_off_* fields and the comment
};

struct ReviewWrite {
  EmergencyReview review;
  ReviewOp op = ReviewOp::kOpen;
};

// Everything one state change writes. Committed all together or not at all.
struct ChangeSet {
  std::vector<RequestWrite> requests;
  std::vector<GrantWrite> grants;
  std::vector<Approval> approvals;
  std::vector<CredentialWrite> credentials;
  std::vector<ReviewWrite> reviews;
  std::vector<AuditEvent> events;  // seq, prev_hash, hash filled by Commit
};

// Page size bounds for List* (a limit outside is clamped into them).
inline constexpr int kMinPageLimit = 1;
inline constexpr int kMaxPageLimit = 1000;

// `after` is the opaque `next_cursor` of the previous page (empty = first
// page); a cursor the store did not hand out is kInvalidArgument.
struct RequestFilter {
  std::optional<RequestState> state;
  std::optional<std::string> subject;
  std::string after;  // cursor from a previous page, or empty
  int limit = 100;
};

struct GrantFilter {
  std::optional<std::string> subject;
  bool active_only = false;  // state active or revoke_pending
  std::string after;
  int limit = 100;
};

// `next_cursor` is set only when more items match after the last one here.
template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

// A stored answer to a request carrying an Idempotency-Key (THREATS T9).
struct IdempotentResponse {
  std::string key;  // caller's key, scoped by principal and route
  std::string principal;
  std::string route;
  int http_status = 0;
  std::string body;
  SystemTime at{};
};

struct AuditHead {
  int64_t seq = 0;
  std::string hash = std::string(kGenesisHash);
};

// Durable home of requests, approvals, grants and the audit log.
// Thread-safe: any method may be called from any thread concurrently.
// Errors common to every method: kUnavailable = the store cannot be read or
// written now (nothing changed); retry later.
// Times are kept with millisecond precision (sub-millisecond parts are
// dropped on write, and `now` arguments are compared at millisecond
// precision). "Oldest first" means in order of creation (insertion).
class Store {
 public:
  virtual ~Store() = default;

  // Applies `cs` in one transaction together with its audit events, which get
  // consecutive seq numbers and chain onto the stored head; on success
  // `cs.events` carry their seq/prev_hash/hash. Errors (nothing written):
  //   kAborted        a compare-and-set lost (state or generation differs,
  //                   or the row is missing; a credential end finds it
  //                   ended or missing);
  //   kAlreadyExists  an insert collides (a credential also on its
  //                   secret_sha256), or this approver already decided
  //                   this request (THREATS T2): same `approver`, or same
  //                   non-empty `approver_person`;
  //   kUnavailable    the audit log (or anything) could not be written.
  // An approval of a request that does not exist is kAborted. Writes apply in
  // order: requests, then grants, then approvals, then credentials, then
  // events; a later write
  // sees the earlier ones of the same `cs`. The audit chain continues from
  // the stored head (last seq and its hash), even when the stored chain is
  // broken. On any error `cs` is left as it was and the call may be retried.
  virtual Status Commit(ChangeSet& cs) = 0;

  // Commits each of `sets` as its own Commit would, with one result per set
  // in the same order: a set is written all together or not at all, and a
  // failing set does not affect the others. Their events chain in the order
  // of `sets` (other callers' may come in between). A store may write them
  // all in one transaction (SqliteStore: one fsync); this default commits
  // them one by one.
  virtual std::vector<Status> CommitEach(std::span<ChangeSet> sets) {
    std::vector<Status> out;
    out.reserve(sets.size());
    for (ChangeSet& cs : sets) out.push_back(Commit(cs));
    return out;
  }

  // kNotFound when no such id.
  virtual StatusOr<Request> GetRequest(const std::string& id) = 0;
  virtual StatusOr<Grant> GetGrant(const std::string& id) = 0;
  // Ordered by creation, oldest first.
  virtual StatusOr<Page<Request>> ListRequests(const RequestFilter& f) = 0;
  virtual StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) = 0;
  // Every approval and denial of one request, oldest first.
  virtual StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& request_id) = 0;
  // Requests in `active` state linked to `grant_id` (original and extensions).
  virtual StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& grant_id) = 0;

  // Work due at `now`, at most `limit` each, oldest first:
  // grants active with expires_at <= now, or revoke_pending with
  // next_attempt_at <= now (or no next_attempt_at: a revoke is never lost);
  virtual StatusOr<std::vector<Grant>> DueRevokes(SystemTime now,
                                                  int limit) = 0;
  // The due revokes of DueRevokes, claimed for the caller so that of
  // several callers (threads, processes, replicas on one database) only one
  // works on each grant: at most `limit`, oldest first, skipping grants
  // another claim holds. A claim sets next_attempt_at = now + `lease` and
  // bumps generation (a compare-and-set, committed before this returns);
  // the result holds the grants as stored after it. On an active grant
  // next_attempt_at is only this claim: an active grant with expires_at <=
  // now is claimable when next_attempt_at is unset or <= now, as a
  // revoke_pending one is. So two claimers at one `now` get disjoint sets,
  // and a claim whose holder died runs out at now + lease: the grant is
  // claimable again. The claimer's next write of the grant (fenced on the
  // returned generation) replaces the claim; a write that keeps the grant
  // revoke_pending sets next_attempt_at itself (e.g. a retry's backoff).
  // Nothing is written when nothing is due.
  virtual StatusOr<std::vector<Grant>> ClaimDueRevokes(
      SystemTime now, int limit, std::chrono::milliseconds lease) = 0;
  // approved requests whose start_at (or none) is <= now;
  virtual StatusOr<std::vector<Request>> DueActivations(SystemTime now,
                                                        int limit) = 0;
  // pending requests whose approval_deadline <= now.
  virtual StatusOr<std::vector<Request>> DueTimeouts(SystemTime now,
                                                     int limit) = 0;
  // Every grant in state active (to build the in-memory check index).
  virtual StatusOr<std::vector<Grant>> ActiveGrants() = 0;

  // Audit events with seq > after_seq, ascending, at most `limit` (none
  // when limit <= 0; likewise for the Due* queries).
  virtual StatusOr<std::vector<AuditEvent>> ReadAudit(int64_t after_seq,
                                                      int limit) = 0;
  virtual StatusOr<AuditHead> GetAuditHead() = 0;

  // kNotFound when no credential of `kind` has this id.
  virtual StatusOr<Credential> GetCredential(CredentialKind kind,
                                             const std::string& id) = 0;
  // The credential whose secret hashes to `secret_sha256` (ended or not);
  // kNotFound when none.
  virtual StatusOr<Credential> FindCredentialBySecret(
      const std::string& secret_sha256) = 0;
  // Every credential of `kind`, oldest first.
  virtual StatusOr<std::vector<Credential>> ListCredentials(
      CredentialKind kind) = 0;

  // kNotFound when request `request_id` has no review.
  virtual StatusOr<EmergencyReview> GetReview(
      const std::string& request_id) = 0;
  // Reviews in `state` (all when nullopt), newest first, at most `limit`.
  virtual StatusOr<std::vector<EmergencyReview>> ListReviews(
      std::optional<ReviewState> state, int limit) = 0;

  // kNotFound when no response is stored for (principal, route, key).
  virtual StatusOr<IdempotentResponse> GetIdempotent(
      const std::string& principal, const std::string& route,
      const std::string& key) = 0;
  // kAlreadyExists when one is stored already (the first one wins).
  virtual Status PutIdempotent(const IdempotentResponse& r) = 0;
};

}  // namespace jit
