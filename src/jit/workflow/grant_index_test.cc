#include "jit/workflow/grant_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "jit/base/duration.h"

namespace jit {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

const SystemTime kWall0 = SystemTime{} + hours(24 * 365 * 56);  // about 2026
const MonoTime kMono0 = MonoTime{} + hours(1);

Grant MakeGrant(std::string id, std::string subject, std::string entitlement,
                SystemTime expires_at) {
  Grant g;
  g.id = std::move(id);
  g.subject = std::move(subject);
  g.entitlement = std::move(entitlement);
  g.starts_at = kWall0;
  g.expires_at = expires_at;
  return g;
}

bool Allowed(const GrantIndex& index, const std::string& subject,
             const std::string& entitlement, SystemTime now,
             MonoTime mono_now) {
  return index.Check(subject, entitlement, now, mono_now).has_value();
}

// Puts `g` as seen at (kWall0, kMono0).
void PutAtStart(GrantIndex& index, const Grant& g) {
  index.Put(g, MonoDeadline(g.expires_at, kWall0, kMono0));
}

TEST(GrantIndexTest, AllowsAPutGrantBeforeItsExpiry) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  auto hit =
      index.Check("alice", "db", kWall0 + minutes(29), kMono0 + minutes(29));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->grant_id, "g1");
  EXPECT_EQ(hit->expires_at, kWall0 + minutes(30));
}

TEST(GrantIndexTest, DeniesFromTheExpiryMillisecondOn) {
  GrantIndex index;
  SystemTime expires = kWall0 + minutes(30);
  PutAtStart(index, MakeGrant("g1", "alice", "db", expires));
  EXPECT_TRUE(Allowed(index, "alice", "db", expires - milliseconds(1),
                      kMono0 + minutes(30) - milliseconds(1)));
  EXPECT_FALSE(Allowed(index, "alice", "db", expires, kMono0 + minutes(30)));
  EXPECT_FALSE(Allowed(index, "alice", "db", expires + milliseconds(1),
                       kMono0 + minutes(30) + milliseconds(1)));
}

TEST(GrantIndexTest, DeniesOtherSubjectsAndEntitlements) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  EXPECT_FALSE(Allowed(index, "bob", "db", kWall0, kMono0));
  EXPECT_FALSE(Allowed(index, "alice", "ssh", kWall0, kMono0));
  // The key must not be confusable by moving characters between the parts.
  EXPECT_FALSE(Allowed(index, "alic", "edb", kWall0, kMono0));
}

TEST(GrantIndexTest, RemovedGrantNoLongerAllows) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  index.Remove("g1");
  EXPECT_FALSE(Allowed(index, "alice", "db", kWall0, kMono0));
  EXPECT_EQ(index.size(), 0u);
  index.Remove("g1");  // removing twice is harmless
  index.Remove("never-there");
  EXPECT_EQ(index.size(), 0u);
}

TEST(GrantIndexTest, LatestExpiryWinsAmongAllowingGrants) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("short", "alice", "db", kWall0 + minutes(10)));
  PutAtStart(index, MakeGrant("long", "alice", "db", kWall0 + minutes(50)));
  PutAtStart(index, MakeGrant("mid", "alice", "db", kWall0 + minutes(30)));
  auto hit = index.Check("alice", "db", kWall0, kMono0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->grant_id, "long");
  index.Remove("long");
  hit = index.Check("alice", "db", kWall0, kMono0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->grant_id, "mid");
  EXPECT_EQ(index.size(), 2u);
}

TEST(GrantIndexTest, PutAgainReplacesTheExpiry) {
  GrantIndex index;
  Grant g = MakeGrant("g1", "alice", "db", kWall0 + minutes(10));
  PutAtStart(index, g);
  g.expires_at = kWall0 + minutes(40);
  PutAtStart(index, g);
  EXPECT_EQ(index.size(), 1u);
  auto hit =
      index.Check("alice", "db", kWall0 + minutes(20), kMono0 + minutes(20));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->expires_at, kWall0 + minutes(40));
}

