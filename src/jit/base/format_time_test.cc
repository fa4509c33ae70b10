// FormatTime writes digits by hand for speed; these tests hold it to the
// date::format("%FT%TZ") text it replaced, byte for byte, across the whole
// range of SystemTime.

#include <date/date.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// The implementation FormatTime had before: the reference.
std::string DateFormat(SystemTime t) {
  return date::format("%FT%TZ", std::chrono::floor<milliseconds>(t));
}

SystemTime FromNanos(int64_t ns) { return SystemTime(nanoseconds(ns)); }

SystemTime Utc(int year, unsigned month, unsigned day) {
  return SystemTime(
      date::sys_days{date::year{year} / date::month{month} / date::day{day}});
}

TEST(FormatTimeTest, WritesRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(FormatTime(Utc(2026, 11, 23) + std::chrono::hours(19)),
            "2026-11-23T19:00:00.000Z");
  EXPECT_EQ(FormatTime(FromNanos(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(FromNanos(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(FromNanos(1'999'999)), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(FormatTime(SystemTime::min()), "1677-09-21T00:12:43.145Z");
  EXPECT_EQ(FormatTime(SystemTime::max()), "2262-04-11T23:47:16.854Z");
}

TEST(FormatTimeTest, MatchesDateFormatAtEdges) {
  std::vector<SystemTime> times = {SystemTime::min(), SystemTime::max(),
                                   SystemTime::min() + nanoseconds(1),
                                   SystemTime::max() - nanoseconds(1)};
  // Leap days, century years (1900 and 2100 are not leap years, 2000 is),
  // year ends, and the epoch.
  const std::vector<SystemTime> days = {
      Utc(1677, 9, 22), Utc(1700, 3, 1),  Utc(1899, 12, 31),
      Utc(1900, 2, 28), Utc(1900, 3, 1),  Utc(1969, 12, 31),
      Utc(1970, 1, 1),  Utc(1972, 2, 29), Utc(1999, 12, 31),
      Utc(2000, 2, 29), Utc(2000, 3, 1),  Utc(2024, 2, 29),
      Utc(2038, 1, 19), Utc(2100, 2, 28), Utc(2100, 3, 1),
      Utc(2262, 4, 11)};
  // Around each day start: the last and first nanosecond of a millisecond,
  // of a second and of the day.
  for (SystemTime day : days) {
    for (int64_t offset_ms : {-1000, -1, 0, 1, 999, 1000, 86'399'999}) {
      // SystemTime ends at 2262-04-11T23:47:16.854775807: later times of
      // that day would overflow (undefined behaviour), so they are skipped.
      if (offset_ms > 0 && day > SystemTime::max() - milliseconds(offset_ms) -
                                     nanoseconds(999'999)) {
        continue;
      }
      SystemTime at = day + milliseconds(offset_ms);
      for (int64_t ns : {-1, 0, 1, 999'999}) {
        times.push_back(at + nanoseconds(ns));
      }
    }
  }
  for (SystemTime t : times) {
    ASSERT_EQ(FormatTime(t), DateFormat(t))
        << t.time_since_epoch().count() << " ns";
  }
}

TEST(FormatTimeTest, MatchesDateFormatEveryMillisecondAroundTheEpoch) {
  // Two seconds either side, negative times included.
  for (int64_t ms = -2000; ms <= 2000; ++ms) {
    for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{999'999}}) {
      SystemTime t = FromNanos(ms * 1'000'000 + ns);
      ASSERT_EQ(FormatTime(t), DateFormat(t)) << ms << " ms + " << ns << " ns";
    }
  }
}

TEST(FormatTimeTest, MatchesDateFormatAtRandomTimesAcrossTheRange) {
  std::mt19937_64 rng(20261124);
  std::uniform_int_distribution<int64_t> any_ns(
      std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  // Whole milliseconds across the range (x 1e6 must stay within int64).
  std::uniform_int_distribution<int64_t> near_ms(-9'000'000'000'000,
                                                 9'000'000'000'000);
  for (int i = 0; i < 50'000; ++i) {
    SystemTime t = FromNanos(any_ns(rng));
    ASSERT_EQ(FormatTime(t), DateFormat(t))
        << t.time_since_epoch().count() << " ns";
    SystemTime whole = FromNanos(near_ms(rng) * 1'000'000);
    ASSERT_EQ(FormatTime(whole), DateFormat(whole))
        << whole.time_since_epoch().count() << " ns";
  }
}

TEST(FormatTimeTest, ParseTimeReadsItBack) {
  SystemTime t = Utc(1901, 7, 4) + milliseconds(45'296'789);
  StatusOr<SystemTime> back = ParseTime(FormatTime(t));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, t);
}

}  // namespace
}  // namespace jit
