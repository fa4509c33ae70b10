#include "jit/expiry/expiry_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jit/base/duration.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;

class ExpirySchedulerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    VerifyResult v = rig.VerifyAudit();
    EXPECT_TRUE(v.ok) << "audit chain broken at seq "
                      << v.first_bad_seq.value_or(0) << ": " << v.reason;
  }

  // Types of the grant's events after grant.activated.
  std::vector<std::string> LaterTypes(const std::string& grant_id) {
    std::vector<std::string> types = rig.TypesOf(grant_id);
    auto activated = std::find(types.begin(), types.end(), "grant.activated");
    if (activated == types.end()) return types;
    return std::vector<std::string>(activated + 1, types.end());
  }

  std::vector<AuditEvent> EventsOfType(const std::string& id, AuditType type) {
    std::vector<AuditEvent> out;
    for (AuditEvent& e : rig.EventsOf(id)) {
      if (e.type == type) out.push_back(std::move(e));
    }
    return out;
  }

  TestRig rig;
};

json DataOf(const AuditEvent& e) { return json::parse(e.data); }

// --- Expiry and the boundary (T14) ----------------------------------------

TEST_F(ExpirySchedulerTest, RevokesAtExpiryNotBefore) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.Advance(minutes(30) - milliseconds(1));
  DueWork early = rig.RunDue();
  EXPECT_EQ(early.expired, 0);
  EXPECT_TRUE(rig.demo->Holds(id));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.StoredGrant(id).state, GrantState::kActive);

  rig.clock.Advance(milliseconds(1));
  DueWork due = rig.RunDue();
  EXPECT_EQ(due.expired, 1);
  EXPECT_EQ(due.errors, 0);
  EXPECT_FALSE(rig.demo->Holds(id));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  Grant g = rig.StoredGrant(id);
  EXPECT_EQ(g.state, GrantState::kEnded);
  EXPECT_EQ(g.ended_reason, EndReason::kExpired);
  EXPECT_EQ(rig.StoredRequest(g.request_id).state, RequestState::kExpired);
  EXPECT_THAT(LaterTypes(id),
              ElementsAre("grant.expired", "grant.sessions_killed"));
  std::vector<AuditEvent> expired = EventsOfType(id, AuditType::kGrantExpired);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].actor, kSystemActor);
}

TEST_F(ExpirySchedulerTest, CheckDeniesFromExpiresAtEvenBeforeTheSweep) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  SystemTime expires = rig.StoredGrant(id).expires_at;
  rig.clock.Advance(minutes(30) - milliseconds(5));
  // Hammer the boundary millisecond by millisecond; nobody sweeps.
  for (int step = 0; step < 10; ++step) {
    bool allowed = rig.Allowed("alice", "dev-shell");
    EXPECT_EQ(allowed, rig.clock.Now() < expires)
        << "at " << FormatTime(rig.clock.Now());
    rig.clock.Advance(milliseconds(1));
  }
  EXPECT_EQ(rig.StoredGrant(id).state, GrantState::kActive);  // no sweep ran
  EXPECT_TRUE(rig.demo->Holds(id));
}

TEST_F(ExpirySchedulerTest, SweepAfterDowntimeRevokesEverythingExpired) {
  std::string a = rig.ActiveGrant("alice", minutes(10));
  std::string b = rig.ActiveGrant("alice", minutes(20));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  rig.clock.Advance(hours(3));
  DueWork due = rig.RunDue();
  EXPECT_EQ(due.expired, 2);
  EXPECT_TRUE(rig.demo->HeldGrants().empty());
  EXPECT_EQ(rig.StoredGrant(a).state, GrantState::kEnded);
  EXPECT_EQ(rig.StoredGrant(b).state, GrantState::kEnded);
  EXPECT_EQ(rig.RunDue().expired, 0);  // nothing left to do
}

// --- Failed revokes (T11) -------------------------------------------------

