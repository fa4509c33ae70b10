#include "jit/workflow/request_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
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

class RequestServiceTest : public ::testing::Test {
 protected:
  // Every test leaves an audit chain that verifies.
  void TearDown() override {
    VerifyResult v = rig.VerifyAudit();
    EXPECT_TRUE(v.ok) << "audit chain broken at seq "
                      << v.first_bad_seq.value_or(0) << ": " << v.reason;
  }

  // A pending request of alice for db-write (one sre approval needed).
  std::string PendingDbWrite() {
    StatusOr<RequestView> v = rig.Ask("alice", "db-write", minutes(30));
    if (!v.ok() || v->request.state != RequestState::kPending) {
      ADD_FAILURE() << "db-write request not pending: "
                    << StatusOf(v).ToString();
      return "";
    }
    return v->request.id;
  }

  // A pending request of alice for prod-admin (two sre approvals needed).
  std::string PendingProdAdmin() {
    StatusOr<RequestView> v = rig.Ask("alice", "prod-admin", minutes(20));
    if (!v.ok() || v->request.state != RequestState::kPending) {
      ADD_FAILURE() << "prod-admin request not pending: "
                    << StatusOf(v).ToString();
      return "";
    }
    return v->request.id;
  }

  size_t StoredRequestCount() {
    RequestFilter all;
    all.limit = kMaxPageLimit;
    StatusOr<Page<Request>> page = rig.store.ListRequests(all);
    EXPECT_TRUE(IsOk(page));
    return page.ok() ? page->items.size() : 0;
  }

  size_t ApprovalCount(const std::string& id) {
    StatusOr<std::vector<Approval>> a = rig.store.ListApprovals(id);
    EXPECT_TRUE(IsOk(a));
    return a.ok() ? a->size() : 0;
  }

  TestRig rig;
};

json DataOf(const AuditEvent& e) { return json::parse(e.data); }

const AuditEvent* FindEvent(const std::vector<AuditEvent>& events,
                            AuditType type) {
  auto it = std::find_if(events.begin(), events.end(),
                         [&](const AuditEvent& e) { return e.type == type; });
  return it == events.end() ? nullptr : &*it;
}

// --- Asking ---------------------------------------------------------------

TEST_F(RequestServiceTest, AutoApprovedRequestGoesActiveInOneCommit) {
  StatusOr<RequestView> v = rig.Ask("alice", "dev-shell", minutes(30));
  ASSERT_TRUE(IsOk(v));
  const Request& r = v->request;
  EXPECT_EQ(r.state, RequestState::kActive);
  ASSERT_FALSE(r.grant_id.empty());
  EXPECT_EQ(r.approvals_required, 0);

  std::vector<AuditEvent> events = rig.EventsOf(r.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, AuditType::kRequestCreated);
  EXPECT_EQ(events[1].type, AuditType::kRequestApproved);
  EXPECT_EQ(events[1].actor, kPolicyActor);
  EXPECT_EQ(events[2].type, AuditType::kGrantActivated);
  // One commit: consecutive seq, nothing else in between, one grant id.
  EXPECT_EQ(events[1].seq, events[0].seq + 1);
  EXPECT_EQ(events[2].seq, events[1].seq + 1);
  for (const AuditEvent& e : events) EXPECT_EQ(e.grant_id, r.grant_id);

  Grant g = rig.StoredGrant(r.grant_id);
  EXPECT_EQ(g.state, GrantState::kActive);
  EXPECT_EQ(g.expires_at, RigStart() + minutes(30));
  EXPECT_EQ(g.connector, "demo");
  EXPECT_TRUE(rig.demo->Holds(r.grant_id));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.StoredRequest(r.id).state, RequestState::kActive);
}

TEST_F(RequestServiceTest, ApprovalRequiredRequestStaysPending) {
  StatusOr<RequestView> v = rig.Ask("alice", "db-write", minutes(30));
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kPending);
  EXPECT_EQ(v->request.approvals_required, 1);
  EXPECT_TRUE(v->request.grant_id.empty());
  ASSERT_TRUE(v->request.approval_deadline.has_value());
  EXPECT_EQ(*v->request.approval_deadline, RigStart() + hours(1));
  EXPECT_THAT(rig.TypesOf(v->request.id), ElementsAre("request.created"));
  EXPECT_EQ(rig.demo->grant_calls(), 0);
  EXPECT_FALSE(rig.Allowed("alice", "db-write"));
}

