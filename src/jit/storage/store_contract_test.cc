#include "jit/storage/store_contract_test.h"

#include <algorithm>
#include <chrono>
#include <latch>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jit/audit/verifier.h"
#include "jit/base/duration.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

#define JIT_EXPECT_OK(expr)                        \
  do {                                             \
    ::jit::Status jit_s_ = (expr);                 \
    EXPECT_TRUE(jit_s_.ok()) << jit_s_.ToString(); \
  } while (0)
#define JIT_ASSERT_OK(expr)                        \
  do {                                             \
    ::jit::Status jit_s_ = (expr);                 \
    ASSERT_TRUE(jit_s_.ok()) << jit_s_.ToString(); \
  } while (0)

constexpr SystemTime kT0{milliseconds(1'800'000'000'000)};

std::optional<int64_t> Millis(const std::optional<SystemTime>& t) {
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

Request MinimalRequest(const std::string& id) {
  Request r;
  r.id = id;
  r.subject = "alice";
  r.person = "alice";
  r.entitlement = "prod-db-read";
  r.duration = minutes(30);
  r.justification = "investigate OPS-7 slow queries";
  r.policy = "dev-prod-read";
  r.approvals_required = 1;
  r.created_at = kT0;
  r.updated_at = kT0;
  return r;
}

Request FullRequest(const std::string& id) {
  Request r = MinimalRequest(id);
  r.person = "alice@example.com";
  r.subject_groups = {"dev", "sre", "gr\"oup with 'quotes'"};
  r.duration = hours(1) + minutes(30);
  // Text that would break hand-built SQL or JSON if it were ever spliced.
  r.justification = "fix OPS-1'); DROP TABLE requests; -- \"x\" \\ \u202e";
  r.ticket = "OPS-1";
  r.start_at = kT0 + minutes(5);
  r.emergency = Emergency::kYes;
  r.approvals_required = 2;
  r.updated_at = kT0 + seconds(1);
  r.approval_deadline = kT0 + hours(1);
  r.extends = "grt_previous";
  r.grant_id = "grt_current";
  r.binding = RequestBinding(r);
  return r;
}

Grant MinimalGrant(const std::string& id) {
  Grant g;
  g.id = id;
  g.request_id = "req_" + id;
  g.subject = "alice";
  g.entitlement = "prod-db-read";
  g.connector = "prod-pg";
  g.starts_at = kT0;
  g.expires_at = kT0 + minutes(30);
  return g;
}

Grant FullGrant(const std::string& id) {
  Grant g = MinimalGrant(id);
  g.state = GrantState::kRevokePending;
  g.ended_reason = EndReason::kExpired;
  g.ended_at = kT0 + minutes(31);
  g.revoke_attempts = 3;
  g.next_attempt_at = kT0 + minutes(32);
  g.revoke_pending_since = kT0 + minutes(30);
  g.last_error = "connection refused: 'db' \"x\"";
  g.generation = 4;
  return g;
}

Approval MakeApproval(const std::string& request_id, const std::string& who,
                      const std::string& person) {
  Approval a;
  a.request_id = request_id;
  a.approver = who;
  a.approver_person = person;
  a.comment = "ok by " + who;
  a.binding = "binding-of-" + request_id;
  a.at = kT0 + minutes(1);
  return a;
}

AuditEvent MakeEvent(AuditType type, const std::string& actor) {
  AuditEvent e;
  e.time = kT0;
  e.type = type;
  e.actor = actor;
  e.subject = "alice";
  e.request_id = "req_1";
  e.data = R"({"note":"by )" + actor + R"("})";
  return e;
}

void ExpectSameRequest(const Request& got, const Request& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.person, want.person);
  EXPECT_EQ(got.subject_groups, want.subject_groups);
  EXPECT_EQ(got.entitlement, want.entitlement);
  EXPECT_EQ(got.duration.count(), want.duration.count());
  EXPECT_EQ(got.justification, want.justification);
  EXPECT_EQ(got.ticket, want.ticket);
  EXPECT_EQ(Millis(got.start_at), Millis(want.start_at));
  EXPECT_EQ(got.emergency, want.emergency);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.policy, want.policy);
  EXPECT_EQ(got.approvals_required, want.approvals_required);
  EXPECT_EQ(ToUnixMillis(got.created_at), ToUnixMillis(want.created_at));
  EXPECT_EQ(ToUnixMillis(got.updated_at), ToUnixMillis(want.updated_at));
  EXPECT_EQ(Millis(got.approval_deadline), Millis(want.approval_deadline));
  EXPECT_EQ(got.extends, want.extends);
  EXPECT_EQ(got.grant_id, want.grant_id);
  EXPECT_EQ(got.binding, want.binding);
}

void ExpectSameGrant(const Grant& got, const Grant& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.entitlement, want.entitlement);
  EXPECT_EQ(got.connector, want.connector);
  EXPECT_EQ(ToUnixMillis(got.starts_at), ToUnixMillis(want.starts_at));
  EXPECT_EQ(ToUnixMillis(got.expires_at), ToUnixMillis(want.expires_at));
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.ended_reason, want.ended_reason);
  EXPECT_EQ(Millis(got.ended_at), Millis(want.ended_at));
  EXPECT_EQ(got.revoke_attempts, want.revoke_attempts);
  EXPECT_EQ(Millis(got.next_attempt_at), Millis(want.next_attempt_at));
  EXPECT_EQ(Millis(got.revoke_pending_since),
            Millis(want.revoke_pending_since));
  EXPECT_EQ(got.last_error, want.last_error);
  EXPECT_EQ(got.generation, want.generation);
}

void ExpectSameApproval(const Approval& got, const Approval& want) {
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.approver, want.approver);
  EXPECT_EQ(got.approver_person, want.approver_person);
  EXPECT_EQ(got.decision, want.decision);
  EXPECT_EQ(got.comment, want.comment);
  EXPECT_EQ(got.binding, want.binding);
  EXPECT_EQ(ToUnixMillis(got.at), ToUnixMillis(want.at));
}

void ExpectSameEvent(const AuditEvent& got, const AuditEvent& want) {
  EXPECT_EQ(got.seq, want.seq);
  EXPECT_EQ(ToUnixMillis(got.time), ToUnixMillis(want.time));
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.actor, want.actor);
  EXPECT_EQ(got.subject, want.subject);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.grant_id, want.grant_id);
  EXPECT_EQ(got.data, want.data);
  EXPECT_EQ(got.prev_hash, want.prev_hash);
  EXPECT_EQ(got.hash, want.hash);
}

template <typename T>
std::vector<std::string> Ids(const std::vector<T>& items) {
  std::vector<std::string> ids;
  for (const T& item : items) ids.push_back(item.id);
  return ids;
}

Status InsertRequests(Store& store, const std::vector<Request>& requests) {
  ChangeSet cs;
  for (const Request& r : requests) cs.requests.push_back({r, std::nullopt});
  return store.Commit(cs);
}

Status InsertGrants(Store& store, const std::vector<Grant>& grants) {
  ChangeSet cs;
  for (const Grant& g : grants) cs.grants.push_back({g, std::nullopt});
  return store.Commit(cs);
}

Status AppendEvents(Store& store, int count, const std::string& actor) {
  ChangeSet cs;
  for (int i = 0; i < count; ++i) {
    cs.events.push_back(MakeEvent(AuditType::kRequestCreated, actor));
  }
  return store.Commit(cs);
}

std::vector<AuditEvent> AllEvents(Store& store) {
  StatusOr<std::vector<AuditEvent>> events = store.ReadAudit(0, 100000);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  return events.ok() ? *events : std::vector<AuditEvent>{};
}

VerifyResult VerifyAll(Store& store) {
  ChainVerifier verifier;
  for (const AuditEvent& e : AllEvents(store)) verifier.Add(e);
  return verifier.Result();
}

int64_t HeadSeq(Store& store) {
  StatusOr<AuditHead> head = store.GetAuditHead();
  EXPECT_TRUE(head.ok()) << head.status().ToString();
  return head.ok() ? head->seq : -1;
}

// ---- Round trips --------------------------------------------------------

