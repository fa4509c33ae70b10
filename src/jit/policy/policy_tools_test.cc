#include "jit/policy/policy_tools.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jit/base/duration.h"
#include "jit/policy/policy_test_util.h"

namespace jit {
namespace {

using policy_test::TempFile;
using policy_test::Yaml;
using std::chrono::hours;
using std::chrono::minutes;
using testing::AllOf;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

const std::string kTestdata = JIT_POLICY_TESTDATA;

std::shared_ptr<const PolicySet> ExamplePolicies() {
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::LoadFile(kTestdata + "/policies.yaml");
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? *set : nullptr;
}

// --- lint
// ------------------------------------------------------------------------

TEST(LintPolicyFileTest,
     SummarisesAGoodFileAndWarnsAboutUncoveredEntitlements) {
  StatusOr<std::string> out = LintPolicyFile(kTestdata + "/policies.yaml");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "ok: 3 entitlements, 2 policies\n"
            "warning: entitlement web-sudo is covered by no policy; nobody can "
            "request it");
}

TEST(LintPolicyFileTest, MfaPoliciesAreNoLongerWarnedAbout) {
  StatusOr<std::string> out = LintPolicyFile(kTestdata + "/uncovered.yaml");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(*out, StartsWith("ok: 2 entitlements, 2 policies\n"));
  EXPECT_THAT(*out, HasSubstr("warning: entitlement forgotten is covered by no "
                              "policy"));
  EXPECT_THAT(*out, Not(HasSubstr("strict")));
}

TEST(LintPolicyFileTest, ReportsTheFirstErrorWithFileAndLine) {
  std::string path = kTestdata + "/broken.yaml";
  StatusOr<std::string> out = LintPolicyFile(path);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(),
              AllOf(StartsWith(path + ":6: "),
                    HasSubstr("unknown entitlement prod-db-raed")));
}

// --- test runner
// -------------------------------------------------------------------

TEST(RunPolicyTestsTest, AllCasesPassAgainstTheExamplePolicies) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  StatusOr<PolicyTestResult> r =
      RunPolicyTests(*set, kTestdata + "/cases_pass.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->passed, 5);
  EXPECT_EQ(r->failed, 0);
  EXPECT_THAT(r->failures, testing::IsEmpty());
}

TEST(RunPolicyTestsTest, FailedCasesAreCountedAndExplained) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  std::string path = kTestdata + "/cases_fail.yaml";
  StatusOr<PolicyTestResult> r = RunPolicyTests(*set, path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->passed, 1);
  EXPECT_EQ(r->failed, 3);
  EXPECT_THAT(
      r->failures,
      ElementsAre(
          AllOf(StartsWith("case \"wrongly expects two hours to pass\" (" +
                           path + ":2): "),
                HasSubstr("expected allow, got deny: duration 2h exceeds")),
          AllOf(HasSubstr("wrongly expects auto approval"),
                HasSubstr(path + ":16"),
                HasSubstr("expected auto: true, got auto: false")),
          AllOf(HasSubstr("wrong reason text"),
                HasSubstr("expected a reason containing \"exceeds\", got: no "
                          "policy lets bob request prod-db-read"))));
}

TEST(RunPolicyTestsTest, DefaultEvaluationTimeIsMondayNoonUtc) {
  EXPECT_EQ(FormatTime(DefaultPolicyTestTime()), "2026-11-23T12:00:00.000Z");
}

TEST(RunPolicyTestsTest, CaseTimeAndStartAtAreUsed) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  TempFile file(Yaml(R"(
cases:
  - name: late at night in Berlin
    subject: {name: sam, groups: [sre]}
    entitlement: web-ssh
    duration: 1h
    at: "2026-11-23T20:30:00+01:00"
    expect: {allow: false}
  - name: start too far ahead
    subject: {name: sam, groups: [sre]}
    entitlement: web-ssh
    duration: 1h
    start_at: "2027-06-01T00:00:00Z"
    expect: {allow: false, reason_contains: "30 days"}
)"));
  const std::string& path = file.path();
  StatusOr<PolicyTestResult> r = RunPolicyTests(*set, path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->passed, 2) << testing::PrintToString(r->failures);
}