TEST_F(RequestServiceTest, EmergencyRequestIsRecordedWithItsNotifyList) {
  CreateRequestInput in;
  in.entitlement = "break-glass";
  in.duration = minutes(10);
  in.justification = std::string(kGoodReason);
  in.emergency = Emergency::kYes;
  StatusOr<RequestView> v = rig.requests.Create(rig.P("alice"), in);
  ASSERT_TRUE(IsOk(v));
  std::vector<AuditEvent> events = rig.EventsOf(v->request.id);
  const AuditEvent* used = FindEvent(events, AuditType::kEmergencyUsed);
  ASSERT_NE(used, nullptr);
  EXPECT_EQ(DataOf(*used)["notify"], json::array({"sec-oncall"}));

  in.duration = minutes(20);  // above the emergency maximum of 15m
  EXPECT_TRUE(HasError(rig.requests.Create(rig.P("alice"), in),
                       StatusCode::kFailedPrecondition, "policy_denied"));
}

TEST_F(RequestServiceTest, PolicyDenialStoresNoRequestButRecordsTheRejection) {
  StatusOr<RequestView> v = rig.Ask("mallory", "dev-shell", minutes(30));
  ASSERT_TRUE(HasError(v, StatusCode::kFailedPrecondition, "policy_denied"));
  EXPECT_FALSE(v.status().details().empty());
  EXPECT_EQ(StoredRequestCount(), 0u);
  std::vector<AuditEvent> audit = rig.Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].type, AuditType::kRequestRejected);
  EXPECT_EQ(audit[0].actor, "mallory");
  EXPECT_EQ(DataOf(audit[0])["reasons"].size(), v.status().details().size());
  EXPECT_EQ(rig.demo->grant_calls(), 0);
}

TEST_F(RequestServiceTest, VagueJustificationIsDenied) {
  StatusOr<RequestView> v = rig.Ask("alice", "db-write", minutes(30), "fix");
  ASSERT_TRUE(HasError(v, StatusCode::kFailedPrecondition, "policy_denied"));
  ASSERT_EQ(v.status().details().size(), 1u);
  EXPECT_NE(v.status().details()[0].find("justification"), std::string::npos);
  EXPECT_EQ(StoredRequestCount(), 0u);
}

TEST_F(RequestServiceTest, DurationOverThePolicyMaximumIsDenied) {
  StatusOr<RequestView> v = rig.Ask("alice", "dev-shell", hours(2));
  ASSERT_TRUE(HasError(v, StatusCode::kFailedPrecondition, "policy_denied"));
  EXPECT_NE(v.status().details().at(0).find("exceeds"), std::string::npos);
  EXPECT_EQ(StoredRequestCount(), 0u);
}

TEST_F(RequestServiceTest, BadInputIsInvalidArgumentAndStoresNothing) {
  EXPECT_TRUE(HasError(rig.Ask("alice", "dev-shell", milliseconds(500)),
                       StatusCode::kInvalidArgument, "invalid_request"));
  EXPECT_TRUE(
      HasError(rig.Ask("alice", "", minutes(5)), StatusCode::kInvalidArgument));
  std::string huge(4097, 'x');
  EXPECT_TRUE(HasError(rig.Ask("alice", "dev-shell", minutes(5), huge),
                       StatusCode::kInvalidArgument));
  EXPECT_EQ(StoredRequestCount(), 0u);
  EXPECT_TRUE(rig.Audit().empty());
}

// --- Approving ------------------------------------------------------------

TEST_F(RequestServiceTest, ApprovalByAnSreActivates) {
  std::string id = PendingDbWrite();
  StatusOr<RequestView> v = rig.requests.Approve(rig.P("bob"), id, "ok");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  ASSERT_EQ(v->approvals.size(), 1u);
  EXPECT_EQ(v->approvals[0].approver, "bob");
  EXPECT_TRUE(rig.demo->Holds(v->request.grant_id));
  EXPECT_TRUE(rig.Allowed("alice", "db-write"));
  EXPECT_THAT(
      rig.TypesOf(id),
      ElementsAre("request.created", "request.approved", "grant.activated"));
  std::vector<AuditEvent> events = rig.EventsOf(id);
  EXPECT_EQ(events[1].actor, "bob");
}

TEST_F(RequestServiceTest, RequesterCannotApproveOwnRequest) {
  std::string id = PendingDbWrite();
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("alice"), id, ""),
                       StatusCode::kPermissionDenied, "self_approval"));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(ApprovalCount(id), 0u);
}

TEST_F(RequestServiceTest, RequesterCannotApproveUnderAnAlias) {
  std::string id = PendingDbWrite();
  // alice-alt is in sre, so only the person check stops it (T1).
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("alice-alt"), id, ""),
                       StatusCode::kPermissionDenied, "self_approval"));
  EXPECT_TRUE(HasError(rig.requests.Deny(rig.P("alice-alt"), id, ""),
                       StatusCode::kPermissionDenied, "self_approval"));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(ApprovalCount(id), 0u);
}