TEST_F(ExpirySchedulerTest, FailedRevokeStaysPendingAndIsRetriedWithBackoff) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.demo->SetFailing(true);
  rig.clock.Advance(minutes(30));
  DueWork first = rig.RunDue();
  EXPECT_EQ(first.expired, 1);

  Grant g = rig.StoredGrant(id);
  EXPECT_EQ(g.state, GrantState::kRevokePending);
  EXPECT_EQ(g.revoke_attempts, 1);
  ASSERT_TRUE(g.next_attempt_at.has_value());
  EXPECT_EQ(*g.next_attempt_at, rig.clock.Now() + RevokeBackoff(1));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.StoredRequest(g.request_id).state, RequestState::kExpired);
  std::vector<AuditEvent> failed =
      EventsOfType(id, AuditType::kGrantRevokeFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(DataOf(failed[0])["alert"], false);

  // Before the backoff has passed nothing is tried again.
  int calls = rig.demo->revoke_calls();
  rig.clock.Advance(RevokeBackoff(1) - milliseconds(1));
  EXPECT_EQ(rig.RunDue().revoke_retries, 0);
  EXPECT_EQ(rig.demo->revoke_calls(), calls);

  rig.clock.Advance(milliseconds(1));
  DueWork retry = rig.RunDue();
  EXPECT_EQ(retry.revoke_retries, 1);
  EXPECT_EQ(retry.revoke_failures, 1);
  EXPECT_EQ(rig.demo->revoke_calls(), calls + 1);
  EXPECT_EQ(rig.StoredGrant(id).revoke_attempts, 2);
  EXPECT_EQ(*rig.StoredGrant(id).next_attempt_at,
            rig.clock.Now() + RevokeBackoff(2));

  // The target comes back: the next retry ends the grant.
  rig.demo->SetFailing(false);
  rig.clock.Advance(RevokeBackoff(2));
  DueWork done = rig.RunDue();
  EXPECT_EQ(done.revoke_retries, 1);
  EXPECT_EQ(done.revoke_failures, 0);
  g = rig.StoredGrant(id);
  EXPECT_EQ(g.state, GrantState::kEnded);
  EXPECT_EQ(g.ended_reason, EndReason::kExpired);
  EXPECT_FALSE(rig.demo->Holds(id));
  EXPECT_THAT(LaterTypes(id),
              ElementsAre("grant.expired", "grant.revoke_failed",
                          "grant.revoke_failed", "grant.sessions_killed"));
  std::vector<AuditEvent> killed =
      EventsOfType(id, AuditType::kGrantSessionsKilled);
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(DataOf(killed[0])["revoke_attempts"], 3);
}

TEST_F(ExpirySchedulerTest, RevokeFailingForFiveMinutesRaisesTheAlert) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.demo->SetFailing(true);
  rig.clock.Advance(minutes(30));
  rig.RunDue();
  SystemTime pending_since = rig.clock.Now();
  // Retry whenever due until five minutes of failures have passed.
  while (rig.clock.Now() - pending_since < minutes(5) + minutes(2)) {
    Grant g = rig.StoredGrant(id);
    ASSERT_EQ(g.state, GrantState::kRevokePending);
    ASSERT_TRUE(g.next_attempt_at.has_value());
    rig.clock.Advance(*g.next_attempt_at - rig.clock.Now());
    rig.RunDue();
  }
  std::vector<AuditEvent> failed =
      EventsOfType(id, AuditType::kGrantRevokeFailed);
  ASSERT_GE(failed.size(), 3u);
  for (const AuditEvent& e : failed) {
    bool over_five_minutes = e.time - pending_since >= minutes(5);
    EXPECT_EQ(DataOf(e)["alert"], over_five_minutes) << FormatTime(e.time);
  }
  EXPECT_EQ(DataOf(failed.back())["alert"], true);
  EXPECT_EQ(DataOf(failed.front())["alert"], false);
  // The backoff is capped, and the grant still denies.
  EXPECT_LE(*rig.StoredGrant(id).next_attempt_at - rig.clock.Now(),
            seconds(60));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
}