TEST_P(StoreContractTest, RequestRoundTripsEveryField) {
  for (const Request& r :
       {FullRequest("req_full"), MinimalRequest("req_min")}) {
    JIT_ASSERT_OK(InsertRequests(store(), {r}));
    StatusOr<Request> got = store().GetRequest(r.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameRequest(*got, r);
  }
}

TEST_P(StoreContractTest, GrantRoundTripsEveryField) {
  for (const Grant& g : {FullGrant("grt_full"), MinimalGrant("grt_min")}) {
    JIT_ASSERT_OK(InsertGrants(store(), {g}));
    StatusOr<Grant> got = store().GetGrant(g.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameGrant(*got, g);
  }
}

TEST_P(StoreContractTest, ApprovalRoundTripsEveryField) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  Approval approve = MakeApproval("req_1", "bob", "bob@example.com");
  Approval deny = MakeApproval("req_1", "carol", "");
  deny.decision = ApprovalDecision::kDeny;
  deny.comment = "no: 'quoted' \"text\"";
  ChangeSet cs;
  cs.approvals = {approve, deny};
  JIT_ASSERT_OK(store().Commit(cs));

  StatusOr<std::vector<Approval>> got = store().ListApprovals("req_1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  ExpectSameApproval((*got)[0], approve);
  ExpectSameApproval((*got)[1], deny);
}

TEST_P(StoreContractTest, AuditEventRoundTripsEveryField) {
  AuditEvent full = MakeEvent(AuditType::kGrantSessionsKilled, "jitd");
  full.grant_id = "grt_1";
  full.data = R"({"survivors":["pid 7"],"quote":"'\""})";
  AuditEvent sparse;
  sparse.time = kT0 + seconds(1);
  sparse.type = AuditType::kPolicyLoaded;
  sparse.actor = "jitd";
  ChangeSet cs;
  cs.events = {full, sparse};
  JIT_ASSERT_OK(store().Commit(cs));

  std::vector<AuditEvent> stored = AllEvents(store());
  ASSERT_EQ(stored.size(), 2u);
  ExpectSameEvent(stored[0], cs.events[0]);
  ExpectSameEvent(stored[1], cs.events[1]);
  EXPECT_EQ(stored[0].actor, "jitd");
  EXPECT_EQ(stored[0].grant_id, "grt_1");
  EXPECT_EQ(stored[0].data, full.data);
  EXPECT_EQ(stored[1].type, AuditType::kPolicyLoaded);
  EXPECT_EQ(stored[1].request_id, "");
}

TEST_P(StoreContractTest, TimesAreKeptToTheMillisecond) {
  Request r = MinimalRequest("req_1");
  r.created_at = kT0 + milliseconds(7) + std::chrono::microseconds(999);
  JIT_ASSERT_OK(InsertRequests(store(), {r}));
  StatusOr<Request> got = store().GetRequest("req_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->created_at, kT0 + milliseconds(7));
}

TEST_P(StoreContractTest, MissingIdsAreNotFound) {
  EXPECT_EQ(store().GetRequest("req_nope").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store().GetGrant("grt_nope").status().code(),
            StatusCode::kNotFound);
  StatusOr<std::vector<Approval>> approvals = store().ListApprovals("req_nope");
  ASSERT_TRUE(approvals.ok());
  EXPECT_TRUE(approvals->empty());
}

// ---- Commit: inserts and compare-and-set -------------------------------

TEST_P(StoreContractTest, InsertingAnExistingRequestIsAlreadyExists) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  ChangeSet cs;
  Request again = MinimalRequest("req_1");
  again.subject = "mallory";
  cs.requests.push_back({again, std::nullopt});
  cs.events.push_back(MakeEvent(AuditType::kRequestCreated, "mallory"));

  EXPECT_EQ(store().Commit(cs).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetRequest("req_1")->subject, "alice");
  EXPECT_EQ(HeadSeq(store()), 0);
}

TEST_P(StoreContractTest, InsertingAnExistingGrantIsAlreadyExists) {
  JIT_ASSERT_OK(InsertGrants(store(), {MinimalGrant("grt_1")}));
  Grant again = MinimalGrant("grt_1");
  again.subject = "mallory";
  EXPECT_EQ(InsertGrants(store(), {again}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetGrant("grt_1")->subject, "alice");
}

TEST_P(StoreContractTest, CompareAndSetRewritesTheRequest) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  Request updated = MinimalRequest("req_1");
  updated.state = RequestState::kActive;
  updated.grant_id = "grt_1";
  updated.updated_at = kT0 + minutes(2);

  JIT_ASSERT_OK(
      TransitionRequest(store(), updated, RequestState::kPending,
                        MakeEvent(AuditType::kGrantActivated, "jitd")));
  StatusOr<Request> got = store().GetRequest("req_1");
  ASSERT_TRUE(got.ok());
  ExpectSameRequest(*got, updated);
  std::vector<AuditEvent> events = AllEvents(store());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, AuditType::kGrantActivated);
}

TEST_P(StoreContractTest, LostCompareAndSetIsAbortedAndWritesNothing) {
  JIT_ASSERT_OK(InsertRequests(
      store(), {MinimalRequest("req_a"), MinimalRequest("req_b")}));
  JIT_ASSERT_OK(AppendEvents(store(), 1, "setup"));
  StatusOr<AuditHead> head_before = store().GetAuditHead();
  ASSERT_TRUE(head_before.ok());

  ChangeSet cs;
  Request a = MinimalRequest("req_a");
  a.state = RequestState::kApproved;
  cs.requests.push_back({a, RequestState::kPending});  // would win
  cs.requests.push_back({MinimalRequest("req_new"), std::nullopt});
  Request b = MinimalRequest("req_b");
  b.state = RequestState::kDenied;
  cs.requests.push_back({b, RequestState::kApproved});  // b is pending: loses
  cs.grants.push_back({MinimalGrant("grt_new"), std::nullopt});
  cs.approvals.push_back(MakeApproval("req_a", "bob", "bob"));
  cs.events = {MakeEvent(AuditType::kRequestApproved, "bob"),
               MakeEvent(AuditType::kRequestDenied, "bob")};

  EXPECT_EQ(store().Commit(cs).code(), StatusCode::kAborted);
  EXPECT_EQ(store().GetRequest("req_a")->state, RequestState::kPending);
  EXPECT_EQ(store().GetRequest("req_b")->state, RequestState::kPending);
  EXPECT_EQ(store().GetRequest("req_new").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store().GetGrant("grt_new").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store().ListApprovals("req_a")->empty());
  StatusOr<AuditHead> head_after = store().GetAuditHead();
  ASSERT_TRUE(head_after.ok());
  EXPECT_EQ(head_after->seq, head_before->seq);
  EXPECT_EQ(head_after->hash, head_before->hash);
  for (const AuditEvent& e : cs.events) {  // the caller's copy is untouched
    EXPECT_EQ(e.seq, 0);
    EXPECT_EQ(e.prev_hash, "");
    EXPECT_EQ(e.hash, "");
  }
}

TEST_P(StoreContractTest, CompareAndSetOnMissingRequestIsAborted) {
  Request ghost = MinimalRequest("req_ghost");
  ghost.state = RequestState::kApproved;
  EXPECT_EQ(TransitionRequest(store(), ghost, RequestState::kPending,
                              MakeEvent(AuditType::kRequestApproved, "bob"))
                .code(),
            StatusCode::kAborted);
  EXPECT_EQ(store().GetRequest("req_ghost").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(HeadSeq(store()), 0);
}

TEST_P(StoreContractTest, LaterWritesSeeEarlierWritesOfTheSameChangeSet) {
  ChangeSet cs;
  cs.requests.push_back({MinimalRequest("req_1"), std::nullopt});
  Request active = MinimalRequest("req_1");
  active.state = RequestState::kActive;
  active.grant_id = "grt_1";
  cs.requests.push_back({active, RequestState::kPending});
  Grant g = MinimalGrant("grt_1");
  g.request_id = "req_1";
  cs.grants.push_back({g, std::nullopt});
  cs.approvals.push_back(MakeApproval("req_1", "bob", "bob"));
  cs.events = {MakeEvent(AuditType::kRequestCreated, "alice"),
               MakeEvent(AuditType::kRequestApproved, "bob"),
               MakeEvent(AuditType::kGrantActivated, "jitd")};

  JIT_ASSERT_OK(store().Commit(cs));
  EXPECT_EQ(store().GetRequest("req_1")->state, RequestState::kActive);
  EXPECT_TRUE(store().GetGrant("grt_1").ok());
  EXPECT_EQ(store().ListApprovals("req_1")->size(), 1u);
  EXPECT_EQ(HeadSeq(store()), 3);
}

TEST_P(StoreContractTest, DuplicateInsertInsideOneChangeSetIsAlreadyExists) {
  ChangeSet cs;
  cs.requests.push_back({MinimalRequest("req_1"), std::nullopt});
  cs.requests.push_back({MinimalRequest("req_1"), std::nullopt});
  EXPECT_EQ(store().Commit(cs).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetRequest("req_1").status().code(), StatusCode::kNotFound);
}

// ---- Fencing (THREATS T25) ---------------------------------------------

Status UpdateGrant(Store& store, const Grant& g, GrantState expected,
                   bool fenced) {
  ChangeSet cs;
  cs.grants.push_back({g, expected, fenced});
  cs.events.push_back(MakeEvent(AuditType::kGrantRevoked, "replica"));
  return store.Commit(cs);
}

TEST_P(StoreContractTest, FencedGrantUpdateNeedsTheNextGeneration) {
  JIT_ASSERT_OK(InsertGrants(store(), {MinimalGrant("grt_1")}));  // gen 0
  Grant first = MinimalGrant("grt_1");
  first.generation = 1;
  first.last_error = "first writer";
  JIT_ASSERT_OK(UpdateGrant(store(), first, GrantState::kActive, true));

  // A second replica that also read generation 0 writes 1: refused.
  Grant stale = MinimalGrant("grt_1");
  stale.generation = 1;
  stale.last_error = "stale writer";
  EXPECT_EQ(UpdateGrant(store(), stale, GrantState::kActive, true).code(),
            StatusCode::kAborted);
  // Skipping ahead is refused too.
  Grant ahead = MinimalGrant("grt_1");
  ahead.generation = 5;
  EXPECT_EQ(UpdateGrant(store(), ahead, GrantState::kActive, true).code(),
            StatusCode::kAborted);

  StatusOr<Grant> got = store().GetGrant("grt_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->generation, 1);
  EXPECT_EQ(got->last_error, "first writer");
  EXPECT_EQ(HeadSeq(store()), 1);
}

TEST_P(StoreContractTest, GrantUpdateNeedsTheExpectedState) {
  JIT_ASSERT_OK(InsertGrants(store(), {MinimalGrant("grt_1")}));
  Grant ended = MinimalGrant("grt_1");
  ended.generation = 1;
  ended.state = GrantState::kEnded;
  EXPECT_EQ(
      UpdateGrant(store(), ended, GrantState::kRevokePending, true).code(),
      StatusCode::kAborted);
  EXPECT_EQ(
      UpdateGrant(store(), ended, GrantState::kRevokePending, false).code(),
      StatusCode::kAborted);
  EXPECT_EQ(store().GetGrant("grt_1")->state, GrantState::kActive);
  Grant missing = MinimalGrant("grt_missing");
  EXPECT_EQ(UpdateGrant(store(), missing, GrantState::kActive, false).code(),
            StatusCode::kAborted);
}

TEST_P(StoreContractTest, UnfencedGrantUpdateIgnoresGeneration) {
  JIT_ASSERT_OK(InsertGrants(store(), {MinimalGrant("grt_1")}));
  Grant g = MinimalGrant("grt_1");
  g.generation = 7;
  g.state = GrantState::kRevokePending;
  JIT_ASSERT_OK(UpdateGrant(store(), g, GrantState::kActive, false));
  StatusOr<Grant> got = store().GetGrant("grt_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->generation, 7);
  EXPECT_EQ(got->state, GrantState::kRevokePending);
}

// ---- Approvals (THREATS T2) --------------------------------------------

Status AddApproval(Store& store, const Approval& a) {
  ChangeSet cs;
  cs.approvals.push_back(a);
  cs.events.push_back(MakeEvent(AuditType::kRequestApproved, a.approver));
  return store.Commit(cs);
}

TEST_P(StoreContractTest, SecondDecisionOfOneApproverIsAlreadyExists) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  JIT_ASSERT_OK(AddApproval(store(), MakeApproval("req_1", "bob", "bob")));
  Approval again = MakeApproval("req_1", "bob", "bob");
  again.decision = ApprovalDecision::kDeny;

  EXPECT_EQ(AddApproval(store(), again).code(), StatusCode::kAlreadyExists);
  StatusOr<std::vector<Approval>> approvals = store().ListApprovals("req_1");
  ASSERT_TRUE(approvals.ok());
  ASSERT_EQ(approvals->size(), 1u);
  EXPECT_EQ((*approvals)[0].decision, ApprovalDecision::kApprove);
  EXPECT_EQ(HeadSeq(store()), 1);
}

TEST_P(StoreContractTest, SamePersonUnderAnotherAliasIsAlreadyExists) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  JIT_ASSERT_OK(
      AddApproval(store(), MakeApproval("req_1", "bob", "bob@example.com")));
  EXPECT_EQ(AddApproval(store(),
                        MakeApproval("req_1", "bob-admin", "bob@example.com"))
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store().ListApprovals("req_1")->size(), 1u);
}

TEST_P(StoreContractTest, OneApproverTwiceInOneChangeSetIsAlreadyExists) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  ChangeSet cs;
  cs.approvals = {MakeApproval("req_1", "bob", "bob"),
                  MakeApproval("req_1", "bob", "robert")};
  EXPECT_EQ(store().Commit(cs).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(store().ListApprovals("req_1")->empty());
}

TEST_P(StoreContractTest, DistinctApproversAreEachCountedOldestFirst) {
  JIT_ASSERT_OK(InsertRequests(
      store(), {MinimalRequest("req_1"), MinimalRequest("req_2")}));
  JIT_ASSERT_OK(AddApproval(store(), MakeApproval("req_1", "bob", "bob")));
  JIT_ASSERT_OK(AddApproval(store(), MakeApproval("req_1", "carol", "")));
  JIT_ASSERT_OK(AddApproval(store(), MakeApproval("req_1", "dave", "")));
  // The same approver on another request is a different decision.
  JIT_ASSERT_OK(AddApproval(store(), MakeApproval("req_2", "bob", "bob")));

  StatusOr<std::vector<Approval>> approvals = store().ListApprovals("req_1");
  ASSERT_TRUE(approvals.ok());
  ASSERT_EQ(approvals->size(), 3u);
  EXPECT_EQ((*approvals)[0].approver, "bob");
  EXPECT_EQ((*approvals)[1].approver, "carol");
  EXPECT_EQ((*approvals)[2].approver, "dave");
}

TEST_P(StoreContractTest, ApprovalOfMissingRequestIsAborted) {
  EXPECT_EQ(
      AddApproval(store(), MakeApproval("req_ghost", "bob", "bob")).code(),
      StatusCode::kAborted);
  EXPECT_TRUE(store().ListApprovals("req_ghost")->empty());
  EXPECT_EQ(HeadSeq(store()), 0);
}

// ---- Races (DESIGN invariant 3, THREATS T8) ----------------------------

TEST_P(StoreContractTest, ExactlyOneOfRacingTransitionsWins) {
  constexpr int kThreads = 64;
  const RequestState kTargets[] = {
      RequestState::kApproved, RequestState::kDenied, RequestState::kCancelled,
      RequestState::kTimedOut};
  ChangeSet create;
  create.requests.push_back({MinimalRequest("req_1"), std::nullopt});
  create.events.push_back(MakeEvent(AuditType::kRequestCreated, "alice"));
  JIT_ASSERT_OK(store().Commit(create));

  std::vector<StatusCode> results(kThreads, StatusCode::kInternal);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Request r = MinimalRequest("req_1");
      r.state = kTargets[i % 4];
      r.updated_at = kT0 + milliseconds(i);
      AuditEvent e =
          MakeEvent(AuditType::kRequestDenied, "racer-" + std::to_string(i));
      start.arrive_and_wait();
      results[i] =
          TransitionRequest(store(), r, RequestState::kPending, e).code();
    });
  }
  for (std::thread& t : threads) t.join();

  int winners = static_cast<int>(
      std::count(results.begin(), results.end(), StatusCode::kOk));
  int losers = static_cast<int>(
      std::count(results.begin(), results.end(), StatusCode::kAborted));
  ASSERT_EQ(winners, 1);
  EXPECT_EQ(losers, kThreads - 1);
  int winner = static_cast<int>(
      std::find(results.begin(), results.end(), StatusCode::kOk) -
      results.begin());
  EXPECT_EQ(store().GetRequest("req_1")->state, kTargets[winner % 4]);
  std::vector<AuditEvent> events = AllEvents(store());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].actor, "racer-" + std::to_string(winner));
  EXPECT_TRUE(VerifyAll(store()).ok);
}