TEST(GrantIndexTest, MonotonicDeadlineDeniesWhenWallClockWasSetBack) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  // Thirty minutes really passed, but the wall clock was stepped back 1h.
  SystemTime wall = kWall0 - hours(1) + minutes(30);
  EXPECT_TRUE(Allowed(index, "alice", "db", wall,
                      kMono0 + minutes(30) - milliseconds(1)));
  EXPECT_FALSE(Allowed(index, "alice", "db", wall, kMono0 + minutes(30)));
}

TEST(GrantIndexTest, WallClockExpiryDeniesWhenWallClockJumpedAhead) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  EXPECT_FALSE(Allowed(index, "alice", "db", kWall0 + hours(1), kMono0));
}

TEST(GrantIndexTest, ClearRemovesEverything) {
  GrantIndex index;
  PutAtStart(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(30)));
  PutAtStart(index, MakeGrant("g2", "bob", "db", kWall0 + minutes(30)));
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(Allowed(index, "alice", "db", kWall0, kMono0));
  EXPECT_FALSE(Allowed(index, "bob", "db", kWall0, kMono0));
}

// Puts `g` on connector `sudo` for target account `account`.
void PutForTarget(GrantIndex& index, Grant g, const std::string& account) {
  g.connector = "sudo";
  index.Put(g, MonoDeadline(g.expires_at, kWall0, kMono0), account);
}

TEST(GrantIndexTest, CheckTargetFindsTheGrantByConnectorAndAccount) {
  GrantIndex index;
  PutForTarget(index, MakeGrant("g1", "alice", "web-sudo", kWall0 + minutes(5)),
               "alice_adm");
  auto hit = index.CheckTarget("sudo", "alice_adm", kWall0, kMono0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->grant_id, "g1");
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kWall0, kMono0));
  EXPECT_FALSE(index.CheckTarget("other", "alice_adm", kWall0, kMono0));
  EXPECT_FALSE(index.CheckTarget("sudo", "", kWall0, kMono0));
}

TEST(GrantIndexTest, CheckTargetDeniesAfterExpiryRemoveAndClockSetBack) {
  GrantIndex index;
  PutForTarget(index, MakeGrant("g1", "alice", "web-sudo", kWall0 + minutes(5)),
               "alice");
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kWall0 + minutes(5), kMono0));
  // Wall clock set back, monotonic time past the deadline.
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kWall0, kMono0 + minutes(5)));
  index.Remove("g1");
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kWall0, kMono0));
  EXPECT_EQ(index.size(), 0u);
}

TEST(GrantIndexTest, LengthenMovesTheTargetEntryToo) {
  GrantIndex index;
  PutForTarget(index, MakeGrant("g1", "alice", "web-sudo", kWall0 + minutes(5)),
               "alice");
  ASSERT_TRUE(index.Lengthen("g1", kWall0 + minutes(10), minutes(5)));
  EXPECT_TRUE(index.CheckTarget("sudo", "alice", kWall0 + minutes(7),
                                kMono0 + minutes(7)));
  EXPECT_TRUE(Allowed(index, "alice", "web-sudo", kWall0 + minutes(7),
                      kMono0 + minutes(7)));
}

TEST(GrantIndexTest, PutWithAnotherAccountMovesTheTargetEntry) {
  GrantIndex index;
  Grant g = MakeGrant("g1", "alice", "web-sudo", kWall0 + minutes(5));
  PutForTarget(index, g, "alice");
  PutForTarget(index, g, "alice_adm");
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kWall0, kMono0));
  EXPECT_TRUE(index.CheckTarget("sudo", "alice_adm", kWall0, kMono0));
  EXPECT_EQ(index.size(), 1u);
}

TEST(GrantIndexTest, GrantsOfTargetListsEveryAllowingGrantOfTheAccount) {
  GrantIndex index;
  PutForTarget(index, MakeGrant("g1", "alice", "db", kWall0 + minutes(5)),
               "alice");
  PutForTarget(index, MakeGrant("g2", "alice", "db-ro", kWall0 + minutes(9)),
               "alice");
  PutForTarget(index, MakeGrant("g3", "bob", "db", kWall0 + minutes(9)), "bob");
  std::vector<std::string> ids =
      index.GrantsOfTarget("sudo", "alice", kWall0, kMono0);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(index.GrantsOfTarget("sudo", "alice", kWall0 + minutes(6),
                                 kMono0 + minutes(6)),
            std::vector<std::string>{"g2"});
  EXPECT_TRUE(index.GrantsOfTarget("other", "alice", kWall0, kMono0).empty());
}