TEST_F(ExpirySchedulerTest, FailedRevokeOnEarlyEndIsRetriedToo) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.demo->FailNext(1, StatusCode::kUnavailable);
  StatusOr<Grant> g = rig.requests.EndGrant(rig.P("alice"), id, "done");
  ASSERT_TRUE(IsOk(g));
  EXPECT_EQ(g->state, GrantState::kRevokePending);
  EXPECT_EQ(g->ended_reason, EndReason::kCompleted);
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_TRUE(rig.demo->Holds(id));

  rig.clock.Advance(RevokeBackoff(1));
  EXPECT_EQ(rig.RunDue().revoke_retries, 1);
  EXPECT_EQ(rig.StoredGrant(id).state, GrantState::kEnded);
  EXPECT_FALSE(rig.demo->Holds(id));
}

// Hot spot 2: a due batch is ended together and revoked concurrently; a
// revoke that fails stays behind alone, exactly as a lone one would.
TEST_F(ExpirySchedulerTest, BatchWithOneFailingRevokeLeavesOnlyThatOnePending) {
  constexpr int kGrants = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kGrants; ++i) {
    ids.push_back(rig.ActiveGrant("alice", minutes(30)));
    ASSERT_FALSE(ids.back().empty());
  }
  rig.clock.Advance(minutes(30));
  // Every grant's revoke starts with a Revoke call, so the first target
  // call of the batch is one: exactly one revoke fails.
  rig.demo->FailNext(1, StatusCode::kUnavailable);
  DueWork due = rig.RunDue();
  EXPECT_EQ(due.expired, kGrants);
  EXPECT_EQ(due.errors, 0);

  std::vector<std::string> pending;
  for (const std::string& id : ids) {
    SCOPED_TRACE(id);
    Grant g = rig.StoredGrant(id);
    EXPECT_EQ(rig.StoredRequest(g.request_id).state, RequestState::kExpired);
    EXPECT_EQ(EventsOfType(id, AuditType::kGrantExpired).size(), 1u);
    if (g.state == GrantState::kRevokePending) {
      pending.push_back(id);
      EXPECT_EQ(g.revoke_attempts, 1);
      EXPECT_EQ(*g.next_attempt_at, rig.clock.Now() + RevokeBackoff(1));
      EXPECT_THAT(LaterTypes(id),
                  ElementsAre("grant.expired", "grant.revoke_failed"));
      EXPECT_TRUE(rig.demo->Holds(id));
      continue;
    }
    EXPECT_EQ(g.state, GrantState::kEnded);
    EXPECT_THAT(LaterTypes(id),
                ElementsAre("grant.expired", "grant.sessions_killed"));
    EXPECT_FALSE(rig.demo->Holds(id));
  }
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));

  // Retried after its backoff like any failed revoke.
  rig.clock.Advance(RevokeBackoff(1));
  DueWork retry = rig.RunDue();
  EXPECT_EQ(retry.revoke_retries, 1);
  EXPECT_EQ(retry.revoke_failures, 0);
  EXPECT_EQ(rig.StoredGrant(pending[0]).state, GrantState::kEnded);
  EXPECT_TRUE(rig.demo->HeldGrants().empty());
}

// A grant of the batch that changed since it was read (here: ended by its
// owner) fails alone; the others of the batch end.
TEST_F(ExpirySchedulerTest, StaleGrantInAnExpiryBatchFailsAlone) {
  std::string stale = rig.ActiveGrant("alice", minutes(30));
  std::string fresh = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(stale.empty());
  ASSERT_FALSE(fresh.empty());
  rig.clock.Advance(minutes(30));
  std::vector<Grant> due = {rig.StoredGrant(stale), rig.StoredGrant(fresh)};
  ASSERT_TRUE(IsOk(rig.requests.EndGrant(rig.P("alice"), stale, "done")));

  std::vector<StatusOr<Grant>> ended = rig.lifecycle.EndExpired(due);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_TRUE(HasError(ended[0], StatusCode::kAborted));
  ASSERT_TRUE(IsOk(ended[1]));
  EXPECT_EQ(ended[1]->state, GrantState::kRevokePending);
  EXPECT_EQ(rig.StoredGrant(stale).ended_reason, EndReason::kCompleted);
  EXPECT_TRUE(EventsOfType(stale, AuditType::kGrantExpired).empty());
  EXPECT_EQ(EventsOfType(fresh, AuditType::kGrantExpired).size(), 1u);

  std::vector<Status> revoked = rig.lifecycle.CompleteRevokes({*ended[1]});
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_TRUE(IsOk(revoked[0]));
  EXPECT_EQ(rig.StoredGrant(fresh).state, GrantState::kEnded);
  EXPECT_FALSE(rig.demo->Holds(fresh));
}