TEST_P(StoreContractTest, ConcurrentCommitsKeepOneUnbrokenChain) {
  constexpr int kThreads = 8;
  constexpr int kCommitsEach = 10;
  std::vector<std::thread> threads;
  std::latch start(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int j = 0; j < kCommitsEach; ++j) {
        EXPECT_TRUE(
            AppendEvents(store(), 2, "writer-" + std::to_string(i)).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  VerifyResult result = VerifyAll(store());
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, kThreads * kCommitsEach * 2);
}

// ---- Audit chain ---------------------------------------------------------

TEST_P(StoreContractTest, EmptyStoreHasGenesisHead) {
  StatusOr<AuditHead> head = store().GetAuditHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 0);
  EXPECT_EQ(head->hash, kGenesisHash);
  EXPECT_TRUE(AllEvents(store()).empty());
}

TEST_P(StoreContractTest, CommitNumbersAndChainsEventsAndReturnsThem) {
  ChangeSet first;
  first.events = {MakeEvent(AuditType::kRequestCreated, "alice")};
  JIT_ASSERT_OK(store().Commit(first));
  ChangeSet second;
  second.events = {MakeEvent(AuditType::kRequestApproved, "bob"),
                   MakeEvent(AuditType::kGrantActivated, "jitd")};
  JIT_ASSERT_OK(store().Commit(second));

  EXPECT_EQ(first.events[0].seq, 1);
  EXPECT_EQ(first.events[0].prev_hash, kGenesisHash);
  EXPECT_EQ(first.events[0].hash, ComputeEventHash(first.events[0]));
  EXPECT_EQ(second.events[0].seq, 2);
  EXPECT_EQ(second.events[0].prev_hash, first.events[0].hash);
  EXPECT_EQ(second.events[1].seq, 3);
  EXPECT_EQ(second.events[1].prev_hash, second.events[0].hash);
  std::vector<AuditEvent> stored = AllEvents(store());
  ASSERT_EQ(stored.size(), 3u);
  ExpectSameEvent(stored[2], second.events[1]);
}

