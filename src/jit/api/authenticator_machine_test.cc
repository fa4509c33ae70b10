// Machine tokens through the Authenticator: known and live = a machine
// principal; unknown, expired or revoked = 401, revocation on the next call.
#include <gtest/gtest.h>

#include "jit/api/authenticator.h"
#include "jit/base/sha256.h"
#include "jit/workflow/test_rig.h"
#include "jit/workflow/token_service.h"

namespace jit {
namespace {

using std::chrono::hours;

class MachineAuthTest : public testing::Test {
 protected:
  MachineAuthTest()
      : auth_({{Subject{"erin", "erin", {"secops"}}, Sha256Hex("t-erin")}},
              RoleGroups{{"secops"}, {"audit"}, {"hosts"}}, nullptr, nullptr,
              &tokens_) {}

  StatusOr<Principal> As(const std::string& token) {
    HttpRequest http;
    http.headers["authorization"] = "Bearer " + token;
    return auth_.Authenticate(http);
  }

  std::string Issue(const std::string& name, std::vector<std::string> groups,
                    Duration ttl = hours(1)) {
    auto t = tokens_.Create(rig_.P("erin"), {name, std::move(groups), ttl, ""});
    EXPECT_TRUE(IsOk(t));
    return t.ok() ? t->token : "";
  }

  TestRig rig_;
  TokenService tokens_{rig_.deps, hours(24)};
  Authenticator auth_;
};

TEST_F(MachineAuthTest, LiveTokenIsAMachinePrincipalWithRolesFromGroups) {
  std::string token = Issue("ci-admin", {"ci", "secops"});
  StatusOr<Principal> p = As(token);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->name(), "ci-admin");
  EXPECT_TRUE(p->subject.machine);
  EXPECT_EQ(p->subject.person, "token:ci-admin");
  EXPECT_TRUE(p->admin);
  EXPECT_FALSE(p->auditor);
  StatusOr<Principal> erin = As("t-erin");
  ASSERT_TRUE(IsOk(erin));
  EXPECT_FALSE(erin->subject.machine);
}

TEST_F(MachineAuthTest, UnknownTokenIs401) {
  EXPECT_TRUE(HasError(As("jit_m_" + std::string(64, '0')),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(As("jit_m_"), StatusCode::kUnauthenticated));
}

TEST_F(MachineAuthTest, ExpiredTokenIs401) {
  std::string token = Issue("ci", {"ci"}, hours(1));
  ASSERT_TRUE(IsOk(As(token)));
  rig_.clock.Advance(hours(1) - std::chrono::milliseconds(1));
  ASSERT_TRUE(IsOk(As(token)));
  rig_.clock.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(HasError(As(token), StatusCode::kUnauthenticated));
}

TEST_F(MachineAuthTest, RevokedTokenIs401OnTheNextCall) {
  std::string token = Issue("ci", {"ci"});
  ASSERT_TRUE(IsOk(As(token)));
  ASSERT_TRUE(IsOk(tokens_.Revoke(rig_.P("erin"), "ci")));
  StatusOr<Principal> after = As(token);
  EXPECT_TRUE(HasError(after, StatusCode::kUnauthenticated));
  EXPECT_EQ(after.status().message().find(token), std::string::npos);
}

TEST_F(MachineAuthTest, WithoutAVerifierMachineTokensAreUnknown) {
  std::string token = Issue("ci", {"ci"});
  Authenticator plain({}, RoleGroups{});
  HttpRequest http;
  http.headers["authorization"] = "Bearer " + token;
  EXPECT_TRUE(HasError(plain.Authenticate(http), StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace jit
