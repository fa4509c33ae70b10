#include "jit/workflow/test_rig.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "jit/base/duration.h"

namespace jit {

const char* const kRigConfig = R"(
roles: {admin: [secops], auditor: [audit], enforcer: [hosts]}
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: dev-shell, connector: demo, params: {user: "{subject}"}, max_duration: 4h}
  - {name: db-write, connector: demo, params: {role: app_write}, max_duration: 2h}
  - {name: prod-admin, connector: demo, max_duration: 1h}
  - {name: break-glass, connector: demo, max_duration: 1h}
policies:
  - name: dev-auto
    subjects: {groups: [dev]}
    entitlements: [dev-shell]
    max_duration: 1h
    require: {justification_min_chars: 10}
    approval: {auto: true}
  - name: db-write-one-sre
    subjects: {groups: [dev]}
    entitlements: [db-write]
    max_duration: 1h
    require: {justification_min_chars: 15}
    approval: {groups: [sre], count: 1}
    approval_timeout: 1h
  - name: admin-two-sre
    subjects: {groups: [dev]}
    entitlements: [prod-admin]
    max_duration: 30m
    require: {justification_min_chars: 15}
    approval: {groups: [sre], count: 2}
  - name: break-glass
    subjects: {groups: [dev]}
    entitlements: [break-glass]
    approval: {groups: [sre], count: 1}
    emergency: {allowed: true, max_duration: 15m, notify: [sec-oncall]}
)";

namespace {

// A broken rig is a bug in this file: say why and stop.
[[noreturn]] void RigBroken(const std::string& why) {
  std::fprintf(stderr, "test rig: %s\n", why.c_str());
  std::abort();
}

std::map<std::string, Subject> RigDirectory() {
  std::map<std::string, Subject> d;
  auto add = [&](std::string name, std::string person,
                 std::vector<std::string> groups) {
    d[name] = Subject{name, std::move(person), std::move(groups)};
  };
  add("alice", "alice", {"dev"});
  add("bob", "bob", {"sre"});
  add("carol", "carol", {"sre"});
  add("dave", "dave", {"sre"});
  add("mallory", "mallory", {});
  add("alice-alt", "alice", {"sre"});
  add("erin", "erin", {"secops"});
  add("olga", "olga", {"audit"});
  add("gate", "gate", {"hosts"});
  return d;
}

std::shared_ptr<const PolicySnapshot> RigSnapshot() {
  YAML::Node root;
  try {
    root = YAML::Load(kRigConfig);
  } catch (const YAML::Exception& e) {
    RigBroken(std::string("config does not parse: ") + e.what());
  }
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::Load(root, "rig.yaml");
  if (!set.ok()) RigBroken(set.status().ToString());
  auto snap = std::make_shared<PolicySnapshot>();
  snap->policies = *set;
  snap->directory = RigDirectory();
  return snap;
}

bool HasGroup(const Subject& s, std::string_view group) {
  return std::find(s.groups.begin(), s.groups.end(), group) != s.groups.end();
}

FakeConnector* AddDemo(ConnectorSet& set) {
  auto fake = std::make_unique<FakeConnector>();
  FakeConnector* raw = fake.get();
  set.Add("demo", std::move(fake));
  return raw;
}

}  // namespace

SystemTime RigStart() {
  StatusOr<SystemTime> t = ParseTime("2026-11-23T10:00:00Z");
  if (!t.ok()) RigBroken(t.status().ToString());
  return *t;
}

TestRig::TestRig()
    : clock(RigStart()),
      policies(RigSnapshot()),
      demo(AddDemo(connectors)),
      deps{store, policies, connectors, index, metrics, clock},
      lifecycle(deps),
      requests(deps, lifecycle),
      scheduler(store, lifecycle, requests, clock) {}

