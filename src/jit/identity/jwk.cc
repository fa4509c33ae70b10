#include "jit/identity/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "jit/base/status_macros.h"
#include "jit/identity/base64url.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxJwksBytes = 64 * 1024;
constexpr size_t kMaxKeys = 100;
constexpr int kMinRsaBits = 2048;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Free>;

StatusOr<std::string> Member(const json& jwk, const char* name,
                             const std::string& kid) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgumentError("JWK " + kid + " lacks string member " + name);
  }
  return it->get<std::string>();
}

StatusOr<std::string> BytesMember(const json& jwk, const char* name,
                                  const std::string& kid) {
  JIT_ASSIGN_OR_RETURN(std::string text, Member(jwk, name, kid));
  StatusOr<std::string> bytes = Base64UrlDecode(text);
  if (!bytes.ok()) {
    return InvalidArgumentError("JWK " + kid + " member " + name + ": " +
                                bytes.status().message());
  }
  return bytes;
}

// Builds a public key of `type` ("RSA", "EC") from OSSL params.
StatusOr<PKey> FromParams(const char* type, OSSL_PARAM_BLD* bld,
                          const std::string& kid) {
  std::unique_ptr<OSSL_PARAM, Free> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, Free> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    return InvalidArgumentError("JWK " + kid + " is not a valid " +
                                std::string(type) + " public key");
  }
  return PKey(key);
}

StatusOr<PKey> RsaKey(const json& jwk, const std::string& kid) {
  JIT_ASSIGN_OR_RETURN(std::string n, BytesMember(jwk, "n", kid));
  JIT_ASSIGN_OR_RETURN(std::string e, BytesMember(jwk, "e", kid));
  auto bn = [](const std::string& bytes) {
    return std::unique_ptr<BIGNUM, Free>(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()), nullptr));
  };
  std::unique_ptr<BIGNUM, Free> n_bn = bn(n), e_bn = bn(e);
  if (!n_bn || !e_bn || BN_num_bits(n_bn.get()) < kMinRsaBits ||
      BN_is_zero(e_bn.get())) {
    return InvalidArgumentError("JWK " + kid + ": RSA modulus under " +
                                std::to_string(kMinRsaBits) +
                                " bits or bad exponent");
  }
  std::unique_ptr<OSSL_PARAM_BLD, Free> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get());
  return FromParams("RSA", bld.get(), kid);
}

struct Curve {
  const char* jwk_name;
  const char* openssl_name;
  size_t bytes;
};
constexpr Curve kCurves[] = {{"P-256", "prime256v1", 32},
                             {"P-384", "secp384r1", 48},
                             {"P-521", "secp521r1", 66}};

StatusOr<PKey> EcKey(const json& jwk, const std::string& kid,
                     const std::string& crv) {
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves)
    if (crv == c.jwk_name) curve = &c;
  if (curve == nullptr) {
    return InvalidArgumentError("JWK " + kid + ": unsupported curve " + crv);
  }
  JIT_ASSIGN_OR_RETURN(std::string x, BytesMember(jwk, "x", kid));
  JIT_ASSIGN_OR_RETURN(std::string y, BytesMember(jwk, "y", kid));
  if (x.size() != curve->bytes || y.size() != curve->bytes) {
    return InvalidArgumentError("JWK " + kid + ": coordinates of wrong size");
  }
  std::string point = "\x04" + x + y;  // SEC1 uncompressed
  std::unique_ptr<OSSL_PARAM_BLD, Free> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                  curve->openssl_name, 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                   point.data(), point.size());
  JIT_ASSIGN_OR_RETURN(PKey key, FromParams("EC", bld.get(), kid));
  // fromdata decodes the point; a full check rejects one off the curve.
  std::unique_ptr<EVP_PKEY_CTX, Free> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return InvalidArgumentError("JWK " + kid + ": EC point not on the curve");
  }
  return key;
}

StatusOr<PKey> OkpKey(const json& jwk, const std::string& kid,
                      const std::string& crv) {
  if (crv != "Ed25519") {
    return InvalidArgumentError("JWK " + kid + ": unsupported curve " + crv);
  }
  JIT_ASSIGN_OR_RETURN(std::string x, BytesMember(jwk, "x", kid));
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(x.data()), x.size());
  if (key == nullptr) {
    return InvalidArgumentError("JWK " + kid + ": bad Ed25519 key");
  }
  return PKey(key);
}

// Null when the key is not one for signatures jitd can check.
StatusOr<std::shared_ptr<const Jwk>> ParseKey(const json& jwk) {
  if (!jwk.is_object()) return InvalidArgumentError("a JWK is not an object");
  auto text = [&](const char* name) {
    auto it = jwk.find(name);
    return it != jwk.end() && it->is_string() ? it->get<std::string>()
                                              : std::string();
  };
  std::string kid = text("kid"), kty = text("kty"), use = text("use");
  std::string crv = text("crv"), alg = text("alg");
  if (kid.empty() || (!use.empty() && use != "sig")) return nullptr;
  if (kty == "RSA") {
    JIT_ASSIGN_OR_RETURN(PKey key, RsaKey(jwk, kid));
    return std::make_shared<const Jwk>(kid, Jwk::Type::kRsa, "", alg,
                                       key.release());
  }
  if (kty == "EC") {
    JIT_ASSIGN_OR_RETURN(PKey key, EcKey(jwk, kid, crv));
    return std::make_shared<const Jwk>(kid, Jwk::Type::kEc, crv, alg,
                                       key.release());
  }
  if (kty == "OKP") {
    JIT_ASSIGN_OR_RETURN(PKey key, OkpKey(jwk, kid, crv));
    return std::make_shared<const Jwk>(kid, Jwk::Type::kOkp, crv, alg,
                                       key.release());
  }
  return nullptr;  // "oct" (a shared secret) or unknown: never used
}

}  // namespace

Jwk::Jwk(std::string kid, Type type, std::string curve, std::string alg,
         evp_pkey_st* key)
    : kid_(std::move(kid)),
      type_(type),
      curve_(std::move(curve)),
      alg_(std::move(alg)),
      key_(key) {}

Jwk::~Jwk() { EVP_PKEY_free(key_); }

StatusOr<JwkSet> ParseJwkSet(std::string_view json_text) {
  if (json_text.size() > kMaxJwksBytes) {
    return ResourceExhaustedError("JWK set over 64 KiB");
  }
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("JWK set is not JSON");
  auto keys = doc.is_object() ? doc.find("keys") : doc.end();
  if (keys == doc.end() || !keys->is_array()) {
    return InvalidArgumentError("JWK set has no \"keys\" list");
  }
  if (keys->size() > kMaxKeys) {
    return ResourceExhaustedError("JWK set holds over 100 keys");
  }
  JwkSet set;
  for (const json& k : *keys) {
    // A key that cannot be used (RSA under 2048 bits, a point off its
    // curve) verifies nothing; the others in the set still work.
    StatusOr<std::shared_ptr<const Jwk>> key = ParseKey(k);
    if (!key.ok() || !*key) continue;
    if (!set.emplace((*key)->kid(), *key).second) {
      return InvalidArgumentError("JWK set lists kid " + (*key)->kid() +
                                  " twice");
    }
  }
  return set;
}

}  // namespace jit
