// JWT hardening (THREATS T18): each attack is refused with kUnauthenticated;
// good tokens of every default algorithm are accepted. Keys are made here.
#include "jit/identity/jwt_verifier.h"

#include <gtest/gtest.h>

#include <string>

#include "jit/identity/base64url.h"
#include "jit/identity/jwt_test_util.h"

namespace jit {
namespace {

using nlohmann::json;
using testing::HmacJwt;
using testing::JoinJwt;
using testing::SignJwt;
using testing::TestKey;
using namespace std::chrono_literals;

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15
const std::string kIssuer = "https://idp.test/realm";

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = TestKey::Rsa("rsa-1");
    ec_ = TestKey::Ec("ec-1");
    ed_ = TestKey::Ed25519("ed-1");
    other_rsa_ = TestKey::Rsa("rsa-1");  // same kid, not published
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
    ed_.reset();
    other_rsa_.reset();
  }

  JwtVerifierTest()
      : clock_(SystemTime(std::chrono::seconds(kNow))),
        keys_(Published()),
        verifier_(JwtRules{kIssuer, "jitd", {"RS256", "ES256", "EdDSA"}, 60s},
                  keys_, clock_) {}

  static JwkSet Published() {
    StatusOr<JwkSet> set = ParseJwkSet(testing::JwksJson({rsa_, ec_, ed_}));
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return set.ok() ? *set : JwkSet{};
  }

  static json Claims() {
    return {{"iss", kIssuer},    {"aud", "jitd"},    {"sub", "alice"},
            {"exp", kNow + 300}, {"iat", kNow - 10}, {"nbf", kNow - 10},
            {"groups", {"dev"}}};
  }

  // Expects `token` refused as unauthenticated with `why` in the message.
  void ExpectRefused(const std::string& token, const std::string& why) {
    StatusOr<VerifiedJwt> out = verifier_.Verify(token);
    ASSERT_FALSE(out.ok()) << "accepted: " << why;
    EXPECT_EQ(out.status().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(out.status().message().find(why), std::string::npos)
        << out.status().message();
    if (!token.empty()) {
      EXPECT_EQ(out.status().message().find(token), std::string::npos);
    }
  }

  static inline std::shared_ptr<TestKey> rsa_, ec_, ed_, other_rsa_;
  FakeClock clock_;
  StaticKeySource keys_;
  JwtVerifier verifier_;
};

TEST_F(JwtVerifierTest, GoodRs256TokenIsAccepted) {
  StatusOr<VerifiedJwt> out =
      verifier_.Verify(SignJwt({{"alg", "RS256"}}, Claims(), *rsa_));

  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->claims["sub"], "alice");
}

TEST_F(JwtVerifierTest, GoodEs256TokenIsAccepted) {
  StatusOr<VerifiedJwt> out =
      verifier_.Verify(SignJwt({{"alg", "ES256"}}, Claims(), *ec_));

  ASSERT_TRUE(out.ok()) << out.status().ToString();
}

TEST_F(JwtVerifierTest, GoodEdDsaTokenIsAccepted) {
  StatusOr<VerifiedJwt> out =
      verifier_.Verify(SignJwt({{"alg", "EdDSA"}}, Claims(), *ed_));

  ASSERT_TRUE(out.ok()) << out.status().ToString();
}

TEST_F(JwtVerifierTest, AudienceListHoldingOursIsAccepted) {
  json claims = Claims();
  claims["aud"] = {"other-api", "jitd"};

  EXPECT_TRUE(
      verifier_.Verify(SignJwt({{"alg", "RS256"}}, claims, *rsa_)).ok());
}

TEST_F(JwtVerifierTest, AlgNoneIsRefused) {
  ExpectRefused(JoinJwt({{"alg", "none"}, {"kid", "rsa-1"}}, Claims(), ""),
                "alg is not among the allowed");
  ExpectRefused(JoinJwt({{"alg", "None"}, {"kid", "rsa-1"}}, Claims(), "x"),
                "alg is not among the allowed");
}

TEST_F(JwtVerifierTest, Hs256SignedWithThePublicKeyIsRefused) {
  // The classic confusion: the attacker knows the RSA public key and uses
  // its bytes as an HMAC secret.
  ExpectRefused(HmacJwt({{"alg", "HS256"}, {"kid", "rsa-1"}}, Claims(),
                        rsa_->PublicPem()),
                "alg is not among the allowed");
}

TEST_F(JwtVerifierTest, Hs256IsRefusedEvenWhenConfigured) {
  JwtVerifier lax(JwtRules{kIssuer, "jitd", {"HS256", "RS256"}, 60s}, keys_,
                  clock_);

  StatusOr<VerifiedJwt> out = lax.Verify(HmacJwt(
      {{"alg", "HS256"}, {"kid", "rsa-1"}}, Claims(), rsa_->PublicPem()));

  EXPECT_EQ(out.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(JwtVerifierTest, Rs256TokenNamingAnEcKeyIsRefused) {
  // Signed by the RSA key but pointing at the EC key's kid.
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"kid", "ec-1"}}, Claims(), *rsa_),
                "does not fit alg");
}

