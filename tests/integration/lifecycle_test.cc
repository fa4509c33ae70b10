// The whole life of a privilege through the real jitd binary over HTTP.
#include <gtest/gtest.h>

#include "jit/base/duration.h"
#include "jit/client/http_client.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using nlohmann::json;

TEST_F(JitdTest, RequestApproveActivateExpireWithVerifiedAudit) {
  Reply asked =
      Ask(kAlice, "admin", "3s", "rotate the TLS keys on db1", "OPS-42");
  ASSERT_EQ(asked.status, 201) << asked.raw;
  std::string id = asked.body["id"];
  EXPECT_EQ(asked.body["state"], "pending");
  EXPECT_EQ(asked.body["approvals_required"], 1);

  Reply approved = Decide(kBob, id, "approve");
  ASSERT_EQ(approved.status, 200) << approved.raw;
  EXPECT_EQ(approved.body["state"], "active");
  std::string grant_id = approved.body["grant_id"];

  Reply check = jitd_->Post("/v1/check", kAlice,
                            {{"subject", "alice"}, {"entitlement", "admin"}});
  ASSERT_EQ(check.status, 200);
  EXPECT_TRUE(check.body["allowed"].get<bool>());
  EXPECT_EQ(check.body["grant_id"], grant_id);

  Reply grant = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  ASSERT_EQ(grant.status, 200);
  EXPECT_EQ(grant.body["state"], "active");

  // It ends on its own: revoked within a second or so of expires_at.
  bool ended = WaitUntil(
      [&] {
        return jitd_->Get("/v1/grants/" + grant_id, kAlice).body["state"] ==
               "ended";
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(ended) << jitd_->log();
  Reply after = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  EXPECT_EQ(after.body["ended_reason"], "expired");
  auto expires = ParseTime(after.body["expires_at"].get<std::string>());
  auto ended_at = ParseTime(after.body["ended_at"].get<std::string>());
  ASSERT_TRUE(expires.ok() && ended_at.ok());
  EXPECT_LE(*ended_at - *expires, std::chrono::milliseconds(1500));
  EXPECT_EQ(jitd_->Get("/v1/requests/" + id, kAlice).body["state"], "expired");
  check = jitd_->Post("/v1/check", kAlice,
                      {{"subject", "alice"}, {"entitlement", "admin"}});
  EXPECT_FALSE(check.body["allowed"].get<bool>());

  // Every step is in the log, and the log verifies.
  std::vector<std::string> types;
  for (const auto& e : AuditEvents()) {
    if (e["request_id"] == id) types.push_back(e["type"]);
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "request.created", "request.approved", "grant.activated",
                       "grant.expired", "grant.sessions_killed"}));
  Reply verify = jitd_->Get("/v1/audit/verify", kAuditor);
  ASSERT_EQ(verify.status, 200);
  EXPECT_TRUE(verify.body["ok"].get<bool>()) << verify.raw;
  EXPECT_GE(verify.body["events"].get<int>(), 5);
}

TEST_F(JitdTest, AutoApprovedRequestIsActiveAtOnceAndHeldInTarget) {
  Reply asked = Ask(kAlice, "box", "10m", "deploy hotfix");
  ASSERT_EQ(asked.status, 201) << asked.raw;
  EXPECT_EQ(asked.body["state"], "active");
  std::string grant_id = asked.body["grant_id"];
  EXPECT_TRUE(Held(grant_id));
  int approvals_by_policy = 0;
  for (const auto& e : AuditEvents()) {
    if (e["type"] == "request.approved" && e["actor"] == "policy")
      ++approvals_by_policy;
  }
  EXPECT_EQ(approvals_by_policy, 1);
}

TEST_F(JitdTest, HolderEndsEarlyAndTargetLetsGo) {
  Reply asked = Ask(kAlice, "box", "10m", "deploy hotfix");
  ASSERT_EQ(asked.status, 201);
  std::string grant_id = asked.body["grant_id"];
  Reply done = jitd_->Post("/v1/grants/" + grant_id + "/revoke", kAlice,
                           {{"reason", "task done"}});
  ASSERT_EQ(done.status, 200) << done.raw;
  EXPECT_EQ(done.body["state"], "ended");
  EXPECT_EQ(done.body["ended_reason"], "completed");
  EXPECT_FALSE(Held(grant_id));
  EXPECT_EQ(
      jitd_->Get("/v1/requests/" + asked.body["id"].get<std::string>(), kAlice)
          .body["state"],
      "completed");
}