TEST(MonoDeadlineTest, AddsTheRemainingWallTimeToMonotonicNow) {
  EXPECT_EQ(MonoDeadline(kWall0 + minutes(30), kWall0, kMono0),
            kMono0 + minutes(30));
}

TEST(MonoDeadlineTest, PastOrPresentExpiryMapsToMonotonicNow) {
  EXPECT_EQ(MonoDeadline(kWall0, kWall0, kMono0), kMono0);
  EXPECT_EQ(MonoDeadline(kWall0 - minutes(5), kWall0, kMono0), kMono0);
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

TEST(GrantIndexLengthenTest,
     KeepsMonotonicTimeAlreadyCountedAfterWallJumpsBack) {
  GrantIndex index;
  SystemTime t0 = FromUnixMillis(1'800'000'000'000);
  MonoTime m0{};
  Grant g;
  g.id = "grt_x";
  g.subject = "alice";
  g.entitlement = "read";
  g.expires_at = t0 + std::chrono::minutes(10);
  index.Put(g, MonoDeadline(g.expires_at, t0, m0));
  // Wall clock set back an hour, 9 minutes of real time later.
  SystemTime wall = t0 - std::chrono::hours(1) + std::chrono::minutes(9);
  MonoTime mono = m0 + std::chrono::minutes(9);
  ASSERT_TRUE(index.Lengthen(g.id, g.expires_at + std::chrono::minutes(5),
                             std::chrono::minutes(5)));
  EXPECT_TRUE(index.Check("alice", "read", wall, mono).has_value());
  // 10 + 5 real minutes after activation it ends, whatever the wall says.
  EXPECT_FALSE(index
                   .Check("alice", "read", wall + std::chrono::minutes(6),
                          m0 + std::chrono::minutes(15))
                   .has_value());
  EXPECT_FALSE(index.Lengthen("grt_missing", t0, std::chrono::minutes(1)));
}

}  // namespace
}  // namespace jit

#include "jit/workflow/metrics.h"

