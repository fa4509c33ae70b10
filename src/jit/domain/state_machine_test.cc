#include "jit/domain/state_machine.h"

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::vector<RequestState> kAllStates = {
    RequestState::kPending, RequestState::kApproved,  RequestState::kActive,
    RequestState::kExpired, RequestState::kRevoked,   RequestState::kCompleted,
    RequestState::kDenied,  RequestState::kCancelled, RequestState::kTimedOut,
    RequestState::kFailed,
};

const std::vector<RequestEvent> kAllEvents = {
    RequestEvent::kApprove,  RequestEvent::kAutoApprove,
    RequestEvent::kActivate, RequestEvent::kActivationFailed,
    RequestEvent::kDeny,     RequestEvent::kCancel,
    RequestEvent::kTimeOut,  RequestEvent::kExpire,
    RequestEvent::kRevoke,   RequestEvent::kComplete,
};

using S = RequestState;
using E = RequestEvent;

// DESIGN.md "Request lifecycle", written out independently of kEdges:
//   pending -> approved -> active -> expired | revoked | completed;
//   pending -> denied | cancelled | timed_out;
//   auto-approval: pending -> active in one step;
//   an activation the connector refused (from approved, or from pending when
//   auto-approved) -> failed.
// One edge goes beyond the DESIGN text: approved -> cancelled, so planned
// work (start_at in the future) can be called off before it starts.
const std::map<std::pair<S, E>, S> kAllowed = {
    {{S::kPending, E::kApprove}, S::kApproved},
    {{S::kPending, E::kAutoApprove}, S::kActive},
    {{S::kPending, E::kActivationFailed}, S::kFailed},
    {{S::kPending, E::kDeny}, S::kDenied},
    {{S::kPending, E::kCancel}, S::kCancelled},
    {{S::kPending, E::kTimeOut}, S::kTimedOut},
    {{S::kApproved, E::kActivate}, S::kActive},
    {{S::kApproved, E::kActivationFailed}, S::kFailed},
    {{S::kApproved, E::kCancel}, S::kCancelled},
    {{S::kActive, E::kExpire}, S::kExpired},
    {{S::kActive, E::kRevoke}, S::kRevoked},
    {{S::kActive, E::kComplete}, S::kCompleted},
};

std::string Describe(S from, E event) {
  return std::string(ToString(from)) + " + " + std::string(ToString(event));
}

TEST(RequestStateMachineTest, EveryStateEventPairFollowsTheLifecycle) {
  int allowed = 0;
  int refused = 0;
  for (S from : kAllStates) {
    for (E event : kAllEvents) {
      StatusOr<S> next = NextRequestState(from, event);
      auto it = kAllowed.find({from, event});
      if (it != kAllowed.end()) {
        ASSERT_TRUE(next.ok())
            << Describe(from, event) << ": " << next.status().ToString();
        EXPECT_EQ(*next, it->second)
            << Describe(from, event) << " went to " << ToString(*next);
        ++allowed;
        continue;
      }
      EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition)
          << Describe(from, event) << " should be refused";
      ++refused;
    }
  }
  EXPECT_EQ(allowed, 12);
  EXPECT_EQ(refused, 100 - 12);
}

TEST(RequestStateMachineTest, RefusalNamesStateAndEventAsConflict) {
  StatusOr<S> next = NextRequestState(S::kDenied, E::kApprove);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().reason(), "conflict");
  EXPECT_THAT(next.status().message(), HasSubstr("denied"));
  EXPECT_THAT(next.status().message(), HasSubstr("approve"));
}

TEST(RequestStateMachineTest, TerminalStatesHaveNoWayOut) {
  for (S from : kAllStates) {
    if (!IsTerminal(from)) continue;
    for (E event : kAllEvents) {
      EXPECT_FALSE(NextRequestState(from, event).ok()) << Describe(from, event);
    }
  }
}

TEST(RequestStateMachineTest, EveryNonTerminalStateReachesATerminalOne) {
  for (S from : kAllStates) {
    if (IsTerminal(from)) continue;
    bool reaches_terminal = false;
    for (E event : kAllEvents) {
      StatusOr<S> next = NextRequestState(from, event);
      if (next.ok() && IsTerminal(*next)) reaches_terminal = true;
    }
    EXPECT_TRUE(reaches_terminal) << ToString(from);
  }
}