TEST(RevokeBackoffTest, DoublesFromOneSecondUpToOneMinute) {
  EXPECT_EQ(RevokeBackoff(1), seconds(1));
  EXPECT_EQ(RevokeBackoff(2), seconds(2));
  EXPECT_EQ(RevokeBackoff(3), seconds(4));
  EXPECT_EQ(RevokeBackoff(6), seconds(32));
  EXPECT_EQ(RevokeBackoff(7), seconds(60));
  EXPECT_EQ(RevokeBackoff(1000), seconds(60));
  EXPECT_EQ(RevokeBackoff(0), seconds(1));
}

// --- Sessions (T12) -------------------------------------------------------

TEST_F(ExpirySchedulerTest, SurvivingSessionIsReported) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.demo->OpenSession(id, "psql-4242");
  rig.demo->SetSurvivingSessions(true);
  rig.clock.Advance(minutes(30));
  rig.RunDue();
  std::vector<AuditEvent> killed =
      EventsOfType(id, AuditType::kGrantSessionsKilled);
  ASSERT_EQ(killed.size(), 1u);
  json survivors = DataOf(killed[0])["survivors"];
  ASSERT_EQ(survivors.size(), 1u);
  EXPECT_EQ(survivors[0]["id"], "psql-4242");
  EXPECT_FALSE(rig.demo->Holds(id));
}

TEST_F(ExpirySchedulerTest, KilledSessionsLeaveNoSurvivors) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.demo->OpenSession(id, "psql-4242");
  rig.clock.Advance(minutes(30));
  rig.RunDue();
  std::vector<AuditEvent> killed =
      EventsOfType(id, AuditType::kGrantSessionsKilled);
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_TRUE(DataOf(killed[0])["survivors"].empty());
  StatusOr<std::vector<Session>> left =
      rig.demo->ListSessions(rig.lifecycle.SpecFor(rig.StoredGrant(id)),
                             std::chrono::steady_clock::now() + seconds(5));
  ASSERT_TRUE(IsOk(left));
  EXPECT_TRUE(left->empty());
}

// --- Wall clock jumps (T13) -----------------------------------------------

TEST_F(ExpirySchedulerTest, WallClockSetBackDoesNotStretchAGrant) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.JumpWall(-hours(1));
  rig.clock.Advance(minutes(30) - milliseconds(1));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(milliseconds(1));
  // Thirty minutes really passed although the wall clock shows 09:30.
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(hours(2));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
}

TEST_F(ExpirySchedulerTest, WallClockJumpingAheadDeniesAtOnce) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.JumpWall(hours(1));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.RunDue().expired, 1);
  EXPECT_FALSE(rig.demo->Holds(id));
}

TEST_F(ExpirySchedulerTest, WallClockJumpToEpochDoesNotStretchAGrant) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.SetWall(SystemTime{});
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(minutes(30));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
}

// --- Activation failures and extensions -----------------------------------

TEST_F(ExpirySchedulerTest, RefusedActivationFailsTheRequestAndCleansUp) {
  rig.demo->FailNext(1, StatusCode::kUnavailable);
  StatusOr<RequestView> v = rig.Ask("alice", "dev-shell", minutes(30));
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kFailed);
  ASSERT_FALSE(v->request.grant_id.empty());
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  Grant g = rig.StoredGrant(v->request.grant_id);
  EXPECT_EQ(g.state, GrantState::kRevokePending);
  EXPECT_EQ(rig.EventsOf(v->request.id).back().type,
            AuditType::kRequestRejected);

  // Whatever part of the grant landed is taken away by the next sweep.
  EXPECT_EQ(rig.RunDue().revoke_retries, 1);
  EXPECT_EQ(rig.StoredGrant(g.id).state, GrantState::kEnded);
  EXPECT_FALSE(rig.demo->Holds(g.id));
}

