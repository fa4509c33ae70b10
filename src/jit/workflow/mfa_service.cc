#include "jit/workflow/mfa_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/identity/totp.h"
#include "jit/workflow/events.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr std::string_view kIssuer = "jitd";
constexpr size_t kMaxCodeBytes = 16;

Status CodeRefused(std::string message) {
  return PermissionDeniedError(std::move(message), "mfa_failed");
}

Status NoMachines() {
  return PermissionDeniedError(
      "machine tokens cannot use a second factor; MFA is for people");
}

// The seed of `subject` opens only for that subject (see SecretSealer).
std::string SealContext(const std::string& subject) {
  return "jitd-totp:" + subject;
}

// TOTP rows hold no hashed secret; a hash of their unique (kind, id) keeps
// the store's "secret_sha256 is unique" rule without meaning anything.
std::string Placeholder(const Credential& c) {
  return Sha256Hex(std::string(ToString(c.kind)) + ":" + c.id);
}

Credential Seed(CredentialKind kind, const std::string& id,
                const std::string& subject, SystemTime now) {
  Credential c;
  c.kind = kind;
  c.id = id;
  c.created_by = subject;
  c.created_at = now;
  c.secret_sha256 = Placeholder(c);
  return c;
}

// One used time step of `subject`; its id collides on a second use.
Credential UsedStep(const std::string& subject, int64_t step, SystemTime now) {
  Credential c = Seed(CredentialKind::kTotpUsed,
                      subject + "@" + std::to_string(step), subject, now);
  // After this the code matches no longer (one step of drift allowed).
  c.expires_at = SystemTime(kTotpStep * (step + 2));
  return c;
}

Credential Ended(Credential c, const std::string& by, SystemTime now) {
  c.ended_at = now;
  c.ended_by = by;
  return c;
}

AuditEvent MfaEvent(AuditType type, const Principal& actor,
                    const std::string& subject, SystemTime now, json data) {
  AuditEvent e;
  e.time = now;
  e.type = type;
  e.actor = actor.name();
  e.subject = subject;
  e.data = EventDataText(data);
  return e;
}

Status CheckCodeShape(std::string_view code) {
  if (code.size() > kMaxCodeBytes)
    return CodeRefused("the TOTP code is not valid");
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<Credential>> MfaService::LiveSeeds(
    CredentialKind kind, const std::string& subject, SystemTime now) {
  JIT_ASSIGN_OR_RETURN(std::vector<Credential> all,
                       deps_.store.ListCredentials(kind));
  std::vector<Credential> out;
  for (Credential& c : all) {
    if (c.created_by != subject || c.ended_at) continue;
    if (c.expires_at && now >= *c.expires_at) continue;
    out.push_back(std::move(c));
  }
  return out;  // oldest first
}

StatusOr<int64_t> MfaService::CheckCode(const Credential& seed,
                                        std::string_view code,
                                        SystemTime now) const {
  JIT_RETURN_IF_ERROR(CheckCodeShape(code));
  JIT_ASSIGN_OR_RETURN(
      std::string secret,
      sealer_.Open(seed.sealed_secret, SealContext(seed.created_by)));
  return MatchTotp(secret, code, now);
}

// Checks `code` against `who`'s confirmed seed and records its step used.
Status MfaService::UseCode(const Principal& who, std::string_view code,
                           SystemTime now) {
  JIT_ASSIGN_OR_RETURN(std::vector<Credential> seeds,
                       LiveSeeds(CredentialKind::kTotp, who.name(), now));
  if (seeds.empty()) {
    return CodeRefused(
        "you have no confirmed TOTP seed; enroll with `jit mfa enroll`");
  }
  JIT_ASSIGN_OR_RETURN(int64_t step, CheckCode(seeds.back(), code, now));
  ChangeSet cs;
  cs.credentials.push_back(
      {UsedStep(who.name(), step, now), CredentialOp::kInsert});
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAlreadyExists) {
    return CodeRefused(
        "this TOTP code was used already; wait for the next one");
  }
  return committed;
}

StatusOr<SecondFactor> MfaService::Prove(const Principal& who,
                                         std::string_view totp_code) {
  if (who.subject.machine) return SecondFactor::kNone;
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  SignInFacts facts{who.amr, who.acr, who.auth_time};
  if (ShowsRecentSecondFactor(facts, options_, now))
    return SecondFactor::kShown;
  if (totp_code.empty()) return SecondFactor::kNone;
  JIT_RETURN_IF_ERROR(UseCode(who, totp_code, now));
  return SecondFactor::kShown;
}

