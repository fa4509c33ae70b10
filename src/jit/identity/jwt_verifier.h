#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/identity/jwk.h"

namespace jit {

// Where a verifier finds public keys by `kid`. Thread-safe.
class KeySource {
 public:
  virtual ~KeySource() = default;
  // The key named `kid` (a lookup key only: never a path or URL).
  // kNotFound: no such key; kUnavailable: the keys cannot be had now.
  virtual StatusOr<std::shared_ptr<const Jwk>> FindKey(
      std::string_view kid) = 0;
};

// A fixed key set (tests, pinned keys).
class StaticKeySource final : public KeySource {
 public:
  explicit StaticKeySource(JwkSet keys) : keys_(std::move(keys)) {}
  StatusOr<std::shared_ptr<const Jwk>> FindKey(std::string_view kid) override;

 private:
  const JwkSet keys_;
};

struct JwtRules {
  std::string issuer;    // `iss` must equal it exactly
  std::string audience;  // `aud` (string or list) must contain it
  // Allowed `alg` values, each one of SupportedJwtAlgorithms().
  std::vector<std::string> algorithms;
  std::chrono::seconds leeway{60};
};

struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
};

// Verifies compact JWS tokens (RFC 7515/7519) along RFC 8725 (THREATS T18):
// a size cap (8 KiB) and a nesting cap on header and claims; `alg` from the
// allow-list only, and the key's type (and its own `alg`, if any) must fit
// it, so `none` and HS/RS confusion fail; `crit`, `jku`, `x5u`, `jwk` and
// `x5c` headers are refused (keys come only from the KeySource); `kid` is
// required; the signature is checked before any claim is read; then `iss`,
// `aud`, `exp` (required), `nbf` and `iat` against `clock`.Now() with leeway.
// Thread-safe when the KeySource is.
class JwtVerifier {
 public:
  static constexpr size_t kMaxTokenBytes = 8 * 1024;
  static constexpr int kMaxJsonDepth = 8;

  // `keys` and `clock` must outlive the verifier.
  JwtVerifier(JwtRules rules, KeySource& keys, const Clock& clock)
      : rules_(std::move(rules)), keys_(keys), clock_(clock) {}

  // kUnauthenticated for every refusal, with a reason that never repeats
  // the token or values taken from it.
  StatusOr<VerifiedJwt> Verify(std::string_view token) const;

  // Looks like a compact JWS: three base64url parts, the first a JSON
  // object ("eyJ..."). Says nothing about validity.
  static bool LooksLikeJwt(std::string_view token);

 private:
  StatusOr<nlohmann::json> CheckHeader(std::string_view encoded) const;
  Status CheckClaims(const nlohmann::json& claims) const;

  JwtRules rules_;
  KeySource& keys_;
  const Clock& clock_;
};

}  // namespace jit
