#include "jit/identity/jwt_verifier.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "jit/base/status_macros.h"
#include "jit/identity/base64url.h"
#include "jit/identity/limited_json.h"

namespace jit {
namespace {

using nlohmann::json;

enum class Padding { kNone, kPkcs1, kPss };

// What an `alg` needs from its key and how it is checked.
struct AlgSpec {
  const char* name;
  Jwk::Type type;
  const char* curve;      // required curve, or null
  const EVP_MD* (*md)();  // null for EdDSA (no separate digest)
  Padding padding;
  size_t ec_part_bytes;  // size of r and s in an ECDSA signature
};

const AlgSpec kAlgs[] = {
    {"RS256", Jwk::Type::kRsa, nullptr, &EVP_sha256, Padding::kPkcs1, 0},
    {"RS384", Jwk::Type::kRsa, nullptr, &EVP_sha384, Padding::kPkcs1, 0},
    {"RS512", Jwk::Type::kRsa, nullptr, &EVP_sha512, Padding::kPkcs1, 0},
    {"PS256", Jwk::Type::kRsa, nullptr, &EVP_sha256, Padding::kPss, 0},
    {"PS384", Jwk::Type::kRsa, nullptr, &EVP_sha384, Padding::kPss, 0},
    {"PS512", Jwk::Type::kRsa, nullptr, &EVP_sha512, Padding::kPss, 0},
    {"ES256", Jwk::Type::kEc, "P-256", &EVP_sha256, Padding::kNone, 32},
    {"ES384", Jwk::Type::kEc, "P-384", &EVP_sha384, Padding::kNone, 48},
    {"ES512", Jwk::Type::kEc, "P-521", &EVP_sha512, Padding::kNone, 66},
    {"EdDSA", Jwk::Type::kOkp, "Ed25519", nullptr, Padding::kNone, 0},
};

const AlgSpec* FindAlg(std::string_view name) {
  for (const AlgSpec& a : kAlgs)
    if (name == a.name) return &a;
  return nullptr;
}

Status Refused(const std::string& why) {
  return UnauthenticatedError("token refused: " + why);
}

struct Free {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

// JWS carries ECDSA signatures as r || s; OpenSSL wants DER.
std::optional<std::string> EcdsaRawToDer(const std::string& raw,
                                         size_t part_bytes) {
  if (raw.size() != 2 * part_bytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(part_bytes), nullptr);
  BIGNUM* s =
      BN_bin2bn(bytes + part_bytes, static_cast<int>(part_bytes), nullptr);
  std::unique_ptr<ECDSA_SIG, Free> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(n), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

bool SignatureValid(const Jwk& key, const AlgSpec& alg,
                    std::string_view signing_input, std::string signature) {
  if (alg.type == Jwk::Type::kEc) {
    std::optional<std::string> der =
        EcdsaRawToDer(signature, alg.ec_part_bytes);
    if (!der) return false;
    signature = std::move(*der);
  }
  std::unique_ptr<EVP_MD_CTX, Free> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, alg.md ? alg.md() : nullptr,
                           nullptr, key.key()) != 1) {
    return false;
  }
  if (alg.padding == Padding::kPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(),
             reinterpret_cast<const unsigned char*>(signature.data()),
             signature.size(),
             reinterpret_cast<const unsigned char*>(signing_input.data()),
             signing_input.size()) == 1;
}

// A NumericDate claim as whole seconds; kUnauthenticated when not a number.
StatusOr<std::optional<int64_t>> NumericDate(const json& claims,
                                             const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  if (it->is_number_integer() && !it->is_number_unsigned())
    return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_number()) {
    double v = it->get<double>();
    // Past year 30000 or before 1970 is nobody's real date.
    if (std::isfinite(v) && v >= 0 && v < 1e12)
      return std::optional<int64_t>(static_cast<int64_t>(std::floor(v)));
  }
  return Refused(std::string(name) + " is not a NumericDate");
}

bool AudienceHolds(const json& aud, const std::string& audience) {
  if (aud.is_string()) return aud.get<std::string>() == audience;
  if (!aud.is_array()) return false;
  return std::any_of(aud.begin(), aud.end(), [&](const json& a) {
    return a.is_string() && a.get<std::string>() == audience;
  });
}

StatusOr<json> DecodeJson(std::string_view encoded, std::string_view what) {
  StatusOr<std::string> text = Base64UrlDecode(encoded);
  if (!text.ok()) return Refused(std::string(what) + " is not base64url");
  StatusOr<json> doc = ParseJsonObject(*text, JwtVerifier::kMaxJsonDepth, what);
  if (!doc.ok()) return Refused(doc.status().message());
  return doc;
}

}  // namespace