TEST_F(JitdTest, AdminRevokesSomeoneElsesGrant) {
  Reply asked = Ask(kAlice, "box", "10m", "deploy hotfix");
  std::string grant_id = asked.body["grant_id"];
  EXPECT_EQ(jitd_
                ->Post("/v1/grants/" + grant_id + "/revoke", kMallory,
                       {{"reason", "x"}})
                .status,
            404);
  Reply revoked = jitd_->Post("/v1/grants/" + grant_id + "/revoke", kAdmin,
                              {{"reason", "incident"}});
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  EXPECT_EQ(revoked.body["ended_reason"], "revoked");
  EXPECT_FALSE(Held(grant_id));
  Reply again = jitd_->Post("/v1/grants/" + grant_id + "/revoke", kAdmin,
                            {{"reason", "again"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["error"]["code"], "conflict");
}

TEST_F(JitdTest, ExtendMovesExpiryOfTheSameGrantWithoutGap) {  // THREATS T15
  Reply asked = Ask(kAlice, "box", "10m", "long migration");
  std::string grant_id = asked.body["grant_id"];
  std::string before =
      jitd_->Get("/v1/grants/" + grant_id, kAlice).body["expires_at"];
  Reply ext =
      jitd_->Post("/v1/grants/" + grant_id + "/extend", kAlice,
                  {{"duration", "15m"}, {"justification", "migration slower"}});
  ASSERT_EQ(ext.status, 201) << ext.raw;
  EXPECT_EQ(ext.body["extends"], grant_id);
  EXPECT_EQ(ext.body["grant_id"], grant_id);
  Reply g = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  EXPECT_EQ(g.body["state"], "active");
  auto t0 = ParseTime(before);
  auto t1 = ParseTime(g.body["expires_at"].get<std::string>());
  EXPECT_EQ(*t1 - *t0, std::chrono::minutes(15));
  EXPECT_TRUE(Held(grant_id));
  EXPECT_EQ(CountEvents("grant.expired") + CountEvents("grant.revoked"), 0);
  EXPECT_EQ(CountEvents("grant.extended"), 1);
  Reply grants = jitd_->Get("/v1/grants?active=true", kAlice);
  EXPECT_EQ(grants.body["items"].size(), 1u);
  // Beyond the policy maximum: refused.
  Reply too_long =
      jitd_->Post("/v1/grants/" + grant_id + "/extend", kAlice,
                  {{"duration", "1h"}, {"justification", "forever"}});
  EXPECT_EQ(too_long.status, 403);
  EXPECT_EQ(too_long.body["error"]["code"], "policy_denied");
}

TEST_F(JitdTest, NOfMNeedsDistinctApprovers) {
  Reply asked = Ask(kAlice, "root", "10m", "kernel upgrade");
  ASSERT_EQ(asked.status, 201) << asked.raw;
  std::string id = asked.body["id"];
  EXPECT_EQ(Decide(kBob, id, "approve").body["state"], "pending");
  Reply twice = Decide(kBob, id, "approve");  // THREATS T2
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.body["error"]["code"], "conflict");
  EXPECT_EQ(jitd_->Get("/v1/requests/" + id, kAlice).body["approvals"].size(),
            1u);
  Reply second = Decide(kCarol, id, "approve");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.body["state"], "active");
}

TEST_F(JitdTest, DenyAndCancelEndPendingRequests) {
  std::string a =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-1")
          .body["id"];
  std::string b =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db2", "OPS-2")
          .body["id"];
  EXPECT_EQ(Decide(kBob, a, "deny").body["state"], "denied");
  EXPECT_EQ(Decide(kAlice, b, "cancel").body["state"], "cancelled");
  Reply late = Decide(kCarol, a, "approve");
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.body["error"]["code"], "conflict");
}