TEST_P(StoreContractTest, AuditSeqIsConsecutiveAndTheChainVerifies) {
  for (int count : {1, 3, 2, 5}) {
    JIT_ASSERT_OK(AppendEvents(store(), count, "jitd"));
  }
  std::vector<AuditEvent> events = AllEvents(store());
  ASSERT_EQ(events.size(), 11u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<int64_t>(i + 1));
  }
  VerifyResult result = VerifyAll(store());
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, 11);
  StatusOr<AuditHead> head = store().GetAuditHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 11);
  EXPECT_EQ(head->hash, result.head);
}

TEST_P(StoreContractTest, ChainContinuesFromTheStoredHead) {
  JIT_ASSERT_OK(AppendEvents(store(), 4, "jitd"));
  StatusOr<AuditHead> head = store().GetAuditHead();
  ASSERT_TRUE(head.ok());
  ChangeSet cs;
  cs.events = {MakeEvent(AuditType::kGrantExpired, "jitd")};
  JIT_ASSERT_OK(store().Commit(cs));
  EXPECT_EQ(cs.events[0].seq, head->seq + 1);
  EXPECT_EQ(cs.events[0].prev_hash, head->hash);
}

TEST_P(StoreContractTest, ReadAuditPagesBySeq) {
  JIT_ASSERT_OK(AppendEvents(store(), 6, "jitd"));
  StatusOr<std::vector<AuditEvent>> page = store().ReadAudit(2, 3);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[2].seq, 5);
  // A slice verifies from the hash before it.
  ChainVerifier slice((*store().ReadAudit(1, 1))[0].hash, 3);
  for (const AuditEvent& e : *page) EXPECT_TRUE(slice.Add(e));
  EXPECT_TRUE(store().ReadAudit(6, 10)->empty());
  EXPECT_TRUE(store().ReadAudit(0, 0)->empty());
}

TEST_P(StoreContractTest, CommitWithoutEventsLeavesTheAuditAlone) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  EXPECT_EQ(HeadSeq(store()), 0);
}

// ---- Due work -------------------------------------------------------------

TEST_P(StoreContractTest, DueRevokesIncludeNowAndExcludeLater) {
  const SystemTime now = kT0 + hours(2);
  Grant expired_now = MinimalGrant("grt_expired_now");
  expired_now.expires_at = now;
  Grant expires_later = MinimalGrant("grt_expires_later");
  expires_later.expires_at = now + milliseconds(1);
  Grant retry_now = MinimalGrant("grt_retry_now");
  retry_now.state = GrantState::kRevokePending;
  retry_now.expires_at = now - hours(1);
  retry_now.next_attempt_at = now;
  Grant retry_later = MinimalGrant("grt_retry_later");
  retry_later.state = GrantState::kRevokePending;
  retry_later.expires_at = now - hours(1);
  retry_later.next_attempt_at = now + milliseconds(1);
  Grant retry_unscheduled = MinimalGrant("grt_retry_unscheduled");
  retry_unscheduled.state = GrantState::kRevokePending;
  retry_unscheduled.expires_at = now + hours(1);
  Grant ended = MinimalGrant("grt_ended");
  ended.state = GrantState::kEnded;
  ended.expires_at = now - hours(1);
  JIT_ASSERT_OK(InsertGrants(store(), {expired_now, expires_later, retry_now,
                                       retry_later, retry_unscheduled, ended}));

  StatusOr<std::vector<Grant>> due = store().DueRevokes(now, 100);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(Ids(*due),
            (std::vector<std::string>{"grt_expired_now", "grt_retry_now",
                                      "grt_retry_unscheduled"}));
  EXPECT_EQ(Ids(*store().DueRevokes(now - milliseconds(1), 100)),
            (std::vector<std::string>{"grt_retry_unscheduled"}));
  EXPECT_EQ(Ids(*store().DueRevokes(now, 2)),
            (std::vector<std::string>{"grt_expired_now", "grt_retry_now"}));
  EXPECT_TRUE(store().DueRevokes(now, 0)->empty());
}

// Expired active, due retry, unscheduled retry: due. Not due: one expiring
// later, one retrying later, an ended one.
Status InsertDueMix(Store& store, SystemTime now) {
  Grant expired_now = MinimalGrant("grt_expired_now");
  expired_now.expires_at = now;
  Grant expires_later = MinimalGrant("grt_expires_later");
  expires_later.expires_at = now + milliseconds(1);
  Grant retry_now = MinimalGrant("grt_retry_now");
  retry_now.state = GrantState::kRevokePending;
  retry_now.expires_at = now - hours(1);
  retry_now.next_attempt_at = now;
  Grant retry_later = MinimalGrant("grt_retry_later");
  retry_later.state = GrantState::kRevokePending;
  retry_later.next_attempt_at = now + milliseconds(1);
  Grant retry_unscheduled = MinimalGrant("grt_retry_unscheduled");
  retry_unscheduled.state = GrantState::kRevokePending;
  Grant ended = MinimalGrant("grt_ended");
  ended.state = GrantState::kEnded;
  ended.expires_at = now - hours(1);
  return InsertGrants(store, {expired_now, expires_later, retry_now,
                              retry_later, retry_unscheduled, ended});
}

