#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jit/audit/event.h"
#include "jit/audit/verifier.h"
#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/connectors/fake/fake_connector.h"
#include "jit/expiry/expiry_scheduler.h"
#include "jit/storage/memory/memory_store.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/grant_index.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/metrics.h"
#include "jit/workflow/principal.h"
#include "jit/workflow/request_service.h"

namespace jit {

// 2026-11-23T10:00:00Z, a Monday: where every rig's FakeClock starts.
SystemTime RigStart();

// The rig's config. Entitlements (all on connector "demo"):
//   dev-shell      policy dev-auto: group dev, auto-approved, max 1h,
//                  justification >= 10 chars;
//   db-write       policy db-write-one-sre: group dev, 1 approval by sre,
//                  max 1h, justification >= 15 chars, approval_timeout 1h;
//   prod-admin     policy admin-two-sre: group dev, 2 distinct sre approvers,
//                  max 30m;
//   break-glass    policy break-glass: group dev, 1 approval by sre,
//                  emergency allowed (max 15m, notify sec-oncall).
// Directory: alice (dev), bob, carol, dave (sre), mallory (no groups),
// alice-alt (person alice, sre), erin (secops = admin), olga (audit =
// auditor), gate (hosts = enforcer).
extern const char* const kRigConfig;

// A justification every policy of kRigConfig accepts.
inline constexpr std::string_view kGoodReason =
    "rotate the replica credentials, OPS-42";

// Everything the workflow needs, wired as server/ would, over a memory
// store, a fake connector named "demo" and a FakeClock. Not thread-safe to
// build; the services it holds are as thread-safe as in production.
class TestRig {
 public:
  TestRig();
  TestRig(const TestRig&) = delete;
  TestRig& operator=(const TestRig&) = delete;

  // The principal called `name` in the current directory, roles from its
  // groups (secops -> admin, audit -> auditor, hosts -> enforcer). A name
  // not in the directory gets no groups.
  Principal P(const std::string& name) const;

  // Swaps in a snapshot where `name` has `groups` (policies unchanged), as a
  // config reload would.
  void SetGroups(const std::string& name, std::vector<std::string> groups);

  // Asks as `who`, with kGoodReason unless given.
  StatusOr<RequestView> Ask(const std::string& who,
                            const std::string& entitlement, Duration duration,
                            std::string_view justification = kGoodReason);
  // Asks as `who` for planned work starting at `start_at`.
  StatusOr<RequestView> AskAt(const std::string& who,
                              const std::string& entitlement, Duration duration,
                              SystemTime start_at);
  // Asks `who` for the auto-approved dev-shell and returns the grant id; adds
  // a test failure and returns "" when that does not give an active grant.
  std::string ActiveGrant(const std::string& who, Duration duration);

  // One scheduler pass at the clock's current wall time.
  DueWork RunDue() { return scheduler.RunDue(clock.Now()); }

  // What the stores hold; add a test failure on store errors.
  Request StoredRequest(const std::string& id);
  Grant StoredGrant(const std::string& id);
  std::vector<AuditEvent> Audit();
  // Events whose request_id or grant_id is `id`, in seq order.
  std::vector<AuditEvent> EventsOf(const std::string& id);
  // Their types as text ("request.created", ...), readable in failures.
  std::vector<std::string> TypesOf(const std::string& id);
  // Whether `subject` may use `entitlement` now, as an enforcer asks.
  bool Allowed(const std::string& subject, const std::string& entitlement);
  // The whole audit chain run through ChainVerifier.
  VerifyResult VerifyAudit();

  FakeClock clock;
  MemoryStore store;
  PolicyHolder policies;
  ConnectorSet connectors;
  FakeConnector* demo;  // owned by `connectors`
  GrantIndex index;
  Metrics metrics;
  WorkflowDeps deps;
  GrantLifecycle lifecycle;
  RequestService requests;
  ExpiryScheduler scheduler;
};

// gtest helpers for Status and StatusOr: EXPECT_TRUE(IsOk(s)) prints the
// status on failure; HasError checks code and reason ("" = any reason).
inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

template <typename S>
::testing::AssertionResult IsOk(const S& s) {
  const Status& st = StatusOf(s);
  if (st.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << st.ToString() << " (reason " << st.reason() << ")";
}

template <typename S>
::testing::AssertionResult HasError(const S& s, StatusCode code,
                                    std::string_view reason = "") {
  const Status& st = StatusOf(s);
  if (st.code() == code && (reason.empty() || st.reason() == reason)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << (st.ok() ? "OK" : st.ToString()) << " (reason "
         << st.reason() << "), want " << StatusCodeName(code) << " reason "
         << reason;
}

}  // namespace jit
