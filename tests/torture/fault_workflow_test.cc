// Fault injection through the workflow (DESIGN invariants 2 and 4, THREATS
// T11): the real services over a FaultyStore (on a memory store) and a
// FaultyConnector (on the fake connector), time on a FakeClock.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "jit/audit/verifier.h"
#include "jit/connectors/fake/fake_connector.h"
#include "jit/connectors/faulty/faulty_connector.h"
#include "jit/expiry/expiry_scheduler.h"
#include "jit/storage/faulty/faulty_store.h"
#include "jit/storage/memory/memory_store.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const PolicySnapshot> Snapshot() {
  auto snap = std::make_shared<PolicySnapshot>();
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::Load(YAML::Load(kRigConfig), "rig.yaml");
  if (set.ok()) snap->policies = *set;
  snap->directory["alice"] = Subject{"alice", "alice", {"dev"}};
  snap->directory["bob"] = Subject{"bob", "bob", {"sre"}};
  snap->directory["gate"] = Subject{"gate", "gate", {"hosts"}};
  return snap;
}

// Passes every call to `inner`; while closed, Grant calls wait at a gate
// (bounded by their deadline) until Open(): lets a test put another
// operation between a commit and the target call that follows it.
class GatedConnector final : public Connector {
 public:
  explicit GatedConnector(std::unique_ptr<Connector> inner)
      : inner_(std::move(inner)) {}
  Status Grant(const GrantSpec& g, Deadline deadline) override {
    std::unique_lock lock(mu_);
    ++arrived_;
    changed_.notify_all();
    changed_.wait_until(lock, deadline, [&] { return open_; });
    lock.unlock();
    return inner_->Grant(g, deadline);
  }
  Status Revoke(const GrantSpec& g, Deadline deadline) override {
    return inner_->Revoke(g, deadline);
  }
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override {
    return inner_->IsActive(g, deadline);
  }
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override {
    return inner_->ListSessions(g, deadline);
  }
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override {
    return inner_->KillSessions(g, deadline);
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
    arrived_ = 0;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Bounded: false when no Grant call arrived within `limit`.
  bool WaitForGrantCall(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return arrived_ > 0; });
  }

 private:
  std::unique_ptr<Connector> inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  int arrived_ = 0;   // guarded by mu_
  bool open_ = true;  // guarded by mu_
};

// The workflow wired as server/ does, with fault injection at both doors.
class FaultRig {
 public:
  FaultRig()
      : clock(RigStart()),
        store(memory),
        policies(Snapshot()),
        deps{store, policies, connectors, index, metrics, clock},
        lifecycle(deps),
        requests(deps, lifecycle),
        scheduler(store, lifecycle, requests, clock) {
    auto fake_owned = std::make_unique<FakeConnector>();
    fake = fake_owned.get();
    auto faulty_owned =
        std::make_unique<FaultyConnector>(std::move(fake_owned));
    connector = faulty_owned.get();
    auto gate_owned = std::make_unique<GatedConnector>(std::move(faulty_owned));
    gate = gate_owned.get();
    connectors.Add("demo", std::move(gate_owned));
  }

  Principal P(const std::string& name) {
    Principal p;
    p.subject = policies.Get()->directory.at(name);
    p.enforcer = name == "gate";
    return p;
  }
  StatusOr<RequestView> Ask(const std::string& entitlement, Duration d) {
    CreateRequestInput in;
    in.entitlement = entitlement;
    in.duration = d;
    in.justification = std::string(kGoodReason);
    return requests.Create(P("alice"), in);
  }
  bool Allowed(const std::string& entitlement) {
    StatusOr<CheckResult> r = requests.Check(P("gate"), "alice", entitlement);
    return r.ok() && r->allowed;
  }
  // Wall and monotonic time move together (no clock jump).
  void AdvanceTo(SystemTime t) { clock.Advance(t - clock.Now()); }
  int64_t AuditSeq() { return memory.GetAuditHead()->seq; }
  std::vector<AuditEvent> Audit() { return *memory.ReadAudit(0, 100000); }
  bool AuditVerifies() {
    ChainVerifier v;
    for (const AuditEvent& e : Audit()) v.Add(e);
    return v.Result().ok;
  }
  size_t StoredRequests() {
    RequestFilter f;
    f.limit = kMaxPageLimit;
    return memory.ListRequests(f)->items.size();
  }