StatusOr<TotpEnrollment> MfaService::EnrollTotp(const Principal& who,
                                                std::string_view current_code) {
  if (who.subject.machine) return NoMachines();
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  JIT_ASSIGN_OR_RETURN(std::vector<Credential> active,
                       LiveSeeds(CredentialKind::kTotp, who.name(), now));
  if (!active.empty()) {
    if (current_code.empty()) {
      return PermissionDeniedError(
          "you have a confirmed TOTP seed: give a current code from it to "
          "replace it, or ask an admin to reset it",
          "mfa_required");
    }
    JIT_RETURN_IF_ERROR(UseCode(who, current_code, now));
  }
  JIT_ASSIGN_OR_RETURN(std::string secret, NewTotpSecret());
  JIT_ASSIGN_OR_RETURN(std::string sealed,
                       sealer_.Seal(secret, SealContext(who.name())));
  Credential pending = Seed(CredentialKind::kTotpPending,
                            who.name() + ":" + RandomHex(8), who.name(), now);
  pending.sealed_secret = std::move(sealed);
  pending.expires_at = now + kPendingTtl;
  ChangeSet cs;
  cs.credentials.push_back({pending, CredentialOp::kInsert});
  cs.events.push_back(
      MfaEvent(AuditType::kMfaTotpEnrolled, who, who.name(), now,
               {{"replaces_confirmed", !active.empty()},
                {"confirm_by", FormatTime(*pending.expires_at)}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  JIT_ASSIGN_OR_RETURN(std::string base32, TotpSecretBase32(secret));
  return TotpEnrollment{base32, TotpUri(kIssuer, who.name(), base32),
                        *pending.expires_at};
}

Status MfaService::ConfirmTotp(const Principal& who, std::string_view code) {
  if (who.subject.machine) return NoMachines();
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> pending,
      LiveSeeds(CredentialKind::kTotpPending, who.name(), now));
  if (pending.empty()) {
    return NotFoundError(
        "no TOTP enrollment waits for confirmation (it lapses after 10m); "
        "enroll again");
  }
  const Credential& newest = pending.back();
  JIT_ASSIGN_OR_RETURN(int64_t step, CheckCode(newest, code, now));
  JIT_ASSIGN_OR_RETURN(std::vector<Credential> active,
                       LiveSeeds(CredentialKind::kTotp, who.name(), now));
  ChangeSet cs;
  cs.credentials.push_back(
      {Ended(newest, who.name(), now), CredentialOp::kEnd});
  for (const Credential& old : active)
    cs.credentials.push_back({Ended(old, who.name(), now), CredentialOp::kEnd});
  Credential confirmed =
      Seed(CredentialKind::kTotp, newest.id, who.name(), now);
  confirmed.sealed_secret = newest.sealed_secret;
  cs.credentials.push_back({confirmed, CredentialOp::kInsert});
  cs.credentials.push_back(
      {UsedStep(who.name(), step, now), CredentialOp::kInsert});
  cs.events.push_back(MfaEvent(AuditType::kMfaTotpConfirmed, who, who.name(),
                               now, {{"replaced", active.size()}}));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAborted ||
      committed.code() == StatusCode::kAlreadyExists) {
    return CodeRefused(
        "this enrollment was confirmed already, or the code was used");
  }
  return committed;
}

Status MfaService::ResetTotp(const Principal& who, const std::string& subject) {
  if (!who.admin) return PermissionDeniedError("resetting TOTP needs admin");
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  ChangeSet cs;
  for (CredentialKind kind :
       {CredentialKind::kTotp, CredentialKind::kTotpPending}) {
    JIT_ASSIGN_OR_RETURN(std::vector<Credential> live,
                         LiveSeeds(kind, subject, now));
    for (const Credential& c : live)
      cs.credentials.push_back({Ended(c, who.name(), now), CredentialOp::kEnd});
  }
  if (cs.credentials.empty()) {
    return NotFoundError(subject.substr(0, 80) + " has no TOTP seed");
  }
  cs.events.push_back(MfaEvent(AuditType::kMfaTotpReset, who, subject, now,
                               {{"seeds", cs.credentials.size()}}));
  return deps_.Commit(cs);
}

StatusOr<TotpState> MfaService::StateOf(const Principal& who) {
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  JIT_ASSIGN_OR_RETURN(std::vector<Credential> active,
                       LiveSeeds(CredentialKind::kTotp, who.name(), now));
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> pending,
      LiveSeeds(CredentialKind::kTotpPending, who.name(), now));
  TotpState out;
  out.active = !active.empty();
  if (out.active) out.active_since = active.back().created_at;
  out.pending = !pending.empty();
  return out;
}

}  // namespace jit
