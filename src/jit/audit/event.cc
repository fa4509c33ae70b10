#include "jit/audit/event.h"

#include <array>
#include <memory>

#include "jit/base/duration.h"
#include "jit/base/sha256.h"

namespace jit {
namespace {

constexpr std::array<std::pair<AuditType, std::string_view>, 28> kTypes = {{
    {AuditType::kRequestCreated, "request.created"},
    {AuditType::kRequestRejected, "request.rejected"},
    {AuditType::kRequestApproved, "request.approved"},
    {AuditType::kRequestDenied, "request.denied"},
    {AuditType::kRequestCancelled, "request.cancelled"},
    {AuditType::kRequestTimedOut, "request.timed_out"},
    {AuditType::kGrantActivated, "grant.activated"},
    {AuditType::kGrantExtended, "grant.extended"},
    {AuditType::kGrantRevoked, "grant.revoked"},
    {AuditType::kGrantExpired, "grant.expired"},
    {AuditType::kGrantRevokeFailed, "grant.revoke_failed"},
    {AuditType::kGrantSessionsKilled, "grant.sessions_killed"},
    {AuditType::kGrantCredentialIssued, "grant.credential_issued"},
    {AuditType::kGrantActivity, "grant.activity"},
    {AuditType::kEmergencyUsed, "emergency.used"},
    {AuditType::kPolicyLoaded, "policy.loaded"},
    {AuditType::kDriftFound, "drift.found"},
    {AuditType::kAuditCheckpoint, "audit.checkpoint"},
    {AuditType::kAuditVerifyFailed, "audit.verify_failed"},
    {AuditType::kTokenCreated, "token.created"},
    {AuditType::kTokenRevoked, "token.revoked"},
    {AuditType::kMfaTotpEnrolled, "mfa.totp_enrolled"},
    {AuditType::kMfaTotpConfirmed, "mfa.totp_confirmed"},
    {AuditType::kMfaTotpReset, "mfa.totp_reset"},
    {AuditType::kBreakglassIssued, "breakglass.issued"},
    {AuditType::kEmergencyReviewed, "emergency.reviewed"},
    {AuditType::kBreakglassRevoked, "breakglass.revoked"},
    {AuditType::kGrantExpiring, "grant.expiring"},
}};

void Field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '|';
}

}  // namespace

std::string_view ToString(AuditType t) {
  for (const auto& [type, name] : kTypes) {
    if (type == t) return name;
  }
  return "unknown";
}

StatusOr<AuditType> ParseAuditType(std::string_view text) {
  for (const auto& [type, name] : kTypes) {
    if (name == text) return type;
  }
  return InvalidArgumentError("unknown audit event type \"" +
                              std::string(text) + "\"");
}

std::string ComputeEventHash(const AuditEvent& e) {
  std::string canon;
  Field(canon, e.prev_hash);
  Field(canon, std::to_string(e.seq));
  Field(canon, FormatTime(e.time));
  Field(canon, ToString(e.type));
  Field(canon, e.actor);
  Field(canon, e.subject);
  Field(canon, e.request_id);
  Field(canon, e.grant_id);
  Field(canon, e.data);
  return Sha256Hex(canon);
}

}  // namespace jit
