// THREATS.md rows exercised against the real jitd binary.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "jit/base/duration.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using nlohmann::json;

TEST_F(JitdTest, T1_NoSelfApprovalAlsoUnderAnAlias) {
  std::string id =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-7")
          .body["id"];
  Reply own = Decide(kAlice, id, "approve");
  EXPECT_EQ(own.status, 403);
  EXPECT_EQ(own.body["error"]["code"], "self_approval");
  Reply alias = Decide(kAliceAlt, id, "approve");  // same person, sre group
  EXPECT_EQ(alias.status, 403);
  EXPECT_EQ(alias.body["error"]["code"], "self_approval");
  EXPECT_EQ(jitd_->Get("/v1/requests/" + id, kAlice).body["state"], "pending");
}

TEST_F(JitdTest, T3_AuthenticatedNonApproverCannotApprove) {
  std::string id =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-7")
          .body["id"];
  Reply r =
      Decide(kAdmin, id, "approve");  // admin, but not in the policy's groups
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["error"]["code"], "not_an_approver");
  EXPECT_EQ(jitd_->Get("/v1/requests/" + id, kAlice).body["state"], "pending");
}

TEST_F(JitdTest, T6_ApprovalIsVoidForAChangedRequest) {
  std::string id =
      Ask(kAlice, "root", "10m", "kernel upgrade on web1").body["id"];
  ASSERT_EQ(Decide(kBob, id, "approve").body["state"], "pending");
  // The request is edited behind jitd's back after the first approval.
  Sqlite(jitd_->db_path(),
         "UPDATE requests SET duration_ms = 3600000 WHERE id = '" + id + "';");
  Reply second = Decide(kCarol, id, "approve");
  ASSERT_EQ(second.status, 200) << second.raw;
  EXPECT_NE(second.body["state"], "active");
  EXPECT_TRUE(second.body["grant_id"].is_null());
}

TEST_F(JitdTest, T7_EligibilityIsCheckedAgainAtActivation) {
  std::string id =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-7")
          .body["id"];
  // alice leaves the dev group; jitd reloads its config.
  jitd_->RewriteConfig(TestConfig(target_dir_, "[marketing]"));
  jitd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return CountEvents("policy.loaded") >= 2; },
                        std::chrono::seconds(10)));
  Reply r = Decide(kBob, id, "approve");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["state"], "failed");
  EXPECT_EQ(CountEvents("request.rejected", id), 1);
  EXPECT_EQ(CountEvents("grant.activated", id), 0);
}

TEST_F(JitdTest, T8_RacingApproveDenyCancelHaveOneWinner) {
  std::string id =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-7")
          .body["id"];
  std::atomic<int> ok{0};
  std::atomic<int> conflict{0};
  std::atomic<int> other{0};
  std::mutex other_mu;
  std::vector<std::string> others;  // guarded by other_mu
  std::vector<std::thread> threads;
  const std::string tokens[] = {kBob, kCarol, kAlice};
  const std::string verbs[] = {"approve", "deny", "cancel"};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      Reply r = Decide(tokens[i % 3], id, verbs[i % 3]);
      if (r.status == 200) {
        ++ok;
      } else if (r.status == 409) {
        ++conflict;
      } else {
        ++other;
        std::lock_guard lock(other_mu);
        others.push_back(std::to_string(r.status) + " " + r.raw.substr(0, 200));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), 63);
  EXPECT_EQ(other.load(), 0) << (others.empty() ? "" : others[0]);
  int decisions = CountEvents("request.approved", id) +
                  CountEvents("request.denied", id) +
                  CountEvents("request.cancelled", id);
  EXPECT_EQ(decisions, 1);
  EXPECT_TRUE(jitd_->Get("/v1/audit/verify", kAuditor).body["ok"].get<bool>());
}

