#include "jit/workflow/mfa_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "jit/identity/totp.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::ElementsAre;
using testing::HasSubstr;

// dev-shell needs a second factor from the requester; db-write needs one
// from the approver.
constexpr const char* kMfaPolicies = R"(
entitlements:
  - {name: dev-shell, connector: demo, params: {user: "{subject}"}, max_duration: 4h}
  - {name: db-write, connector: demo, params: {role: app_write}, max_duration: 2h}
policies:
  - name: shell-mfa
    subjects: {groups: [dev]}
    entitlements: [dev-shell]
    require: {mfa: true}
    approval: {auto: true}
  - name: db-approver-mfa
    subjects: {groups: [dev]}
    entitlements: [db-write]
    approval: {groups: [sre], mfa: true}
)";

class MfaServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    auto set = PolicySet::Load(YAML::Load(kMfaPolicies), "mfa.yaml");
    ASSERT_TRUE(IsOk(set));
    auto snap = std::make_shared<PolicySnapshot>(*rig_.policies.Get());
    snap->policies = *set;
    rig_.policies.Set(snap);
    auto sealer = SecretSealer::Ephemeral();
    ASSERT_TRUE(IsOk(sealer));
    sealer_ = *std::move(sealer);
    mfa_ = std::make_unique<MfaService>(rig_.deps, *sealer_, MfaOptions{});
    rig_.deps.step_up = mfa_.get();
  }

  // Enrolls and confirms `who`; returns the raw seed.
  std::string Enrolled(const std::string& who) {
    StatusOr<TotpEnrollment> e = mfa_->EnrollTotp(rig_.P(who), "");
    EXPECT_TRUE(IsOk(e));
    if (!e.ok()) return "";
    std::string seed = *TotpSecretFromBase32(e->secret_base32);
    EXPECT_TRUE(IsOk(mfa_->ConfirmTotp(rig_.P(who), Code(seed))));
    rig_.clock.Advance(seconds(30));  // the confirming code is used up
    return seed;
  }

  std::string Code(const std::string& seed) {
    return *TotpCode(seed, rig_.clock.Now());
  }

  StatusOr<RequestView> Shell(const std::string& who, std::string code) {
    CreateRequestInput in = Input("dev-shell");
    in.mfa_code = std::move(code);
    return rig_.requests.Create(rig_.P(who), in);
  }

  static CreateRequestInput Input(const std::string& entitlement) {
    CreateRequestInput in;
    in.entitlement = entitlement;
    in.duration = minutes(30);
    in.justification = std::string(kGoodReason);
    return in;
  }

  StatusOr<RequestView> DbWrite() {
    return rig_.requests.Create(rig_.P("alice"), Input("db-write"));
  }

  TestRig rig_;
  std::unique_ptr<SecretSealer> sealer_;
  std::unique_ptr<MfaService> mfa_;
};

TEST_F(MfaServiceTest, RequireMfaRefusesWithoutASecondFactor) {
  StatusOr<RequestView> v = Shell("alice", "");
  ASSERT_TRUE(HasError(v, StatusCode::kFailedPrecondition, "policy_denied"));
  EXPECT_THAT(v.status().details(),
              ElementsAre("policy shell-mfa requires a second factor: sign in "
                          "again with MFA or give a TOTP code"));
}

TEST_F(MfaServiceTest, EnrolledTotpCodeSatisfiesRequireMfaOnce) {
  std::string seed = Enrolled("alice");
  std::string code = Code(seed);
  StatusOr<RequestView> v = Shell("alice", code);
  ASSERT_TRUE(IsOk(v));
  EXPECT_EQ(v->request.state, RequestState::kActive);
  // The same code again, still inside its window: refused as a replay.
  EXPECT_TRUE(HasError(Shell("alice", code), StatusCode::kPermissionDenied,
                       "mfa_failed"));
  rig_.clock.Advance(seconds(30));
  EXPECT_TRUE(IsOk(Shell("alice", Code(seed))));
}

TEST_F(MfaServiceTest, WrongOrForeignCodesAreRefused) {
  std::string seed = Enrolled("alice");
  std::string good = Code(seed);
  std::string wrong = good == "000000" ? "000001" : "000000";
  EXPECT_TRUE(HasError(Shell("alice", wrong), StatusCode::kPermissionDenied,
                       "mfa_failed"));
  EXPECT_TRUE(HasError(Shell("alice", "12345x"), StatusCode::kPermissionDenied,
                       "mfa_failed"));
  // Carol has no seed: alice's code means nothing for her.
  rig_.SetGroups("carol", {"dev"});
  EXPECT_TRUE(HasError(Shell("carol", good), StatusCode::kPermissionDenied,
                       "mfa_failed"));
  EXPECT_TRUE(IsOk(Shell("alice", good)));  // none of that used it up
}

