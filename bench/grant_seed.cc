#include "bench/grant_seed.h"

#include <fmt/format.h>

#include "jit/base/status_macros.h"
#include "jit/workflow/events.h"

namespace jit::bench {
namespace {

constexpr int64_t kBatch = 5000;

}  // namespace

const char* const kSeedConfig = R"(
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: ent-0, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-1, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-2, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-3, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-4, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-5, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-6, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-7, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-8, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
  - {name: ent-9, connector: demo, params: {user: "{subject}"}, max_duration: 8h}
policies:
  - name: dev-auto
    subjects: {groups: [dev]}
    entitlements: [ent-0, ent-1, ent-2, ent-3, ent-4, ent-5, ent-6, ent-7, ent-8, ent-9]
    max_duration: 8h
    approval: {auto: true}
)";

std::string SeedSubject(int64_t i) {
  return fmt::format("user-{:07d}", i / kSeedEntitlements);
}

std::string SeedEntitlement(int64_t i) {
  return fmt::format("ent-{}", i % kSeedEntitlements);
}

namespace {

Request SeedRequest(int64_t i, SystemTime starts_at, SystemTime expires_at) {
  Request r;
  r.id = fmt::format("req_{:032x}", i);
  r.subject = SeedSubject(i);
  r.person = r.subject;
  r.subject_groups = {"dev"};
  r.entitlement = SeedEntitlement(i);
  r.duration = std::chrono::duration_cast<Duration>(expires_at - starts_at);
  r.justification = "seeded for the benchmark";
  r.state = RequestState::kActive;
  r.policy = "dev-auto";
  r.created_at = starts_at;
  r.updated_at = starts_at;
  r.grant_id = fmt::format("grt_{:032x}", i);
  r.binding = RequestBinding(r);
  return r;
}

Grant SeedGrant(const Request& r, SystemTime starts_at, SystemTime expires_at) {
  Grant g;
  g.id = r.grant_id;
  g.request_id = r.id;
  g.subject = r.subject;
  g.entitlement = r.entitlement;
  g.connector = "demo";
  g.starts_at = starts_at;
  g.expires_at = expires_at;
  g.state = GrantState::kActive;
  g.generation = 1;
  return g;
}

}  // namespace

void AddAutoGrant(ChangeSet& cs, int64_t i, SystemTime starts_at,
                  SystemTime expires_at, bool with_events) {
  Request r = SeedRequest(i, starts_at, expires_at);
  Grant g = SeedGrant(r, starts_at, expires_at);
  if (with_events) {
    nlohmann::json facts = RequestFacts(r);
    facts["approvals_required"] = r.approvals_required;
    facts["subject_groups"] = r.subject_groups;
    cs.events.push_back(RequestEvent(AuditType::kRequestCreated, r.subject, r,
                                     starts_at, facts));
    cs.events.push_back(RequestEvent(AuditType::kRequestApproved, "policy", r,
                                     starts_at,
                                     {{"auto", true}, {"policy", r.policy}}));
    cs.events.push_back(
        GrantEvent(AuditType::kGrantActivated, "policy", g, starts_at));
  }
  cs.requests.push_back({std::move(r), std::nullopt});
  cs.grants.push_back({std::move(g), std::nullopt});
}

Status SeedGrants(Store& store, int64_t n, SystemTime starts_at,
                  SystemTime expires_at) {
  for (int64_t first = 0; first < n; first += kBatch) {
    ChangeSet cs;
    for (int64_t i = first; i < std::min(n, first + kBatch); ++i) {
      Request r = SeedRequest(i, starts_at, expires_at);
      Grant g = SeedGrant(r, starts_at, expires_at);
      cs.events.push_back(
          GrantEvent(AuditType::kGrantActivated, "policy", g, starts_at));
      cs.requests.push_back({std::move(r), std::nullopt});
      cs.grants.push_back({std::move(g), std::nullopt});
    }
    JIT_RETURN_IF_ERROR(store.Commit(cs));
  }
  return OkStatus();
}

}  // namespace jit::bench
