#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/identity/jwt_verifier.h"
#include "jit/identity/oidc_config.h"

namespace jit {

// The signing keys of an OpenID provider: OIDC discovery
// (ISSUER/.well-known/openid-configuration, whose `issuer` must equal the
// configured one) gives `jwks_uri`, fetched over http(s) with the
// configured CA. Keys are fetched on first use (jitd starts while the IdP
// is down), again once they are `jwks_max_age` old, and again when a token
// names an unknown `kid` (IdP key rotation) - but never more often than
// once per `jwks_min_refetch`, so a flood of made-up kids cannot flood the
// IdP. A failed fetch keeps the keys held so far.
// Thread-safe; one fetch at a time, lookups do not wait for it unless they
// need it.
class OidcKeySource final : public KeySource {
 public:
  // `clock` (monotonic time only) must outlive this.
  OidcKeySource(const OidcConfig& config, const Clock& clock);

  // kNotFound: no such kid, also after a refetch if one was due;
  // kUnavailable: no keys could be had yet (reason in the message).
  StatusOr<std::shared_ptr<const Jwk>> FindKey(std::string_view kid) override;

 private:
  struct Keys {
    JwkSet set;
    MonoTime fetched_at;
  };
  // Fetches discovery (until it once worked) and the JWK set.
  StatusOr<JwkSet> Fetch();
  StatusOr<std::string> GetJson(const std::string& url) const;
  // True when a fetch is due for `kid` given what is held; needs mu_.
  bool FetchDue(std::string_view kid, MonoTime now) const;

  const OidcConfig config_;
  const Clock& clock_;
  std::mutex fetch_mu_;   // one fetch at a time
  std::string jwks_uri_;  // guarded by fetch_mu_; empty until discovered
  mutable std::mutex mu_;
  std::shared_ptr<const Keys> keys_;      // guarded by mu_
  std::optional<MonoTime> last_attempt_;  // guarded by mu_
  std::string last_error_;                // guarded by mu_
};

}  // namespace jit
