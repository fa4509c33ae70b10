#include "jit/base/clock.h"

#include "jit/base/duration.h"

#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

const SystemTime kT0 = SystemTime(std::chrono::seconds(1'798'138'800));

TEST(FakeClockTest, StartsAtGivenWallTimeAndHoldsStill) {
  FakeClock clock(kT0);
  EXPECT_EQ(clock.Now(), kT0);
  MonoTime mono = clock.MonotonicNow();
  EXPECT_EQ(clock.Now(), kT0);
  EXPECT_EQ(clock.MonotonicNow(), mono);
}

TEST(FakeClockTest, AdvanceMovesWallAndMonotonicTogether) {
  FakeClock clock(kT0);
  MonoTime mono0 = clock.MonotonicNow();
  clock.Advance(90s);
  EXPECT_EQ(clock.Now(), kT0 + 90s);
  EXPECT_EQ(clock.MonotonicNow(), mono0 + 90s);
  clock.Advance(1ms);
  EXPECT_EQ(clock.Now(), kT0 + 90s + 1ms);
}

TEST(FakeClockTest, JumpWallMovesOnlyWallTimeEitherWay) {
  FakeClock clock(kT0);
  MonoTime mono0 = clock.MonotonicNow();
  clock.JumpWall(-1h);
  EXPECT_EQ(clock.Now(), kT0 - 1h);
  EXPECT_EQ(clock.MonotonicNow(), mono0);
  clock.JumpWall(2h);
  EXPECT_EQ(clock.Now(), kT0 + 1h);
  EXPECT_EQ(clock.MonotonicNow(), mono0);
}

TEST(FakeClockTest, SetWallCanGoToEpochWithoutMovingMonotonic) {
  FakeClock clock(kT0);
  clock.Advance(5s);
  MonoTime mono = clock.MonotonicNow();
  clock.SetWall(SystemTime{});
  EXPECT_EQ(clock.Now(), SystemTime{});
  EXPECT_EQ(clock.MonotonicNow(), mono);
}

TEST(FakeClockTest, ConcurrentAdvancesAllCount) {
  FakeClock clock(kT0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&clock] {
      for (int j = 0; j < 1000; ++j) {
        clock.Advance(1ms);
        (void)clock.Now();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(clock.Now(), kT0 + 4000ms);
}

TEST(SystemClockTest, MonotonicNeverGoesBack) {
  SystemClock clock;
  MonoTime previous = clock.MonotonicNow();
  for (int i = 0; i < 1000; ++i) {
    MonoTime now = clock.MonotonicNow();
    EXPECT_GE(now, previous);
    previous = now;
  }
}

TEST(SystemClockTest, WallTimeIsCurrentUtc) {
  SystemClock clock;
  auto diff = clock.Now() - std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(diff), 5s);
  EXPECT_GT(clock.Now(),
            SystemTime(std::chrono::seconds(1'577'836'800)));  // 2020
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

TEST(NonRetreatingClockTest, WallStepBackIsIgnoredAndTimeKeepsMoving) {
  FakeClock inner(FromUnixMillis(1'800'000'000'000));
  NonRetreatingClock clock(inner);
  SystemTime t0 = clock.Now();
  inner.Advance(std::chrono::minutes(1));
  EXPECT_EQ(clock.Now(), t0 + std::chrono::minutes(1));
  inner.JumpWall(-std::chrono::hours(1));
  EXPECT_EQ(clock.Now(), t0 + std::chrono::minutes(1));
  inner.Advance(std::chrono::minutes(2));
  EXPECT_EQ(clock.Now(), t0 + std::chrono::minutes(3));
}

TEST(NonRetreatingClockTest, WallStepForwardIsFollowed) {
  FakeClock inner(FromUnixMillis(1'800'000'000'000));
  NonRetreatingClock clock(inner);
  SystemTime t0 = clock.Now();
  inner.JumpWall(std::chrono::hours(1));
  EXPECT_EQ(clock.Now(), t0 + std::chrono::hours(1));
  inner.Advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.Now(), t0 + std::chrono::hours(1) + std::chrono::seconds(5));
}

TEST(NonRetreatingClockTest, JumpToTheEpochDoesNotRewindTime) {
  FakeClock inner(FromUnixMillis(1'800'000'000'000));
  NonRetreatingClock clock(inner);
  SystemTime t0 = clock.Now();
  inner.SetWall(SystemTime{});
  EXPECT_EQ(clock.Now(), t0);
}

}  // namespace
}  // namespace jit