StatusOr<std::shared_ptr<const Jwk>> StaticKeySource::FindKey(
    std::string_view kid) {
  auto it = keys_.find(std::string(kid));
  if (it == keys_.end()) return NotFoundError("no key with this kid");
  return it->second;
}

bool JwtVerifier::LooksLikeJwt(std::string_view token) {
  return token.size() > 4 && token.substr(0, 3) == "eyJ" &&
         std::count(token.begin(), token.end(), '.') == 2;
}

StatusOr<json> JwtVerifier::CheckHeader(std::string_view encoded) const {
  JIT_ASSIGN_OR_RETURN(json header, DecodeJson(encoded, "JWT header"));
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string())
    return Refused("header has no alg");
  const std::string& name = alg->get_ref<const std::string&>();
  if (std::find(rules_.algorithms.begin(), rules_.algorithms.end(), name) ==
          rules_.algorithms.end() ||
      FindAlg(name) == nullptr) {
    return Refused("alg is not among the allowed algorithms");
  }
  // Keys and extensions named by the token itself are never trusted.
  for (const char* h : {"crit", "jku", "x5u", "jwk", "x5c"}) {
    if (header.contains(h))
      return Refused("header " + std::string(h) + " is not accepted");
  }
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() ||
      kid->get_ref<const std::string&>().empty() ||
      kid->get_ref<const std::string&>().size() > 256) {
    return Refused("header needs a kid of 1 to 256 characters");
  }
  return header;
}

Status JwtVerifier::CheckClaims(const json& claims) const {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != rules_.issuer) {
    return Refused("iss is not the configured issuer");
  }
  auto aud = claims.find("aud");
  if (aud == claims.end() || !AudienceHolds(*aud, rules_.audience))
    return Refused("aud does not hold the configured audience");
  JIT_ASSIGN_OR_RETURN(std::optional<int64_t> exp, NumericDate(claims, "exp"));
  JIT_ASSIGN_OR_RETURN(std::optional<int64_t> nbf, NumericDate(claims, "nbf"));
  JIT_ASSIGN_OR_RETURN(std::optional<int64_t> iat, NumericDate(claims, "iat"));
  if (!exp) return Refused("exp is missing");
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          clock_.Now().time_since_epoch())
                          .count();
  const int64_t leeway = rules_.leeway.count();
  if (now >= *exp + leeway) return Refused("token expired");
  if (nbf && now + leeway < *nbf) return Refused("token not valid yet (nbf)");
  if (iat && now + leeway < *iat) return Refused("token issued in the future");
  return OkStatus();
}

StatusOr<VerifiedJwt> JwtVerifier::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenBytes) return Refused("token over 8 KiB");
  size_t dot1 = token.find('.');
  size_t dot2 =
      dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refused("not a compact JWS (three parts)");
  }
  JIT_ASSIGN_OR_RETURN(json header, CheckHeader(token.substr(0, dot1)));
  const AlgSpec& alg = *FindAlg(header["alg"].get<std::string>());
  StatusOr<std::shared_ptr<const Jwk>> key =
      keys_.FindKey(header["kid"].get<std::string>());
  if (key.status().code() == StatusCode::kNotFound)
    return Refused("kid names no key of the identity provider");
  if (!key.ok()) return Refused(key.status().message());
  const Jwk& jwk = **key;
  if (jwk.type() != alg.type || (alg.curve && jwk.curve() != alg.curve) ||
      (!jwk.alg().empty() && jwk.alg() != alg.name)) {
    return Refused("the key named by kid does not fit alg");
  }
  StatusOr<std::string> signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature.ok()) return Refused("signature is not base64url");
  if (!SignatureValid(jwk, alg, token.substr(0, dot2), std::move(*signature)))
    return Refused("bad signature");
  JIT_ASSIGN_OR_RETURN(
      json claims,
      DecodeJson(token.substr(dot1 + 1, dot2 - dot1 - 1), "JWT claims"));
  JIT_RETURN_IF_ERROR(CheckClaims(claims));
  return VerifiedJwt{std::move(header), std::move(claims)};
}

}  // namespace jit
