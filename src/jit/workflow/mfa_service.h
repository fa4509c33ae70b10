#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/identity/secret_sealer.h"
#include "jit/identity/step_up.h"
#include "jit/policy/policy.h"
#include "jit/storage/store.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/principal.h"
#include "jit/workflow/step_up_verifier.h"

namespace jit {

// A TOTP seed just enrolled, shown once: for the authenticator app.
struct TotpEnrollment {
  std::string secret_base32;
  std::string uri;          // otpauth://totp/jitd:NAME?secret=...&issuer=jitd
  SystemTime confirm_by{};  // the enrollment lapses unless confirmed by then
};

struct TotpState {
  bool active = false;  // a confirmed seed counts as a second factor
  std::optional<SystemTime> active_since;
  bool pending = false;  // an enrollment waits for its confirming code
};

// TOTP enrollment and second-factor checks. Seeds are kept in the store
// sealed with `sealer` (never in clear, never logged); each used time step
// is recorded so a code works once per subject, across replicas and
// restarts. Each change is one store transaction with its audit event
// (mfa.totp_enrolled, mfa.totp_confirmed, mfa.totp_reset), which never
// carries a seed or a code. Thread-safe.
//
// Errors: kPermissionDenied reason "mfa_failed" (a wrong or used code),
// "mfa_required" (a current code is needed and none was given), "forbidden"
// (machine tokens; reset by a non-admin); kNotFound (nothing to confirm or
// reset); kUnavailable (store or audit log down: nothing changed); kInternal
// (a stored seed does not open: the data or the key file was changed).
class MfaService final : public StepUpVerifier {
 public:
  // An unconfirmed enrollment lapses after this long.
  static constexpr Duration kPendingTtl = std::chrono::minutes(10);

  MfaService(const WorkflowDeps& deps, const SecretSealer& sealer,
             MfaOptions options)
      : deps_(deps), sealer_(sealer), options_(std::move(options)) {}

  // Makes a new seed for the caller, pending until ConfirmTotp. Replacing
  // a confirmed seed needs `current_code` from it (used up), so a stolen
  // bearer token alone cannot move the second factor to another phone.
  StatusOr<TotpEnrollment> EnrollTotp(const Principal& who,
                                      std::string_view current_code);
  // Activates the caller's newest pending seed when `code` is one of its
  // codes; a confirmed seed it replaces stops counting at once.
  Status ConfirmTotp(const Principal& who, std::string_view code);
  // Admin only: removes `subject`'s seeds (confirmed and pending), e.g.
  // after a lost phone. kNotFound when there is none.
  Status ResetTotp(const Principal& who, const std::string& subject);
  StatusOr<TotpState> StateOf(const Principal& who);

  StatusOr<SecondFactor> Prove(const Principal& who,
                               std::string_view totp_code) override;

 private:
  StatusOr<std::vector<Credential>> LiveSeeds(CredentialKind kind,
                                              const std::string& subject,
                                              SystemTime now);
  StatusOr<int64_t> CheckCode(const Credential& seed, std::string_view code,
                              SystemTime now) const;
  Status UseCode(const Principal& who, std::string_view code, SystemTime now);

  const WorkflowDeps& deps_;
  const SecretSealer& sealer_;
  const MfaOptions options_;
};

}  // namespace jit