TEST_F(RequestServiceTest, NonApproverGetsNotAnApprover) {
  std::string id = PendingDbWrite();
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("mallory"), id, ""),
                       StatusCode::kPermissionDenied, "not_an_approver"));
  // Being an admin does not make one an approver of this policy either.
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("erin"), id, ""),
                       StatusCode::kPermissionDenied, "not_an_approver"));
  EXPECT_TRUE(HasError(rig.requests.Deny(rig.P("mallory"), id, ""),
                       StatusCode::kPermissionDenied, "not_an_approver"));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(ApprovalCount(id), 0u);
}

TEST_F(RequestServiceTest, SameApproverTwiceCountsOnce) {
  std::string id = PendingProdAdmin();
  StatusOr<RequestView> first = rig.requests.Approve(rig.P("bob"), id, "");
  ASSERT_TRUE(IsOk(first));
  EXPECT_EQ(first->request.state, RequestState::kPending);
  StatusOr<RequestView> second =
      rig.requests.Approve(rig.P("bob"), id, "again");
  EXPECT_TRUE(HasError(second, StatusCode::kAborted, "conflict"));
  EXPECT_EQ(ApprovalCount(id), 1u);
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(rig.demo->grant_calls(), 0);
}

TEST_F(RequestServiceTest, TwoDistinctApproversActivateAnNofMRequest) {
  std::string id = PendingProdAdmin();
  ASSERT_TRUE(IsOk(rig.requests.Approve(rig.P("bob"), id, "")));
  StatusOr<RequestView> v = rig.requests.Approve(rig.P("carol"), id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  EXPECT_EQ(v->approvals.size(), 2u);
  EXPECT_TRUE(rig.demo->Holds(v->request.grant_id));
  std::vector<AuditEvent> events = rig.EventsOf(id);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(DataOf(events[1])["final"], false);
  EXPECT_EQ(DataOf(events[2])["final"], true);
  EXPECT_EQ(events[3].type, AuditType::kGrantActivated);
}

TEST_F(RequestServiceTest, DenyEndsTheRequestDenied) {
  std::string id = PendingDbWrite();
  StatusOr<RequestView> v = rig.requests.Deny(rig.P("bob"), id, "not today");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kDenied);
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kDenied);
  EXPECT_THAT(rig.TypesOf(id),
              ElementsAre("request.created", "request.denied"));
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("carol"), id, ""),
                       StatusCode::kAborted, "conflict"));
  EXPECT_TRUE(HasError(rig.requests.Deny(rig.P("carol"), id, ""),
                       StatusCode::kAborted, "conflict"));
  EXPECT_EQ(rig.demo->grant_calls(), 0);
}

TEST_F(RequestServiceTest, RequesterCancelsPendingRequest) {
  std::string id = PendingDbWrite();
  StatusOr<RequestView> v =
      rig.requests.Cancel(rig.P("alice"), id, "done without it");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kCancelled);
  std::vector<AuditEvent> events = rig.EventsOf(id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, AuditType::kRequestCancelled);
  EXPECT_EQ(DataOf(events[1])["from"], "pending");
}

TEST_F(RequestServiceTest, OnlyRequesterOrAdminMayCancel) {
  std::string id = PendingDbWrite();
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("bob"), id, ""),
                       StatusCode::kPermissionDenied, "forbidden"));
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("mallory"), id, ""),
                       StatusCode::kNotFound));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  StatusOr<RequestView> v = rig.requests.Cancel(rig.P("erin"), id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kCancelled);
}

TEST_F(RequestServiceTest, CancelAfterTerminalStateIsConflict) {
  std::string id = PendingDbWrite();
  ASSERT_TRUE(IsOk(rig.requests.Deny(rig.P("bob"), id, "")));
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("alice"), id, ""),
                       StatusCode::kAborted, "conflict"));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kDenied);
  EXPECT_THAT(rig.TypesOf(id),
              ElementsAre("request.created", "request.denied"));
}

TEST_F(RequestServiceTest, ActiveRequestCannotBeCancelled) {
  StatusOr<RequestView> v = rig.Ask("alice", "dev-shell", minutes(30));
  ASSERT_TRUE(IsOk(v));
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("alice"), v->request.id, ""),
                       StatusCode::kAborted, "conflict"));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
}

TEST_F(RequestServiceTest, ApprovedWorkCanBeCalledOffOnlyBeforeItStarts) {
  SystemTime start = RigStart() + hours(1);
  std::string before =
      rig.AskAt("alice", "db-write", minutes(30), start)->request.id;
  std::string due =
      rig.AskAt("alice", "db-write", minutes(30), start)->request.id;
  ASSERT_TRUE(IsOk(rig.requests.Approve(rig.P("bob"), before, "")));
  ASSERT_TRUE(IsOk(rig.requests.Approve(rig.P("bob"), due, "")));
  StatusOr<RequestView> called_off =
      rig.requests.Cancel(rig.P("alice"), before, "not needed");
  ASSERT_TRUE(IsOk(called_off));
  EXPECT_EQ(called_off->request.state, RequestState::kCancelled);

  // Its start has come: it is being activated, the approval won (T8).
  rig.clock.Advance(hours(1));
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("alice"), due, "too late"),
                       StatusCode::kAborted, "conflict"));
  EXPECT_EQ(rig.StoredRequest(due).state, RequestState::kApproved);
  rig.RunDue();
  EXPECT_EQ(rig.StoredRequest(due).state, RequestState::kActive);
}