TEST_F(JwtVerifierTest, Es256TokenNamingAnRsaKeyIsRefused) {
  ExpectRefused(SignJwt({{"alg", "ES256"}, {"kid", "rsa-1"}}, Claims(), *ec_),
                "does not fit alg");
}

TEST_F(JwtVerifierTest, WrongIssuerIsRefused) {
  for (const char* iss : {"https://evil.test/realm", "https://idp.test/realm/",
                          "https://IDP.test/realm", ""}) {
    json claims = Claims();
    claims["iss"] = iss;
    ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_),
                  "iss is not the configured issuer");
  }
  json claims = Claims();
  claims.erase("iss");
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "iss");
}

TEST_F(JwtVerifierTest, WrongAudienceIsRefused) {
  for (json aud : {json("other-api"), json::array({"a", "b"}), json(1),
                   json::array(), json("JITD")}) {
    json claims = Claims();
    claims["aud"] = aud;
    ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "aud");
  }
}

TEST_F(JwtVerifierTest, ExpiredTokenIsRefusedAfterLeeway) {
  std::string token = SignJwt({{"alg", "RS256"}}, Claims(), *rsa_);
  clock_.Advance(300s + 59s);
  EXPECT_TRUE(verifier_.Verify(token).ok());

  clock_.Advance(1s);

  ExpectRefused(token, "expired");
}

TEST_F(JwtVerifierTest, MissingExpIsRefused) {
  json claims = Claims();
  claims.erase("exp");
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "exp is missing");
  claims["exp"] = "tomorrow";
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "NumericDate");
}

TEST_F(JwtVerifierTest, FutureNbfIsRefusedBeyondLeeway) {
  json claims = Claims();
  claims["nbf"] = kNow + 61;
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "nbf");

  claims["nbf"] = kNow + 60;
  EXPECT_TRUE(
      verifier_.Verify(SignJwt({{"alg", "RS256"}}, claims, *rsa_)).ok());
}

TEST_F(JwtVerifierTest, FutureIatIsRefused) {
  json claims = Claims();
  claims["iat"] = kNow + 3600;
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "future");
}

TEST_F(JwtVerifierTest, UnknownKidIsRefused) {
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"kid", "rsa-2"}}, Claims(), *rsa_),
                "kid names no key");
}

TEST_F(JwtVerifierTest, PathTraversalKidIsJustAnUnknownKey) {
  ExpectRefused(
      SignJwt({{"alg", "RS256"}, {"kid", "../../etc/passwd"}}, Claims(), *rsa_),
      "kid names no key");
  ExpectRefused(
      SignJwt({{"alg", "RS256"}, {"kid", "/dev/null"}}, Claims(), *rsa_),
      "kid names no key");
}

TEST_F(JwtVerifierTest, MissingOrOversizedKidIsRefused) {
  std::string token = SignJwt(
      {{"alg", "RS256"}, {"kid", std::string(257, 'k')}}, Claims(), *rsa_);
  ExpectRefused(token, "kid of 1 to 256");
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"kid", 7}}, Claims(), *rsa_),
                "kid of 1 to 256");
}

TEST_F(JwtVerifierTest, TokenOverTheSizeCapIsRefused) {
  json claims = Claims();
  claims["pad"] = std::string(JwtVerifier::kMaxTokenBytes, 'p');
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "over 8 KiB");
}

TEST_F(JwtVerifierTest, BadBase64IsRefused) {
  std::string good = SignJwt({{"alg", "RS256"}}, Claims(), *rsa_);
  size_t dot = good.find('.');
  ExpectRefused("eyJ!" + good.substr(4), "not base64url");
  ExpectRefused(good.substr(0, dot) + ".e30.AA=A", "not base64url");
  ExpectRefused(good + "%", "not base64url");
  ExpectRefused(good.substr(0, good.rfind('.') + 1) + "A", "not base64url");
}

TEST_F(JwtVerifierTest, WrongNumberOfPartsIsRefused) {
  std::string good = SignJwt({{"alg", "RS256"}}, Claims(), *rsa_);
  ExpectRefused(good + ".x", "three parts");
  ExpectRefused(good.substr(0, good.rfind('.')), "three parts");
  ExpectRefused("", "three parts");
}

TEST_F(JwtVerifierTest, JsonBombInHeaderIsRefused) {
  std::string deep(5000, '[');
  std::string header = R"({"alg":"RS256","kid":"rsa-1","x":)" + deep;
  std::string token = Base64UrlEncode(header) + "." +
                      Base64UrlEncode(Claims().dump()) + ".AAAA";
  ExpectRefused(token, "nested deeper");

  json nested = "x";
  for (int i = 0; i < 20; ++i) nested = json::array({nested});
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"x", nested}}, Claims(), *rsa_),
                "nested deeper");
}

