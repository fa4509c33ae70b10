#include "jit/identity/jwk.h"

#include <gtest/gtest.h>

#include "jit/identity/base64url.h"
#include "jit/identity/jwt_test_util.h"

namespace jit {
namespace {

using nlohmann::json;
using testing::TestKey;

TEST(JwkSetTest, ParsesRsaEcAndEd25519Keys) {
  StatusOr<JwkSet> set = ParseJwkSet(testing::JwksJson(
      {TestKey::Rsa("r"), TestKey::Ec("e"), TestKey::Ed25519("o")}));

  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(set->at("r")->type(), Jwk::Type::kRsa);
  EXPECT_EQ(set->at("e")->type(), Jwk::Type::kEc);
  EXPECT_EQ(set->at("e")->curve(), "P-256");
  EXPECT_EQ(set->at("o")->type(), Jwk::Type::kOkp);
}

TEST(JwkSetTest, LeavesOutKeysItCannotUse) {
  json ec = TestKey::Ec("ec")->PublicJwk();
  json off_curve = ec;
  off_curve["kid"] = "off-curve";
  off_curve["y"] = Base64UrlEncode(std::string(32, '\x01'));
  json enc = ec;
  enc["kid"] = "enc";
  enc["use"] = "enc";
  json no_kid = ec;
  no_kid.erase("kid");
  json secret = {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  json bad_b64 = ec;
  bad_b64["kid"] = "b64";
  bad_b64["x"] = "not base64!";
  json small_rsa = {{"kty", "RSA"},
                    {"kid", "small"},
                    {"n", Base64UrlEncode(std::string(128, '\xc1'))},
                    {"e", "AQAB"}};

  StatusOr<JwkSet> set = ParseJwkSet(
      json{{"keys", {ec, off_curve, enc, no_kid, secret, bad_b64, small_rsa}}}
          .dump());

  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ(set->begin()->first, "ec");
}

TEST(JwkSetTest, RefusesMalformedSets) {
  json ec = TestKey::Ec("same")->PublicJwk();
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), std::string("{}"),
        std::string(R"({"keys": {}})"), json{{"keys", {ec, ec}}}.dump()}) {
    EXPECT_EQ(ParseJwkSet(bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseJwkSet(std::string(70 * 1024, ' ')).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace jit
