#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace jit {

// JWS algorithms jitd can check. Symmetric (HS*) and `none` are not among
// them: a relying party that holds only public keys must never accept a MAC
// (THREATS T18, HS/RS confusion).
inline const std::vector<std::string>& SupportedJwtAlgorithms() {
  static const std::vector<std::string> kAll = {
      "RS256", "RS384", "RS512", "PS256", "PS384",
      "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  return kAll;
}

// Config `auth.oidc`: jitd as a resource server for one OpenID provider.
struct OidcConfig {
  // Exact `iss` of tokens and of the discovery document; discovery is
  // fetched from ISSUER/.well-known/openid-configuration.
  std::string issuer;
  std::string audience;  // must be in the token's `aud`
  std::string subject_claim = "sub";
  std::string groups_claim = "groups";
  // IdP group -> policy group. Groups not in the map pass through unless
  // `only_mapped_groups`.
  std::map<std::string, std::string> group_map;
  bool only_mapped_groups = false;
  // PEM CA file for the IdP's https certificate; empty = system store.
  std::string ca_file;
  std::vector<std::string> algorithms = {"RS256", "ES256", "EdDSA"};
  std::chrono::seconds leeway{60};  // for exp, nbf and iat
  // Keys are fetched again after this long, so rotation needs no restart.
  std::chrono::seconds jwks_max_age{std::chrono::hours(1)};
  // An unknown `kid` refetches the key set at most this often.
  std::chrono::seconds jwks_min_refetch{30};
  std::chrono::seconds http_timeout{10};
  // Browser sign-in to the web console (docs/identity.md): the IdP's public
  // client for it; empty = off. The redirect URI defaults to the request's
  // own origin + /v1/session/oidc/callback; `web_resource` (RFC 8707) may
  // be needed for the IdP to issue an access token with `audience`.
  std::string web_client_id;
  std::string web_redirect_uri;
  std::string web_scope = "openid";
  std::string web_resource;

  bool operator==(const OidcConfig&) const = default;
};

}  // namespace jit