TEST(RequestEventTest, EveryEventHasADistinctName) {
  std::map<std::string_view, E> seen;
  for (E event : kAllEvents) {
    std::string_view name = ToString(event);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(seen.emplace(name, event).second) << name;
  }
}

using G = GrantState;
using GE = GrantEvent;

const std::vector<G> kAllGrantStates = {G::kActive, G::kRevokePending,
                                        G::kEnded};
const std::vector<GE> kAllGrantEvents = {GE::kRevokeFailed, GE::kEnd,
                                         GE::kExtend};

// DESIGN: active -> revoke_pending -> ended, active -> ended; a failed retry
// stays revoke_pending; extension only while active.
const std::map<std::pair<G, GE>, G> kGrantAllowed = {
    {{G::kActive, GE::kRevokeFailed}, G::kRevokePending},
    {{G::kActive, GE::kEnd}, G::kEnded},
    {{G::kActive, GE::kExtend}, G::kActive},
    {{G::kRevokePending, GE::kRevokeFailed}, G::kRevokePending},
    {{G::kRevokePending, GE::kEnd}, G::kEnded},
};

TEST(GrantStateMachineTest, EveryStateEventPairFollowsTheLifecycle) {
  for (G from : kAllGrantStates) {
    for (GE event : kAllGrantEvents) {
      StatusOr<G> next = NextGrantState(from, event);
      auto it = kGrantAllowed.find({from, event});
      std::string what = std::string(ToString(from)) + " + event " +
                         std::to_string(static_cast<int>(event));
      if (it != kGrantAllowed.end()) {
        ASSERT_TRUE(next.ok()) << what << ": " << next.status().ToString();
        EXPECT_EQ(*next, it->second) << what;
        continue;
      }
      EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition) << what;
      EXPECT_EQ(next.status().reason(), "conflict") << what;
    }
  }
}

TEST(GrantStateMachineTest, EndReasonMapsToTheRequestsTerminalState) {
  EXPECT_EQ(RequestStateForEnd(EndReason::kExpired), S::kExpired);
  EXPECT_EQ(RequestStateForEnd(EndReason::kRevoked), S::kRevoked);
  EXPECT_EQ(RequestStateForEnd(EndReason::kCompleted), S::kCompleted);
  for (EndReason r :
       {EndReason::kExpired, EndReason::kRevoked, EndReason::kCompleted}) {
    S s = RequestStateForEnd(r);
    EXPECT_TRUE(IsTerminal(s));
    // Each is reachable from active by the matching request event.
    bool reachable = false;
    for (E event : kAllEvents) {
      StatusOr<S> next = NextRequestState(S::kActive, event);
      if (next.ok() && *next == s) reachable = true;
    }
    EXPECT_TRUE(reachable) << ToString(s);
  }
}

TEST(GrantStateTest, NamesRoundTrip) {
  for (G s : kAllGrantStates) {
    StatusOr<G> back = ParseGrantState(ToString(s));
    ASSERT_TRUE(back.ok()) << ToString(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(ToString(G::kRevokePending), "revoke_pending");
  EXPECT_EQ(ParseGrantState("Active").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGrantState("").status().code(), StatusCode::kInvalidArgument);
}

TEST(EndReasonTest, NamesRoundTrip) {
  for (EndReason r : {EndReason::kNone, EndReason::kExpired,
                      EndReason::kRevoked, EndReason::kCompleted}) {
    StatusOr<EndReason> back = ParseEndReason(ToString(r));
    ASSERT_TRUE(back.ok()) << ToString(r);
    EXPECT_EQ(*back, r);
  }
  EXPECT_EQ(ParseEndReason("gone").status().code(),
            StatusCode::kInvalidArgument);
}

const SystemTime kT0 = SystemTime(std::chrono::seconds(1'798'138'800));

TEST(GrantAllowsTest, AllowsOnlyWhileActiveAndBeforeExpiry) {
  Grant g;
  g.starts_at = kT0;
  g.expires_at = kT0 + 30min;
  EXPECT_TRUE(Allows(g, kT0));
  EXPECT_TRUE(Allows(g, g.expires_at - 1ms));
  EXPECT_FALSE(Allows(g, g.expires_at));  // not even at the instant
  EXPECT_FALSE(Allows(g, g.expires_at + 1ms));
  g.state = G::kRevokePending;
  EXPECT_FALSE(Allows(g, kT0));
  g.state = G::kEnded;
  EXPECT_FALSE(Allows(g, kT0));
}

}  // namespace
}  // namespace jit
