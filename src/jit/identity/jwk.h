#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "jit/base/status.h"

struct evp_pkey_st;

namespace jit {

// One public signing key from a JWK Set (RFC 7517), ready for OpenSSL.
// Immutable; shared between the key cache and verifications in flight.
class Jwk {
 public:
  enum class Type { kRsa, kEc, kOkp };
  Jwk(std::string kid, Type type, std::string curve, std::string alg,
      evp_pkey_st* key);
  ~Jwk();
  Jwk(const Jwk&) = delete;
  Jwk& operator=(const Jwk&) = delete;

  const std::string& kid() const { return kid_; }
  Type type() const { return type_; }
  // "P-256", "P-384", "P-521", "Ed25519"; empty for RSA.
  const std::string& curve() const { return curve_; }
  // The key's own `alg`, when the set names one; empty otherwise.
  const std::string& alg() const { return alg_; }
  evp_pkey_st* key() const { return key_; }

 private:
  std::string kid_;
  Type type_;
  std::string curve_;
  std::string alg_;
  evp_pkey_st* key_;  // owned
};

// Keys by `kid`. Keys without `kid`, with `use` other than "sig", of a type
// jitd cannot use (an IdP may publish encryption keys), or malformed (RSA
// under 2048 bits, an EC point not on its curve, bad base64url) are left out.
using JwkSet = std::map<std::string, std::shared_ptr<const Jwk>>;

// Parses a JWK Set document ({"keys": [...]}), at most 64 KiB and 100 keys.
// kInvalidArgument: not JSON, no `keys` list, or the same `kid` twice;
// kResourceExhausted: over the caps.
StatusOr<JwkSet> ParseJwkSet(std::string_view json_text);

}  // namespace jit