// --- Re-checks at activation (T6, T7) -------------------------------------

TEST_F(RequestServiceTest, RequestEditedAfterApprovalIsNotActivated) {
  SystemTime start = RigStart() + hours(1);
  StatusOr<RequestView> asked =
      rig.AskAt("alice", "db-write", minutes(30), start);
  ASSERT_TRUE(IsOk(asked));
  std::string id = asked->request.id;
  StatusOr<RequestView> approved = rig.requests.Approve(rig.P("bob"), id, "");
  ASSERT_TRUE(IsOk(approved));
  ASSERT_EQ(approved->request.state, RequestState::kApproved);

  // The requester changes what was approved, straight in the store.
  Request edited = rig.StoredRequest(id);
  edited.justification = "something else entirely, much broader scope";
  ChangeSet cs;
  cs.requests.push_back({edited, RequestState::kApproved});
  ASSERT_TRUE(IsOk(rig.store.Commit(cs)));

  rig.clock.Advance(hours(1));
  rig.RunDue();
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kFailed);
  EXPECT_EQ(rig.demo->grant_calls(), 0);
  EXPECT_FALSE(rig.Allowed("alice", "db-write"));
  std::vector<AuditEvent> events = rig.EventsOf(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, AuditType::kRequestRejected);
  EXPECT_NE(
      DataOf(events.back())["reasons"].dump().find("changed after approval"),
      std::string::npos);
}

TEST_F(RequestServiceTest, RequesterRemovedFromGroupIsRefusedAtActivation) {
  std::string id = PendingDbWrite();
  rig.SetGroups("alice", {});  // a reload took alice out of dev
  StatusOr<RequestView> v = rig.requests.Approve(rig.P("bob"), id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kFailed);
  EXPECT_TRUE(v->request.grant_id.empty());
  EXPECT_EQ(rig.demo->grant_calls(), 0);
  EXPECT_FALSE(rig.Allowed("alice", "db-write"));
  EXPECT_THAT(
      rig.TypesOf(id),
      ElementsAre("request.created", "request.approved", "request.rejected"));
}

// An identity-provider subject is in no config directory: activation
// re-checks it with the groups of its latest token, while that is recent.
TEST_F(RequestServiceTest, IdpSubjectIsRecheckedWithItsLatestGroups) {
  SeenSubjects seen(rig.clock, minutes(30));
  rig.deps.seen_subjects = &seen;
  Principal ida;
  ida.subject = Subject{"ida", "ida", {"dev"}};
  seen.Record(ida.subject);
  auto ask = [&] {
    CreateRequestInput in;
    in.entitlement = "db-write";
    in.duration = minutes(30);
    in.justification = std::string(kGoodReason);
    return rig.requests.Create(ida, in);
  };
  StatusOr<RequestView> first = ask();
  ASSERT_TRUE(IsOk(first));
  StatusOr<RequestView> v =
      rig.requests.Approve(rig.P("bob"), first->request.id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);

  // The IdP dropped ida from dev: her next token says so.
  StatusOr<RequestView> second = ask();
  ASSERT_TRUE(IsOk(second));
  seen.Record(Subject{"ida", "ida", {}});
  v = rig.requests.Approve(rig.P("bob"), second->request.id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kFailed);

  // Not seen for longer than max_age: unknown, refused.
  seen.Record(ida.subject);
  StatusOr<RequestView> third = ask();
  ASSERT_TRUE(IsOk(third));
  rig.clock.Advance(minutes(30) + milliseconds(1));
  v = rig.requests.Approve(rig.P("bob"), third->request.id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kFailed);
  rig.deps.seen_subjects = nullptr;
}

TEST(SeenSubjects, KeepsTheNewestAndStaysBounded) {
  FakeClock clock(RigStart());
  SeenSubjects seen(clock, hours(1), 3);
  for (int i = 0; i < 5; ++i) {
    seen.Record(Subject{"u" + std::to_string(i), "", {}});
    clock.Advance(seconds(1));
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen.Find("u0").has_value());
  EXPECT_FALSE(seen.Find("u1").has_value());
  ASSERT_TRUE(seen.Find("u4").has_value());
  seen.Record(Subject{"u2", "", {"g"}});  // refreshed: now the newest
  seen.Record(Subject{"u5", "", {}});     // evicts u3, the oldest
  EXPECT_FALSE(seen.Find("u3").has_value());
  ASSERT_TRUE(seen.Find("u2").has_value());
  EXPECT_EQ(seen.Find("u2")->groups, std::vector<std::string>{"g"});
  EXPECT_EQ(seen.size(), 3u);
}