TEST_F(ExpirySchedulerTest, ExtendedGrantExpiresOnlyAtItsNewExpiry) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.Advance(minutes(20));
  ASSERT_TRUE(IsOk(rig.requests.Extend(
      rig.P("alice"), id, {minutes(15), std::string(kGoodReason)})));
  rig.clock.Advance(minutes(10));  // the old expiry
  EXPECT_EQ(rig.RunDue().expired, 0);
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(minutes(15) - milliseconds(1));
  EXPECT_EQ(rig.RunDue().expired, 0);
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(milliseconds(1));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.RunDue().expired, 1);
  EXPECT_EQ(rig.demo->revoke_calls(), 1);
}

TEST_F(ExpirySchedulerTest, ExpiryOfAGrantExtendedSinceItWasSeenDueIsRefused) {
  std::string id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(id.empty());
  rig.clock.Advance(minutes(20));
  ASSERT_TRUE(IsOk(rig.requests.Extend(
      rig.P("alice"), id, {minutes(15), std::string(kGoodReason)})));
  // As a sweep that read the grant before the extension would call it.
  rig.clock.Advance(minutes(10));
  EXPECT_TRUE(
      HasError(rig.lifecycle.End(id, EndReason::kExpired, kSystemActor, ""),
               StatusCode::kAborted));
  EXPECT_EQ(rig.StoredGrant(id).state, GrantState::kActive);
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
}

// --- Index rebuild and the loop -------------------------------------------

TEST_F(ExpirySchedulerTest, RebuiltIndexHoldsOnlyAllowingGrants) {
  std::string live = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(live.empty());
  rig.index.Clear();
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  ASSERT_TRUE(IsOk(rig.lifecycle.RebuildIndex()));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.clock.Advance(minutes(30));
  ASSERT_TRUE(IsOk(rig.lifecycle.RebuildIndex()));  // expired, not yet swept
  EXPECT_EQ(rig.index.size(), 0u);
}

// The rebuild reads each entitlement's user template once, not per grant;
// every grant still lands under its own target account (dev-shell:
// params.user "{subject}"), a second grant of the same account beside the
// first.
TEST_F(ExpirySchedulerTest, RebuiltIndexKeepsEachGrantsTargetAccount) {
  std::string first = rig.ActiveGrant("alice", minutes(30));
  std::string second = rig.ActiveGrant("alice", minutes(20));
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  auto targets = [&](const std::string& account) {
    std::vector<std::string> ids = rig.index.GrantsOfTarget(
        "demo", account, rig.clock.Now(), rig.clock.MonotonicNow());
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  std::vector<std::string> both = {first, second};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(targets("alice"), both);
  rig.index.Clear();
  EXPECT_TRUE(targets("alice").empty());
  ASSERT_TRUE(IsOk(rig.lifecycle.RebuildIndex()));
  EXPECT_EQ(targets("alice"), both);
  EXPECT_TRUE(targets("{subject}").empty());
  EXPECT_EQ(rig.index
                .CheckTarget("demo", "alice", rig.clock.Now(),
                             rig.clock.MonotonicNow())
                ->grant_id,
            first);
}

TEST_F(ExpirySchedulerTest, LoopStartsAndStopsCleanly) {
  rig.scheduler.Start();
  rig.scheduler.Start();  // a second start is ignored
  rig.scheduler.Poke();
  rig.scheduler.Stop();
  rig.scheduler.Stop();  // and so is a second stop
  // After stopping, the scheduler still works when driven by hand.
  std::string id = rig.ActiveGrant("alice", minutes(1));
  ASSERT_FALSE(id.empty());
  rig.clock.Advance(minutes(1));
  EXPECT_EQ(rig.RunDue().expired, 1);
}

}  // namespace
}  // namespace jit
