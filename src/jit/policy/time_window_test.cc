#include "jit/policy/time_window.h"

#include <date/tz.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jit/policy/policy_test_util.h"

namespace jit::policy_internal {
namespace {

using policy_test::Utc;
using testing::HasSubstr;

TimeWindow MustMake(std::vector<std::string> days, std::string_view from,
                    std::string_view to, std::string_view tz) {
  StatusOr<uint8_t> mask = ParseDays(days);
  StatusOr<int> f = ParseClockTime(from, WindowEdge::kFrom);
  StatusOr<int> t = ParseClockTime(to, WindowEdge::kTo);
  StatusOr<const date::time_zone*> zone = LocateTimeZone(tz);
  EXPECT_TRUE(mask.ok() && f.ok() && t.ok() && zone.ok());
  StatusOr<TimeWindow> w = TimeWindow::Make(*mask, *f, *t, *zone);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return *std::move(w);
}

TEST(ParseClockTimeTest, ReadsHoursAndMinutes) {
  EXPECT_EQ(*ParseClockTime("00:00", WindowEdge::kFrom), 0);
  EXPECT_EQ(*ParseClockTime("08:30", WindowEdge::kFrom), 8 * 60 + 30);
  EXPECT_EQ(*ParseClockTime("23:59", WindowEdge::kTo), 23 * 60 + 59);
}

TEST(ParseClockTimeTest, EndOfDayOnlyAsTo) {
  EXPECT_EQ(*ParseClockTime("24:00", WindowEdge::kTo), 24 * 60);
  EXPECT_FALSE(ParseClockTime("24:00", WindowEdge::kFrom).ok());
  EXPECT_FALSE(ParseClockTime("24:01", WindowEdge::kTo).ok());
}

TEST(ParseClockTimeTest, RejectsMalformedText) {
  for (std::string_view bad :
       {"", "8:00", "08:0", "08-00", "0800", "08:60", "25:00", "-1:00",
        "08:00 ", "ab:cd", "08:00:00"}) {
    EXPECT_FALSE(ParseClockTime(bad, WindowEdge::kTo).ok()) << bad;
  }
}

TEST(ParseDaysTest, EmptyListMeansEveryDay) { EXPECT_EQ(*ParseDays({}), 0x7f); }

TEST(ParseDaysTest, RejectsUnknownAndRepeatedDays) {
  EXPECT_THAT(ParseDays({"Mon"}).status().message(), HasSubstr("unknown day"));
  EXPECT_THAT(ParseDays({"monday"}).status().message(),
              HasSubstr("unknown day"));
  EXPECT_THAT(ParseDays({"mon", "mon"}).status().message(),
              HasSubstr("listed twice"));
}

TEST(LocateTimeZoneTest, FindsIanaZonesAndRefusesUnknownOnes) {
  EXPECT_TRUE(LocateTimeZone("Europe/Berlin").ok());
  EXPECT_TRUE(LocateTimeZone("UTC").ok());
  StatusOr<const date::time_zone*> bad = LocateTimeZone("Europe/Atlantis");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown time zone"));
}

TEST(TimeWindowTest, EqualFromAndToIsRefused) {
  StatusOr<TimeWindow> w =
      TimeWindow::Make(0x7f, 60, 60, *LocateTimeZone("UTC"));
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("from and to are equal"));
}

TEST(TimeWindowTest, DescribesDaysInWeekOrder) {
  EXPECT_EQ(MustMake({"sun", "mon"}, "09:00", "17:30", "UTC").description(),
            "mon,sun 09:00-17:30 UTC");
  EXPECT_EQ(MustMake({}, "22:00", "06:00", "Europe/Berlin").description(),
            "every day 22:00-06:00 Europe/Berlin");
}

TEST(TimeWindowTest, StartIsInsideAndEndIsOutside) {
  TimeWindow w = MustMake({}, "09:00", "17:00", "UTC");
  EXPECT_FALSE(w.Contains(Utc(2026, 3, 2, 8, 59)));
  EXPECT_TRUE(w.Contains(Utc(2026, 3, 2, 9, 0)));
  EXPECT_TRUE(w.Contains(Utc(2026, 3, 2, 16, 59)));
  EXPECT_FALSE(w.Contains(Utc(2026, 3, 2, 17, 0)));
}

TEST(TimeWindowTest, FollowsDaylightSavingTransitionInBerlin) {
  // Europe/Berlin moves to CEST on 2026-03-29 (a Sunday) at 01:00 UTC.
  TimeWindow w = MustMake({"sat", "sun"}, "09:00", "10:00", "Europe/Berlin");
  EXPECT_TRUE(w.Contains(Utc(2026, 3, 28, 8, 30)));   // Sat 09:30 CET
  EXPECT_FALSE(w.Contains(Utc(2026, 3, 29, 8, 30)));  // Sun 10:30 CEST
  EXPECT_TRUE(w.Contains(Utc(2026, 3, 29, 7, 30)));   // Sun 09:30 CEST
}

TEST(TimeWindowTest, WrapsPastMidnightIntoTheNextDay) {
  // Sunday night into Monday.
  TimeWindow w = MustMake({"sun"}, "23:00", "01:00", "UTC");
  EXPECT_TRUE(w.Contains(Utc(2026, 11, 22, 23, 30)));   // Sun
  EXPECT_TRUE(w.Contains(Utc(2026, 11, 23, 0, 30)));    // Mon
  EXPECT_FALSE(w.Contains(Utc(2026, 11, 23, 23, 30)));  // Mon night
  EXPECT_FALSE(w.Contains(Utc(2026, 11, 22, 0, 30)));   // Sat night's end
}

}  // namespace
}  // namespace jit::policy_internal
