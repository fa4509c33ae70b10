#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// DESIGN "Audit event types".
enum class AuditType {
  kRequestCreated,
  kRequestRejected,
  kRequestApproved,
  kRequestDenied,
  kRequestCancelled,
  kRequestTimedOut,
  kGrantActivated,
  kGrantExtended,
  kGrantRevoked,
  kGrantExpired,
  kGrantRevokeFailed,
  kGrantSessionsKilled,
  kGrantCredentialIssued,  // e.g. an SSH certificate under the grant
  kGrantActivity,          // what the target recorded as done under it
  kEmergencyUsed,
  kPolicyLoaded,
  kDriftFound,
  kAuditCheckpoint,    // a signed statement of the log's head so far
  kAuditVerifyFailed,  // the log no longer verifies (raised once per failure)
  kTokenCreated,       // a machine token was issued (never its secret)
  kTokenRevoked,
  kMfaTotpEnrolled,    // a subject enrolled a TOTP seed (never the seed)
  kMfaTotpConfirmed,   // ...and proved it with a code: it now counts
  kMfaTotpReset,       // an admin removed a subject's TOTP seed
  kBreakglassIssued,   // one-time break-glass codes were issued (count only)
  kEmergencyReviewed,  // a break-glass use was signed off after the fact
  kBreakglassRevoked,  // an unused break-glass code was voided
  kGrantExpiring,      // an active grant ends in 5 minutes (notice, no change)
};

std::string_view ToString(AuditType t);
StatusOr<AuditType> ParseAuditType(std::string_view text);

// One entry of the hash-chained audit log. The writer fills everything up to
// `data`; the store assigns `seq`, `prev_hash` and `hash` inside the same
// transaction as the state change it records.
struct AuditEvent {
  int64_t seq = 0;
  SystemTime time{};
  AuditType type = AuditType::kRequestCreated;
  std::string actor;    // who caused it: a subject, "policy" or "jitd"
  std::string subject;  // whose privilege it concerns
  std::string request_id;
  std::string grant_id;
  std::string data = "{}";  // a JSON object, stored and hashed as this text
  std::string prev_hash;
  std::string hash;
};

// The hash of the event before seq 1.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// SHA-256 (hex) over prev_hash and every other field of `e`, length-prefixed
// so that no two different events hash the same. `e.hash` is ignored.
std::string ComputeEventHash(const AuditEvent& e);

}  // namespace jit
