#include "jit/api/auth_rate_limiter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "jit/identity/base64url.h"
#include "jit/workflow/metrics.h"

namespace jit {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const SystemTime kT0 = SystemTime(std::chrono::hours(24 * 20000));

AuthRateLimitOptions TenPerMinute(size_t max_keys = 1000) {
  AuthRateLimitOptions o;
  o.failures = 10;
  o.per = minutes(1);
  o.max_keys = max_keys;
  return o;
}

// Records `n` failures of `key`; returns how many were counted while the
// key was not limited.
int FailNTimes(AuthRateLimiter& limiter, const std::string& key, int n) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) {
    if (limiter.RetryAfter(key)) continue;
    ++allowed;
    limiter.RecordFailure(key);
  }
  return allowed;
}

TEST(AuthRateLimiterTest, NFailuresPassAndTheNextIsLimited) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  const std::string key = AuthRateLimiter::SourceKey("192.0.2.1");
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(limiter.RetryAfter(key)) << "failure " << i + 1;
    limiter.RecordFailure(key);
  }
  std::optional<seconds> wait = limiter.RetryAfter(key);
  ASSERT_TRUE(wait);
  // One failure's worth of credit (60 s / 10) comes back after 6 s.
  EXPECT_EQ(*wait, seconds(6));
}

TEST(AuthRateLimiterTest, OtherKeysAreNotLimited) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  EXPECT_EQ(FailNTimes(limiter, AuthRateLimiter::SourceKey("192.0.2.1"), 50),
            10);
  EXPECT_FALSE(limiter.RetryAfter(AuthRateLimiter::SourceKey("192.0.2.2")));
  EXPECT_FALSE(limiter.RetryAfter(AuthRateLimiter::SubjectKey("192.0.2.1")));
}

TEST(AuthRateLimiterTest, AnIpv6SourceIsItsSlash64) {
  EXPECT_EQ(AuthRateLimiter::SourceKey("2001:db8:1:2:aaaa::1"),
            AuthRateLimiter::SourceKey("2001:db8:1:2:bbbb::7"));
  EXPECT_NE(AuthRateLimiter::SourceKey("2001:db8:1:2::1"),
            AuthRateLimiter::SourceKey("2001:db8:1:3::1"));
  EXPECT_NE(AuthRateLimiter::SourceKey("192.0.2.1"),
            AuthRateLimiter::SourceKey("192.0.2.2"));
  EXPECT_EQ(AuthRateLimiter::SourceKey("::1"), "source:::1");
  EXPECT_EQ(AuthRateLimiter::SourceKey("unix"), "source:unix");
}

TEST(AuthRateLimiterTest, WindowSlides) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  const std::string key = AuthRateLimiter::SourceKey("192.0.2.1");
  ASSERT_EQ(FailNTimes(limiter, key, 10), 10);
  ASSERT_TRUE(limiter.RetryAfter(key));
  clock.Advance(seconds(6) - std::chrono::milliseconds(1));
  EXPECT_TRUE(limiter.RetryAfter(key));
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(limiter.RetryAfter(key));
  // Exactly one more is allowed after 6 s.
  EXPECT_EQ(FailNTimes(limiter, key, 5), 1);
  // After a whole quiet minute the full allowance is back.
  clock.Advance(minutes(1));
  EXPECT_EQ(FailNTimes(limiter, key, 20), 10);
}

TEST(AuthRateLimiterTest, RefusedAttemptsDoNotExtendTheWait) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  const std::string key = AuthRateLimiter::SourceKey("192.0.2.1");
  ASSERT_EQ(FailNTimes(limiter, key, 10), 10);
  for (int i = 0; i < 100; ++i) limiter.RecordFailure(key);
  clock.Advance(seconds(6));
  EXPECT_FALSE(limiter.RetryAfter(key));
}

