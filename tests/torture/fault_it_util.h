#pragma once

// Helpers shared by the fault tests against the real jitd.

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/integration/jitd_process.h"
#include "tests/torture/traffic.h"

namespace jit::torture {

using testing::JitdProcess;
using testing::Reply;

inline std::set<std::string> TargetHeld(const std::string& dir) {
  std::ifstream in(dir + "/target.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc =
      nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  std::set<std::string> held;
  if (!doc.is_object() || !doc["grants"].is_object()) return held;
  for (const auto& [id, g] : doc["grants"].items()) held.insert(id);
  return held;
}

inline std::string Field(const Reply& r, const char* key) {
  if (!r.body.is_object() || !r.body[key].is_string()) return "";
  return r.body[key].get<std::string>();
}

inline Reply AskRead(const JitdProcess& jitd) {
  return jitd.Post("/v1/requests", kAliceToken,
                   {{"entitlement", "read"},
                    {"duration", "10m"},
                    {"justification", "fault test: read the logs"}});
}

inline Reply AskAdmin(const JitdProcess& jitd) {
  return jitd.Post("/v1/requests", kAliceToken,
                   {{"entitlement", "admin"},
                    {"duration", "10m"},
                    {"justification", "fault test: restart it"},
                    {"ticket", "OPS-7"}});
}

// 503 with {"error": {"code", "message"}}: what a client can act on.
inline void ExpectRefused(const Reply& r, const std::string& what) {
  EXPECT_EQ(r.status, 503) << what << ": " << r.raw;
  EXPECT_TRUE(r.body.is_object() && r.body["error"].is_object() &&
              r.body["error"]["message"].is_string())
      << what << ": " << r.raw;
}

inline int64_t AuditEvents(const JitdProcess& jitd) {
  Reply v = jitd.Get("/v1/audit/verify", kAuditorToken);
  EXPECT_EQ(v.status, 200) << v.raw;
  EXPECT_TRUE(v.body.is_object() && v.body["ok"] == true) << v.raw;
  return v.body.is_object() && v.body["events"].is_number_integer()
             ? v.body["events"].get<int64_t>()
             : -1;
}

// Every state-changing route a client uses, each refused while the store
// cannot write, with nothing changed.
inline void ExpectEveryChangeRefused(const JitdProcess& jitd,
                                     const std::string& dir,
                                     const std::string& grant,
                                     const std::string& pending) {
  int64_t events = AuditEvents(jitd);
  std::set<std::string> held = TargetHeld(dir);
  ExpectRefused(AskRead(jitd), "ask (auto-approved)");
  ExpectRefused(AskAdmin(jitd), "ask (needs approval)");
  ExpectRefused(jitd.Post("/v1/requests/" + pending + "/approve", kBobToken,
                          nlohmann::json::object()),
                "approve");
  ExpectRefused(jitd.Post("/v1/grants/" + grant + "/revoke", kAliceToken,
                          {{"reason", "done"}}),
                "revoke");
  ExpectRefused(jitd.Post("/v1/grants/" + grant + "/extend", kAliceToken,
                          {{"duration", "5m"},
                           {"justification", "fault test: more time"}}),
                "extend");
  ExpectRefused(jitd.Post("/v1/requests/" + pending + "/cancel", kAliceToken,
                          nlohmann::json::object()),
                "cancel");
  // Nothing half done: no event, no new grant in the target, the pending
  // request still pending, the grant still active and allowed.
  EXPECT_EQ(AuditEvents(jitd), events);
  EXPECT_EQ(TargetHeld(dir), held);
  EXPECT_EQ(Field(jitd.Get("/v1/requests/" + pending, kAuditorToken), "state"),
            "pending");
  EXPECT_EQ(Field(jitd.Get("/v1/grants/" + grant, kAuditorToken), "state"),
            "active");
  Reply check = jitd.Post("/v1/check", kEnforcerToken,
                          {{"subject", "alice"}, {"entitlement", "read"}});
  EXPECT_TRUE(check.body.is_object() && check.body["allowed"] == true)
      << check.raw;
}

// After the fault: the same calls work and the log still verifies.
inline void ExpectWorkResumes(const JitdProcess& jitd, const std::string& dir,
                              const std::string& grant,
                              const std::string& pending) {
  Reply asked = AskRead(jitd);
  ASSERT_EQ(asked.status, 201) << asked.raw;
  EXPECT_EQ(TargetHeld(dir).count(Field(asked, "grant_id")), 1u);
  Reply approved = jitd.Post("/v1/requests/" + pending + "/approve", kBobToken,
                             nlohmann::json::object());
  ASSERT_EQ(approved.status, 200) << approved.raw;
  EXPECT_EQ(Field(approved, "state"), "active");
  Reply revoked = jitd.Post("/v1/grants/" + grant + "/revoke", kAliceToken,
                            {{"reason", "done"}});
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  EXPECT_EQ(TargetHeld(dir).count(grant), 0u);
  EXPECT_GT(AuditEvents(jitd), 0);
}

}  // namespace jit::torture