TEST_P(StoreContractTest, ClaimTakesWhatIsDueOnceAndMarksIt) {
  const SystemTime now = kT0 + hours(2);
  const milliseconds lease = seconds(30);
  JIT_ASSERT_OK(InsertDueMix(store(), now));

  StatusOr<std::vector<Grant>> claimed =
      store().ClaimDueRevokes(now, 100, lease);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_EQ(Ids(*claimed),
            (std::vector<std::string>{"grt_expired_now", "grt_retry_now",
                                      "grt_retry_unscheduled"}));
  for (const Grant& g : *claimed) {
    EXPECT_EQ(g.generation, 1) << g.id;
    EXPECT_EQ(g.next_attempt_at, now + lease) << g.id;
    StatusOr<Grant> stored = store().GetGrant(g.id);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->generation, 1) << g.id;
    EXPECT_EQ(stored->next_attempt_at, now + lease) << g.id;
    EXPECT_EQ(stored->state, g.state) << g.id;
  }
  // Held: nobody else gets them, at the same time or just before the lease
  // runs out (then only what became due since); untouched grants keep
  // their generation.
  EXPECT_TRUE(store().ClaimDueRevokes(now, 100, lease)->empty());
  EXPECT_EQ(store().GetGrant("grt_expires_later")->generation, 0);
  EXPECT_EQ(
      Ids(*store().ClaimDueRevokes(now + lease - milliseconds(1), 100, lease)),
      (std::vector<std::string>{"grt_expires_later", "grt_retry_later"}));
  EXPECT_EQ(store().GetGrant("grt_ended")->generation, 0);
  EXPECT_TRUE(store().ClaimDueRevokes(now, 0, lease)->empty());
}

TEST_P(StoreContractTest, TwoClaimersGetDisjointSets) {
  const SystemTime now = kT0 + hours(2);
  JIT_ASSERT_OK(InsertDueMix(store(), now));
  StatusOr<std::vector<Grant>> first =
      store().ClaimDueRevokes(now, 2, hours(1));
  StatusOr<std::vector<Grant>> second =
      store().ClaimDueRevokes(now, 100, hours(1));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(Ids(*first),
            (std::vector<std::string>{"grt_expired_now", "grt_retry_now"}));
  EXPECT_EQ(Ids(*second), (std::vector<std::string>{"grt_retry_unscheduled"}));
}

TEST_P(StoreContractTest, ConcurrentClaimersTakeEachGrantOnce) {
  const SystemTime now = kT0 + hours(2);
  constexpr int kGrants = 60;
  std::vector<Grant> grants;
  for (int i = 0; i < kGrants; ++i) {
    Grant g = MinimalGrant("grt_due_" + std::to_string(i));
    g.expires_at = now - seconds(i);
    grants.push_back(g);
  }
  JIT_ASSERT_OK(InsertGrants(store(), grants));
  constexpr int kClaimers = 4;
  std::vector<std::vector<std::string>> got(kClaimers);
  std::vector<std::thread> claimers;
  for (int c = 0; c < kClaimers; ++c) {
    claimers.emplace_back([&, c] {
      for (int round = 0; round < kGrants; ++round) {  // bounded
        StatusOr<std::vector<Grant>> batch =
            store().ClaimDueRevokes(now, 3, hours(1));
        if (!batch.ok() || batch->empty()) return;
        for (const Grant& g : *batch) got[c].push_back(g.id);
      }
    });
  }
  for (std::thread& t : claimers) t.join();
  std::multiset<std::string> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kGrants));
  for (const Grant& g : grants) EXPECT_EQ(all.count(g.id), 1u) << g.id;
}

TEST_P(StoreContractTest, ExpiredClaimIsClaimableAgain) {
  const SystemTime now = kT0 + hours(2);
  const milliseconds lease = seconds(1);
  JIT_ASSERT_OK(InsertDueMix(store(), now));
  ASSERT_EQ(store().ClaimDueRevokes(now, 100, lease)->size(), 3u);
  StatusOr<std::vector<Grant>> again =
      store().ClaimDueRevokes(now + lease, 100, lease);
  ASSERT_TRUE(again.ok());
  // What became due at now + 1 ms is due by then as well.
  EXPECT_EQ(Ids(*again),
            (std::vector<std::string>{"grt_expired_now", "grt_expires_later",
                                      "grt_retry_now", "grt_retry_later",
                                      "grt_retry_unscheduled"}));
  EXPECT_EQ(store().GetGrant("grt_expired_now")->generation, 2);
  EXPECT_EQ(store().GetGrant("grt_retry_later")->generation, 1);
}

TEST_P(StoreContractTest, ClaimFencesWritersThatReadBeforeIt) {
  const SystemTime now = kT0 + hours(2);
  Grant g = MinimalGrant("grt_fenced");
  g.expires_at = now;
  JIT_ASSERT_OK(InsertGrants(store(), {g}));
  StatusOr<std::vector<Grant>> claimed =
      store().ClaimDueRevokes(now, 10, seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);

  // A stale writer (read generation 0 before the claim) loses.
  Grant stale = g;
  stale.state = GrantState::kRevokePending;
  stale.generation = 1;
  ChangeSet lost;
  lost.grants.push_back({stale, GrantState::kActive});
  EXPECT_EQ(store().Commit(lost).code(), StatusCode::kAborted);
  // The claimer's write wins, and ending it releases the claim's meaning.
  Grant ending = claimed->front();
  ending.state = GrantState::kRevokePending;
  ending.generation = claimed->front().generation + 1;
  ending.next_attempt_at = now + seconds(30);
  ChangeSet won;
  won.grants.push_back({ending, GrantState::kActive});
  JIT_ASSERT_OK(store().Commit(won));
  EXPECT_TRUE(store().ClaimDueRevokes(now, 10, seconds(30))->empty());
  EXPECT_EQ(Ids(*store().ClaimDueRevokes(now + seconds(30), 10, seconds(30))),
            (std::vector<std::string>{"grt_fenced"}));
}

TEST_P(StoreContractTest, DueActivationsIncludeNowAndExcludeLater) {
  const SystemTime now = kT0 + hours(2);
  Request no_start = MinimalRequest("req_no_start");
  no_start.state = RequestState::kApproved;
  Request starts_now = MinimalRequest("req_starts_now");
  starts_now.state = RequestState::kApproved;
  starts_now.start_at = now;
  Request starts_later = MinimalRequest("req_starts_later");
  starts_later.state = RequestState::kApproved;
  starts_later.start_at = now + milliseconds(1);
  Request pending = MinimalRequest("req_pending");
  Request active = MinimalRequest("req_active");
  active.state = RequestState::kActive;
  JIT_ASSERT_OK(InsertRequests(
      store(), {no_start, starts_now, starts_later, pending, active}));

  StatusOr<std::vector<Request>> due = store().DueActivations(now, 100);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(Ids(*due),
            (std::vector<std::string>{"req_no_start", "req_starts_now"}));
  EXPECT_EQ(Ids(*store().DueActivations(now, 1)),
            (std::vector<std::string>{"req_no_start"}));
}

TEST_P(StoreContractTest, DueTimeoutsIncludeNowAndExcludeLater) {
  const SystemTime now = kT0 + hours(2);
  Request deadline_now = MinimalRequest("req_deadline_now");
  deadline_now.approval_deadline = now;
  Request deadline_later = MinimalRequest("req_deadline_later");
  deadline_later.approval_deadline = now + milliseconds(1);
  Request no_deadline = MinimalRequest("req_no_deadline");
  Request approved = MinimalRequest("req_approved");
  approved.state = RequestState::kApproved;
  approved.approval_deadline = now - hours(1);
  JIT_ASSERT_OK(InsertRequests(
      store(), {deadline_now, deadline_later, no_deadline, approved}));

  StatusOr<std::vector<Request>> due = store().DueTimeouts(now, 100);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(Ids(*due), (std::vector<std::string>{"req_deadline_now"}));
  EXPECT_TRUE(store().DueTimeouts(now - milliseconds(1), 100)->empty());
}

TEST_P(StoreContractTest, ActiveGrantsAreExactlyTheActiveOnes) {
  Grant active = MinimalGrant("grt_active");
  Grant past_expiry = MinimalGrant("grt_past_expiry");  // not yet revoked
  past_expiry.expires_at = kT0 - hours(1);
  Grant pending = MinimalGrant("grt_pending");
  pending.state = GrantState::kRevokePending;
  Grant ended = MinimalGrant("grt_ended");
  ended.state = GrantState::kEnded;
  JIT_ASSERT_OK(InsertGrants(store(), {active, pending, past_expiry, ended}));
  StatusOr<std::vector<Grant>> grants = store().ActiveGrants();
  ASSERT_TRUE(grants.ok());
  EXPECT_EQ(Ids(*grants),
            (std::vector<std::string>{"grt_active", "grt_past_expiry"}));
}