TEST_F(JitdTest, T9_ReplayedCallWithIdempotencyKeyGivesSameAnswerOnce) {
  std::string body = json{{"entitlement", "read"},
                          {"duration", "5m"},
                          {"justification", "look at the slow log"}}
                         .dump();
  std::map<std::string, std::string> key = {{"Idempotency-Key", "abc-123"}};
  Reply first = jitd_->Call("POST", "/v1/requests", kAlice, body, key);
  Reply second = jitd_->Call("POST", "/v1/requests", kAlice, body, key);
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(first.body["id"], second.body["id"]);
  EXPECT_EQ(CountEvents("request.created"), 1);
  // Approval replay after a restart: same answer, no second event.
  std::string id =
      Ask(kAlice, "admin", "10m", "rotate the TLS keys on db1", "OPS-7")
          .body["id"];
  std::map<std::string, std::string> k2 = {{"Idempotency-Key", "approve-1"}};
  Reply a1 =
      jitd_->Call("POST", "/v1/requests/" + id + "/approve", kBob, "{}", k2);
  jitd_->Stop();
  ASSERT_TRUE(jitd_->Start().ok());
  Reply a2 =
      jitd_->Call("POST", "/v1/requests/" + id + "/approve", kBob, "{}", k2);
  EXPECT_EQ(a1.status, 200);
  EXPECT_EQ(a2.status, 200);
  EXPECT_EQ(a1.raw, a2.raw);
  EXPECT_EQ(CountEvents("request.approved", id), 1);
}

TEST_F(JitdTest, T11_TargetDownAtRevokeKeepsRetryingAndCheckDenies) {
  Reply asked = Ask(kAlice, "box", "2s", "deploy hotfix");
  ASSERT_EQ(asked.status, 201) << asked.raw;
  std::string grant_id = asked.body["grant_id"];
  std::ofstream(target_dir_ + "/fail-revoke") << "down";
  ASSERT_TRUE(WaitUntil([&] { return CountEvents("grant.revoke_failed") >= 2; },
                        std::chrono::seconds(15)));
  Reply g = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  EXPECT_EQ(g.body["state"], "revoke_pending");
  EXPECT_EQ(g.body["ended_reason"], "expired");
  EXPECT_NE(g.body["last_error"].get<std::string>().find("target down"),
            std::string::npos);
  EXPECT_TRUE(Held(grant_id));  // the target really still has it ...
  Reply check = jitd_->Post("/v1/check", kAlice,
                            {{"subject", "alice"}, {"entitlement", "box"}});
  EXPECT_FALSE(
      check.body["allowed"].get<bool>());  // ... but jitd already denies
  std::filesystem::remove(target_dir_ + "/fail-revoke");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return jitd_->Get("/v1/grants/" + grant_id, kAlice).body["state"] ==
               "ended";
      },
      std::chrono::seconds(20)));
  EXPECT_FALSE(Held(grant_id));
  EXPECT_EQ(
      jitd_->Get("/metrics", "").raw.find("jitd_revoke_failures_total 0\n"),
      std::string::npos);
}

TEST_F(JitdTest, T14_NoAllowAfterExpiresAtEvenByAMillisecond) {
  Reply asked = Ask(kAlice, "read", "2s", "look at the slow query log");
  ASSERT_EQ(asked.status, 201);
  auto grant = jitd_->Get(
      "/v1/grants/" + asked.body["grant_id"].get<std::string>(), kAlice);
  SystemTime expires = *ParseTime(grant.body["expires_at"].get<std::string>());
  int allowed = 0;
  int denied = 0;
  auto client = HttpClient::Create(jitd_->url());
  std::string body = json{{"subject", "alice"}, {"entitlement", "read"}}.dump();
  for (int i = 0; i < 200000 && denied < 200; ++i) {
    SystemTime sent = std::chrono::system_clock::now();
    auto r = client->Do("POST", "/v1/check", kAlice, body);
    ASSERT_TRUE(r.ok());
    bool yes = json::parse(r->body)["allowed"].get<bool>();
    if (yes) {
      ++allowed;
      ASSERT_LT(sent, expires) << "allowed a check sent after expires_at";
    } else {
      ++denied;
      if (allowed > 0) {
        EXPECT_GE(std::chrono::system_clock::now(), expires);
      }
    }
  }
  EXPECT_GT(allowed, 0);
  EXPECT_EQ(denied, 200);
}

TEST_F(JitdTest, T16_HostileJustificationIsStoredAsGivenAndCapped) {
  std::string hostile =
      "<!channel> <script>alert(1)</script> '; DROP TABLE requests; -- "
      "\u202Egnp.exe";
  Reply r = Ask(kAlice, "read", "5m", hostile);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["justification"], hostile);
  EXPECT_EQ(
      jitd_->Get("/v1/requests/" + r.body["id"].get<std::string>(), kAlice)
          .body["justification"],
      hostile);
  Reply big = Ask(kAlice, "read", "5m", std::string(4097, 'x'));
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(big.body["error"]["code"], "invalid_request");
  Reply huge = Ask(kAlice, "read", "5m", std::string(1 << 20, 'x'));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(jitd_->Get("/v1/requests", kAlice).body["items"].size(), 1u);
}

