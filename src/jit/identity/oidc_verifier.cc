#include "jit/identity/oidc_verifier.h"

#include <algorithm>

#include "jit/base/status_macros.h"

namespace jit {

Status ValidateOidcConfig(const OidcConfig& c) {
  if (c.issuer.rfind("https://", 0) != 0 && c.issuer.rfind("http://", 0) != 0)
    return InvalidArgumentError("oidc issuer must be an http(s):// URL");
  if (c.audience.empty())
    return InvalidArgumentError("oidc audience must not be empty");
  if (c.subject_claim.empty() || c.groups_claim.empty())
    return InvalidArgumentError("oidc claim names must not be empty");
  if (c.algorithms.empty())
    return InvalidArgumentError("oidc algorithms must not be empty");
  const auto& supported = SupportedJwtAlgorithms();
  for (const std::string& a : c.algorithms) {
    if (std::find(supported.begin(), supported.end(), a) == supported.end()) {
      std::string list;
      for (const std::string& s : supported)
        list += (list.empty() ? "" : ", ") + s;
      return InvalidArgumentError(
          "oidc algorithm \"" + a +
          "\" is not supported (public-key only: " + list + ")");
    }
  }
  if (c.leeway.count() < 0 || c.leeway > std::chrono::minutes(10))
    return InvalidArgumentError("oidc leeway must be between 0s and 10m");
  if (c.jwks_max_age < std::chrono::seconds(1) ||
      c.jwks_min_refetch < std::chrono::seconds(0) ||
      c.http_timeout < std::chrono::seconds(1)) {
    return InvalidArgumentError(
        "oidc jwks_max_age and timeouts must be positive");
  }
  return OkStatus();
}

OidcVerifier::OidcVerifier(const OidcConfig& config, const Clock& clock)
    : config_(config),
      keys_(std::make_unique<OidcKeySource>(config_, clock)),
      jwt_(std::make_unique<JwtVerifier>(
          JwtRules{config_.issuer, config_.audience, config_.algorithms,
                   config_.leeway},
          *keys_, clock)) {}

StatusOr<std::unique_ptr<OidcVerifier>> OidcVerifier::Create(
    const OidcConfig& config, const Clock& clock) {
  JIT_RETURN_IF_ERROR(ValidateOidcConfig(config));
  return std::unique_ptr<OidcVerifier>(new OidcVerifier(config, clock));
}

StatusOr<OidcIdentity> OidcVerifier::Verify(std::string_view token) const {
  JIT_ASSIGN_OR_RETURN(VerifiedJwt jwt, jwt_->Verify(token));
  return MapClaims(jwt.claims, config_);
}

}  // namespace jit
