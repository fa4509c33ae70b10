#include "jit/domain/request.h"

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

const SystemTime kT0 = SystemTime(std::chrono::seconds(1'798'138'800));

const std::vector<RequestState> kAllStates = {
    RequestState::kPending, RequestState::kApproved,  RequestState::kActive,
    RequestState::kExpired, RequestState::kRevoked,   RequestState::kCompleted,
    RequestState::kDenied,  RequestState::kCancelled, RequestState::kTimedOut,
    RequestState::kFailed,
};

Request SampleRequest() {
  Request r;
  r.id = "req_0123456789abcdef0123456789abcdef";
  r.subject = "alice";
  r.person = "alice";
  r.subject_groups = {"dev"};
  r.entitlement = "prod-db-read";
  r.duration = 30min;
  r.justification = "investigate OPS-12 slow queries";
  r.ticket = "OPS-12";
  r.start_at = kT0 + 1h;
  r.emergency = Emergency::kNo;
  r.policy = "dev-prod-read";
  r.approvals_required = 1;
  r.created_at = kT0;
  r.updated_at = kT0;
  return r;
}

TEST(RequestStateTest, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (RequestState s : kAllStates) {
    std::string_view name = ToString(s);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
    StatusOr<RequestState> back = ParseRequestState(name);
    ASSERT_TRUE(back.ok()) << name;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(ToString(RequestState::kTimedOut), "timed_out");
}

TEST(RequestStateTest, ParseRefusesUnknownText) {
  for (std::string_view text :
       {"", "Pending", "pending ", "timedout", "unknown"}) {
    EXPECT_EQ(ParseRequestState(text).status().code(),
              StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(RequestStateTest, OnlyPendingApprovedActiveAreNotTerminal) {
  for (RequestState s : kAllStates) {
    bool open = s == RequestState::kPending || s == RequestState::kApproved ||
                s == RequestState::kActive;
    EXPECT_EQ(IsTerminal(s), !open) << ToString(s);
  }
}

TEST(RequestBindingTest, IsStableAndHexSha256) {
  Request r = SampleRequest();
  std::string b = RequestBinding(r);
  EXPECT_EQ(b, RequestBinding(SampleRequest()));
  ASSERT_EQ(b.size(), 64u);
  for (char c : b)
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

struct FieldChange {
  std::string field;
  std::function<void(Request&)> change;
};

// Every field that decides what is granted (THREATS T6).
const std::vector<FieldChange> kBoundChanges = {
    {"id", [](Request& r) { r.id = "req_ffffffffffffffffffffffffffffffff"; }},
    {"subject", [](Request& r) { r.subject = "mallory"; }},
    {"entitlement", [](Request& r) { r.entitlement = "prod-db-write"; }},
    {"duration", [](Request& r) { r.duration = 30min + 1ms; }},
    {"justification", [](Request& r) { r.justification += "."; }},
    {"ticket", [](Request& r) { r.ticket = "OPS-13"; }},
    {"start_at moved", [](Request& r) { r.start_at = kT0 + 2h; }},
    {"start_at removed", [](Request& r) { r.start_at.reset(); }},
    {"emergency", [](Request& r) { r.emergency = Emergency::kYes; }},
    {"extends",
     [](Request& r) { r.extends = "grt_0123456789abcdef0123456789abcdef"; }},
};

TEST(RequestBindingTest, ChangesWhenAnyBoundFieldChanges) {
  const std::string before = RequestBinding(SampleRequest());
  for (const FieldChange& c : kBoundChanges) {
    Request r = SampleRequest();
    c.change(r);
    EXPECT_NE(RequestBinding(r), before) << c.field;
  }
}

// What moves during the lifecycle must not void approvals already given.
const std::vector<FieldChange> kLifecycleChanges = {
    {"state", [](Request& r) { r.state = RequestState::kApproved; }},
    {"state active", [](Request& r) { r.state = RequestState::kActive; }},
    {"grant_id",
     [](Request& r) { r.grant_id = "grt_0123456789abcdef0123456789abcdef"; }},
    {"updated_at", [](Request& r) { r.updated_at = kT0 + 5min; }},
    {"binding", [](Request& r) { r.binding = "x"; }},
};

TEST(RequestBindingTest, UnchangedByLifecycleFields) {
  const std::string before = RequestBinding(SampleRequest());
  for (const FieldChange& c : kLifecycleChanges) {
    Request r = SampleRequest();
    c.change(r);
    EXPECT_EQ(RequestBinding(r), before) << c.field;
  }
}

TEST(RequestBindingTest, FieldBoundariesCannotBeShifted) {
  // The same characters split differently between fields must not collide.
  Request a = SampleRequest();
  Request b = SampleRequest();
  a.subject = "alice";
  a.entitlement = "\nentitlement:3:abc";
  b.subject = "alice\nentitlement:3:abc";
  b.entitlement = "";
  EXPECT_NE(RequestBinding(a), RequestBinding(b));

  Request c = SampleRequest();
  Request d = SampleRequest();
  c.justification = "ab";
  c.ticket = "c";
  d.justification = "a";
  d.ticket = "bc";
  EXPECT_NE(RequestBinding(c), RequestBinding(d));
}

}  // namespace
}  // namespace jit
