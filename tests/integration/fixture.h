#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/integration/jitd_process.h"

namespace jit::testing {

// Demo-only tokens for the test servers (fixtures, not secrets).
inline const std::string kAlice = "it-alice-token-000000";
inline const std::string kAliceAlt = "it-alice-alt-token-0000";
inline const std::string kBob = "it-bob-token-000000000";
inline const std::string kCarol = "it-carol-token-0000000";
inline const std::string kMallory = "it-mallory-token-00000";
inline const std::string kAuditor = "it-auditor-token-00000";
inline const std::string kAdmin = "it-admin-token-0000000";
inline const std::string kEnforcer = "it-enforcer-token-0000";

// Everything after listen/data_dir. `alice_groups` lets a test take alice
// out of dev (THREATS T7). The exec connector keeps its privileges as files
// under `target_dir`.
inline std::string TestConfig(const std::string& target_dir,
                              const std::string& alice_groups = "[dev]") {
  std::string script = std::string(JIT_IT_TESTDATA) + "/target.sh";
  return R"(storage: sqlite
auth:
  tokens:
    - {subject: alice, groups: )" +
         alice_groups + R"(, token: ")" + kAlice + R"("}
    - {subject: alice-alt, person: alice, groups: [sre], token: ")" +
         kAliceAlt + R"("}
    - {subject: bob, groups: [sre], token: ")" +
         kBob + R"("}
    - {subject: carol, groups: [sre], token: ")" +
         kCarol + R"("}
    - {subject: mallory, groups: [], token: ")" +
         kMallory + R"("}
    - {subject: audrey, groups: [audit], token: ")" +
         kAuditor + R"("}
    - {subject: adam, groups: [secops], token: ")" +
         kAdmin + R"("}
    - {subject: host1, groups: [hosts], token: ")" +
         kEnforcer + R"("}
roles: {admin: [secops], auditor: [audit], enforcer: [hosts]}
connectors:
  - {name: demo, type: fake}
  - name: target
    type: exec
    grant: [/bin/sh, )" +
         script + ", grant, " + target_dir + R"(, "{grant_id}"]
    revoke: [/bin/sh, )" +
         script + ", revoke, " + target_dir + R"(, "{grant_id}"]
    check: [/bin/sh, )" +
         script + ", check, " + target_dir + R"(, "{grant_id}"]
    timeout: 10s
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
  - {name: admin, connector: demo, max_duration: 2h}
  - {name: root, connector: demo, max_duration: 2h}
  - {name: box, connector: target, max_duration: 1h}
policies:
  - name: auto-read
    subjects: {groups: [dev]}
    entitlements: [read]
    max_duration: 30m
    require: {justification_min_chars: 10}
    approval: {auto: true}
  - name: one-approver
    subjects: {groups: [dev]}
    entitlements: [admin]
    max_duration: 1h
    require: {justification_min_chars: 15, ticket_pattern: "^OPS-[0-9]+$"}
    approval: {groups: [sre], count: 1}
    approval_timeout: 1h
    emergency: {allowed: true, max_duration: 15m}
  - name: two-approvers
    subjects: {groups: [dev]}
    entitlements: [root]
    max_duration: 1h
    approval: {groups: [sre], count: 2}
  - name: auto-box
    subjects: {groups: [dev]}
    entitlements: [box]
    max_duration: 1h
    approval: {auto: true}
)";
}

// A running jitd with the test config, in its own temp dir.
class JitdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_dir_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_dir_ + "/held");
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), TestConfig(target_dir_));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // POST /v1/requests as `token`.
  Reply Ask(const std::string& token, const std::string& entitlement,
            const std::string& duration, const std::string& justification,
            const std::string& ticket = "") {
    nlohmann::json body = {{"entitlement", entitlement},
                           {"duration", duration},
                           {"justification", justification}};
    if (!ticket.empty()) body["ticket"] = ticket;
    return jitd_->Post("/v1/requests", token, body);
  }
  Reply Decide(const std::string& token, const std::string& id,
               const std::string& verb) {
    return jitd_->Post("/v1/requests/" + id + "/" + verb, token,
                       nlohmann::json::object());
  }
  nlohmann::json AuditEvents() {
    return jitd_->Get("/v1/audit?limit=1000", kAuditor).body["items"];
  }
  int CountEvents(const std::string& type, const std::string& request_id = "") {
    int n = 0;
    for (const auto& e : AuditEvents()) {
      if (e["type"] != type) continue;
      if (!request_id.empty() && e["request_id"] != request_id) continue;
      ++n;
    }
    return n;
  }
  bool Held(const std::string& grant_id) {
    return std::filesystem::exists(target_dir_ + "/held/" + grant_id);
  }

  TempDir tmp_;
  std::string target_dir_;
  std::unique_ptr<JitdProcess> jitd_;
};

}  // namespace jit::testing
