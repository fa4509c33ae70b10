// Break-glass with the identity provider down (issue 6): a real OpenID
// provider (npm oidc-provider) is stopped and jitd restarted, so no one can
// sign in; a one-time code issued earlier still gets the on-call engineer
// in, through the real `jit` CLI, with an alert to the security webhook, a
// complete audit trail and a review the user cannot sign off.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "jit/connectors/webhook/test_http_receiver.h"
#include "tests/integration/jitd_process.h"
#include "tests/oidc/oidc_provider_process.h"

namespace jit::testing {
namespace {

using nlohmann::json;

// Test fixtures only.
const std::string kAdmin = "bg-it-admin-token-0123456789";
const std::string kAuditor = "bg-it-auditor-token-0123456789";
const std::string kAliceAuditor = "bg-it-alice-audit-token-0123456789";
const std::string kHookSecret = "bg-it-hook-secret-0123456789abcdef";

class BreakglassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestHttpReceiverOptions options;
    options.secret = kHookSecret;
    receiver_ = std::make_unique<TestHttpReceiver>(options);
    ASSERT_TRUE(receiver_->Start().ok());
    for (int i = 0; i < 20; ++i)
      receiver_->PushAnswer(CannedAnswer{200, "{}", {}});
    const std::string secret_file =
        WriteSecretFile(tmp_.path(), "hook.secret", kHookSecret);
    idp_ = std::make_unique<OidcProviderProcess>(tmp_.path());
    Status started = idp_->Start("key-1");
    ASSERT_TRUE(started.ok()) << started.ToString();
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), Config(secret_file));
    started = jitd_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  std::string Config(const std::string& secret_file) const {
    return R"(storage: sqlite
auth:
  oidc:
    issuer: ")" +
           idp_->issuer() + R"("
    audience: jitd
    ca_file: ")" +
           idp_->ca_file() + R"("
    group_map: {idp-developers: dev}
    only_mapped_groups: true
  tokens:
    - {subject: erin, groups: [secops], token: ")" +
           kAdmin + R"("}
    - {subject: olga, groups: [audit], token: ")" +
           kAuditor + R"("}
    - {subject: alice-audit, person: alice, groups: [audit], token: ")" +
           kAliceAuditor + R"("}
roles: {admin: [secops], auditor: [audit]}
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
  - {name: prod-db, connector: demo, max_duration: 1h}
policies:
  - name: dev-read
    subjects: {groups: [dev]}
    entitlements: [read]
    approval: {auto: true}
  - name: prod-db-emergency
    subjects: {groups: [dev]}
    entitlements: [prod-db]
    approval: {groups: [sre], count: 1}
    emergency: {allowed: true, max_duration: 15m, notify: [secops-hook]}
notifiers:
  - name: secops-hook
    type: webhook
    url: )" +
           receiver_->Url("/hook") + R"(
    secret_file: )" +
           secret_file + R"(
    allow_private_addresses: true
    events: [emergency.used]
)";
  }

  // `jit ARGS` with a home of its own: no login file, no config.
  ProgramResult Jit(std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), JIT_BIN);
    std::map<std::string, std::string> env = {{"JIT_SERVER", jitd_->url()},
                                              {"HOME", tmp_.path()}};
    if (!token.empty()) env["JIT_TOKEN"] = token;
    return RunProgram(args, env);
  }

  std::vector<json> Alerts() const {
    std::vector<json> out;
    for (const ReceivedDelivery& d : receiver_->Deliveries()) {
      if (d.target == "/hook" && d.body.is_object()) out.push_back(d.body);
    }
    return out;
  }

  TempDir tmp_;  // destroyed last: every process is gone by then
  std::unique_ptr<TestHttpReceiver> receiver_;
  std::unique_ptr<OidcProviderProcess> idp_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(BreakglassTest, ACodeGetsTheOnCallInWithTheIdpDownAndIsReviewed) {
  // Everything works: alice signs in at the IdP and asks as usual.
  StatusOr<std::string> alice = idp_->Token("alice");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  Reply asked = jitd_->Post("/v1/requests", *alice,
                            {{"entitlement", "read"},
                             {"duration", "5m"},
                             {"justification", "read the slow query log"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;

  // Codes were issued in advance and sealed.
  ProgramResult issued = Jit({"breakglass", "issue", "--count", "2", "--groups",
                              "dev", "--note", "safe B, envelope 1"},
                             kAdmin);
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  std::vector<std::string> codes;
  std::istringstream lines(issued.out);
  for (std::string line; std::getline(lines, line);) codes.push_back(line);
  ASSERT_EQ(codes.size(), 2u) << issued.out;
  EXPECT_NE(issued.err.find("shown only now"), std::string::npos) << issued.err;

  // The IdP goes down and jitd restarts: nobody can sign in any more.
  idp_->Stop();
  EXPECT_FALSE(idp_->Token("alice").ok());
  jitd_->Stop();
  ASSERT_TRUE(jitd_->Start().ok()) << jitd_->log();
  Reply refused = jitd_->Post("/v1/requests", *alice,
                              {{"entitlement", "read"},
                               {"duration", "5m"},
                               {"justification", "read the slow query log"}});
  EXPECT_NE(refused.status, 201) << refused.raw;

  // A wrong code changes nothing.
  ProgramResult wrong =
      Jit({"request", "prod-db", "--for", "10m", "--reason",
           "primary is down, failing over", "--emergency", "--code",
           "00000-00000-00000-00000", "--as", "alice"},
          "");
  EXPECT_NE(wrong.exit_code, 0) << wrong.out;
  EXPECT_NE(wrong.err.find("break-glass code is not valid"), std::string::npos)
      << wrong.err;

  // The code, typed in lower case: active at once, no token, no approver.
  std::string typed = codes[0];
  for (char& c : typed) c = static_cast<char>(std::tolower(c));
  ProgramResult used = Jit({"request", "prod-db", "--for", "10m", "--reason",
                            "primary is down, failing over", "--emergency",
                            "--code", typed, "--as", "alice", "--json"},
                           "");
  ASSERT_EQ(used.exit_code, 0) << used.out << used.err;
  json req = json::parse(used.out, nullptr, false);
  EXPECT_EQ(req["state"], "active") << used.out;
  EXPECT_EQ(req["subject"], "alice") << used.out;
  EXPECT_EQ(req["emergency"], true) << used.out;
  const std::string id = req["id"];

  // Once only.
  ProgramResult again = Jit({"request", "prod-db", "--for", "10m", "--reason",
                             "primary is down, failing over", "--emergency",
                             "--code", codes[0], "--as", "alice"},
                            "");
  EXPECT_NE(again.exit_code, 0) << again.out;

  // Security hears about it.
  ASSERT_TRUE(
      WaitUntil([&] { return !Alerts().empty(); }, std::chrono::seconds(15)))
      << jitd_->log();
  json alert = Alerts().front();
  EXPECT_EQ(alert["type"], "emergency.used") << alert.dump();
  EXPECT_NE(alert.dump().find(id), std::string::npos) << alert.dump();

  // The audit trail says who, why, with which code, and that it is active.
  Reply audit = jitd_->Get("/v1/audit?limit=1000", kAuditor);
  ASSERT_EQ(audit.status, 200) << audit.raw;
  std::vector<std::string> types;
  for (const json& e : audit.body["items"]) {
    if (e["request_id"] == id) types.push_back(e["type"]);
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"request.created", "emergency.used",
                                      "request.approved", "grant.activated"}))
      << audit.raw;
  EXPECT_NE(audit.raw.find("\"breakglass\":true"), std::string::npos)
      << audit.raw;

  // The review is open; alice under her auditor alias may not close it.
  ProgramResult open = Jit({"review", "ls", "--json"}, kAuditor);
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_NE(open.out.find(id), std::string::npos) << open.out;
  ProgramResult self =
      Jit({"review", "signoff", id, "--comment", "all fine"}, kAliceAuditor);
  EXPECT_NE(self.exit_code, 0);
  EXPECT_NE(self.err.find("self_review"), std::string::npos) << self.err;
  ProgramResult signed_off =
      Jit({"review", "signoff", id, "--comment", "matches incident INC-42"},
          kAuditor);
  ASSERT_EQ(signed_off.exit_code, 0) << signed_off.out << signed_off.err;
  ProgramResult twice =
      Jit({"review", "signoff", id, "--comment", "again"}, kAdmin);
  EXPECT_NE(twice.exit_code, 0);

  // The codes list says which code was used, for what, and which is left.
  ProgramResult listed = Jit({"breakglass", "ls", "--json"}, kAuditor);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json list = json::parse(listed.out, nullptr, false);
  std::vector<std::string> states;
  for (const json& c : list["items"]) {
    states.push_back(c["state"]);
    if (c["state"] == "used") {
      EXPECT_EQ(c["request_id"], id) << listed.out;
    }
  }
  std::sort(states.begin(), states.end());
  EXPECT_EQ(states, (std::vector<std::string>{"unused", "used"}));
  EXPECT_EQ(listed.out.find(codes[1]), std::string::npos);

  Reply verify = jitd_->Get("/v1/audit/verify", kAuditor);
  EXPECT_EQ(verify.body["ok"], true) << verify.raw;
}

}  // namespace
}  // namespace jit::testing