// --- Time-driven work -----------------------------------------------------

TEST_F(RequestServiceTest, UnansweredRequestTimesOutAtItsDeadline) {
  std::string id = PendingDbWrite();
  rig.clock.Advance(hours(1) - milliseconds(1));
  EXPECT_EQ(rig.RunDue().timed_out, 0);
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  rig.clock.Advance(milliseconds(1));
  // Past the deadline an approval no longer counts, even before the sweep.
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("bob"), id, ""),
                       StatusCode::kAborted, "conflict"));
  EXPECT_EQ(rig.RunDue().timed_out, 1);
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kTimedOut);
  std::vector<AuditEvent> events = rig.EventsOf(id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, AuditType::kRequestTimedOut);
  EXPECT_EQ(events[1].actor, kSystemActor);
  EXPECT_EQ(ApprovalCount(id), 0u);
}

TEST_F(RequestServiceTest, PlannedWorkActivatesOnlyAtStartAt) {
  SystemTime start = RigStart() + minutes(10);
  StatusOr<RequestView> v = rig.AskAt("alice", "dev-shell", minutes(30), start);
  ASSERT_TRUE(IsOk(v));
  std::string id = v->request.id;
  EXPECT_EQ(v->request.state, RequestState::kApproved);
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));

  rig.clock.Advance(minutes(10) - milliseconds(1));
  EXPECT_EQ(rig.RunDue().activated, 0);
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kApproved);
  EXPECT_EQ(rig.demo->grant_calls(), 0);

  rig.clock.Advance(milliseconds(1));
  EXPECT_EQ(rig.RunDue().activated, 1);
  Request r = rig.StoredRequest(id);
  EXPECT_EQ(r.state, RequestState::kActive);
  Grant g = rig.StoredGrant(r.grant_id);
  EXPECT_EQ(g.starts_at, start);
  EXPECT_EQ(g.expires_at, start + minutes(30));
  EXPECT_TRUE(rig.demo->Holds(g.id));
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
}

// --- Extension (T15) ------------------------------------------------------

TEST_F(RequestServiceTest, AutoExtensionMovesExpiryOfTheSameGrant) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  rig.clock.Advance(minutes(25));
  StatusOr<RequestView> ext = rig.requests.Extend(
      rig.P("alice"), grant_id, {minutes(20), std::string(kGoodReason)});
  ASSERT_TRUE(IsOk(ext));
  EXPECT_EQ(ext->request.state, RequestState::kActive);
  EXPECT_EQ(ext->request.extends, grant_id);
  EXPECT_EQ(ext->request.grant_id, grant_id);

  Grant g = rig.StoredGrant(grant_id);
  EXPECT_EQ(g.state, GrantState::kActive);
  EXPECT_EQ(g.expires_at, RigStart() + minutes(50));
  StatusOr<Page<Grant>> grants = rig.store.ListGrants(GrantFilter{});
  ASSERT_TRUE(IsOk(grants));
  EXPECT_EQ(grants->items.size(), 1u);
  std::vector<AuditEvent> events = rig.EventsOf(grant_id);
  const AuditEvent* extended = FindEvent(events, AuditType::kGrantExtended);
  ASSERT_NE(extended, nullptr);
  EXPECT_EQ(DataOf(*extended)["expires_at"],
            FormatTime(RigStart() + minutes(50)));

  // The old expiry passes with no revoke and no gap.
  rig.clock.Advance(minutes(5));
  rig.RunDue();
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.demo->revoke_calls(), 0);
  EXPECT_TRUE(rig.demo->Holds(grant_id));
  EXPECT_EQ(rig.StoredGrant(grant_id).state, GrantState::kActive);

  // The new one ends both requests.
  rig.clock.Advance(minutes(20));
  rig.RunDue();
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.StoredGrant(grant_id).state, GrantState::kEnded);
  EXPECT_EQ(rig.StoredRequest(ext->request.id).state, RequestState::kExpired);
  EXPECT_EQ(rig.StoredRequest(g.request_id).state, RequestState::kExpired);
}

TEST_F(RequestServiceTest, ExtensionBeyondThePolicyMaximumIsDenied) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  // 30m left + 45m would be 75m, above dev-auto's 1h.
  StatusOr<RequestView> ext = rig.requests.Extend(
      rig.P("alice"), grant_id, {minutes(45), std::string(kGoodReason)});
  EXPECT_TRUE(HasError(ext, StatusCode::kFailedPrecondition, "policy_denied"));
  EXPECT_EQ(rig.StoredGrant(grant_id).expires_at, RigStart() + minutes(30));
  EXPECT_EQ(StoredRequestCount(), 1u);
}