TEST(AuthRateLimiterTest, WallClockJumpsDoNotMatter) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  const std::string key = AuthRateLimiter::SourceKey("192.0.2.1");
  ASSERT_EQ(FailNTimes(limiter, key, 10), 10);
  clock.JumpWall(std::chrono::hours(24));
  EXPECT_TRUE(limiter.RetryAfter(key));
}

TEST(AuthRateLimiterTest, MemoryCapHoldsUnderAFloodOfSources) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(/*max_keys=*/1000), clock);
  const std::string attacker = AuthRateLimiter::SourceKey("198.51.100.7");
  ASSERT_EQ(FailNTimes(limiter, attacker, 10), 10);
  for (int i = 0; i < 100'000; ++i) {
    limiter.RecordFailure(AuthRateLimiter::SourceKey(
        "10." + std::to_string(i / 65536) + "." +
        std::to_string(i / 256 % 256) + "." + std::to_string(i % 256)));
    ASSERT_LE(limiter.tracked_keys(), 1000u) << "after " << i + 1;
  }
  EXPECT_EQ(limiter.tracked_keys(), 1000u);
  // The flood evicted itself, not the source that is being limited.
  EXPECT_TRUE(limiter.RetryAfter(attacker));
}

TEST(AuthRateLimiterTest, PaidUpKeysAreForgotten) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  for (int i = 0; i < 100; ++i) {
    limiter.RecordFailure(AuthRateLimiter::SourceKey(std::to_string(i)));
  }
  EXPECT_EQ(limiter.tracked_keys(), 100u);
  clock.Advance(seconds(7));
  limiter.RecordFailure(AuthRateLimiter::SourceKey("new"));
  EXPECT_EQ(limiter.tracked_keys(), 1u);
}

HttpRequest WithToken(const std::string& address, const std::string& token) {
  HttpRequest http;
  http.method = "GET";
  http.path = "/v1/requests";
  http.remote_address = address;
  http.headers["authorization"] = "Bearer " + token;
  return http;
}

std::string ErrorCode(const HttpResponse& r) {
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "";
  return body["error"].value("code", "");
}

TEST(RefuseFailedAuthTest, Answers401ThenTooManyWithRetryAfter) {
  FakeClock clock(kT0);
  AuthRateLimitOptions o = TenPerMinute();
  o.failures = 3;
  AuthRateLimiter limiter(o, clock);
  Metrics metrics;
  HttpRequest http = WithToken("192.0.2.1", "wrong-token-0000000000");
  Status failure = UnauthenticatedError("unknown token");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = RefuseFailedAuth(limiter, metrics, http, failure);
    EXPECT_EQ(r.status, 401) << "attempt " << i + 1;
    EXPECT_EQ(ErrorCode(r), "unauthenticated");
  }
  HttpResponse limited = RefuseFailedAuth(limiter, metrics, http, failure);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCode(limited), "rate_limited");
  EXPECT_EQ(limited.headers["Retry-After"], "20");
  std::string text = metrics.Render(0);
  EXPECT_NE(text.find("jitd_auth_failures_total{result=\"rejected\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("jitd_auth_failures_total{result=\"rate_limited\"} 1"),
            std::string::npos)
      << text;
  // Another source is unaffected.
  HttpResponse other = RefuseFailedAuth(
      limiter, metrics, WithToken("192.0.2.2", "wrong-token-0000000000"),
      failure);
  EXPECT_EQ(other.status, 401);
}

