// MFA step-up with single sign-on (issue 6): a real OpenID provider (npm
// oidc-provider) issues tokens with and without a recent second factor
// (`amr`/`auth_time`), and the real jitd lets only the first through a
// policy with require.mfa.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "jit/identity/base64url.h"
#include "tests/integration/jitd_process.h"
#include "tests/oidc/oidc_provider_process.h"

namespace jit::testing {
namespace {

using nlohmann::json;

std::string Config(const OidcProviderProcess& idp) {
  return R"(storage: sqlite
auth:
  oidc:
    issuer: ")" +
         idp.issuer() + R"("
    audience: jitd
    ca_file: ")" +
         idp.ca_file() + R"("
    group_map: {idp-developers: dev}
    only_mapped_groups: true
  mfa: {max_age: 10m, amr_values: [otp, hwk], acr_values: []}
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
  - {name: prod, connector: demo, max_duration: 1h}
policies:
  - name: dev-read
    subjects: {groups: [dev]}
    entitlements: [read]
    approval: {auto: true}
  - name: prod-step-up
    subjects: {groups: [dev]}
    entitlements: [prod]
    max_duration: 30m
    require: {mfa: true}
    approval: {auto: true}
)";
}

// The claims of a JWT, read without checking it (the test looks at what
// the provider put in; jitd does the checking).
json Claims(const std::string& jwt) {
  size_t a = jwt.find('.');
  size_t b = jwt.find('.', a + 1);
  auto payload = Base64UrlDecode(jwt.substr(a + 1, b - a - 1));
  return payload.ok() ? json::parse(*payload, nullptr, false) : json();
}

class StepUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    idp_ = std::make_unique<OidcProviderProcess>(tmp_.path());
    Status started = idp_->Start("key-1");
    ASSERT_TRUE(started.ok()) << started.ToString();
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), Config(*idp_));
    started = jitd_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  std::string TokenFor(const std::string& client) {
    StatusOr<std::string> token = idp_->Token(client);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return token.ok() ? *token : "";
  }

  Reply Ask(const std::string& token, const std::string& entitlement) {
    return jitd_->Post("/v1/requests", token,
                       {{"entitlement", entitlement},
                        {"duration", "5m"},
                        {"justification", "fix the stuck migration"}});
  }

  TempDir tmp_;  // destroyed last: both processes are gone by then
  std::unique_ptr<OidcProviderProcess> idp_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(StepUpTest, TokenWithoutASecondFactorIsRefused) {
  std::string alice = TokenFor("alice");
  EXPECT_FALSE(Claims(alice).contains("amr"));
  EXPECT_EQ(Ask(alice, "read").status, 201);  // no step-up needed there
  Reply r = Ask(alice, "prod");
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["error"]["code"], "policy_denied") << r.raw;
  EXPECT_NE(r.raw.find("policy prod-step-up requires a second factor: sign "
                       "in again with MFA or give a TOTP code"),
            std::string::npos)
      << r.raw;
}

TEST_F(StepUpTest, TokenWithARecentSecondFactorIsAccepted) {
  std::string erin = TokenFor("erin");
  json claims = Claims(erin);
  EXPECT_EQ(claims["amr"], json::array({"pwd", "otp"})) << claims.dump();
  ASSERT_TRUE(claims.contains("auth_time")) << claims.dump();
  Reply r = Ask(erin, "prod");
  EXPECT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["policy"], "prod-step-up") << r.raw;
  EXPECT_EQ(r.body["state"], "active") << r.raw;
}

TEST_F(StepUpTest, SecondFactorOlderThanMaxAgeIsRefused) {
  std::string stale = TokenFor("stale");
  json claims = Claims(stale);
  EXPECT_EQ(claims["amr"], json::array({"pwd", "otp"})) << claims.dump();
  Reply r = Ask(stale, "prod");
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.raw.find("requires a second factor"), std::string::npos) << r.raw;
}

TEST_F(StepUpTest, EntitlementsListSaysWhichNeedASecondFactor) {
  Reply r = jitd_->Get("/v1/entitlements", TokenFor("alice"));
  ASSERT_EQ(r.status, 200) << r.raw;
  bool seen = false;
  for (const json& row : r.body["items"]) {
    if (row["entitlement"] != "prod") continue;
    seen = true;
    EXPECT_EQ(row["mfa_required"], true) << row.dump();
  }
  EXPECT_TRUE(seen) << r.raw;
}

}  // namespace
}  // namespace jit::testing
