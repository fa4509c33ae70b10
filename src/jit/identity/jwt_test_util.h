#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace jit::testing {

// A signing key made by a test: RSA 2048, EC P-256 or Ed25519.
class TestKey {
 public:
  static std::shared_ptr<TestKey> Rsa(std::string kid);
  static std::shared_ptr<TestKey> Ec(std::string kid);
  static std::shared_ptr<TestKey> Ed25519(std::string kid);
  ~TestKey();
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  const std::string& kid() const { return kid_; }
  // The public half as a JWK (with kid and use "sig").
  nlohmann::json PublicJwk() const;
  // The public key as PEM (SubjectPublicKeyInfo).
  std::string PublicPem() const;
  // A JWS signature over `input` for `alg` (RS256, PS256, ES256, EdDSA...).
  std::string Sign(std::string_view alg, std::string_view input) const;

 private:
  TestKey(std::string kid, evp_pkey_st* key)
      : kid_(std::move(kid)), key_(key) {}
  std::string kid_;
  evp_pkey_st* key_;  // owned
};

// {"keys": [...]} of the public halves.
std::string JwksJson(const std::vector<std::shared_ptr<TestKey>>& keys);

// header.claims.signature, each part base64url of the given bytes.
std::string JoinJwt(const nlohmann::json& header, const nlohmann::json& claims,
                    std::string_view signature);
// Signed by `key` with `header["alg"]`; `header["kid"]` set to key's kid
// unless the header already has one.
std::string SignJwt(nlohmann::json header, const nlohmann::json& claims,
                    const TestKey& key);
// An HMAC-SHA256 JWS with `secret` (for HS/RS confusion attacks).
std::string HmacJwt(const nlohmann::json& header, const nlohmann::json& claims,
                    std::string_view secret);

}  // namespace jit::testing