TEST_F(JwtVerifierTest, JsonBombInClaimsIsRefused) {
  json claims = Claims();
  json nested = json::object();
  for (int i = 0; i < 20; ++i) nested = json{{"a", nested}};
  claims["x"] = nested;
  ExpectRefused(SignJwt({{"alg", "RS256"}}, claims, *rsa_), "nested deeper");
}

TEST_F(JwtVerifierTest, NonObjectHeaderIsRefused) {
  std::string token =
      Base64UrlEncode("[1]") + "." + Base64UrlEncode(Claims().dump()) + ".AAAA";
  ExpectRefused(token, "not a JSON object");
  ExpectRefused(Base64UrlEncode("{") + ".e30.AAAA", "not JSON");
}

TEST_F(JwtVerifierTest, CritHeaderIsRefused) {
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"crit", {"exp"}}, {"exp", 1}},
                        Claims(), *rsa_),
                "header crit");
}

TEST_F(JwtVerifierTest, KeyUrlsAndEmbeddedKeysAreRefused) {
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"jku", "http://127.0.0.1/k"}},
                        Claims(), *rsa_),
                "header jku");
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"x5u", "http://127.0.0.1/c"}},
                        Claims(), *rsa_),
                "header x5u");
  // An attacker's own key embedded in the token.
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"jwk", other_rsa_->PublicJwk()}},
                        Claims(), *other_rsa_),
                "header jwk");
  ExpectRefused(SignJwt({{"alg", "RS256"}, {"x5c", {"MIIB"}}}, Claims(), *rsa_),
                "header x5c");
}

TEST_F(JwtVerifierTest, SignatureOfAnotherKeyIsRefused) {
  // Same kid as the published key, different private key.
  ExpectRefused(SignJwt({{"alg", "RS256"}}, Claims(), *other_rsa_),
                "bad signature");
}

TEST_F(JwtVerifierTest, TamperedClaimsAreRefused) {
  std::string good = SignJwt({{"alg", "ES256"}}, Claims(), *ec_);
  json claims = Claims();
  claims["groups"] = {"admins"};
  size_t dot1 = good.find('.'), dot2 = good.rfind('.');
  std::string tampered = good.substr(0, dot1) + "." +
                         Base64UrlEncode(claims.dump()) + good.substr(dot2);
  ExpectRefused(tampered, "bad signature");
}

TEST_F(JwtVerifierTest, EmptyOrTruncatedSignatureIsRefused) {
  std::string good = SignJwt({{"alg", "ES256"}}, Claims(), *ec_);
  ExpectRefused(good.substr(0, good.rfind('.') + 1), "bad signature");
  size_t dot = good.rfind('.');
  std::string signature = *Base64UrlDecode(good.substr(dot + 1));
  ExpectRefused(good.substr(0, dot + 1) +
                    Base64UrlEncode(signature.substr(0, signature.size() - 1)),
                "bad signature");
}

TEST_F(JwtVerifierTest, AlgOutsideTheConfiguredListIsRefused) {
  JwtVerifier rsa_only(JwtRules{kIssuer, "jitd", {"RS256"}, 60s}, keys_,
                       clock_);

  StatusOr<VerifiedJwt> out =
      rsa_only.Verify(SignJwt({{"alg", "ES256"}}, Claims(), *ec_));

  EXPECT_EQ(out.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(JwtVerifierTest, KeyWhoseOwnAlgDiffersIsRefused) {
  json jwk = rsa_->PublicJwk();
  jwk["alg"] = "PS256";
  StatusOr<JwkSet> set = ParseJwkSet(json{{"keys", {jwk}}}.dump());
  ASSERT_TRUE(set.ok());
  StaticKeySource pinned(*set);
  JwtVerifier v(JwtRules{kIssuer, "jitd", {"RS256", "PS256"}, 60s}, pinned,
                clock_);

  EXPECT_EQ(
      v.Verify(SignJwt({{"alg", "RS256"}}, Claims(), *rsa_)).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_TRUE(v.Verify(SignJwt({{"alg", "PS256"}}, Claims(), *rsa_)).ok());
}

TEST(JwtLooksLikeTest, TellsJwtsFromOpaqueTokens) {
  EXPECT_TRUE(JwtVerifier::LooksLikeJwt("eyJhbGciOi.eyJ.sig"));
  EXPECT_FALSE(JwtVerifier::LooksLikeJwt("it-alice-token-000000"));
  EXPECT_FALSE(JwtVerifier::LooksLikeJwt("eyJa.b"));
}

}  // namespace
}  // namespace jit