Principal TestRig::P(const std::string& name) const {
  auto snap = policies.Get();
  auto it = snap->directory.find(name);
  Principal p;
  p.subject =
      it != snap->directory.end() ? it->second : Subject{name, name, {}};
  p.admin = HasGroup(p.subject, "secops");
  p.auditor = HasGroup(p.subject, "audit");
  p.enforcer = HasGroup(p.subject, "hosts");
  return p;
}

void TestRig::SetGroups(const std::string& name,
                        std::vector<std::string> groups) {
  auto next = std::make_shared<PolicySnapshot>(*policies.Get());
  Subject& s = next->directory[name];
  if (s.name.empty()) s = Subject{name, name, {}};
  s.groups = std::move(groups);
  policies.Set(std::move(next));
}

StatusOr<RequestView> TestRig::Ask(const std::string& who,
                                   const std::string& entitlement,
                                   Duration duration,
                                   std::string_view justification) {
  CreateRequestInput in;
  in.entitlement = entitlement;
  in.duration = duration;
  in.justification = std::string(justification);
  return requests.Create(P(who), in);
}

StatusOr<RequestView> TestRig::AskAt(const std::string& who,
                                     const std::string& entitlement,
                                     Duration duration, SystemTime start_at) {
  CreateRequestInput in;
  in.entitlement = entitlement;
  in.duration = duration;
  in.justification = std::string(kGoodReason);
  in.start_at = start_at;
  return requests.Create(P(who), in);
}

std::string TestRig::ActiveGrant(const std::string& who, Duration duration) {
  StatusOr<RequestView> v = Ask(who, "dev-shell", duration);
  if (!v.ok()) {
    ADD_FAILURE() << "asking for dev-shell: " << v.status().ToString();
    return "";
  }
  if (v->request.state != RequestState::kActive) {
    ADD_FAILURE() << "dev-shell request is " << ToString(v->request.state);
    return "";
  }
  return v->request.grant_id;
}

Request TestRig::StoredRequest(const std::string& id) {
  StatusOr<Request> r = store.GetRequest(id);
  if (!r.ok()) {
    ADD_FAILURE() << "request " << id << ": " << r.status().ToString();
    return Request{};
  }
  return *r;
}

Grant TestRig::StoredGrant(const std::string& id) {
  StatusOr<Grant> g = store.GetGrant(id);
  if (!g.ok()) {
    ADD_FAILURE() << "grant " << id << ": " << g.status().ToString();
    return Grant{};
  }
  return *g;
}

std::vector<AuditEvent> TestRig::Audit() {
  std::vector<AuditEvent> all;
  int64_t after = 0;
  while (true) {
    StatusOr<std::vector<AuditEvent>> page =
        store.ReadAudit(after, kMaxPageLimit);
    if (!page.ok()) {
      ADD_FAILURE() << "reading audit: " << page.status().ToString();
      return all;
    }
    if (page->empty()) return all;
    after = page->back().seq;
    all.insert(all.end(), page->begin(), page->end());
  }
}

std::vector<AuditEvent> TestRig::EventsOf(const std::string& id) {
  std::vector<AuditEvent> out;
  for (AuditEvent& e : Audit()) {
    if (e.request_id == id || e.grant_id == id) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> TestRig::TypesOf(const std::string& id) {
  std::vector<std::string> out;
  for (const AuditEvent& e : EventsOf(id)) out.emplace_back(ToString(e.type));
  return out;
}

bool TestRig::Allowed(const std::string& subject,
                      const std::string& entitlement) {
  StatusOr<CheckResult> r = requests.Check(P("gate"), subject, entitlement);
  if (!r.ok()) {
    ADD_FAILURE() << "check: " << r.status().ToString();
    return false;
  }
  return r->allowed;
}

VerifyResult TestRig::VerifyAudit() {
  ChainVerifier verifier;
  for (const AuditEvent& e : Audit()) {
    if (!verifier.Add(e)) break;
  }
  return verifier.Result();
}

}  // namespace jit