TEST(RefuseFailedAuthTest, MissingCredentialsAreNotCounted) {
  FakeClock clock(kT0);
  AuthRateLimitOptions o = TenPerMinute();
  o.failures = 1;
  AuthRateLimiter limiter(o, clock);
  Metrics metrics;
  HttpRequest http = WithToken("192.0.2.1", "x");
  http.headers.clear();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(RefuseFailedAuth(limiter, metrics, http,
                               UnauthenticatedError("missing"))
                  .status,
              401);
  }
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(RefuseFailedAuthTest, OtherErrorsPassThroughUncounted) {
  FakeClock clock(kT0);
  AuthRateLimiter limiter(TenPerMinute(), clock);
  Metrics metrics;
  HttpResponse r =
      RefuseFailedAuth(limiter, metrics, WithToken("192.0.2.1", "t"),
                       UnavailableError("identity provider down"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(RefuseFailedAuthTest, ClaimedSubjectIsLimitedAcrossSources) {
  FakeClock clock(kT0);
  AuthRateLimitOptions o = TenPerMinute();
  o.failures = 2;
  AuthRateLimiter limiter(o, clock);
  Metrics metrics;
  Status failure = UnauthenticatedError("bad signature");
  // Each attempt from a new source, all claiming to be alice.
  for (int i = 0; i < 2; ++i) {
    HttpRequest http = WithToken("192.0.2." + std::to_string(i), "jwt");
    EXPECT_EQ(RefuseFailedAuth(limiter, metrics, http, failure, "alice").status,
              401);
  }
  HttpRequest fresh = WithToken("203.0.113.9", "jwt");
  EXPECT_EQ(RefuseFailedAuth(limiter, metrics, fresh, failure, "alice").status,
            429);
  EXPECT_EQ(RefuseFailedAuth(limiter, metrics, fresh, failure, "bob").status,
            401);
}

// A JWT "header.payload.signature" whose payload is `claims` (unsigned:
// only the claimed subject is read, never trusted).
std::string Jwt(const std::string& claims) {
  return Base64UrlEncode(R"({"alg":"RS256"})") + "." + Base64UrlEncode(claims) +
         ".c2ln";
}

TEST(ClaimedJwtSubjectTest, ReadsSubOfAJwtOnly) {
  EXPECT_EQ(
      ClaimedJwtSubject(WithToken("192.0.2.1", Jwt(R"({"sub":"alice"})"))),
      "alice");
  EXPECT_EQ(ClaimedJwtSubject(WithToken("192.0.2.1", "static-token-123")), "");
  EXPECT_EQ(ClaimedJwtSubject(WithToken("192.0.2.1", Jwt(R"({"sub":7})"))), "");
  EXPECT_EQ(ClaimedJwtSubject(WithToken("192.0.2.1", Jwt("not json"))), "");
  EXPECT_EQ(ClaimedJwtSubject(WithToken("192.0.2.1", "a.!!!.c")), "");
  EXPECT_EQ(
      ClaimedJwtSubject(WithToken(
          "192.0.2.1", Jwt(R"({"sub":")" + std::string(300, 'a') + R"("})"))),
      "");
  EXPECT_EQ(ClaimedJwtSubject(
                WithToken("192.0.2.1", Jwt(R"({"sub":"a","pad":")" +
                                           std::string(9000, 'a') + R"("})"))),
            "");
  HttpRequest none;
  EXPECT_EQ(ClaimedJwtSubject(none), "");
}

TEST(ClaimedJwtSubjectTest, ForgedJwtsNamingOneSubjectAreLimitedAcrossSources) {
  FakeClock clock(kT0);
  AuthRateLimitOptions o = TenPerMinute();
  o.failures = 2;
  AuthRateLimiter limiter(o, clock);
  Metrics metrics;
  Status failure = UnauthenticatedError("bad signature");
  std::string forged = Jwt(R"({"sub":"alice"})");
  for (int i = 0; i < 2; ++i) {
    HttpRequest http = WithToken("192.0.2." + std::to_string(i), forged);
    EXPECT_EQ(RefuseFailedAuth(limiter, metrics, http, failure,
                               ClaimedJwtSubject(http))
                  .status,
              401);
  }
  HttpRequest fresh = WithToken("203.0.113.9", forged);
  EXPECT_EQ(RefuseFailedAuth(limiter, metrics, fresh, failure,
                             ClaimedJwtSubject(fresh))
                .status,
            429);
}

}  // namespace
}  // namespace jit