TEST_F(MfaServiceTest, CodesWithinOneStepOfDriftAreAccepted) {
  std::string seed = Enrolled("alice");
  std::string previous = *TotpCode(seed, rig_.clock.Now() - seconds(30));
  std::string next = *TotpCode(seed, rig_.clock.Now() + seconds(30));
  std::string too_old = *TotpCode(seed, rig_.clock.Now() - seconds(90));
  EXPECT_TRUE(IsOk(Shell("alice", next)));
  if (too_old != Code(seed) && too_old != previous && too_old != next) {
    EXPECT_TRUE(HasError(Shell("alice", too_old), StatusCode::kPermissionDenied,
                         "mfa_failed"));
  }
}

TEST_F(MfaServiceTest, UnconfirmedSeedDoesNotCount) {
  StatusOr<TotpEnrollment> e = mfa_->EnrollTotp(rig_.P("alice"), "");
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->uri, "otpauth://totp/jitd:alice?secret=" + e->secret_base32 +
                        "&issuer=jitd");
  std::string seed = *TotpSecretFromBase32(e->secret_base32);
  EXPECT_TRUE(HasError(Shell("alice", Code(seed)),
                       StatusCode::kPermissionDenied, "mfa_failed"));
  StatusOr<TotpState> state = mfa_->StateOf(rig_.P("alice"));
  ASSERT_TRUE(IsOk(state));
  EXPECT_FALSE(state->active);
  EXPECT_TRUE(state->pending);
}

TEST_F(MfaServiceTest, ConfirmingCodeCannotBeUsedAgain) {
  StatusOr<TotpEnrollment> e = mfa_->EnrollTotp(rig_.P("alice"), "");
  ASSERT_TRUE(IsOk(e));
  std::string seed = *TotpSecretFromBase32(e->secret_base32);
  std::string code = Code(seed);
  ASSERT_TRUE(IsOk(mfa_->ConfirmTotp(rig_.P("alice"), code)));
  EXPECT_TRUE(HasError(Shell("alice", code), StatusCode::kPermissionDenied,
                       "mfa_failed"));
}

TEST_F(MfaServiceTest, PendingEnrollmentLapses) {
  StatusOr<TotpEnrollment> e = mfa_->EnrollTotp(rig_.P("alice"), "");
  ASSERT_TRUE(IsOk(e));
  EXPECT_EQ(e->confirm_by, rig_.clock.Now() + MfaService::kPendingTtl);
  std::string seed = *TotpSecretFromBase32(e->secret_base32);
  rig_.clock.Advance(MfaService::kPendingTtl);
  EXPECT_TRUE(HasError(mfa_->ConfirmTotp(rig_.P("alice"), Code(seed)),
                       StatusCode::kNotFound));
}

TEST_F(MfaServiceTest, ReEnrollingNeedsACurrentCode) {
  std::string old_seed = Enrolled("alice");
  EXPECT_TRUE(HasError(mfa_->EnrollTotp(rig_.P("alice"), ""),
                       StatusCode::kPermissionDenied, "mfa_required"));
  std::string wrong = Code(old_seed) == "000000" ? "000001" : "000000";
  EXPECT_TRUE(HasError(mfa_->EnrollTotp(rig_.P("alice"), wrong),
                       StatusCode::kPermissionDenied, "mfa_failed"));
  StatusOr<TotpEnrollment> e =
      mfa_->EnrollTotp(rig_.P("alice"), Code(old_seed));
  ASSERT_TRUE(IsOk(e));
  rig_.clock.Advance(seconds(30));
  // Until the new seed is confirmed the old one still counts.
  EXPECT_TRUE(IsOk(Shell("alice", Code(old_seed))));
  rig_.clock.Advance(seconds(30));
  std::string new_seed = *TotpSecretFromBase32(e->secret_base32);
  ASSERT_TRUE(IsOk(mfa_->ConfirmTotp(rig_.P("alice"), Code(new_seed))));
  rig_.clock.Advance(seconds(30));
  EXPECT_TRUE(HasError(Shell("alice", Code(old_seed)),
                       StatusCode::kPermissionDenied, "mfa_failed"));
  EXPECT_TRUE(IsOk(Shell("alice", Code(new_seed))));
}

TEST_F(MfaServiceTest, AdminResetRemovesTheSeedAndIsAudited) {
  std::string seed = Enrolled("alice");
  EXPECT_TRUE(HasError(mfa_->ResetTotp(rig_.P("bob"), "alice"),
                       StatusCode::kPermissionDenied));
  ASSERT_TRUE(IsOk(mfa_->ResetTotp(rig_.P("erin"), "alice")));
  EXPECT_TRUE(HasError(mfa_->ResetTotp(rig_.P("erin"), "alice"),
                       StatusCode::kNotFound));
  EXPECT_TRUE(HasError(Shell("alice", Code(seed)),
                       StatusCode::kPermissionDenied, "mfa_failed"));
  // After a reset alice enrolls anew without a code.
  EXPECT_TRUE(IsOk(mfa_->EnrollTotp(rig_.P("alice"), "")));
  std::vector<std::string> types;
  for (const AuditEvent& e : rig_.Audit()) {
    if (e.type == AuditType::kMfaTotpEnrolled ||
        e.type == AuditType::kMfaTotpConfirmed ||
        e.type == AuditType::kMfaTotpReset) {
      types.push_back(std::string(ToString(e.type)) + " by " + e.actor +
                      " for " + e.subject);
    }
  }
  EXPECT_THAT(types, ElementsAre("mfa.totp_enrolled by alice for alice",
                                 "mfa.totp_confirmed by alice for alice",
                                 "mfa.totp_reset by erin for alice",
                                 "mfa.totp_enrolled by alice for alice"));
  EXPECT_TRUE(rig_.VerifyAudit().ok);
}