  FakeClock clock;
  MemoryStore memory;
  FaultyStore store;
  PolicyHolder policies;
  ConnectorSet connectors;
  FakeConnector* fake = nullptr;         // owned by connectors
  FaultyConnector* connector = nullptr;  // owned by connectors
  GatedConnector* gate = nullptr;        // owned by connectors
  GrantIndex index;
  Metrics metrics;
  WorkflowDeps deps;
  GrantLifecycle lifecycle;
  RequestService requests;
  ExpiryScheduler scheduler;
};

TEST(FaultWorkflowTest,
     UnwritableAuditRefusesEveryChangeAndLeavesNothingHalfDone) {
  FaultRig rig;
  StatusOr<RequestView> held = rig.Ask("dev-shell", 30min);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  const std::string grant = held->request.grant_id;
  StatusOr<RequestView> waiting = rig.Ask("db-write", 30min);
  ASSERT_TRUE(waiting.ok());
  const std::string pending = waiting->request.id;
  const int64_t seq = rig.AuditSeq();
  const size_t requests = rig.StoredRequests();

  rig.store.commits().Set({.after = 0});  // every audit append fails
  EXPECT_EQ(rig.Ask("dev-shell", 10min).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(rig.requests.Approve(rig.P("bob"), pending, "ok").status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(rig.requests.Deny(rig.P("bob"), pending, "no").status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(
      rig.requests.EndGrant(rig.P("alice"), grant, "done").status().code(),
      StatusCode::kUnavailable);
  EXPECT_EQ(rig.requests
                .Extend(rig.P("alice"), grant,
                        ExtendInput{10min, std::string(kGoodReason)})
                .status()
                .code(),
            StatusCode::kUnavailable);

  // Nothing half done: no new row, no new event, the target as before, the
  // ended-but-not-recorded grant still allowed (its end never happened).
  EXPECT_EQ(rig.AuditSeq(), seq);
  EXPECT_EQ(rig.StoredRequests(), requests);
  EXPECT_EQ(rig.fake->HeldGrants(), std::vector<std::string>{grant});
  EXPECT_EQ(rig.memory.GetRequest(pending)->state, RequestState::kPending);
  EXPECT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kActive);
  EXPECT_EQ(rig.memory.GetGrant(grant)->expires_at, RigStart() + 30min);
  EXPECT_TRUE(rig.Allowed("dev-shell"));

  // Once the fault clears, the same calls work.
  rig.store.commits().Clear();
  StatusOr<RequestView> approved =
      rig.requests.Approve(rig.P("bob"), pending, "ok");
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->request.state, RequestState::kActive);
  EXPECT_TRUE(rig.fake->Holds(approved->request.grant_id));
  ASSERT_TRUE(rig.requests.EndGrant(rig.P("alice"), grant, "done").ok());
  EXPECT_FALSE(rig.fake->Holds(grant));
  EXPECT_TRUE(rig.AuditVerifies());
}

TEST(FaultWorkflowTest, GrantTimingOutAfterTheTargetActedFailsAndCleansUp) {
  FaultRig rig;
  rig.connector->grants().Set({.after = 0,
                               .code = StatusCode::kDeadlineExceeded,
                               .apply_then_fail = true});
  StatusOr<RequestView> asked = rig.Ask("dev-shell", 30min);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->request.state, RequestState::kFailed);
  const std::string grant = asked->request.grant_id;
  EXPECT_FALSE(rig.Allowed("dev-shell"));
  EXPECT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kRevokePending);
  // The half-applied grant is taken away by the next pass.
  rig.scheduler.RunDue(rig.clock.Now());
  EXPECT_FALSE(rig.fake->Holds(grant));
  EXPECT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kEnded);
  EXPECT_TRUE(rig.AuditVerifies());
}

TEST(FaultWorkflowTest, TargetTooSlowToGrantFailsTheRequestWithinTheTimeout) {
  FaultRig rig;
  rig.deps.connector_timeout = 50ms;
  rig.connector->grants().Set({.latency = 10s});
  StatusOr<RequestView> asked = rig.Ask("dev-shell", 30min);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->request.state, RequestState::kFailed);
  rig.scheduler.RunDue(rig.clock.Now());
  EXPECT_TRUE(rig.fake->HeldGrants().empty());
  EXPECT_FALSE(rig.Allowed("dev-shell"));
}