struct MalformedCase {
  std::string name;
  std::string yaml;
  int line;
  std::string message_part;
};

std::ostream& operator<<(std::ostream& os, const MalformedCase& c) {
  return os << c.name;
}

class MalformedCasesTest : public testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedCasesTest, IsAnErrorWithFileAndLine) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  const MalformedCase& c = GetParam();
  TempFile file(c.yaml);
  const std::string& path = file.path();
  StatusOr<PolicyTestResult> r = RunPolicyTests(*set, path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              AllOf(StartsWith(path + ":" + std::to_string(c.line) + ": "),
                    HasSubstr(c.message_part)));
}

// One valid case, lines 1-6, followed by `extra` lines.
std::string OneCase(std::string_view expect = "{allow: true}",
                    std::string_view extra = "") {
  return Yaml(R"(
cases:
  - name: c
    subject: {name: alice, groups: [dev]}
    entitlement: prod-db-read
    duration: 10m
    expect: )") +
         std::string(expect) + "\n" + std::string(extra);
}

const MalformedCase kMalformed[] = {
    {"UnknownCaseKey", OneCase("{allow: true}", "    colour: red\n"), 7,
     "case #1: unknown key \"colour\""},
    {"UnknownTopLevelKey", OneCase("{allow: true}", "extra: 1\n"), 7,
     "unknown key \"extra\""},
    {"UnknownExpectKey", OneCase("{allow: true, approvers: 1}"), 6,
     "unknown key \"approvers\""},
    {"UnknownSubjectKey", Yaml(R"(
cases:
  - name: c
    subject: {name: alice, team: dev}
    entitlement: prod-db-read
    duration: 10m
    expect: {allow: true}
)"),
     3, "unknown key \"team\""},
    {"MissingExpect", Yaml(R"(
cases:
  - name: c
    subject: {name: alice}
    entitlement: prod-db-read
    duration: 10m
)"),
     2, "case #1 needs expect"},
    {"MissingSubjectName", Yaml(R"(
cases:
  - name: c
    subject: {groups: [dev]}
    entitlement: prod-db-read
    duration: 10m
    expect: {allow: true}
)"),
     3, "subject needs name"},
    {"BadDuration", Yaml(R"(
cases:
  - name: c
    subject: {name: alice}
    entitlement: prod-db-read
    duration: ten minutes
    expect: {allow: true}
)"),
     5, "invalid duration"},
    {"BadTime", OneCase("{allow: true}", "    at: tomorrow\n"), 7,
     "invalid time"},
    {"AllowNotBoolean", OneCase("{allow: maybe}"), 6,
     "expect.allow must be true or false"},
    {"ReasonContainsWithAllow", OneCase("{allow: true, reason_contains: x}"), 6,
     "reason_contains needs allow: false"},
    {"ApprovalsWithDeny", OneCase("{allow: false, approvals: 1}"), 6,
     "expect.approvals needs allow: true"},
    {"EmergencyNotBoolean", OneCase("{allow: true}", "    emergency: sure\n"),
     7, "emergency must be true or false"},
    {"NoCases", "cases: []\n", 1, "cases must be a non-empty list"},
    {"SyntaxError", "cases:\n  - name: c\n     subject: x\n", 3,
     "illegal map value"},
};

INSTANTIATE_TEST_SUITE_P(Tools, MalformedCasesTest,
                         testing::ValuesIn(kMalformed),
                         [](const testing::TestParamInfo<MalformedCase>& info) {
                           return info.param.name;
                         });