namespace jit {
namespace {

TEST(MetricsTest, CountsHttpResponsesByStatusAndIgnoresImpossibleCodes) {
  Metrics m;
  m.CountHttp(200);
  m.CountHttp(200);
  m.CountHttp(503);
  m.CountHttp(-1);
  m.CountHttp(1000);
  std::string text = m.Render(0);
  EXPECT_NE(text.find("jitd_http_responses_total{code=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("jitd_http_responses_total{code=\"503\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("code=\"1000\""), std::string::npos);
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

const SystemTime kT0 = FromUnixMillis(1'800'000'000'000);
const MonoTime kM0{};

Grant GrantOf(std::string id, std::string subject, std::string entitlement) {
  Grant g;
  g.id = std::move(id);
  g.subject = std::move(subject);
  g.entitlement = std::move(entitlement);
  g.connector = "sudo";
  g.expires_at = kT0 + std::chrono::minutes(10);
  return g;
}

TEST(GrantIndexIdTest, IdsOfJitdsFormAndOthersComeBackAsGiven) {
  GrantIndex index;
  const std::string ours = "grt_0123456789abcdef00000000000000ff";
  const std::string upper = "grt_0123456789ABCDEF00000000000000FF";
  index.Put(GrantOf(ours, "alice", "db"), kM0 + std::chrono::minutes(10));
  index.Put(GrantOf(upper, "bob", "db"), kM0 + std::chrono::minutes(10));
  index.Put(GrantOf("grt_short", "carol", "db"),
            kM0 + std::chrono::minutes(10));
  EXPECT_EQ(index.Check("alice", "db", kT0, kM0)->grant_id, ours);
  EXPECT_EQ(index.Check("bob", "db", kT0, kM0)->grant_id, upper);
  EXPECT_EQ(index.Check("carol", "db", kT0, kM0)->grant_id, "grt_short");
  EXPECT_EQ(index.size(), 3u);
  index.Remove(upper);  // not the same grant as `ours`, whatever the case
  EXPECT_TRUE(index.Check("alice", "db", kT0, kM0).has_value());
  EXPECT_FALSE(index.Check("bob", "db", kT0, kM0).has_value());
  EXPECT_EQ(index.size(), 2u);
}

TEST(GrantIndexIdTest, PutAgainMovesTheGrantToItsNewKeysOnly) {
  GrantIndex index;
  const std::string id = "grt_00000000000000000000000000000001";
  index.Put(GrantOf(id, "alice", "db"), kM0 + std::chrono::minutes(10),
            "alice");
  index.Put(GrantOf(id, "alice", "db-ro"), kM0 + std::chrono::minutes(10),
            "alice_ro");
  EXPECT_FALSE(index.Check("alice", "db", kT0, kM0).has_value());
  EXPECT_TRUE(index.Check("alice", "db-ro", kT0, kM0).has_value());
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kT0, kM0).has_value());
  EXPECT_TRUE(index.CheckTarget("sudo", "alice_ro", kT0, kM0).has_value());
  EXPECT_EQ(index.size(), 1u);
}

TEST(GrantIndexIdTest, SlotsAndNamesAreReusedAfterRemoval) {
  GrantIndex index;
  // Many grants come and go; what stays indexed is exactly what was put last.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50; ++i) {
      index.Put(GrantOf(fmt::format("grt_{:032x}", round * 100 + i),
                        fmt::format("user-{}", i), "db"),
                kM0 + std::chrono::minutes(10), fmt::format("acct-{}", i));
    }
    for (int i = 0; i < 50; ++i) {
      if (round < 2 || i % 2 == 0)
        index.Remove(fmt::format("grt_{:032x}", round * 100 + i));
    }
  }
  EXPECT_EQ(index.size(), 25u);
  for (int i = 0; i < 50; ++i) {
    auto hit = index.Check(fmt::format("user-{}", i), "db", kT0, kM0);
    auto by_target =
        index.CheckTarget("sudo", fmt::format("acct-{}", i), kT0, kM0);
    EXPECT_EQ(hit.has_value(), i % 2 == 1) << i;
    EXPECT_EQ(by_target.has_value(), i % 2 == 1) << i;
    if (hit) {
      EXPECT_EQ(hit->grant_id, fmt::format("grt_{:032x}", 200 + i));
    }
  }
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.Check("user-1", "db", kT0, kM0).has_value());
}

TEST(GrantIndexIdTest, SharedChainKeepsTheOthersWhenOneLeaves) {
  GrantIndex index;
  for (int i = 0; i < 4; ++i) {
    Grant g = GrantOf(fmt::format("g{}", i), "alice", "db");
    g.expires_at = kT0 + std::chrono::minutes(10 + i);
    index.Put(g, kM0 + std::chrono::minutes(10 + i), "alice");
  }
  index.Remove("g3");  // head of the chain
  EXPECT_EQ(index.Check("alice", "db", kT0, kM0)->grant_id, "g2");
  index.Remove("g0");  // tail
  index.Remove("g1");  // middle
  EXPECT_EQ(index.GrantsOfTarget("sudo", "alice", kT0, kM0),
            std::vector<std::string>{"g2"});
  index.Remove("g2");
  EXPECT_FALSE(index.CheckTarget("sudo", "alice", kT0, kM0).has_value());
  EXPECT_EQ(index.size(), 0u);
}

