#pragma once

#include <string_view>

#include "jit/base/status.h"
#include "jit/policy/policy.h"
#include "jit/workflow/principal.h"

namespace jit {

// Decides whether a caller shows a recent second factor with this call, for
// policies with require.mfa (requesters) or approval.mfa (deciders).
// Thread-safe.
class StepUpVerifier {
 public:
  virtual ~StepUpVerifier() = default;
  // kShown when `who` signed in at the identity provider with a recent
  // second factor (MfaOptions), or when `totp_code` is a current code of
  // `who`'s confirmed TOTP seed that was not used before (it is used up
  // now, also if the call then fails for another reason). kNone when
  // neither: no code given, or `who` is a machine token (never). Errors:
  // kPermissionDenied reason "mfa_failed" for a code that is wrong, used
  // before, or given without a confirmed seed (count it as a failed
  // authentication); kUnavailable: store down.
  virtual StatusOr<SecondFactor> Prove(const Principal& who,
                                       std::string_view totp_code) = 0;
};

}  // namespace jit