TEST_P(StoreContractTest, RequestsOfGrantAreItsActiveRequests) {
  Request original = MinimalRequest("req_original");
  original.state = RequestState::kActive;
  original.grant_id = "grt_1";
  Request extension = MinimalRequest("req_extension");
  extension.state = RequestState::kActive;
  extension.grant_id = "grt_1";
  extension.extends = "grt_1";
  Request ended = MinimalRequest("req_ended");
  ended.state = RequestState::kExpired;
  ended.grant_id = "grt_1";
  Request other = MinimalRequest("req_other");
  other.state = RequestState::kActive;
  other.grant_id = "grt_2";
  JIT_ASSERT_OK(InsertRequests(store(), {original, ended, extension, other}));
  StatusOr<std::vector<Request>> requests = store().RequestsOfGrant("grt_1");
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ(Ids(*requests),
            (std::vector<std::string>{"req_original", "req_extension"}));
  EXPECT_TRUE(store().RequestsOfGrant("grt_none")->empty());
}

// ---- Lists and pagination -------------------------------------------------

std::vector<std::string> AllRequestIds(Store& store, RequestFilter f,
                                       int* pages) {
  std::vector<std::string> ids;
  *pages = 0;
  while (*pages < 1000) {
    StatusOr<Page<Request>> page = store.ListRequests(f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    ++*pages;
    EXPECT_LE(static_cast<int>(page->items.size()), f.limit);
    for (const Request& r : page->items) ids.push_back(r.id);
    if (!page->next_cursor) break;
    EXPECT_EQ(static_cast<int>(page->items.size()), f.limit);
    f.after = *page->next_cursor;
  }
  return ids;
}

TEST_P(StoreContractTest, RequestPagesHaveNoDuplicatesOrGaps) {
  std::vector<Request> requests;
  std::vector<std::string> all, bobs, approved;
  for (int i = 0; i < 23; ++i) {
    // Ids not in creation order, so ordering by id would show.
    Request r = MinimalRequest("req_" + std::to_string((i * 7) % 23 + 100));
    r.subject = i % 2 == 0 ? "alice" : "bob";
    r.state = i % 3 == 0 ? RequestState::kApproved : RequestState::kPending;
    requests.push_back(r);
    all.push_back(r.id);
    if (r.subject == "bob") bobs.push_back(r.id);
    if (r.state == RequestState::kApproved) approved.push_back(r.id);
  }
  JIT_ASSERT_OK(InsertRequests(store(), requests));

  int pages = 0;
  RequestFilter f;
  f.limit = 5;
  EXPECT_EQ(AllRequestIds(store(), f, &pages), all);
  EXPECT_EQ(pages, 5);
  f.subject = "bob";
  EXPECT_EQ(AllRequestIds(store(), f, &pages), bobs);
  f.subject.reset();
  f.state = RequestState::kApproved;
  f.limit = 4;
  EXPECT_EQ(AllRequestIds(store(), f, &pages), approved);  // 8 items
  EXPECT_EQ(pages, 2);  // an exactly full last page has no cursor
}

TEST_P(StoreContractTest, GrantPagesFilterBySubjectAndActivity) {
  std::vector<Grant> grants;
  std::vector<std::string> alice_live;
  for (int i = 0; i < 12; ++i) {
    Grant g = MinimalGrant("grt_" + std::to_string(50 - i));
    g.subject = i % 3 == 0 ? "bob" : "alice";
    if (i % 4 == 1) g.state = GrantState::kEnded;
    if (i % 4 == 2) g.state = GrantState::kRevokePending;
    grants.push_back(g);
    if (g.subject == "alice" && g.state != GrantState::kEnded) {
      alice_live.push_back(g.id);
    }
  }
  JIT_ASSERT_OK(InsertGrants(store(), grants));

  GrantFilter f;
  f.subject = "alice";
  f.active_only = true;
  f.limit = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 100; ++pages) {
    StatusOr<Page<Grant>> page = store().ListGrants(f);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const Grant& g : page->items) seen.push_back(g.id);
    if (!page->next_cursor) break;
    f.after = *page->next_cursor;
  }
  EXPECT_EQ(seen, alice_live);
  StatusOr<Page<Grant>> everything = store().ListGrants(GrantFilter{});
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->items.size(), 12u);
  EXPECT_FALSE(everything->next_cursor.has_value());
}

TEST_P(StoreContractTest, PageLimitIsClampedToOneThroughOneThousand) {
  std::vector<Request> requests;
  for (int i = 0; i < kMaxPageLimit + 1; ++i) {
    requests.push_back(MinimalRequest("req_" + std::to_string(i)));
  }
  JIT_ASSERT_OK(InsertRequests(store(), requests));
  for (int limit : {0, -5}) {
    RequestFilter f;
    f.limit = limit;
    StatusOr<Page<Request>> page = store().ListRequests(f);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 1u);
    EXPECT_TRUE(page->next_cursor.has_value());
  }
  RequestFilter f;
  f.limit = 5000;
  StatusOr<Page<Request>> page = store().ListRequests(f);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), static_cast<size_t>(kMaxPageLimit));
  ASSERT_TRUE(page->next_cursor.has_value());
  f.after = *page->next_cursor;
  page = store().ListRequests(f);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "req_1000");
}

TEST_P(StoreContractTest, MalformedCursorIsInvalidArgument) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  for (const char* cursor : {"garbage", "c", "c-1", "c0", "12", "c12x", " c1",
                             "c99999999999999999999999"}) {
    RequestFilter rf;
    rf.after = cursor;
    EXPECT_EQ(store().ListRequests(rf).status().code(),
              StatusCode::kInvalidArgument)
        << cursor;
    GrantFilter gf;
    gf.after = cursor;
    EXPECT_EQ(store().ListGrants(gf).status().code(),
              StatusCode::kInvalidArgument)
        << cursor;
  }
}

// ---- Idempotency (THREATS T9) -------------------------------------------

IdempotentResponse MakeResponse(const std::string& body) {
  IdempotentResponse r;
  r.key = "key-1";
  r.principal = "bob";
  r.route = "POST /v1/requests/{id}/approve";
  r.http_status = 200;
  r.body = body;
  r.at = kT0;
  return r;
}

