#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/identity/jwt_verifier.h"
#include "jit/identity/oidc_config.h"
#include "jit/identity/oidc_key_source.h"

namespace jit {

// Browser sign-in to the web console with the configured OpenID provider
// (config auth.oidc.web_client_id, a public client): authorization code
// flow with PKCE (S256), `state` and `nonce`, and the code exchanged by
// jitd itself at the token endpoint. The tokens never reach JavaScript and
// the browser never talks to the IdP but by top-level navigation, so the
// console's CSP needs no IdP origin and the IdP no CORS.
//
// Begin() remembers a pending login (PKCE verifier, nonce, redirect URI)
// under its random `state`; Finish() takes it out again (single use, so a
// replayed redirect fails) and refuses it when it is older than
// `pending_ttl`. Pending logins are bounded: beyond `max_pending` the
// oldest is dropped. The ID token must verify (signature by the IdP's
// keys, `iss`, `aud` = web client id, `exp`) and carry the nonce; the
// access token is returned for the caller to check like any bearer JWT.
//
// Thread-safe. Network calls (discovery, token endpoint, keys) happen in
// Begin (discovery, until it once worked) and Finish, never under the lock
// that guards the pending table.
class OidcWebLogin {
 public:
  struct Options {
    size_t max_pending = 1000;
    std::chrono::seconds pending_ttl{std::chrono::minutes(10)};
  };

  // kInvalidArgument when `config` has no web_client_id. `clock` must
  // outlive this.
  static StatusOr<std::unique_ptr<OidcWebLogin>> Create(
      const OidcConfig& config, const Clock& clock, Options options);

  // The IdP authorization URL to send the browser to; `redirect_uri` is
  // jitd's callback as the IdP must have it registered. kUnavailable when
  // the discovery document cannot be had (nothing remembered).
  StatusOr<std::string> Begin(const std::string& redirect_uri);

  // Completes the login the callback query (`state`, `code` or `error`)
  // belongs to and returns the access token. Errors, none naming a token
  // or the code: kPermissionDenied reason "unknown_state" (missing,
  // unknown, already used or expired state: nothing signed in),
  // "login_refused" (the IdP answered `error`), "token_refused" (the
  // token endpoint refused the code), "nonce_mismatch"; kUnauthenticated
  // for an ID token that does not verify; kInvalidArgument for a callback
  // without code; kUnavailable when the IdP cannot be reached. The pending
  // login is used up by every call that names it, whatever the outcome.
  StatusOr<std::string> Finish(const std::map<std::string, std::string>& query);

  size_t pending() const;
  const std::string& issuer() const { return config_.issuer; }
  // auth.oidc.web_redirect_uri; empty: the request's own origin.
  const std::string& configured_redirect_uri() const {
    return config_.web_redirect_uri;
  }

 private:
  struct Pending {
    std::string verifier;
    std::string nonce;
    std::string redirect_uri;
    MonoTime started;
  };
  struct Endpoints {
    std::string authorization;
    std::string token;
  };
  OidcWebLogin(const OidcConfig& config, const Clock& clock, Options options);
  StatusOr<Endpoints> Discover();
  StatusOr<Pending> TakePending(std::string_view state);
  // Token endpoint call; returns {access_token, id_token}.
  StatusOr<std::pair<std::string, std::string>> Exchange(
      const Endpoints& endpoints, const std::string& code,
      const Pending& pending) const;

  const OidcConfig config_;
  const Clock& clock_;
  const Options options_;
  std::unique_ptr<OidcKeySource> keys_;
  std::unique_ptr<JwtVerifier> id_tokens_;
  std::mutex discover_mu_;
  std::optional<Endpoints> endpoints_;  // guarded by discover_mu_
  mutable std::mutex mu_;
  // Keyed by SHA-256 of the state.
  std::map<std::string, Pending> pending_;  // guarded by mu_
};

}  // namespace jit
