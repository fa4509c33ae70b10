#include "jit/base/fault_schedule.h"

#include <gtest/gtest.h>

#include <vector>

namespace jit {
namespace {

std::vector<int> FailingCalls(FaultInjector& f, int calls) {
  std::vector<int> out;
  for (int i = 1; i <= calls; ++i) {
    if (!f.Next().error.ok()) out.push_back(i);
  }
  return out;
}

TEST(FaultInjectorTest, EmptyScheduleNeverFails) {
  FaultInjector f;
  EXPECT_TRUE(FailingCalls(f, 100).empty());
  EXPECT_EQ(f.calls(), 100);
  EXPECT_EQ(f.faults(), 0);
}

TEST(FaultInjectorTest, EveryNthCallFailsWithTheScheduledCode) {
  FaultInjector f({.every_nth = 3, .code = StatusCode::kDeadlineExceeded});
  EXPECT_EQ(FailingCalls(f, 10), (std::vector<int>{3, 6, 9}));
  f.Set({.every_nth = 2});
  FaultDecision first = f.Next();
  FaultDecision second = f.Next();
  EXPECT_TRUE(first.error.ok());
  EXPECT_EQ(second.error.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(second.apply);
}

TEST(FaultInjectorTest, AfterNCallsEveryCallFailsUntilCleared) {
  FaultInjector f({.after = 2});
  EXPECT_EQ(FailingCalls(f, 5), (std::vector<int>{3, 4, 5}));
  f.Clear();
  EXPECT_TRUE(FailingCalls(f, 5).empty());
}

TEST(FaultInjectorTest, MaxFaultsBoundsTheFailures) {
  FaultInjector f({.after = 0, .max_faults = 2});
  EXPECT_EQ(FailingCalls(f, 6), (std::vector<int>{1, 2}));
}

TEST(FaultInjectorTest, ProbabilityIsReproduciblePerSeedAndRoughlyRight) {
  FaultInjector a({.probability = 0.2, .seed = 9});
  FaultInjector b({.probability = 0.2, .seed = 9});
  FaultInjector c({.probability = 0.2, .seed = 10});
  std::vector<int> fa = FailingCalls(a, 2000);
  EXPECT_EQ(fa, FailingCalls(b, 2000));
  EXPECT_NE(fa, FailingCalls(c, 2000));
  EXPECT_GT(fa.size(), 300u);  // expected 400
  EXPECT_LT(fa.size(), 500u);
}

TEST(FaultInjectorTest, ApplyThenFailAndLatencyAreHandedToTheWrapper) {
  FaultInjector f({.every_nth = 1,
                   .latency = std::chrono::milliseconds(7),
                   .apply_then_fail = true});
  FaultDecision d = f.Next();
  EXPECT_FALSE(d.error.ok());
  EXPECT_TRUE(d.apply);
  EXPECT_EQ(d.latency, std::chrono::milliseconds(7));
}

}  // namespace
}  // namespace jit
