#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// RFC 6238 time-based one-time passwords as authenticator apps make them:
// HMAC-SHA1, 30-second steps from the Unix epoch, 6 digits. Computed by
// liboath. Pure and thread-safe.
inline constexpr std::chrono::seconds kTotpStep{30};
inline constexpr int kTotpDigits = 6;
// Bytes of a new secret (160 bits, the HMAC-SHA1 block the RFC suggests).
inline constexpr size_t kTotpSecretBytes = 20;

// A fresh random secret of kTotpSecretBytes raw bytes (OpenSSL RAND_bytes).
// kInternal when the CSPRNG fails.
StatusOr<std::string> NewTotpSecret();

// `secret` as RFC 4648 base32 without padding, as authenticator apps and
// otpauth URIs take it.
StatusOr<std::string> TotpSecretBase32(std::string_view secret);

// The raw secret of base32 text (padding optional, upper case).
// kInvalidArgument when it is not base32.
StatusOr<std::string> TotpSecretFromBase32(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER (the key URI
// format authenticator apps scan), with `account` percent-encoded.
std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view secret_base32);

// The code for `secret` in the step that holds `at`.
StatusOr<std::string> TotpCode(std::string_view secret, SystemTime at);

// The time step whose code `code` is, searching the step of `now` and one
// step on either side (clock drift between phone and server). The step is
// the number of 30-second periods since the Unix epoch; callers use it to
// refuse a code seen before. kPermissionDenied (reason "mfa_failed") when
// `code` is not 6 digits or matches none of the three steps.
StatusOr<int64_t> MatchTotp(std::string_view secret, std::string_view code,
                            SystemTime now);

}  // namespace jit
