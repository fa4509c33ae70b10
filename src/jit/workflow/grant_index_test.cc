#include "jit/workflow/grant_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

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