TEST_P(StoreContractTest, FirstIdempotentResponseWins) {
  EXPECT_EQ(store()
                .GetIdempotent("bob", "POST /v1/requests/{id}/approve", "key-1")
                .status()
                .code(),
            StatusCode::kNotFound);
  JIT_ASSERT_OK(store().PutIdempotent(MakeResponse(R"({"state":"approved"})")));
  IdempotentResponse second = MakeResponse(R"({"state":"denied"})");
  second.http_status = 409;
  EXPECT_EQ(store().PutIdempotent(second).code(), StatusCode::kAlreadyExists);

  StatusOr<IdempotentResponse> got =
      store().GetIdempotent("bob", "POST /v1/requests/{id}/approve", "key-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->key, "key-1");
  EXPECT_EQ(got->principal, "bob");
  EXPECT_EQ(got->route, "POST /v1/requests/{id}/approve");
  EXPECT_EQ(got->http_status, 200);
  EXPECT_EQ(got->body, R"({"state":"approved"})");
  EXPECT_EQ(ToUnixMillis(got->at), ToUnixMillis(kT0));
}

TEST_P(StoreContractTest, IdempotencyKeysAreScopedByPrincipalAndRoute) {
  JIT_ASSERT_OK(store().PutIdempotent(MakeResponse("first")));
  IdempotentResponse other_principal = MakeResponse("carol's");
  other_principal.principal = "carol";
  JIT_EXPECT_OK(store().PutIdempotent(other_principal));
  IdempotentResponse other_route = MakeResponse("deny");
  other_route.route = "POST /v1/requests/{id}/deny";
  JIT_EXPECT_OK(store().PutIdempotent(other_route));
  EXPECT_EQ(
      store()
          .GetIdempotent("carol", "POST /v1/requests/{id}/approve", "key-1")
          ->body,
      "carol's");
  EXPECT_EQ(store()
                .GetIdempotent("bob", "POST /v1/requests/{id}/deny", "key-1")
                ->body,
            "deny");
}

// ---- Hashed credentials (machine tokens, break-glass codes) --------------

Credential MakeCredential(CredentialKind kind, const std::string& id,
                          const std::string& secret) {
  Credential c;
  c.kind = kind;
  c.id = id;
  c.secret_sha256 = secret;
  c.created_by = "admin";
  c.created_at = kT0;
  return c;
}

Status InsertCredential(Store& store, const Credential& c) {
  ChangeSet cs;
  cs.credentials.push_back({c, CredentialOp::kInsert});
  cs.events.push_back(MakeEvent(AuditType::kTokenCreated, c.created_by));
  return store.Commit(cs);
}

Status EndCredential(Store& store, Credential c, const std::string& by) {
  c.ended_at = kT0 + minutes(5);
  c.ended_by = by;
  ChangeSet cs;
  cs.credentials.push_back({c, CredentialOp::kEnd});
  cs.events.push_back(MakeEvent(AuditType::kTokenRevoked, by));
  return store.Commit(cs);
}

TEST_P(StoreContractTest, CredentialRoundTripsEveryField) {
  Credential c = MakeCredential(CredentialKind::kMachineToken, "ci-deploy",
                                std::string(64, 'a'));
  c.groups = {"ci", "gr\"oup with 'quotes'"};
  c.created_at = kT0 + std::chrono::microseconds(1500);  // dropped: 1.5 ms
  c.expires_at = kT0 + hours(24 * 30);
  c.note = "deploys web; owner team-web";
  JIT_ASSERT_OK(InsertCredential(store(), c));

  StatusOr<Credential> got =
      store().GetCredential(CredentialKind::kMachineToken, "ci-deploy");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->kind, CredentialKind::kMachineToken);
  EXPECT_EQ(got->id, "ci-deploy");
  EXPECT_EQ(got->secret_sha256, c.secret_sha256);
  EXPECT_EQ(got->groups, c.groups);
  EXPECT_EQ(got->created_by, "admin");
  EXPECT_EQ(ToUnixMillis(got->created_at), ToUnixMillis(kT0) + 1);
  EXPECT_EQ(Millis(got->expires_at), Millis(c.expires_at));
  EXPECT_FALSE(got->ended_at.has_value());
  EXPECT_EQ(got->ended_by, "");
  EXPECT_EQ(got->note, c.note);
  EXPECT_EQ(HeadSeq(store()), 1);  // committed with its event
}

TEST_P(StoreContractTest, CredentialLookupsByIdSecretAndKind) {
  JIT_ASSERT_OK(
      InsertCredential(store(), MakeCredential(CredentialKind::kMachineToken,
                                               "t1", std::string(64, '1'))));
  JIT_ASSERT_OK(
      InsertCredential(store(), MakeCredential(CredentialKind::kBreakglassCode,
                                               "bgc_1", std::string(64, '2'))));
  JIT_ASSERT_OK(
      InsertCredential(store(), MakeCredential(CredentialKind::kMachineToken,
                                               "t2", std::string(64, '3'))));

  EXPECT_EQ(store().FindCredentialBySecret(std::string(64, '2'))->id, "bgc_1");
  EXPECT_EQ(
      store().FindCredentialBySecret(std::string(64, '9')).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(store()
                .GetCredential(CredentialKind::kBreakglassCode, "t1")
                .status()
                .code(),
            StatusCode::kNotFound);
  StatusOr<std::vector<Credential>> tokens =
      store().ListCredentials(CredentialKind::kMachineToken);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(Ids(*tokens), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(store().ListCredentials(CredentialKind::kBreakglassCode)->size(),
            1u);
}

TEST_P(StoreContractTest, TotpCredentialsKeepTheirSealedSecret) {
  Credential pending = MakeCredential(CredentialKind::kTotpPending, "alice:01",
                                      std::string(64, '4'));
  pending.created_by = "alice";
  pending.sealed_secret = "v1.c2VhbGVkIGJ5dGVz";
  pending.expires_at = kT0 + minutes(10);
  JIT_ASSERT_OK(InsertCredential(store(), pending));
  Credential active = pending;
  active.kind = CredentialKind::kTotp;
  active.secret_sha256 = std::string(64, '5');
  active.expires_at = std::nullopt;
  JIT_ASSERT_OK(InsertCredential(store(), active));
  Credential used = MakeCredential(CredentialKind::kTotpUsed, "alice@1234",
                                   std::string(64, '6'));
  JIT_ASSERT_OK(InsertCredential(store(), used));

  StatusOr<Credential> got =
      store().GetCredential(CredentialKind::kTotp, "alice:01");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->sealed_secret, "v1.c2VhbGVkIGJ5dGVz");
  EXPECT_EQ(got->created_by, "alice");
  StatusOr<std::vector<Credential>> pendings =
      store().ListCredentials(CredentialKind::kTotpPending);
  ASSERT_TRUE(pendings.ok());
  ASSERT_EQ(pendings->size(), 1u);
  EXPECT_EQ((*pendings)[0].sealed_secret, pending.sealed_secret);
  EXPECT_EQ(Millis((*pendings)[0].expires_at), Millis(pending.expires_at));
  // A time step is used once: the second insert of the same id collides.
  used.secret_sha256 = std::string(64, '7');
  EXPECT_EQ(InsertCredential(store(), used).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store()
                .GetCredential(CredentialKind::kTotpUsed, "alice@1234")
                ->sealed_secret,
            "");
  // Ending keeps the sealed secret as it was.
  JIT_ASSERT_OK(EndCredential(store(), active, "admin"));
  EXPECT_EQ(
      store().GetCredential(CredentialKind::kTotp, "alice:01")->sealed_secret,
      "v1.c2VhbGVkIGJ5dGVz");
}

TEST_P(StoreContractTest, CredentialIdOrSecretCollisionIsAlreadyExists) {
  JIT_ASSERT_OK(
      InsertCredential(store(), MakeCredential(CredentialKind::kMachineToken,
                                               "t1", std::string(64, '1'))));
  EXPECT_EQ(
      InsertCredential(store(), MakeCredential(CredentialKind::kMachineToken,
                                               "t1", std::string(64, '2')))
          .code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(
      InsertCredential(store(), MakeCredential(CredentialKind::kMachineToken,
                                               "t2", std::string(64, '1')))
          .code(),
      StatusCode::kAlreadyExists);
  // The same id under another kind is another credential.
  JIT_EXPECT_OK(
      InsertCredential(store(), MakeCredential(CredentialKind::kBreakglassCode,
                                               "t1", std::string(64, '3'))));
  EXPECT_EQ(HeadSeq(store()), 2);  // the refused inserts wrote no event
}

TEST_P(StoreContractTest, EndingACredentialIsCompareAndSet) {
  Credential c = MakeCredential(CredentialKind::kBreakglassCode, "bgc_1",
                                std::string(64, '1'));
  JIT_ASSERT_OK(InsertCredential(store(), c));
  JIT_ASSERT_OK(EndCredential(store(), c, "alice"));
  StatusOr<Credential> got =
      store().GetCredential(CredentialKind::kBreakglassCode, "bgc_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Millis(got->ended_at), ToUnixMillis(kT0 + minutes(5)));
  EXPECT_EQ(got->ended_by, "alice");
  EXPECT_EQ(got->secret_sha256, c.secret_sha256);  // untouched

  EXPECT_EQ(EndCredential(store(), c, "bob").code(), StatusCode::kAborted);
  EXPECT_EQ(
      store().GetCredential(CredentialKind::kBreakglassCode, "bgc_1")->ended_by,
      "alice");
  Credential ghost = MakeCredential(CredentialKind::kBreakglassCode, "bgc_9",
                                    std::string(64, '9'));
  EXPECT_EQ(EndCredential(store(), ghost, "bob").code(), StatusCode::kAborted);
  EXPECT_EQ(HeadSeq(store()), 2);
}

TEST_P(StoreContractTest, LostCredentialEndRollsBackTheWholeChangeSet) {
  Credential c = MakeCredential(CredentialKind::kBreakglassCode, "bgc_1",
                                std::string(64, '1'));
  JIT_ASSERT_OK(InsertCredential(store(), c));
  JIT_ASSERT_OK(EndCredential(store(), c, "alice"));
  c.ended_at = kT0 + minutes(6);
  c.ended_by = "bob";
  ChangeSet cs;
  cs.requests.push_back({MinimalRequest("req_bg"), std::nullopt});
  cs.credentials.push_back({c, CredentialOp::kEnd});
  cs.events.push_back(MakeEvent(AuditType::kEmergencyUsed, "bob"));
  EXPECT_EQ(store().Commit(cs).code(), StatusCode::kAborted);
  EXPECT_EQ(store().GetRequest("req_bg").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(HeadSeq(store()), 2);
}

TEST_P(StoreContractTest, ExactlyOneOfRacingCredentialEndsWins) {
  constexpr int kThreads = 16;
  Credential c = MakeCredential(CredentialKind::kBreakglassCode, "bgc_1",
                                std::string(64, '1'));
  JIT_ASSERT_OK(InsertCredential(store(), c));
  std::vector<StatusCode> results(kThreads, StatusCode::kInternal);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Credential end = c;
      end.ended_at = kT0 + minutes(1);
      end.ended_by = "racer-" + std::to_string(i);
      ChangeSet cs;
      cs.requests.push_back(
          {MinimalRequest("req_" + std::to_string(i)), std::nullopt});
      cs.credentials.push_back({end, CredentialOp::kEnd});
      cs.events.push_back(MakeEvent(AuditType::kEmergencyUsed, end.ended_by));
      start.arrive_and_wait();
      results[i] = store().Commit(cs).code();
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(std::count(results.begin(), results.end(), StatusCode::kOk), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), StatusCode::kAborted),
            kThreads - 1);
  int winner = static_cast<int>(
      std::find(results.begin(), results.end(), StatusCode::kOk) -
      results.begin());
  EXPECT_EQ(
      store().GetCredential(CredentialKind::kBreakglassCode, "bgc_1")->ended_by,
      "racer-" + std::to_string(winner));
  StatusOr<Page<Request>> requests = store().ListRequests({});
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ(Ids(requests->items),
            (std::vector<std::string>{"req_" + std::to_string(winner)}));
  EXPECT_EQ(HeadSeq(store()), 2);
}

// ---- Emergency reviews ----------------------------------------------------

EmergencyReview MakeReview(const std::string& request_id) {
  EmergencyReview r;
  r.request_id = request_id;
  r.subject = "alice";
  r.person = "alice@example.com";
  r.code_id = "bgc_" + request_id;
  r.opened_at = kT0 + milliseconds(1234);
  return r;
}

Status OpenReview(Store& store, const EmergencyReview& r) {
  ChangeSet cs;
  cs.reviews.push_back({r, ReviewOp::kOpen});
  cs.events.push_back(MakeEvent(AuditType::kEmergencyUsed, r.subject));
  return store.Commit(cs);
}

Status SignOff(Store& store, EmergencyReview r, const std::string& by) {
  r.signed_off_by = by;
  r.signed_off_by_person = by + "@example.com";
  r.signed_off_at = kT0 + minutes(5) + milliseconds(7);
  r.comment = "checked: 'quoted' \"text\"";
  ChangeSet cs;
  cs.reviews.push_back({r, ReviewOp::kSignOff});
  cs.events.push_back(MakeEvent(AuditType::kEmergencyReviewed, by));
  return store.Commit(cs);
}

TEST_P(StoreContractTest, ReviewRoundTripsThroughOpenAndSignOff) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  EmergencyReview r = MakeReview("req_1");
  JIT_ASSERT_OK(OpenReview(store(), r));
  StatusOr<EmergencyReview> open = store().GetReview("req_1");
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->subject, "alice");
  EXPECT_EQ(open->person, "alice@example.com");
  EXPECT_EQ(open->code_id, "bgc_req_1");
  EXPECT_EQ(open->state, ReviewState::kOpen);
  EXPECT_EQ(open->opened_at, r.opened_at);
  EXPECT_FALSE(open->signed_off_at.has_value());

  JIT_ASSERT_OK(SignOff(store(), r, "carol"));
  StatusOr<EmergencyReview> done = store().GetReview("req_1");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, ReviewState::kSignedOff);
  EXPECT_EQ(done->signed_off_by, "carol");
  EXPECT_EQ(done->signed_off_by_person, "carol@example.com");
  EXPECT_EQ(done->signed_off_at, kT0 + minutes(5) + milliseconds(7));
  EXPECT_EQ(done->comment, "checked: 'quoted' \"text\"");
  EXPECT_EQ(done->subject, "alice");  // the sign-off writes only its fields
  EXPECT_EQ(store().GetReview("req_2").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, SecondReviewOfOneRequestIsAlreadyExists) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  JIT_ASSERT_OK(OpenReview(store(), MakeReview("req_1")));
  const int64_t head = HeadSeq(store());
  EXPECT_EQ(OpenReview(store(), MakeReview("req_1")).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(HeadSeq(store()), head);
}

