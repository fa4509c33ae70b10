#include "jit/identity/jwt_test_util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jit/identity/base64url.h"

namespace jit::testing {
namespace {

using nlohmann::json;

std::string BnBytes(EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  int size = pad_to ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  BN_free(bn);
  return out;
}

const EVP_MD* Digest(std::string_view alg) {
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return EVP_sha256();
}

// DER ECDSA -> r || s of `part` bytes each.
std::string DerToRaw(const std::string& der, int part) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out(static_cast<size_t>(2 * part), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, part);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + part, part);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

std::shared_ptr<TestKey> TestKey::Rsa(std::string kid) {
  return std::shared_ptr<TestKey>(
      new TestKey(std::move(kid), EVP_RSA_gen(2048)));
}
std::shared_ptr<TestKey> TestKey::Ec(std::string kid) {
  return std::shared_ptr<TestKey>(
      new TestKey(std::move(kid), EVP_EC_gen("P-256")));
}
std::shared_ptr<TestKey> TestKey::Ed25519(std::string kid) {
  return std::shared_ptr<TestKey>(new TestKey(
      std::move(kid), EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")));
}

TestKey::~TestKey() { EVP_PKEY_free(key_); }

json TestKey::PublicJwk() const {
  json jwk = {{"kid", kid_}, {"use", "sig"}};
  switch (EVP_PKEY_get_base_id(key_)) {
    case EVP_PKEY_RSA:
      jwk["kty"] = "RSA";
      jwk["n"] = Base64UrlEncode(BnBytes(key_, OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = Base64UrlEncode(BnBytes(key_, OSSL_PKEY_PARAM_RSA_E));
      break;
    case EVP_PKEY_EC:
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = Base64UrlEncode(BnBytes(key_, OSSL_PKEY_PARAM_EC_PUB_X, 32));
      jwk["y"] = Base64UrlEncode(BnBytes(key_, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
      break;
    default: {
      unsigned char raw[32];
      size_t len = sizeof(raw);
      EVP_PKEY_get_raw_public_key(key_, raw, &len);
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] =
          Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), len));
    }
  }
  return jwk;
}

std::string TestKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string TestKey::Sign(std::string_view alg, std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const bool eddsa = alg == "EdDSA";
  EVP_DigestSignInit(ctx, &pctx, eddsa ? nullptr : Digest(alg), nullptr, key_);
  if (alg.substr(0, 2) == "PS") {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                 input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg.substr(0, 2) == "ES") return DerToRaw(sig, 32);
  return sig;
}

std::string JwksJson(const std::vector<std::shared_ptr<TestKey>>& keys) {
  json set = {{"keys", json::array()}};
  for (const auto& k : keys) set["keys"].push_back(k->PublicJwk());
  return set.dump();
}

std::string JoinJwt(const json& header, const json& claims,
                    std::string_view signature) {
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump()) +
         "." + Base64UrlEncode(signature);
}

std::string SignJwt(json header, const json& claims, const TestKey& key) {
  if (!header.contains("kid")) header["kid"] = key.kid();
  std::string input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  return input + "." +
         Base64UrlEncode(key.Sign(header["alg"].get<std::string>(), input));
}

std::string HmacJwt(const json& header, const json& claims,
                    std::string_view secret) {
  std::string input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &len);
  return input + "." +
         Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), len));
}

}  // namespace jit::testing