TEST_F(JitdTest, ListsAreScopedToWhatTheCallerMaySee) {
  Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-1");
  EXPECT_EQ(jitd_->Get("/v1/requests", kAlice).body["items"].size(), 1u);
  EXPECT_EQ(jitd_->Get("/v1/requests", kBob).body["items"].size(),
            1u);  // approver
  EXPECT_EQ(jitd_->Get("/v1/requests", kMallory).body["items"].size(), 0u);
  EXPECT_EQ(jitd_->Get("/v1/requests", kAuditor).body["items"].size(), 1u);
  Reply ents = jitd_->Get("/v1/entitlements", kAlice);
  EXPECT_EQ(ents.body["items"].size(), 4u);
  EXPECT_EQ(jitd_->Get("/v1/entitlements", kMallory).body["items"].size(), 0u);
  EXPECT_EQ(jitd_->Get("/v1/audit/verify", kMallory).status, 403);
  // Checking someone else needs the enforcer role.
  EXPECT_EQ(jitd_
                ->Post("/v1/check", kMallory,
                       {{"subject", "alice"}, {"entitlement", "read"}})
                .status,
            403);
  EXPECT_EQ(jitd_
                ->Post("/v1/check", kEnforcer,
                       {{"subject", "alice"}, {"entitlement", "read"}})
                .status,
            200);
}

TEST_F(JitdTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(jitd_->Get("/healthz", "").status, 200);
  EXPECT_EQ(jitd_->Get("/readyz", "").status, 200);
  Ask(kAlice, "read", "5m", "look at the slow query log");
  Reply metrics = jitd_->Get("/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.raw.find("jitd_grants_active 1"), std::string::npos)
      << metrics.raw;
  EXPECT_NE(metrics.raw.find("jitd_revoke_latency_seconds_bucket"),
            std::string::npos);
  EXPECT_NE(metrics.raw.find("jitd_revoke_failures_total 0"),
            std::string::npos);
  EXPECT_NE(metrics.raw.find("jitd_requests_total{state=\"active\"} 1"),
            std::string::npos);
}

TEST_F(JitdTest, ReportSummaryCountsRequests) {
  Ask(kAlice, "read", "5m", "look at the slow query log");
  Ask(kAlice, "read", "5h", "look at the slow query log");  // denied by policy
  Reply summary = jitd_->Get("/v1/reports/summary", kAuditor);
  ASSERT_EQ(summary.status, 200) << summary.raw;
  EXPECT_EQ(summary.body["grants"], 1);
  EXPECT_EQ(summary.body["requests"]["rejected"], 1);
  EXPECT_EQ(jitd_->Get("/v1/reports/summary", kAlice).status, 403);
}

TEST_F(JitdTest, AuditStreamFiltersByTypeAndSubject) {
  ASSERT_EQ(Ask(kAlice, "read", "5m", "look at the slow query log").status,
            201);
  // mallory's refusal is a request.rejected of another subject: filtered.
  Ask(kMallory, "read", "5m", "look at the slow query log");
  ASSERT_EQ(Ask(kAlice, "admin", "10m", "rotate the TLS keys", "OPS-1").status,
            201);
  auto client = HttpClient::Create(jitd_->url(), std::chrono::seconds(5));
  ASSERT_TRUE(client.ok());
  std::vector<json> got;
  Status streamed = client->Stream(
      "/v1/audit/stream?after=0&type=request.created&subject=alice", kAuditor,
      [&](const std::string& id, const std::string& event,
          const std::string& data) {
        json e = json::parse(data);
        EXPECT_EQ(id, std::to_string(e["seq"].get<int64_t>()));
        EXPECT_EQ(event, "request.created");
        got.push_back(e);
        return got.size() < 2;
      });
  ASSERT_TRUE(streamed.ok()) << streamed.ToString();
  ASSERT_EQ(got.size(), 2u);
  for (const json& e : got) {
    EXPECT_EQ(e["type"], "request.created");
    EXPECT_EQ(e["subject"], "alice");
  }
  EXPECT_EQ(got[0]["data"]["entitlement"], "read");
  EXPECT_EQ(got[1]["data"]["entitlement"], "admin");
  EXPECT_EQ(jitd_->Get("/v1/audit/stream?type=request.made", kAuditor).status,
            400);
}

}  // namespace
}  // namespace jit::testing