TEST(FaultWorkflowTest,
     FailingRevokeStaysPendingBacksOffAlertsAfterFiveMinutes) {
  FaultRig rig;
  StatusOr<RequestView> asked = rig.Ask("dev-shell", 10min);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  const std::string grant = asked->request.grant_id;
  rig.connector->revokes().Set({.after = 0});  // the target is down
  rig.clock.Advance(10min);
  rig.scheduler.RunDue(rig.clock.Now());
  const SystemTime pending_since = rig.clock.Now();
  ASSERT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kRevokePending);

  int attempts = 1;
  bool alerted = false;
  for (int round = 0; round < 40 && !alerted; ++round) {
    Grant g = *rig.memory.GetGrant(grant);
    ASSERT_EQ(g.state, GrantState::kRevokePending);
    ASSERT_EQ(g.revoke_attempts, attempts);
    ASSERT_TRUE(g.next_attempt_at.has_value());
    EXPECT_EQ(*g.next_attempt_at - rig.clock.Now(), RevokeBackoff(attempts));
    EXPECT_FALSE(rig.Allowed("dev-shell"));  // denied throughout (T11)
    EXPECT_TRUE(rig.fake->Holds(grant));
    // Just before the retry is due nothing happens; at it, one attempt.
    rig.AdvanceTo(*g.next_attempt_at - 1ms);
    rig.scheduler.RunDue(rig.clock.Now());
    EXPECT_EQ(rig.memory.GetGrant(grant)->revoke_attempts, attempts);
    rig.AdvanceTo(*g.next_attempt_at);
    rig.scheduler.RunDue(rig.clock.Now());
    ++attempts;
    const AuditEvent last = rig.Audit().back();
    ASSERT_EQ(last.type, AuditType::kGrantRevokeFailed);
    bool alert = nlohmann::json::parse(last.data).value("alert", false);
    EXPECT_EQ(alert, rig.clock.Now() - pending_since >= kRevokeAlertAfter)
        << "attempt " << attempts;
    alerted = alert;
  }
  ASSERT_TRUE(alerted);

  rig.connector->revokes().Clear();  // the target is back
  rig.AdvanceTo(*rig.memory.GetGrant(grant)->next_attempt_at);
  rig.scheduler.RunDue(rig.clock.Now());
  EXPECT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kEnded);
  EXPECT_FALSE(rig.fake->Holds(grant));
  EXPECT_TRUE(rig.AuditVerifies());
}

// An extension commits, then moves the target's expiry with a Grant call.
// A revoke that lands in between must not be undone by that late call: the
// target must not hold a grant jitd has ended.
TEST(FaultWorkflowTest, RevokeBetweenExtensionCommitAndTargetCallStaysRevoked) {
  FaultRig rig;
  StatusOr<RequestView> asked = rig.Ask("dev-shell", 30min);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  const std::string grant = asked->request.grant_id;
  ASSERT_TRUE(rig.fake->Holds(grant));
  rig.gate->Close();
  StatusOr<RequestView> extended = InternalError("not run");
  std::thread extend([&] {
    extended = rig.requests.Extend(
        rig.P("alice"), grant, ExtendInput{10min, std::string(kGoodReason)});
  });
  // The extension is committed and its target call waits at the gate.
  bool at_gate = rig.gate->WaitForGrantCall(10s);
  if (at_gate) {
    EXPECT_EQ(rig.memory.GetGrant(grant)->expires_at, RigStart() + 40min);
    StatusOr<Grant> ended =
        rig.requests.EndGrant(rig.P("alice"), grant, "done");
    EXPECT_TRUE(ended.ok()) << ended.status().ToString();
    EXPECT_FALSE(rig.fake->Holds(grant));
  }
  rig.gate->Open();
  extend.join();
  ASSERT_TRUE(at_gate);
  EXPECT_TRUE(extended.ok()) << extended.status().ToString();
  EXPECT_EQ(rig.memory.GetGrant(grant)->state, GrantState::kEnded);
  EXPECT_FALSE(rig.fake->Holds(grant))
      << "the extension's late target call granted an ended grant again";
  EXPECT_FALSE(rig.Allowed("dev-shell"));
}

}  // namespace
}  // namespace jit