TEST_F(JitdTest, T21_EditedAuditEventIsNamedAndJitdKeepsServing) {
  Ask(kAlice, "read", "5m", "look at the slow query log");
  ASSERT_TRUE(jitd_->Get("/v1/audit/verify", kAuditor).body["ok"].get<bool>());
  Sqlite(jitd_->db_path(),
         "DROP TRIGGER IF EXISTS audit_no_update;"
         "UPDATE audit SET actor = 'mallory' WHERE seq = 2;");
  Reply v = jitd_->Get("/v1/audit/verify", kAuditor);
  EXPECT_FALSE(v.body["ok"].get<bool>());
  EXPECT_EQ(v.body["first_bad_seq"], 2);
  EXPECT_NE(jitd_->Get("/metrics", "").raw.find("jitd_audit_chain_ok 0"),
            std::string::npos);
  // Revocations and new work go on, chaining from the stored head.
  EXPECT_EQ(Ask(kAlice, "read", "5m", "look at the slow query log").status,
            201);
}

TEST_F(JitdTest, T21_AuditNotWritableRefusesTheChangeWith503) {
  Sqlite(jitd_->db_path(),
         "CREATE TRIGGER audit_full BEFORE INSERT ON audit "
         "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  Reply r = Ask(kAlice, "read", "5m", "look at the slow query log");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.body["error"]["code"], "unavailable");
  Sqlite(jitd_->db_path(), "DROP TRIGGER audit_full;");
  EXPECT_EQ(jitd_->Get("/v1/requests", kAuditor).body["items"].size(), 0u);
  EXPECT_EQ(jitd_->Get("/v1/grants", kAuditor).body["items"].size(), 0u);
}

// Every route that changes state writes at least one audit event when it
// succeeds and none when it fails (THREATS T22).
TEST_F(JitdTest, T22_EveryMutatingRouteAuditsItsSuccessAndOnlyThat) {
  auto events = [&] { return static_cast<int>(AuditEvents().size()); };
  struct Step {
    std::string name;
    std::function<Reply()> call;
  };
  std::string pending_a, pending_b, pending_c, grant;
  std::vector<Step> steps = {
      {"create",
       [&] {
         Reply r = Ask(kAlice, "admin", "10m", "rotate the TLS keys", "OPS-1");
         pending_a = r.body.value("id", "");
         return r;
       }},
      {"create2",
       [&] {
         Reply r = Ask(kAlice, "admin", "10m", "rotate the TLS keys", "OPS-2");
         pending_b = r.body.value("id", "");
         return r;
       }},
      {"create3",
       [&] {
         Reply r = Ask(kAlice, "admin", "10m", "rotate the TLS keys", "OPS-3");
         pending_c = r.body.value("id", "");
         return r;
       }},
      {"approve",
       [&] {
         Reply r = Decide(kBob, pending_a, "approve");
         grant = r.body.value("grant_id", "");
         return r;
       }},
      {"deny", [&] { return Decide(kBob, pending_b, "deny"); }},
      {"cancel", [&] { return Decide(kAlice, pending_c, "cancel"); }},
      {"extend",
       [&] {
         return jitd_->Post("/v1/grants/" + grant + "/extend", kAlice,
                            {{"duration", "5m"},
                             {"justification", "key rotation takes longer"}});
       }},
      {"revoke",
       [&] {
         return jitd_->Post("/v1/grants/" + grant + "/revoke", kAlice,
                            {{"reason", "done"}});
       }},
  };
  for (const Step& s : steps) {
    int before = events();
    Reply ok = s.call();
    ASSERT_LT(ok.status, 300) << s.name << ": " << ok.raw;
    EXPECT_GE(events(), before + 1) << s.name;
  }
  // The same routes again now fail (state no longer allows) and write nothing.
  for (const Step& s : std::vector<Step>(steps.begin() + 3, steps.end())) {
    int before = events();
    Reply failed = s.call();
    EXPECT_GE(failed.status, 400) << s.name;
    EXPECT_EQ(events(), before) << s.name;
  }
}

}  // namespace
}  // namespace jit::testing
