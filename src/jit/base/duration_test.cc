#include "jit/base/duration.h"

#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

struct DurationCase {
  std::string text;
  Duration want;
};

TEST(ParseDurationTest, ReadsEveryUnitAndCombination) {
  const std::vector<DurationCase> cases = {
      {"90s", 90s},        {"30m", 30min},
      {"1h30m", 90min},    {"2d", 48h},
      {"500ms", 500ms},    {"1s", 1s},
      {"1m1ms", 60'001ms}, {"1d2h3m4s5ms", 24h + 2h + 3min + 4s + 5ms},
      {"007s", 7s},        {"3660d", 3660 * 24h},
  };
  for (const DurationCase& c : cases) {
    StatusOr<Duration> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(ParseDurationTest, RejectsMalformedText) {
  const std::vector<std::string> bad = {
      "",      "s",
      "10",    "-1s",
      "+1s",   "1 s",
      " 1s",   "1s ",
      "1.5h",  "1h1h",
      "1s1m",  "10ms5s",
      "1x",    "1H",
      "0s",    "0h0m",
      "3661d", "99999999999999999999d",
      "1h30",  "123456789012345678901234567890123s"};
  for (const std::string& text : bad) {
    StatusOr<Duration> d = ParseDuration(text);
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseDurationTest, ErrorNamesTheTextAndShowsExamples) {
  StatusOr<Duration> d = ParseDuration("5y");
  EXPECT_THAT(d.status().message(), HasSubstr("\"5y\""));
  EXPECT_THAT(d.status().message(), HasSubstr("1h30m"));
}

TEST(FormatDurationTest, WritesShortestForm) {
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(90min), "1h30m");
  EXPECT_EQ(FormatDuration(48h), "2d");
  EXPECT_EQ(FormatDuration(1500ms), "1s500ms");
  EXPECT_EQ(FormatDuration(1ms), "1ms");
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  for (Duration d :
       {Duration(1ms), Duration(999ms), Duration(61s), Duration(25h),
        Duration(24h + 1ms), Duration(3660 * 24h)}) {
    StatusOr<Duration> back = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(back.ok()) << FormatDuration(d);
    EXPECT_EQ(*back, d);
  }
}

SystemTime At(int64_t unix_ms) { return FromUnixMillis(unix_ms); }

TEST(FormatTimeTest, WritesUtcWithMillisAndZ) {
  EXPECT_EQ(FormatTime(At(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(At(1'798'138'800'123)), "2026-12-24T19:00:00.123Z");
}

TEST(FormatTimeTest, DropsSubMillisecondPrecision) {
  SystemTime t = At(1'000) + std::chrono::microseconds(999);
  EXPECT_EQ(FormatTime(t), "1970-01-01T00:00:01.000Z");
}

struct TimeCase {
  std::string text;
  int64_t unix_ms;
};

TEST(ParseTimeTest, ReadsZuluOffsetsAndFractions) {
  const std::vector<TimeCase> cases = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-12-24T19:00:00Z", 1'798'138'800'000},
      {"2026-12-24T19:00:00.123Z", 1'798'138'800'123},
      {"2026-12-24T19:00:00.5Z", 1'798'138'800'500},
      {"2026-12-24T20:00:00+01:00", 1'798'138'800'000},
      {"2026-12-24T11:30:00-07:30", 1'798'138'800'000},
      {"2026-12-24T19:00:00.123+00:00", 1'798'138'800'123},
      // More than millisecond precision is cut, not refused.
      {"2026-12-24T19:00:00.123456Z", 1'798'138'800'123},
      {"2026-12-24T19:00:00.999999999+00:00", 1'798'138'800'999},
      // RFC 3339 5.6 allows lower-case t and z.
      {"2026-12-24t19:00:00z", 1'798'138'800'000},
  };
  for (const TimeCase& c : cases) {
    StatusOr<SystemTime> t = ParseTime(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
    EXPECT_EQ(ToUnixMillis(*t), c.unix_ms) << c.text;
  }
}

TEST(ParseTimeTest, RejectsNonRfc3339) {
  const std::vector<std::string> bad = {
      "",
      "2026-12-24",
      "2026-12-24T19:00:00",  // no zone: would be read in local time
      "2026-12-24 19:00:00Z",
      "2026-12-24T19:00Z",
      "2026-13-25T19:00:00Z",
      "2026-02-30T19:00:00Z",
      "2026-12-24T25:00:00Z",
      "2026-12-24T19:00:00+0100",
      "2026-12-24T19:00:00Zjunk",
      "1798138800",
      "2026-12-24T19:00:00.1234567890123456789012345Z",
  };
  for (const std::string& text : bad) {
    StatusOr<SystemTime> t = ParseTime(text);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseTimeTest, ReadsBackWhatFormatTimeWrites) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{1'798'138'800'123},
                     int64_t{4'102'444'799'999}}) {
    StatusOr<SystemTime> t = ParseTime(FormatTime(At(ms)));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(ToUnixMillis(*t), ms);
  }
}

TEST(UnixMillisTest, RoundTrips) {
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(1'798'138'800'123)), 1'798'138'800'123);
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(-1)), -1);
  EXPECT_EQ(FromUnixMillis(0), SystemTime{});
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

TEST(TruncateToMillisTest, DropsSubMillisecondPart) {
  SystemTime t = FromUnixMillis(1'800'000'000'123) + std::chrono::microseconds(999);
  EXPECT_EQ(TruncateToMillis(t), FromUnixMillis(1'800'000'000'123));
  EXPECT_EQ(FormatTime(TruncateToMillis(t)), FormatTime(t));
}

}  // namespace
}  // namespace jit