TEST_F(RequestServiceTest, OnlyTheHolderMayExtend) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  EXPECT_TRUE(
      HasError(rig.requests.Extend(rig.P("bob"), grant_id,
                                   {minutes(5), std::string(kGoodReason)}),
               StatusCode::kNotFound));
  EXPECT_EQ(rig.StoredGrant(grant_id).expires_at, RigStart() + minutes(30));
}

// --- Ending early ---------------------------------------------------------

TEST_F(RequestServiceTest, HolderEndingEarlyCompletesTheGrant) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  rig.clock.Advance(minutes(5));
  StatusOr<Grant> g =
      rig.requests.EndGrant(rig.P("alice"), grant_id, "task done");
  ASSERT_TRUE(IsOk(g));
  EXPECT_EQ(g->state, GrantState::kEnded);
  EXPECT_EQ(g->ended_reason, EndReason::kCompleted);
  EXPECT_EQ(rig.StoredRequest(g->request_id).state, RequestState::kCompleted);
  EXPECT_FALSE(rig.demo->Holds(grant_id));
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_TRUE(HasError(rig.requests.EndGrant(rig.P("alice"), grant_id, ""),
                       StatusCode::kAborted, "conflict"));
}

TEST_F(RequestServiceTest, AdminEndingAGrantRevokesIt) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  StatusOr<Grant> g =
      rig.requests.EndGrant(rig.P("erin"), grant_id, "suspicious");
  ASSERT_TRUE(IsOk(g));
  EXPECT_EQ(g->ended_reason, EndReason::kRevoked);
  EXPECT_EQ(rig.StoredRequest(g->request_id).state, RequestState::kRevoked);
  EXPECT_FALSE(rig.demo->Holds(grant_id));
  std::vector<AuditEvent> events = rig.EventsOf(grant_id);
  const AuditEvent* revoked = FindEvent(events, AuditType::kGrantRevoked);
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(revoked->actor, "erin");
}

TEST_F(RequestServiceTest, OthersCannotEndAGrant) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  EXPECT_TRUE(HasError(rig.requests.EndGrant(rig.P("bob"), grant_id, ""),
                       StatusCode::kNotFound));
  EXPECT_TRUE(HasError(rig.requests.EndGrant(rig.P("olga"), grant_id, ""),
                       StatusCode::kPermissionDenied, "forbidden"));
  EXPECT_EQ(rig.StoredGrant(grant_id).state, GrantState::kActive);
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
}

// --- Check and visibility -------------------------------------------------

TEST_F(RequestServiceTest, CheckingAnotherSubjectNeedsEnforcerOrAdmin) {
  ASSERT_FALSE(rig.ActiveGrant("alice", minutes(30)).empty());
  EXPECT_TRUE(HasError(rig.requests.Check(rig.P("bob"), "alice", "dev-shell"),
                       StatusCode::kPermissionDenied));
  StatusOr<CheckResult> own =
      rig.requests.Check(rig.P("alice"), "alice", "dev-shell");
  ASSERT_TRUE(IsOk(own));
  EXPECT_TRUE(own->allowed);
  ASSERT_TRUE(own->expires_at.has_value());
  EXPECT_EQ(*own->expires_at, RigStart() + minutes(30));
  StatusOr<CheckResult> admin =
      rig.requests.Check(rig.P("erin"), "alice", "dev-shell");
  ASSERT_TRUE(IsOk(admin));
  EXPECT_TRUE(admin->allowed);
}

TEST_F(RequestServiceTest, RequestsAreVisibleToRequesterApproversAndAuditors) {
  std::string id = PendingDbWrite();
  EXPECT_TRUE(IsOk(rig.requests.Get(rig.P("alice"), id)));
  EXPECT_TRUE(IsOk(rig.requests.Get(rig.P("alice-alt"), id)));
  EXPECT_TRUE(IsOk(rig.requests.Get(rig.P("bob"), id)));
  EXPECT_TRUE(IsOk(rig.requests.Get(rig.P("olga"), id)));
  EXPECT_TRUE(
      HasError(rig.requests.Get(rig.P("mallory"), id), StatusCode::kNotFound));
  StatusOr<Page<RequestView>> mine =
      rig.requests.List(rig.P("mallory"), RequestFilter{});
  ASSERT_TRUE(IsOk(mine));
  EXPECT_TRUE(mine->items.empty());
}

// --- Audit fails closed (T21) ---------------------------------------------

