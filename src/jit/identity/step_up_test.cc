#include "jit/identity/step_up.h"

#include <gtest/gtest.h>

namespace jit {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const SystemTime kT0 = SystemTime(seconds(1'800'000'000));

SignInFacts WithAmr(std::vector<std::string> amr, SystemTime at) {
  return SignInFacts{std::move(amr), "", at};
}

TEST(StepUpTest, SecondFactorAmrWithinMaxAgeCounts) {
  FakeClock clock(kT0);
  MfaOptions options;
  SignInFacts facts = WithAmr({"pwd", "otp"}, kT0);
  EXPECT_TRUE(ShowsRecentSecondFactor(facts, options, clock.Now()));
  clock.Advance(minutes(15));
  EXPECT_TRUE(ShowsRecentSecondFactor(facts, options, clock.Now()));
  clock.Advance(seconds(1));
  EXPECT_FALSE(ShowsRecentSecondFactor(facts, options, clock.Now()));
}

TEST(StepUpTest, PasswordAloneDoesNotCount) {
  MfaOptions options;
  EXPECT_FALSE(ShowsRecentSecondFactor(WithAmr({"pwd"}, kT0), options, kT0));
  EXPECT_FALSE(ShowsRecentSecondFactor(WithAmr({}, kT0), options, kT0));
  EXPECT_FALSE(ShowsRecentSecondFactor(WithAmr({"MFA"}, kT0), options, kT0));
}

TEST(StepUpTest, NoAuthTimeDoesNotCount) {
  MfaOptions options;
  SignInFacts facts{{"mfa"}, "", std::nullopt};
  EXPECT_FALSE(ShowsRecentSecondFactor(facts, options, kT0));
}

TEST(StepUpTest, AuthTimeInTheFutureCountsOnlyWithinLeeway) {
  MfaOptions options;
  EXPECT_TRUE(ShowsRecentSecondFactor(WithAmr({"mfa"}, kT0 + seconds(60)),
                                      options, kT0));
  EXPECT_FALSE(ShowsRecentSecondFactor(WithAmr({"mfa"}, kT0 + seconds(61)),
                                       options, kT0));
}

TEST(StepUpTest, ConfiguredListsReplaceTheDefaults) {
  MfaOptions options;
  options.amr_values = {"hwk"};
  options.acr_values = {"urn:example:loa:high"};
  options.max_age = minutes(5);
  EXPECT_FALSE(ShowsRecentSecondFactor(WithAmr({"otp"}, kT0), options, kT0));
  EXPECT_TRUE(ShowsRecentSecondFactor(WithAmr({"hwk"}, kT0), options, kT0));
  SignInFacts by_acr{{"pwd"}, "urn:example:loa:high", kT0};
  EXPECT_TRUE(ShowsRecentSecondFactor(by_acr, options, kT0 + minutes(5)));
  EXPECT_FALSE(
      ShowsRecentSecondFactor(by_acr, options, kT0 + minutes(5) + seconds(1)));
  SignInFacts low_acr{{"pwd"}, "urn:example:loa:low", kT0};
  EXPECT_FALSE(ShowsRecentSecondFactor(low_acr, options, kT0));
}

TEST(StepUpTest, AcrIsNotTrustedUnlessConfigured) {
  MfaOptions options;
  SignInFacts facts{{"pwd"}, "urn:mfa", kT0};
  EXPECT_FALSE(ShowsRecentSecondFactor(facts, options, kT0));
}

}  // namespace
}  // namespace jit
