#include "jit/workflow/token_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jit/base/sha256.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class TokenServiceTest : public testing::Test {
 protected:
  StatusOr<IssuedToken> Create(const std::string& name,
                               std::vector<std::string> groups = {"dev"},
                               Duration ttl = hours(24)) {
    return tokens_.Create(rig_.P("erin"), {name, std::move(groups), ttl, ""});
  }

  TestRig rig_;
  TokenService tokens_{rig_.deps, hours(24 * 90)};
};

TEST_F(TokenServiceTest, CreateShowsTheTokenOnceAndStoresOnlyItsHash) {
  StatusOr<IssuedToken> t = Create("ci-deploy");
  ASSERT_TRUE(IsOk(t));
  EXPECT_TRUE(t->token.starts_with(kMachineTokenPrefix));
  EXPECT_GE(t->token.size(), kMachineTokenPrefix.size() + 64);  // 256 bits
  StatusOr<Credential> stored =
      rig_.store.GetCredential(CredentialKind::kMachineToken, "ci-deploy");
  ASSERT_TRUE(IsOk(stored));
  EXPECT_EQ(stored->secret_sha256, Sha256Hex(t->token));
  EXPECT_EQ(stored->created_by, "erin");
  EXPECT_EQ(*stored->expires_at, stored->created_at + hours(24));
  std::vector<AuditEvent> audit = rig_.Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].type, AuditType::kTokenCreated);
  EXPECT_EQ(audit[0].actor, "erin");
  EXPECT_EQ(audit[0].subject, "ci-deploy");
  EXPECT_EQ(audit[0].data.find(t->token), std::string::npos);
  EXPECT_EQ(audit[0].data.find(t->token.substr(kMachineTokenPrefix.size())),
            std::string::npos);
}

TEST_F(TokenServiceTest, TwoTokensNeverShareASecret) {
  StatusOr<IssuedToken> a = Create("a");
  StatusOr<IssuedToken> b = Create("b");
  ASSERT_TRUE(IsOk(a));
  ASSERT_TRUE(IsOk(b));
  EXPECT_NE(a->token, b->token);
}

TEST_F(TokenServiceTest, OnlyAdminsManageTokens) {
  Principal alice = rig_.P("alice");
  EXPECT_TRUE(HasError(tokens_.Create(alice, {"x", {}, hours(1), ""}),
                       StatusCode::kPermissionDenied, "forbidden"));
  EXPECT_TRUE(HasError(tokens_.List(alice), StatusCode::kPermissionDenied));
  ASSERT_TRUE(IsOk(Create("x")));
  EXPECT_TRUE(
      HasError(tokens_.Revoke(alice, "x"), StatusCode::kPermissionDenied));
  EXPECT_EQ(rig_.Audit().size(), 1u);
}

TEST_F(TokenServiceTest, BadNamesGroupsAndTtlsAreRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "", "CI", "-x", "a b", "a/b", "x\"", std::string(65, 'a'), "ü"}) {
    EXPECT_TRUE(HasError(Create(bad), StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_TRUE(HasError(Create("ok", {""}), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(Create("ok", {"dev"}, hours(24 * 90) + minutes(1)),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasError(Create("ok", {"dev"}, Duration(0)),
                       StatusCode::kInvalidArgument));
  EXPECT_TRUE(rig_.Audit().empty());
}

TEST_F(TokenServiceTest, NameOfAConfiguredSubjectOrAnotherTokenIsAConflict) {
  EXPECT_TRUE(HasError(Create("alice"), StatusCode::kAlreadyExists));
  ASSERT_TRUE(IsOk(Create("ci")));
  EXPECT_TRUE(HasError(Create("ci"), StatusCode::kAlreadyExists));
  ASSERT_TRUE(IsOk(tokens_.Revoke(rig_.P("erin"), "ci")));
  EXPECT_TRUE(HasError(Create("ci"), StatusCode::kAlreadyExists));
}

TEST_F(TokenServiceTest, VerifyAcceptsLiveTokensOnly) {
  StatusOr<IssuedToken> t = Create("ci", {"dev"}, hours(1));
  ASSERT_TRUE(IsOk(t));
  StatusOr<Subject> s = tokens_.VerifyMachineToken(t->token);
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->name, "ci");
  EXPECT_EQ(s->person, "token:ci");
  EXPECT_TRUE(s->machine);
  EXPECT_EQ(s->groups, std::vector<std::string>{"dev"});

  EXPECT_TRUE(HasError(tokens_.VerifyMachineToken(t->token + "0"),
                       StatusCode::kUnauthenticated));
  EXPECT_TRUE(HasError(tokens_.VerifyMachineToken("jit_m_"),
                       StatusCode::kUnauthenticated));
  rig_.clock.Advance(hours(1));
  EXPECT_TRUE(HasError(tokens_.VerifyMachineToken(t->token),
                       StatusCode::kUnauthenticated));
}

TEST_F(TokenServiceTest, RevokeIsAuditedAndOnlyOnce) {
  ASSERT_TRUE(IsOk(Create("ci")));
  StatusOr<Credential> c = tokens_.Revoke(rig_.P("erin"), "ci");
  ASSERT_TRUE(IsOk(c));
  EXPECT_EQ(c->ended_by, "erin");
  EXPECT_TRUE(
      HasError(tokens_.Revoke(rig_.P("erin"), "ci"), StatusCode::kAborted));
  EXPECT_TRUE(
      HasError(tokens_.Revoke(rig_.P("erin"), "nope"), StatusCode::kNotFound));
  std::vector<AuditEvent> audit = rig_.Audit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].type, AuditType::kTokenRevoked);
  EXPECT_EQ(audit[1].subject, "ci");
}

TEST_F(TokenServiceTest, MachineGetsAnAutoApprovedGrantLikeAPerson) {
  StatusOr<IssuedToken> t = Create("ci", {"dev"});
  ASSERT_TRUE(IsOk(t));
  StatusOr<Subject> s = tokens_.VerifyMachineToken(t->token);
  ASSERT_TRUE(IsOk(s));
  Principal machine{*s};
  StatusOr<RequestView> v = rig_.requests.Create(
      machine, {"dev-shell", minutes(10), "deploy build 42", "", {}, {}});
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  EXPECT_EQ(v->request.person, "token:ci");
  EXPECT_TRUE(rig_.Allowed("ci", "dev-shell"));
}

TEST_F(TokenServiceTest, RevokedMachineIsRefusedAtActivation) {
  StatusOr<IssuedToken> t = Create("ci", {"dev"});
  ASSERT_TRUE(IsOk(t));
  Principal machine{*tokens_.VerifyMachineToken(t->token)};
  StatusOr<RequestView> v = rig_.requests.Create(
      machine,
      {"db-write", minutes(10), "migrate schema for OPS-1", "", {}, {}});
  ASSERT_TRUE(IsOk(v));
  ASSERT_EQ(v->request.state, RequestState::kPending);
  ASSERT_TRUE(IsOk(tokens_.Revoke(rig_.P("erin"), "ci")));
  StatusOr<RequestView> approved =
      rig_.requests.Approve(rig_.P("bob"), v->request.id, "");
  ASSERT_TRUE(IsOk(approved));
  EXPECT_EQ(approved->request.state, RequestState::kFailed);
  EXPECT_FALSE(rig_.Allowed("ci", "dev-shell"));
}

}  // namespace
}  // namespace jit
