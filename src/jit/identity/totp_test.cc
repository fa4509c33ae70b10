#include "jit/identity/totp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jit {
namespace {

using std::chrono::seconds;
using testing::HasSubstr;
using testing::MatchesRegex;

// RFC 6238 appendix B (SHA-1 seed), last six digits of each code.
constexpr std::string_view kRfcSecret = "12345678901234567890";

SystemTime At(int64_t unix_seconds) {
  return SystemTime(seconds(unix_seconds));
}

TEST(TotpTest, CodesMatchTheRfcVectors) {
  EXPECT_EQ(*TotpCode(kRfcSecret, At(59)), "287082");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1111111109)), "081804");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1111111111)), "050471");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(1234567890)), "005924");
  EXPECT_EQ(*TotpCode(kRfcSecret, At(2000000000)), "279037");
}

TEST(TotpTest, MatchGivesTheStepOfTheCode) {
  StatusOr<int64_t> step = MatchTotp(kRfcSecret, "005924", At(1234567890));
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(*step, 1234567890 / 30);
}

TEST(TotpTest, OneStepOfDriftEitherWayIsAccepted) {
  const SystemTime now = At(1234567890);
  std::string previous = *TotpCode(kRfcSecret, now - seconds(30));
  std::string next = *TotpCode(kRfcSecret, now + seconds(30));
  EXPECT_EQ(*MatchTotp(kRfcSecret, previous, now), 1234567890 / 30 - 1);
  EXPECT_EQ(*MatchTotp(kRfcSecret, next, now), 1234567890 / 30 + 1);
}

TEST(TotpTest, TwoStepsAwayIsRefused) {
  const SystemTime now = At(1234567890);
  std::string old_code = *TotpCode(kRfcSecret, now - seconds(60));
  std::string future = *TotpCode(kRfcSecret, now + seconds(60));
  // Guard against a coincidence with the three accepted codes.
  for (int d = -1; d <= 1; ++d) {
    ASSERT_NE(old_code, *TotpCode(kRfcSecret, now + seconds(30 * d)));
    ASSERT_NE(future, *TotpCode(kRfcSecret, now + seconds(30 * d)));
  }
  StatusOr<int64_t> r = MatchTotp(kRfcSecret, old_code, now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "mfa_failed");
  EXPECT_FALSE(MatchTotp(kRfcSecret, future, now).ok());
}

TEST(TotpTest, MalformedCodesAreRefused) {
  const SystemTime now = At(1234567890);
  for (std::string_view bad :
       {"", "00592", "0059244", "00592a", " 005924", "005924\n", "-05924"}) {
    StatusOr<int64_t> r = MatchTotp(kRfcSecret, bad, now);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "mfa_failed");
  }
}

TEST(TotpTest, AnotherSecretsCodeIsRefused) {
  const SystemTime now = At(1234567890);
  StatusOr<std::string> other = NewTotpSecret();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), kTotpSecretBytes);
  std::string code = *TotpCode(*other, now);
  bool collides = false;
  for (int d = -1; d <= 1; ++d) {
    collides |= code == *TotpCode(kRfcSecret, now + seconds(30 * d));
  }
  if (!collides) {
    EXPECT_FALSE(MatchTotp(kRfcSecret, code, now).ok());
  }
  EXPECT_TRUE(MatchTotp(*other, code, now).ok());
}

TEST(TotpTest, SecretsAreFreshEachTime) {
  EXPECT_NE(*NewTotpSecret(), *NewTotpSecret());
}

TEST(TotpTest, Base32AndUriAsAuthenticatorAppsExpect) {
  StatusOr<std::string> b32 = TotpSecretBase32(kRfcSecret);
  ASSERT_TRUE(b32.ok());
  EXPECT_EQ(*b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(*TotpSecretFromBase32(*b32), kRfcSecret);
  EXPECT_FALSE(TotpSecretFromBase32("not base32!").ok());
  EXPECT_EQ(TotpUri("jitd", "alice", *b32),
            "otpauth://totp/jitd:alice?secret="
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=jitd");
  EXPECT_THAT(TotpUri("jitd", "a b:c@d/é", "X"),
              HasSubstr("totp/jitd:a%20b%3Ac%40d%2F%C3%A9?secret=X"));
  StatusOr<std::string> fresh = TotpSecretBase32(*NewTotpSecret());
  ASSERT_TRUE(fresh.ok());
  EXPECT_THAT(*fresh, MatchesRegex("[A-Z2-7]{32}"));
}

}  // namespace
}  // namespace jit