TEST_P(StoreContractTest, SignOffOfMissingOrClosedReviewIsAborted) {
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  EXPECT_EQ(SignOff(store(), MakeReview("req_1"), "carol").code(),
            StatusCode::kAborted);
  JIT_ASSERT_OK(OpenReview(store(), MakeReview("req_1")));
  JIT_ASSERT_OK(SignOff(store(), MakeReview("req_1"), "carol"));
  const int64_t head = HeadSeq(store());
  EXPECT_EQ(SignOff(store(), MakeReview("req_1"), "dave").code(),
            StatusCode::kAborted);
  EXPECT_EQ(store().GetReview("req_1")->signed_off_by, "carol");
  EXPECT_EQ(HeadSeq(store()), head);
}

TEST_P(StoreContractTest, ExactlyOneOfRacingSignOffsWins) {
  constexpr int kThreads = 16;
  JIT_ASSERT_OK(InsertRequests(store(), {MinimalRequest("req_1")}));
  JIT_ASSERT_OK(OpenReview(store(), MakeReview("req_1")));
  std::vector<StatusCode> results(kThreads, StatusCode::kInternal);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] =
          SignOff(store(), MakeReview("req_1"), "racer-" + std::to_string(i))
              .code();
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(std::count(results.begin(), results.end(), StatusCode::kOk), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), StatusCode::kAborted),
            kThreads - 1);
  int winner = static_cast<int>(
      std::find(results.begin(), results.end(), StatusCode::kOk) -
      results.begin());
  EXPECT_EQ(store().GetReview("req_1")->signed_off_by,
            "racer-" + std::to_string(winner));
  EXPECT_EQ(HeadSeq(store()), 2);  // the open and the one sign-off
}

TEST_P(StoreContractTest, ReviewListsFilterByStateNewestFirst) {
  JIT_ASSERT_OK(
      InsertRequests(store(), {MinimalRequest("req_1"), MinimalRequest("req_2"),
                               MinimalRequest("req_3")}));
  for (const char* id : {"req_1", "req_2", "req_3"}) {
    JIT_ASSERT_OK(OpenReview(store(), MakeReview(id)));
  }
  JIT_ASSERT_OK(SignOff(store(), MakeReview("req_2"), "carol"));
  auto ids = [](const StatusOr<std::vector<EmergencyReview>>& rows) {
    std::vector<std::string> out;
    if (rows.ok()) {
      for (const EmergencyReview& r : *rows) out.push_back(r.request_id);
    }
    return out;
  };
  EXPECT_EQ(ids(store().ListReviews(ReviewState::kOpen, 100)),
            (std::vector<std::string>{"req_3", "req_1"}));
  EXPECT_EQ(ids(store().ListReviews(ReviewState::kSignedOff, 100)),
            (std::vector<std::string>{"req_2"}));
  EXPECT_EQ(ids(store().ListReviews(std::nullopt, 2)),
            (std::vector<std::string>{"req_3", "req_2"}));
  EXPECT_TRUE(ids(store().ListReviews(std::nullopt, 0)).empty());
}

}  // namespace
}  // namespace jit