TEST(RunPolicyTestsTest, MissingCasesFileIsAnError) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  StatusOr<PolicyTestResult> r =
      RunPolicyTests(*set, "/nonexistent/cases.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot read file"));
}

// --- explain
// ----------------------------------------------------------------------

TEST(ExplainDecisionTest, DeniedListsEveryReasonOnItsOwnLine) {
  Decision d;
  d.reasons = {"duration 2h exceeds the maximum 30m of policy p",
               "policy p requires a ticket matching ^OPS-[0-9]+$"};
  EXPECT_EQ(ExplainDecision(d),
            "denied\n"
            "reason: duration 2h exceeds the maximum 30m of policy p\n"
            "reason: policy p requires a ticket matching ^OPS-[0-9]+$");
}

TEST(ExplainDecisionTest, AllowedWithApprovalShowsCountAndLimits) {
  Decision d;
  d.allow = true;
  d.needs_approval = true;
  d.policy = "dev-read";
  d.approvals_required = 2;
  d.max_duration = minutes(30);
  d.approval_timeout = hours(1);
  d.notify = {"sec-oncall", "sre-lead"};
  EXPECT_EQ(ExplainDecision(d),
            "allowed by policy dev-read\n"
            "approval: 2 distinct approvers needed\n"
            "max duration: 30m\n"
            "approval timeout: 1h\n"
            "notify: sec-oncall, sre-lead");
}

TEST(ExplainDecisionTest, AutoApprovedSaysSo) {
  Decision d;
  d.allow = true;
  d.policy = "sre-ssh";
  d.max_duration = hours(2);
  EXPECT_EQ(ExplainDecision(d),
            "allowed by policy sre-ssh\n"
            "approval: automatic\n"
            "max duration: 2h");
}

TEST(ExplainDecisionTest, NamesSecondFactorRules) {
  Decision d;
  d.allow = true;
  d.needs_approval = true;
  d.policy = "strict";
  d.approvals_required = 1;
  d.max_duration = hours(1);
  d.second_factor_required = true;
  d.approver_second_factor_required = true;
  EXPECT_EQ(ExplainDecision(d),
            "allowed by policy strict\n"
            "approval: 1 distinct approver needed\n"
            "approvers: must show a second factor when they decide\n"
            "second factor: required with the request (shown)\n"
            "max duration: 1h");
}

TEST(RunPolicyTestsTest, MfaCaseKeyShowsASecondFactor) {
  auto set = policy_test::MustLoad(Yaml(R"(
entitlements:
  - {name: prod-db-read, connector: prod-pg, max_duration: 1h}
policies:
  - name: strict
    subjects: {users: [alice]}
    entitlements: [prod-db-read]
    require: {mfa: true}
    approval: {auto: true}
)"));
  ASSERT_NE(set, nullptr);
  TempFile cases(Yaml(R"(
cases:
  - name: without a second factor
    subject: {name: alice}
    entitlement: prod-db-read
    duration: 30m
    expect: {allow: false, reason_contains: "requires a second factor"}
  - name: with a second factor
    subject: {name: alice}
    entitlement: prod-db-read
    duration: 30m
    mfa: true
    expect: {allow: true, auto: true, policy: strict}
)"));
  StatusOr<PolicyTestResult> r = RunPolicyTests(*set, cases.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->passed, 2) << testing::PrintToString(r->failures);
  EXPECT_EQ(r->failed, 0);
}

TEST(ExplainDecisionTest, ExplainsARealDecision) {
  auto set = ExamplePolicies();
  ASSERT_NE(set, nullptr);
  AccessAsk ask;
  ask.subject = {"alice", "alice", {"dev"}};
  ask.entitlement = "prod-db-read";
  ask.duration = hours(2);
  std::string text =
      ExplainDecision(set->Evaluate(ask, DefaultPolicyTestTime()));
  EXPECT_THAT(text, StartsWith("denied\nreason: duration 2h exceeds"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

}  // namespace
}  // namespace jit
