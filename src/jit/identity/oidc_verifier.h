#pragma once

#include <memory>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/identity/claims_mapper.h"
#include "jit/identity/jwt_verifier.h"
#include "jit/identity/oidc_config.h"
#include "jit/identity/oidc_key_source.h"

namespace jit {

// Bearer JWTs from the configured OpenID provider -> identities: keys from
// OidcKeySource, checks by JwtVerifier (`iss` = issuer, `aud` holds
// audience), claims by MapClaims. Nothing is fetched until the first
// token. Thread-safe.
class OidcVerifier {
 public:
  // kInvalidArgument for a config that cannot work (no issuer or audience,
  // an algorithm outside SupportedJwtAlgorithms()). `clock` must outlive it.
  static StatusOr<std::unique_ptr<OidcVerifier>> Create(
      const OidcConfig& config, const Clock& clock);

  // kUnauthenticated with the reason for any refusal, including an IdP
  // that cannot be reached (the message never holds the token).
  StatusOr<OidcIdentity> Verify(std::string_view token) const;

  const OidcConfig& config() const { return config_; }

 private:
  OidcVerifier(const OidcConfig& config, const Clock& clock);
  const OidcConfig config_;
  std::unique_ptr<OidcKeySource> keys_;
  std::unique_ptr<JwtVerifier> jwt_;
};

// The checks Create makes, for config loading.
Status ValidateOidcConfig(const OidcConfig& config);

}  // namespace jit