// The latest grant of a chain stands for all of it; once its monotonic
// deadline has passed while the wall clock says it runs (the clock was set
// back after it was put), the others are looked at.
TEST(GrantIndexIdTest, LatestWhoseMonotonicDeadlinePassedLeavesTheOthers) {
  GrantIndex index;
  Grant older = GrantOf("older", "alice", "db");
  older.expires_at = kT0 + std::chrono::minutes(60);
  index.Put(older, kM0 + std::chrono::minutes(60), "alice");
  // Put after the wall clock went back 80 minutes: 90 minutes by the wall,
  // 10 by the monotonic clock.
  Grant later = GrantOf("later", "alice", "db");
  later.expires_at = kT0 + std::chrono::minutes(90);
  index.Put(later, kM0 + std::chrono::minutes(10), "alice");
  auto at = [&](int minute) {
    return index.Check("alice", "db", kT0 + std::chrono::minutes(minute),
                       kM0 + std::chrono::minutes(minute));
  };
  EXPECT_EQ(at(5)->grant_id, "later");
  EXPECT_EQ(at(20)->grant_id, "older");
  EXPECT_EQ(index
                .CheckTarget("sudo", "alice", kT0 + std::chrono::minutes(20),
                             kM0 + std::chrono::minutes(20))
                ->grant_id,
            "older");
  EXPECT_FALSE(at(60).has_value());
}

// One subject holding thousands of grants of one entitlement (and one
// account): puts, removals in any order and extensions, checked after each
// step against a plain list of what is held.
TEST(GrantIndexIdTest, LongChainsAnswerLikeAFullScan) {
  GrantIndex index;
  struct Held {
    SystemTime expires_at;
    MonoTime deadline;
    std::string subject;
  };
  std::map<std::string, Held> held;
  std::mt19937 rng(7);
  const std::vector<std::string> subjects = {"alice", "bob"};
  auto expect_same = [&](SystemTime now, MonoTime mono, int step) {
    for (const std::string& subject : subjects) {
      std::optional<SystemTime> latest;
      for (const auto& [id, h] : held) {
        if (h.subject != subject || now >= h.expires_at || mono >= h.deadline)
          continue;
        if (!latest || h.expires_at > *latest) latest = h.expires_at;
      }
      auto hit = index.Check(subject, "db", now, mono);
      auto by_target = index.CheckTarget("sudo", subject, now, mono);
      ASSERT_EQ(hit.has_value(), latest.has_value()) << step;
      ASSERT_EQ(by_target.has_value(), latest.has_value()) << step;
      if (!hit) continue;
      ASSERT_EQ(hit->expires_at, *latest) << step;
      ASSERT_EQ(held.at(hit->grant_id).expires_at, *latest) << step;
      ASSERT_EQ(held.at(hit->grant_id).subject, subject) << step;
      ASSERT_EQ(by_target->expires_at, *latest) << step;
    }
  };
  int next_id = 0;
  for (int step = 0; step < 6000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(rng);
    int minutes = std::uniform_int_distribution<int>(1, 600)(rng);
    if (op < 6 || held.empty()) {
      std::string id = fmt::format("grt_{:032x}", next_id++);
      const std::string& subject = subjects[next_id % 2];
      Grant g = GrantOf(id, subject, "db");
      g.expires_at = kT0 + std::chrono::minutes(minutes);
      // Now and then one put after the wall clock was set back.
      int skew = op == 5 ? std::uniform_int_distribution<int>(0, 300)(rng) : 0;
      MonoTime deadline =
          kM0 + std::chrono::minutes(std::max(1, minutes - skew));
      index.Put(g, deadline, subject);
      held[id] = {g.expires_at, deadline, subject};
    } else {
      auto it = held.begin();
      std::advance(
          it, std::uniform_int_distribution<size_t>(0, held.size() - 1)(rng));
      if (op < 9) {
        index.Remove(it->first);
        held.erase(it);
      } else {
        auto added = std::chrono::minutes(minutes);
        it->second.expires_at += added;
        it->second.deadline += added;
        ASSERT_TRUE(index.Lengthen(it->first, it->second.expires_at, added));
      }
    }
    if (step % 50 == 0) {
      int minute = std::uniform_int_distribution<int>(0, 900)(rng);
      expect_same(kT0 + std::chrono::minutes(minute),
                  kM0 + std::chrono::minutes(minute), step);
    }
  }
  EXPECT_GT(held.size(), 1000u);
  expect_same(kT0, kM0, -1);
  EXPECT_EQ(index.size(), held.size());
}

}  // namespace
}  // namespace jit
