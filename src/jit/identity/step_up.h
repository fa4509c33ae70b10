#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"

namespace jit {

// Config `auth.mfa`: what counts as a recent second factor at the identity
// provider, for policies with require.mfa or approval.mfa.
struct MfaOptions {
  // The sign-in (`auth_time`) may be at most this old.
  std::chrono::seconds max_age{std::chrono::minutes(15)};
  // `amr` values (RFC 8176) that name a second factor; one is enough.
  std::vector<std::string> amr_values = {"mfa", "otp",  "hwk",    "swk",
                                         "sms", "fido", "sc",     "face",
                                         "fpt", "iris", "retina", "vbm"};
  // `acr` values that mean the sign-in used a second factor (none by
  // default: acr values are the provider's own names).
  std::vector<std::string> acr_values;
  // Tolerated clock difference for an `auth_time` in the future.
  std::chrono::seconds leeway{60};

  bool operator==(const MfaOptions&) const = default;
};

// How a caller signed in at the identity provider (from a verified token).
struct SignInFacts {
  std::vector<std::string> amr;
  std::string acr;
  std::optional<SystemTime> auth_time;
};

// True when `facts` show a second factor (an `amr` entry in
// options.amr_values or the `acr` in options.acr_values) used at a sign-in
// no older than options.max_age at `now`. No `auth_time` means the age is
// unknown: false. An `auth_time` more than options.leeway after `now`: false.
// Pure.
bool ShowsRecentSecondFactor(const SignInFacts& facts,
                             const MfaOptions& options, SystemTime now);

}  // namespace jit