TEST_F(RequestServiceTest, UnwritableAuditRefusesCreateAndChangesNothing) {
  rig.store.FailAuditWrites(true);
  EXPECT_TRUE(HasError(rig.Ask("alice", "dev-shell", minutes(30)),
                       StatusCode::kUnavailable));
  EXPECT_TRUE(HasError(rig.Ask("alice", "db-write", minutes(30)),
                       StatusCode::kUnavailable));
  // A denial that cannot be recorded is not answered as a denial either.
  EXPECT_TRUE(HasError(rig.Ask("mallory", "dev-shell", minutes(30)),
                       StatusCode::kUnavailable));
  EXPECT_EQ(StoredRequestCount(), 0u);
  EXPECT_EQ(rig.demo->grant_calls(), 0);
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_TRUE(rig.Audit().empty());
}

TEST_F(RequestServiceTest, UnwritableAuditRefusesDecisionsAndChangesNothing) {
  std::string id = PendingDbWrite();
  std::string two = PendingProdAdmin();
  size_t events_before = rig.Audit().size();
  rig.store.FailAuditWrites(true);
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("bob"), id, ""),
                       StatusCode::kUnavailable));
  EXPECT_TRUE(HasError(rig.requests.Approve(rig.P("bob"), two, ""),
                       StatusCode::kUnavailable));
  EXPECT_TRUE(HasError(rig.requests.Deny(rig.P("bob"), id, ""),
                       StatusCode::kUnavailable));
  EXPECT_TRUE(HasError(rig.requests.Cancel(rig.P("alice"), id, ""),
                       StatusCode::kUnavailable));
  EXPECT_EQ(rig.StoredRequest(id).state, RequestState::kPending);
  EXPECT_EQ(rig.StoredRequest(two).state, RequestState::kPending);
  EXPECT_EQ(ApprovalCount(id), 0u);
  EXPECT_EQ(ApprovalCount(two), 0u);
  EXPECT_EQ(rig.demo->grant_calls(), 0);

  rig.store.FailAuditWrites(false);
  EXPECT_EQ(rig.Audit().size(), events_before);
  StatusOr<RequestView> v = rig.requests.Approve(rig.P("bob"), id, "");
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
}

TEST_F(RequestServiceTest, UnwritableAuditKeepsAGrantFromEndingSilently) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  rig.store.FailAuditWrites(true);
  EXPECT_TRUE(HasError(rig.requests.EndGrant(rig.P("alice"), grant_id, ""),
                       StatusCode::kUnavailable));
  EXPECT_EQ(rig.StoredGrant(grant_id).state, GrantState::kActive);
  EXPECT_TRUE(rig.demo->Holds(grant_id));
  // Nothing was decided, so the grant keeps allowing until its expiry.
  EXPECT_TRUE(rig.Allowed("alice", "dev-shell"));
  rig.store.FailAuditWrites(false);
}

// --- Races (T8) -----------------------------------------------------------

// Events that move a request out of pending: the winner of a race.
bool LeavesPending(const AuditEvent& e) {
  switch (e.type) {
    case AuditType::kRequestApproved:
      return DataOf(e).value("final", false);
    case AuditType::kRequestCancelled:
      return DataOf(e).value("from", "") == "pending";
    case AuditType::kRequestDenied:
    case AuditType::kRequestTimedOut:
      return true;
    default:
      return false;
  }
}

Principal Approver(int i) {
  std::string name = "sre-" + std::to_string(i);
  return Principal{Subject{name, name, {"sre"}}};
}

