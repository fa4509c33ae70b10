#include "jit/workflow/slack/slack_signature.h"

#include <gtest/gtest.h>

#include <string>

#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const std::string kSecret = "8f742231b10e8888abcd99yyyzzz85a5";
const std::string kBody = "payload=%7B%22type%22%3A%22block_actions%22%7D";

std::string UnixSeconds(SystemTime t) {
  return std::to_string(
      std::chrono::floor<seconds>(t.time_since_epoch()).count());
}

class SlackSignatureTest : public ::testing::Test {
 protected:
  Status Send(const std::string& ts, const std::string& body,
              const std::string& secret = kSecret) {
    return verifier_.Verify(ts, SlackSignature(secret, ts, body), body);
  }
  std::string Now() const { return UnixSeconds(clock_.Now()); }

  FakeClock clock_{RigStart()};
  SlackRequestVerifier verifier_{kSecret, clock_};
};

// The example Slack documents for its signing scheme, so the base string
// and encoding are Slack's and not only our own round trip.
TEST(SlackSignature, MatchesSlacksPublishedExample) {
  const std::string body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
      "testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
      "U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
      "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F"
      "397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
      "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  EXPECT_EQ(
      SlackSignature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body),
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b"
      "503");
}

TEST_F(SlackSignatureTest, AcceptsAGoodFreshRequest) {
  EXPECT_TRUE(IsOk(Send(Now(), kBody)));
}

TEST_F(SlackSignatureTest, RefusesAnotherSecret) {
  EXPECT_TRUE(HasError(Send(Now(), kBody, "another-secret-0123456789"),
                       StatusCode::kUnauthenticated));
}

TEST_F(SlackSignatureTest, RefusesATamperedBody) {
  const std::string ts = Now();
  const std::string sig = SlackSignature(kSecret, ts, kBody);
  EXPECT_TRUE(HasError(verifier_.Verify(ts, sig, kBody + "x"),
                       StatusCode::kUnauthenticated));
  // Another timestamp under the same signature is tampering too.
  EXPECT_TRUE(HasError(
      verifier_.Verify(UnixSeconds(clock_.Now() - seconds(1)), sig, kBody),
      StatusCode::kUnauthenticated));
  // Upper-case hex is not what Slack sends.
  std::string upper = sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  upper.replace(0, 3, "v0=");
  EXPECT_TRUE(HasError(verifier_.Verify(ts, upper, kBody),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(IsOk(verifier_.Verify(ts, sig, kBody)));
}

TEST_F(SlackSignatureTest, RefusesStaleAndFutureTimestampsBothWays) {
  const SystemTime now = clock_.Now();
  EXPECT_TRUE(HasError(Send(UnixSeconds(now - minutes(5) - seconds(1)), kBody),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(Send(UnixSeconds(now + minutes(5) + seconds(1)), kBody),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(IsOk(Send(UnixSeconds(now - minutes(5)), kBody)));
  EXPECT_TRUE(IsOk(Send(UnixSeconds(now + minutes(5)), kBody)));
}

TEST_F(SlackSignatureTest, ARequestSignedNowIsStaleLater) {
  const std::string ts = Now();
  const std::string sig = SlackSignature(kSecret, ts, kBody);
  clock_.Advance(minutes(5) + seconds(1));
  EXPECT_TRUE(
      HasError(verifier_.Verify(ts, sig, kBody), StatusCode::kUnauthenticated));
}

TEST_F(SlackSignatureTest, RefusesAReplayWithinTheWindow) {
  const std::string ts = Now();
  const std::string sig = SlackSignature(kSecret, ts, kBody);
  EXPECT_TRUE(IsOk(verifier_.Verify(ts, sig, kBody)));
  clock_.Advance(seconds(30));
  Status again = verifier_.Verify(ts, sig, kBody);
  EXPECT_TRUE(HasError(again, StatusCode::kUnauthenticated));
  EXPECT_NE(again.message().find("replay"), std::string::npos);
  // Past the window it is stale, not forgotten.
  clock_.Advance(minutes(5));
  EXPECT_TRUE(
      HasError(verifier_.Verify(ts, sig, kBody), StatusCode::kUnauthenticated));
}

TEST_F(SlackSignatureTest, RefusesMissingAndMalformedHeaders) {
  const std::string ts = Now();
  const std::string sig = SlackSignature(kSecret, ts, kBody);
  EXPECT_TRUE(HasError(verifier_.Verify(std::nullopt, sig, kBody),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(verifier_.Verify(ts, std::nullopt, kBody),
                       StatusCode::kUnauthenticated));
  for (const std::string bad_ts :
       {"", "-1", "12ab", "1e9", " 1", "9999999999999999999999"}) {
    EXPECT_TRUE(HasError(verifier_.Verify(bad_ts, sig, kBody),
                         StatusCode::kUnauthenticated))
        << bad_ts;
  }
  for (const std::string& bad_sig :
       {std::string(""), std::string("v0="), "v1=" + sig.substr(3),
        sig.substr(3), sig + "0", sig.substr(0, sig.size() - 1)}) {
    EXPECT_TRUE(HasError(verifier_.Verify(ts, bad_sig, kBody),
                         StatusCode::kUnauthenticated))
        << bad_sig;
  }
  EXPECT_TRUE(IsOk(verifier_.Verify(ts, sig, kBody)));
}

TEST_F(SlackSignatureTest, RefusesAnOversizedBodyBeforeAnythingElse) {
  const std::string big(64 * 1024 + 1, 'a');
  EXPECT_TRUE(HasError(Send(Now(), big), StatusCode::kResourceExhausted));
  EXPECT_TRUE(HasError(verifier_.Verify(std::nullopt, std::nullopt, big),
                       StatusCode::kResourceExhausted));
  EXPECT_TRUE(IsOk(Send(Now(), std::string(64 * 1024, 'a'))));
}

TEST(SlackSignature, ReplayMemoryIsBoundedAndFailsClosed) {
  FakeClock clock(RigStart());
  SlackVerifierOptions options;
  options.max_remembered = 3;
  SlackRequestVerifier verifier(kSecret, clock, options);
  const std::string ts = UnixSeconds(clock.Now());
  for (int i = 0; i < 3; ++i) {
    const std::string body = kBody + std::to_string(i);
    EXPECT_TRUE(
        IsOk(verifier.Verify(ts, SlackSignature(kSecret, ts, body), body)));
  }
  const std::string fourth = kBody + "3";
  EXPECT_TRUE(
      HasError(verifier.Verify(ts, SlackSignature(kSecret, ts, fourth), fourth),
               StatusCode::kUnavailable));
  // Once the remembered ones leave the window there is room again.
  clock.Advance(minutes(5) + seconds(1));
  const std::string later = UnixSeconds(clock.Now());
  EXPECT_TRUE(IsOk(
      verifier.Verify(later, SlackSignature(kSecret, later, fourth), fourth)));
}

}  // namespace
}  // namespace jit