TEST_F(MfaServiceTest, SeedIsStoredSealedAndNeverAudited) {
  StatusOr<TotpEnrollment> e = mfa_->EnrollTotp(rig_.P("alice"), "");
  ASSERT_TRUE(IsOk(e));
  std::string seed = *TotpSecretFromBase32(e->secret_base32);
  auto rows = rig_.store.ListCredentials(CredentialKind::kTotpPending);
  ASSERT_TRUE(IsOk(rows));
  ASSERT_EQ(rows->size(), 1u);
  const Credential& row = (*rows)[0];
  EXPECT_TRUE(row.sealed_secret.starts_with("v1."));
  EXPECT_EQ(row.sealed_secret.find(e->secret_base32), std::string::npos);
  EXPECT_EQ(row.sealed_secret.find(seed), std::string::npos);
  EXPECT_EQ(*sealer_->Open(row.sealed_secret, "jitd-totp:alice"), seed);
  for (const AuditEvent& ev : rig_.Audit())
    EXPECT_EQ(ev.data.find(e->secret_base32), std::string::npos);
}

TEST_F(MfaServiceTest, RecentMfaSignInSatisfiesWithoutACode) {
  Principal alice = rig_.P("alice");
  alice.amr = {"pwd", "otp"};
  alice.auth_time = rig_.clock.Now() - minutes(5);
  CreateRequestInput in = Input("dev-shell");
  EXPECT_TRUE(IsOk(rig_.requests.Create(alice, in)));
  alice.auth_time = rig_.clock.Now() - minutes(15) - seconds(1);
  EXPECT_TRUE(HasError(rig_.requests.Create(alice, in),
                       StatusCode::kFailedPrecondition, "policy_denied"));
  alice.auth_time = rig_.clock.Now();
  alice.amr = {"pwd"};
  EXPECT_TRUE(HasError(rig_.requests.Create(alice, in),
                       StatusCode::kFailedPrecondition, "policy_denied"));
}

TEST_F(MfaServiceTest, MachineTokensNeverShowASecondFactor) {
  Principal ci = rig_.P("alice");
  ci.subject.machine = true;
  ci.amr = {"mfa"};
  ci.auth_time = rig_.clock.Now();
  StatusOr<SecondFactor> shown = mfa_->Prove(ci, "123456");
  ASSERT_TRUE(IsOk(shown));
  EXPECT_EQ(*shown, SecondFactor::kNone);
  EXPECT_TRUE(HasError(mfa_->EnrollTotp(ci, ""), StatusCode::kPermissionDenied,
                       "forbidden"));
}

TEST_F(MfaServiceTest, ApprovalMfaAppliesToApproveAndDeny) {
  StatusOr<RequestView> asked = DbWrite();
  ASSERT_TRUE(IsOk(asked));
  const std::string id = asked->request.id;
  StatusOr<RequestView> plain = rig_.requests.Approve(rig_.P("bob"), id, "ok");
  ASSERT_TRUE(HasError(plain, StatusCode::kPermissionDenied, "mfa_required"));
  EXPECT_THAT(plain.status().message(),
              HasSubstr("policy db-approver-mfa requires approvers to show a "
                        "second factor"));
  EXPECT_TRUE(HasError(rig_.requests.Deny(rig_.P("bob"), id, "no"),
                       StatusCode::kPermissionDenied, "mfa_required"));
  std::string seed = Enrolled("bob");
  StatusOr<RequestView> approved =
      rig_.requests.Approve(rig_.P("bob"), id, "ok", Code(seed));
  ASSERT_TRUE(IsOk(approved));
  EXPECT_EQ(approved->request.state, RequestState::kActive);
}

TEST_F(MfaServiceTest, ApproverCodeIsNotUsedUpByACallThatFailsAnyway) {
  StatusOr<RequestView> asked = DbWrite();
  ASSERT_TRUE(IsOk(asked));
  std::string seed = Enrolled("alice");
  // alice may not approve her own request: her code stays unused.
  std::string code = Code(seed);
  EXPECT_TRUE(HasError(
      rig_.requests.Approve(rig_.P("alice"), asked->request.id, "", code),
      StatusCode::kPermissionDenied, "self_approval"));
  EXPECT_TRUE(IsOk(Shell("alice", code)));
}

}  // namespace
}  // namespace jit