TEST_F(RequestServiceTest, RacingDecisionsProduceExactlyOneOutcome) {
  std::string id = PendingDbWrite();
  ASSERT_FALSE(id.empty());
  SystemTime deadline = *rig.StoredRequest(id).approval_deadline;
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::atomic<int> decided{0}, conflicts{0}, other_errors{0}, timed_out{0};
  auto record = [&](const Status& s) {
    if (s.ok()) {
      ++decided;
    } else if (s.reason() == "conflict") {
      ++conflicts;
    } else {
      ++other_errors;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (i == 0) {
        timed_out += rig.scheduler.RunDue(deadline).timed_out;
      } else if (i <= 3) {
        const char* who[] = {"alice", "alice-alt", "erin"};
        record(rig.requests.Cancel(rig.P(who[i - 1]), id, "").status());
      } else if (i % 3 == 0) {
        record(rig.requests.Deny(Approver(i), id, "").status());
      } else {
        record(rig.requests.Approve(Approver(i), id, "").status());
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::vector<AuditEvent> events = rig.EventsOf(id);
  int winners = static_cast<int>(
      std::count_if(events.begin(), events.end(), LeavesPending));
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(decided.load() + conflicts.load() + 1, kThreads);
  EXPECT_LE(std::count_if(events.begin(), events.end(),
                          [](const AuditEvent& e) {
                            return e.type == AuditType::kGrantActivated;
                          }),
            1);
  // The final state follows from the winner.
  auto winner = std::find_if(events.begin(), events.end(), LeavesPending);
  ASSERT_NE(winner, events.end());
  RequestState final_state = rig.StoredRequest(id).state;
  switch (winner->type) {
    case AuditType::kRequestApproved:
      // Planned work may still be called off between approval and activation.
      EXPECT_TRUE(final_state == RequestState::kActive ||
                  final_state == RequestState::kCancelled)
          << ToString(final_state);
      break;
    case AuditType::kRequestDenied:
      EXPECT_EQ(final_state, RequestState::kDenied);
      break;
    case AuditType::kRequestCancelled:
      EXPECT_EQ(final_state, RequestState::kCancelled);
      break;
    case AuditType::kRequestTimedOut:
      EXPECT_EQ(final_state, RequestState::kTimedOut);
      EXPECT_EQ(timed_out.load(), 1);
      break;
    default:
      ADD_FAILURE() << "unexpected winner " << ToString(winner->type);
  }
  if (winner->type != AuditType::kRequestTimedOut) {
    EXPECT_EQ(timed_out.load(), 0);
  }
  StatusOr<Page<Grant>> grants = rig.store.ListGrants(GrantFilter{});
  ASSERT_TRUE(IsOk(grants));
  EXPECT_LE(grants->items.size(), 1u);
}

TEST_F(RequestServiceTest, RacingApproversOfAnNofMRequestApproveItOnce) {
  std::string id = PendingProdAdmin();
  ASSERT_FALSE(id.empty());
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status s = rig.requests.Approve(Approver(i), id, "").status();
      if (!s.ok() && s.reason() != "conflict") ++other_errors;
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(other_errors.load(), 0);
  std::vector<AuditEvent> events = rig.EventsOf(id);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), LeavesPending), 1);
  // However the approvals interleaved, the request did not get stuck.
  Request r = rig.StoredRequest(id);
  EXPECT_EQ(r.state, RequestState::kActive);
  EXPECT_GE(ApprovalCount(id), 2u);
  StatusOr<Page<Grant>> grants = rig.store.ListGrants(GrantFilter{});
  ASSERT_TRUE(IsOk(grants));
  EXPECT_EQ(grants->items.size(), 1u);
}

TEST_F(RequestServiceTest, TwoRacingApproversOfATwoOfMRequestDoNotStrandIt) {
  // Each of the two may see only its own approval when deciding; the request
  // must still end up approved, every round.
  for (int round = 0; round < 100; ++round) {
    std::string id = PendingProdAdmin();
    ASSERT_FALSE(id.empty());
    std::latch start(2);
    std::thread bob([&] {
      start.arrive_and_wait();
      EXPECT_TRUE(IsOk(rig.requests.Approve(rig.P("bob"), id, "")));
    });
    std::thread carol([&] {
      start.arrive_and_wait();
      EXPECT_TRUE(IsOk(rig.requests.Approve(rig.P("carol"), id, "")));
    });
    bob.join();
    carol.join();
    ASSERT_EQ(rig.StoredRequest(id).state, RequestState::kActive)
        << "round " << round;
    std::vector<AuditEvent> events = rig.EventsOf(id);
    ASSERT_EQ(std::count_if(events.begin(), events.end(), LeavesPending), 1)
        << "round " << round;
  }
}

TEST_F(RequestServiceTest, RacingEarlyEndsEndTheGrantOnceAndLeaveItDenied) {
  std::string grant_id = rig.ActiveGrant("alice", minutes(30));
  ASSERT_FALSE(grant_id.empty());
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::atomic<int> ended{0}, other_errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status s =
          rig.requests
              .EndGrant(rig.P(i % 2 == 0 ? "alice" : "erin"), grant_id, "")
              .status();
      if (s.ok()) {
        ++ended;
      } else if (s.reason() != "conflict") {
        ++other_errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(ended.load(), 1);
  EXPECT_EQ(other_errors.load(), 0);
  // A loser must not have put the grant back into the check index.
  EXPECT_FALSE(rig.Allowed("alice", "dev-shell"));
  EXPECT_EQ(rig.index.size(), 0u);
  EXPECT_FALSE(rig.demo->Holds(grant_id));
  std::vector<AuditEvent> events = rig.EventsOf(grant_id);
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const AuditEvent& e) {
                            return e.type == AuditType::kGrantRevoked;
                          }),
            1);
  EXPECT_EQ(rig.StoredGrant(grant_id).state, GrantState::kEnded);
}

// --- Metrics --------------------------------------------------------------

TEST_F(RequestServiceTest, MetricsCountActiveGrantsAndTransitions) {
  ASSERT_FALSE(rig.ActiveGrant("alice", minutes(30)).empty());
  std::string text = rig.metrics.Render(rig.index.size());
  EXPECT_NE(text.find("jitd_grants_active 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("jitd_requests_total{state=\"active\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("jitd_audit_chain_ok 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace jit
