#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jit/policy/policy.h"
#include "jit/policy/policy_test_util.h"

namespace jit {
namespace {

using policy_test::MustLoad;
using policy_test::Noon;
using policy_test::Utc;
using policy_test::Yaml;
using std::chrono::hours;
using std::chrono::minutes;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

constexpr char kEntitlements[] = R"(
entitlements:
  - {name: db-read, connector: pg, max_duration: 1h, description: read prod}
  - {name: db-write, connector: pg, max_duration: 4h}
  - {name: ssh, connector: ca, max_duration: 2h}
policies:
)";

// The entitlements above followed by `policies` (list items).
std::shared_ptr<const PolicySet> WithPolicies(std::string_view policies) {
  return MustLoad(Yaml(kEntitlements) + Yaml(policies));
}

constexpr char kDevRead[] = R"(
  - name: dev-read
    subjects: {groups: [dev], users: [carol]}
    entitlements: [db-read]
    max_duration: 30m
    require: {justification_min_chars: 15, ticket_pattern: "^OPS-[0-9]+$"}
    approval: {groups: [sre], users: [dave], count: 1}
    approval_timeout: 1h
    emergency: {allowed: true, max_duration: 15m, notify: [sec-oncall]}
)";

Subject Alice() { return {"alice", "alice", {"dev"}}; }

// An ask that meets every rule of dev-read.
AccessAsk GoodAsk() {
  AccessAsk ask;
  ask.subject = Alice();
  ask.entitlement = "db-read";
  ask.duration = minutes(15);
  ask.justification = "investigating OPS-12 slow queries";
  ask.ticket = "OPS-12";
  return ask;
}

class DevReadTest : public testing::Test {
 protected:
  void SetUp() override {
    set_ = WithPolicies(kDevRead);
    ASSERT_NE(set_, nullptr);
  }
  Decision Eval(const AccessAsk& ask, SystemTime now = Noon()) const {
    return set_->Evaluate(ask, now);
  }
  std::shared_ptr<const PolicySet> set_;
};

// --- coverage
// ------------------------------------------------------------------

TEST_F(DevReadTest, AllowsAnAskThatMeetsEveryRule) {
  Decision d = Eval(GoodAsk());
  EXPECT_TRUE(d.allow);
  EXPECT_TRUE(d.needs_approval);
  EXPECT_EQ(d.policy, "dev-read");
  EXPECT_EQ(d.approvals_required, 1);
  EXPECT_EQ(d.max_duration, minutes(30));
  EXPECT_EQ(d.approval_timeout, hours(1));
  EXPECT_THAT(d.notify, IsEmpty());
  EXPECT_THAT(d.reasons, IsEmpty());
}

TEST_F(DevReadTest, UnknownEntitlementIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.entitlement = "db-admin";
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("unknown entitlement db-admin"));
}

TEST_F(DevReadTest, SubjectInNoListedGroupIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.subject = {"bob", "bob", {"sales", "sre"}};
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.policy, "");
  EXPECT_THAT(d.reasons, ElementsAre("no policy lets bob request db-read"));
}

TEST_F(DevReadTest, ListedUserIsCoveredWithoutAnyGroup) {
  AccessAsk ask = GoodAsk();
  ask.subject = {"carol", "carol", {}};
  EXPECT_TRUE(Eval(ask).allow);
}

TEST_F(DevReadTest, AnyOneMatchingGroupCovers) {
  AccessAsk ask = GoodAsk();
  ask.subject = {"erin", "erin", {"ops", "dev", "web"}};
  EXPECT_TRUE(Eval(ask).allow);
}

TEST_F(DevReadTest, PersonAliasDoesNotCoverWhenNameIsNotListed) {
  AccessAsk ask = GoodAsk();
  ask.subject = {"carol-ci", "carol", {}};
  EXPECT_FALSE(Eval(ask).allow);
}

TEST_F(DevReadTest, EntitlementNotListedByTheCoveringPolicyIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.entitlement = "ssh";
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("no policy lets alice request ssh"));
}

// --- duration
// ------------------------------------------------------------------

TEST_F(DevReadTest, ZeroDurationIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.duration = Duration(0);
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("duration must be at least 1s"));
}

TEST_F(DevReadTest, NegativeDurationIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.duration = -minutes(5);
  EXPECT_FALSE(Eval(ask).allow);
}

TEST_F(DevReadTest, DurationAboveCapIsDeniedNamingCapAndPolicy) {
  AccessAsk ask = GoodAsk();
  ask.duration = hours(2);
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("duration 2h exceeds the maximum 30m of "
                                     "policy dev-read"));
}

TEST_F(DevReadTest, DurationEqualToCapIsAllowed) {
  AccessAsk ask = GoodAsk();
  ask.duration = minutes(30);
  EXPECT_TRUE(Eval(ask).allow);
  ask.duration = minutes(30) + Duration(1);
  EXPECT_FALSE(Eval(ask).allow);
}

TEST(PolicyEvaluateTest, EntitlementMaxCapsALargerPolicyMax) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    max_duration: 3h
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.duration = minutes(90);
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre(HasSubstr("exceeds the maximum 1h")));
  ask.duration = hours(1);
  d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.max_duration, hours(1));
}

TEST(PolicyEvaluateTest, PolicyWithoutMaxDurationUsesEntitlementMax) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-write]
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.entitlement = "db-write";
  ask.duration = hours(4);
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.max_duration, hours(4));
  ask.duration = hours(5);
  EXPECT_FALSE(set->Evaluate(ask, Noon()).allow);
}

// --- justification and ticket
// -----------------------------------------------------

TEST_F(DevReadTest, ShortJustificationIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.justification = "because";
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("justification has 7 characters; policy "
                                     "dev-read requires at least 15"));
}

TEST_F(DevReadTest, JustificationIsCountedAfterTrimmingWhitespace) {
  AccessAsk ask = GoodAsk();
  ask.justification = "   short    \n\t        ";
  EXPECT_FALSE(Eval(ask).allow);
  ask.justification = "  exactly fifteen  ";  // 15 characters inside
  EXPECT_TRUE(Eval(ask).allow);
}

TEST_F(DevReadTest, JustificationCountsCodePointsNotBytes) {
  AccessAsk ask = GoodAsk();
  // 14 two-byte characters: 28 bytes but too short.
  std::string fourteen;
  for (int i = 0; i < 14; ++i) fourteen += "\xc3\xa9";  // é
  ask.justification = fourteen;
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre(HasSubstr("has 14 characters")));
  ask.justification = fourteen + "\xe2\x82\xac";  // + €, 3 bytes
  EXPECT_TRUE(Eval(ask).allow);
}

TEST_F(DevReadTest, MissingTicketIsDeniedWhenAPatternIsSet) {
  AccessAsk ask = GoodAsk();
  ask.ticket = "";
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("policy dev-read requires a ticket "
                                     "matching ^OPS-[0-9]+$"));
}

TEST_F(DevReadTest, TicketNotMatchingThePatternIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.ticket = "see OPS-12";
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons,
              ElementsAre("ticket \"see OPS-12\" does not match "
                          "^OPS-[0-9]+$ required by policy dev-read"));
}

TEST_F(DevReadTest, LongTicketIsCutShortInTheReason) {
  AccessAsk ask = GoodAsk();
  ask.ticket = std::string(5000, 'x');
  Decision d = Eval(ask);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_LT(d.reasons[0].size(), 200u);
  EXPECT_THAT(d.reasons[0], HasSubstr("...\""));
}

TEST(PolicyEvaluateTest, UnanchoredTicketPatternMatchesAnywhere) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    require: {ticket_pattern: "OPS-[0-9]+"}
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.ticket = "see OPS-12 please";
  EXPECT_TRUE(set->Evaluate(ask, Noon()).allow);
  ask.ticket = "OPS-";
  EXPECT_FALSE(set->Evaluate(ask, Noon()).allow);
}

TEST(PolicyEvaluateTest, WithoutRequirementsEmptyJustificationAndTicketPass) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.justification = "";
  ask.ticket = "";
  EXPECT_TRUE(set->Evaluate(ask, Noon()).allow);
}

// --- emergency
// ------------------------------------------------------------------

TEST_F(DevReadTest, EmergencyIsCappedAtEmergencyMaxDuration) {
  AccessAsk ask = GoodAsk();
  ask.emergency = Emergency::kYes;
  ask.duration = minutes(20);
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("duration 20m exceeds the emergency "
                                     "maximum 15m of policy dev-read"));
}

TEST_F(DevReadTest, EmergencyStillNeedsApprovalAndCarriesNotifyList) {
  AccessAsk ask = GoodAsk();
  ask.emergency = Emergency::kYes;
  ask.duration = minutes(15);
  Decision d = Eval(ask);
  EXPECT_TRUE(d.allow);
  EXPECT_TRUE(d.needs_approval);
  EXPECT_EQ(d.approvals_required, 1);
  EXPECT_EQ(d.max_duration, minutes(15));
  EXPECT_THAT(d.notify, ElementsAre("sec-oncall"));
}

TEST(PolicyEvaluateTest, EmergencyIsDeniedWhenThePolicyDoesNotAllowIt) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {groups: [sre]}
    emergency: {allowed: false}
  - name: q
    subjects: {groups: [dev]}
    entitlements: [db-write]
    approval: {groups: [sre]}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.emergency = Emergency::kYes;
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons,
              ElementsAre("policy p does not allow emergency requests"));
  ask.entitlement = "db-write";  // no emergency section at all
  EXPECT_FALSE(set->Evaluate(ask, Noon()).allow);
}

TEST(PolicyEvaluateTest, EmergencyMaxDefaultsToTheEffectiveCap) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    max_duration: 45m
    approval: {auto: true}
    emergency: {allowed: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.emergency = Emergency::kYes;
  ask.duration = minutes(45);
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_FALSE(d.needs_approval);
  EXPECT_EQ(d.max_duration, minutes(45));
  ask.duration = minutes(46);
  EXPECT_FALSE(set->Evaluate(ask, Noon()).allow);
}

TEST(PolicyEvaluateTest, EmergencyMaxNeverExceedsTheEntitlementMax) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
    emergency: {allowed: true, max_duration: 3h}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.emergency = Emergency::kYes;
  ask.duration = minutes(90);
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre(HasSubstr("emergency maximum 1h")));
}

// --- start_at, MFA
// -------------------------------------------------------------

TEST_F(DevReadTest, StartMoreThanThirtyDaysAheadIsDenied) {
  AccessAsk ask = GoodAsk();
  ask.start_at = Noon() + hours(24 * 30);
  EXPECT_TRUE(Eval(ask).allow);
  ask.start_at = Noon() + hours(24 * 30) + std::chrono::seconds(1);
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre(HasSubstr("more than 30 days ahead")));
}

constexpr const char* kMfaPolicy = R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    require: {mfa: true}
    approval: {auto: true}
)";

TEST(PolicyEvaluateTest, MfaRequirementDeniesWithoutASecondFactor) {
  auto set = WithPolicies(kMfaPolicy);
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(GoodAsk(), Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons,
              ElementsAre("policy p requires a second factor: sign in again "
                          "with MFA or give a TOTP code"));
}

TEST(PolicyEvaluateTest, MfaRequirementAllowsWithASecondFactor) {
  auto set = WithPolicies(kMfaPolicy);
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.second_factor = SecondFactor::kShown;
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_TRUE(d.second_factor_required);
  EXPECT_FALSE(d.approver_second_factor_required);
}

TEST(PolicyEvaluateTest, SecondFactorIsNotNeededWhereNoPolicyAsks) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {groups: [sre], mfa: true}
)");
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(GoodAsk(), Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_FALSE(d.second_factor_required);
  EXPECT_TRUE(d.approver_second_factor_required);
  EXPECT_TRUE(set->ApproverNeedsSecondFactor("p"));
  EXPECT_FALSE(set->ApproverNeedsSecondFactor("nope"));
}

TEST(PolicyEvaluateTest, ApprovalMfaWithAutoApproveIsAConfigError) {
  auto refused = policy_test::LoadString(Yaml(kEntitlements) + Yaml(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true, mfa: true}
)"));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("approval: mfa: true needs approvers"));
  EXPECT_NE(WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true, mfa: false}
)"),
            nullptr);
}

// --- several reasons, several policies
// --------------------------------------------

TEST_F(DevReadTest, EveryFailedRuleIsReportedTogether) {
  AccessAsk ask = GoodAsk();
  ask.duration = hours(1);
  ask.justification = "x";
  ask.ticket = "";
  ask.start_at = Noon() + hours(24 * 60);
  Decision d = Eval(ask);
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons,
              ElementsAre(HasSubstr("exceeds the maximum 30m"),
                          HasSubstr("justification has 1 characters"),
                          HasSubstr("requires a ticket"),
                          HasSubstr("more than 30 days ahead")));
}

constexpr char kTwoPolicies[] = R"(
  - name: short-auto
    subjects: {groups: [dev]}
    entitlements: [db-read]
    max_duration: 10m
    approval: {auto: true}
  - name: long-approved
    subjects: {groups: [dev]}
    entitlements: [db-read]
    max_duration: 1h
    require: {justification_min_chars: 10}
    approval: {groups: [sre, security], count: 2}
)";

TEST(PolicyEvaluateTest, FirstAllowingPolicyInFileOrderDecides) {
  auto set = WithPolicies(kTwoPolicies);
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.duration = minutes(5);  // both allow: the first wins
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.policy, "short-auto");
  EXPECT_FALSE(d.needs_approval);
  EXPECT_EQ(d.approvals_required, 0);

  ask.duration = minutes(45);  // only the second allows
  d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.policy, "long-approved");
  EXPECT_TRUE(d.needs_approval);
  EXPECT_EQ(d.approvals_required, 2);
  EXPECT_EQ(d.max_duration, hours(1));
}

TEST(PolicyEvaluateTest, ReasonsOfEveryCoveringPolicyArePrefixedWithItsName) {
  auto set = WithPolicies(kTwoPolicies);
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.duration = hours(2);
  ask.justification = "short";
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(
      d.reasons,
      ElementsAre("policy short-auto: duration 2h exceeds the maximum 10m of "
                  "policy short-auto",
                  "policy long-approved: duration 2h exceeds the maximum 1h of "
                  "policy long-approved",
                  HasSubstr("policy long-approved: justification has 5")));
}

TEST(PolicyEvaluateTest, PolicyNotCoveringTheSubjectAddsNoReasons) {
  auto set = WithPolicies(R"(
  - name: for-sre
    subjects: {groups: [sre]}
    entitlements: [db-read]
    max_duration: 1m
    approval: {auto: true}
  - name: for-dev
    subjects: {groups: [dev]}
    entitlements: [db-read]
    max_duration: 10m
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.duration = minutes(20);
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_THAT(d.reasons, ElementsAre("duration 20m exceeds the maximum 10m of "
                                     "policy for-dev"));
}

TEST(PolicyEvaluateTest, ApprovalCountDefaultsToOne) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {users: [dave]}
)");
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(GoodAsk(), Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.approvals_required, 1);
  EXPECT_FALSE(d.approval_timeout.has_value());
}

TEST(PolicyEvaluateTest, NOfMApprovalsAreRequired) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {users: [dave, erin, frank], count: 3}
)");
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(GoodAsk(), Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_TRUE(d.needs_approval);
  EXPECT_EQ(d.approvals_required, 3);
}

// --- time windows
// ---------------------------------------------------------------

constexpr char kOfficeHours[] = R"(
  - name: office
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
    windows:
      - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00", tz: Europe/Berlin}
)";

TEST(PolicyEvaluateTest, WindowFollowsBerlinSummerTime) {
  auto set = WithPolicies(kOfficeHours);
  ASSERT_NE(set, nullptr);
  // Wednesday 2026-07-15, CEST = UTC+2.
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 7, 15, 5, 59)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 7, 15, 6, 0)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 7, 15, 17, 59)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 7, 15, 18, 0)).allow);
}

TEST(PolicyEvaluateTest, WindowFollowsBerlinWinterTime) {
  auto set = WithPolicies(kOfficeHours);
  ASSERT_NE(set, nullptr);
  // Wednesday 2026-01-14, CET = UTC+1: 06:30Z is 07:30 local, too early.
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 1, 14, 6, 30)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 1, 14, 7, 0)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 1, 14, 18, 30)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 1, 14, 19, 0)).allow);
}

TEST(PolicyEvaluateTest, WindowUsesTheLocalDayNotTheUtcDay) {
  auto set = WithPolicies(kOfficeHours);
  ASSERT_NE(set, nullptr);
  // Saturday 2026-11-28 in UTC, still Saturday in Berlin: closed.
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 28, 12)).allow);
  // Friday 2026-11-27 18:30Z = 19:30 local: open.
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 27, 18, 30)).allow);
}

TEST(PolicyEvaluateTest, OutsideWindowReasonListsTheWindows) {
  auto set = WithPolicies(kOfficeHours);
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(GoodAsk(), Utc(2026, 11, 29, 12));  // Sunday
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons,
              ElementsAre("2026-11-29T12:00:00.000Z is outside the time "
                          "windows of policy office (mon,tue,wed,thu,fri "
                          "08:00-20:00 Europe/Berlin)"));
}

TEST(PolicyEvaluateTest, WindowPastMidnightBelongsToTheDayItStarts) {
  auto set = WithPolicies(R"(
  - name: night
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
    windows:
      - {days: [fri], from: "22:00", to: "06:00"}
)");
  ASSERT_NE(set, nullptr);
  // 2026-11-27 is a Friday; tz defaults to UTC.
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 27, 21, 59)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 27, 22, 0)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 28, 5, 59)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 28, 6, 0)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 28, 23, 0)).allow);
  // Friday early morning belongs to Thursday's night: closed.
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 27, 3, 0)).allow);
}

TEST(PolicyEvaluateTest, WindowMayEndAtMidnight) {
  auto set = WithPolicies(R"(
  - name: evening
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
    windows:
      - {days: [mon], from: "20:00", to: "24:00", tz: UTC}
)");
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 23, 23, 59)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 24, 0, 0)).allow);
}

TEST(PolicyEvaluateTest, AnyOneOfSeveralWindowsIsEnough) {
  auto set = WithPolicies(R"(
  - name: split
    subjects: {groups: [dev]}
    entitlements: [db-read]
    approval: {auto: true}
    windows:
      - {from: "08:00", to: "09:00"}
      - {from: "17:00", to: "18:00"}
)");
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 23, 8, 30)).allow);
  EXPECT_FALSE(set->Evaluate(GoodAsk(), Utc(2026, 11, 23, 12)).allow);
  EXPECT_TRUE(set->Evaluate(GoodAsk(), Utc(2026, 11, 23, 17, 30)).allow);
}

// --- MayApprove
// -----------------------------------------------------------------

TEST_F(DevReadTest, MayApproveListedUser) {
  EXPECT_TRUE(set_->MayApprove({"dave", "dave", {}}, "dev-read"));
}

TEST_F(DevReadTest, MayApproveMemberOfAnApprovalGroup) {
  EXPECT_TRUE(set_->MayApprove({"sam", "sam", {"web", "sre"}}, "dev-read"));
}

TEST_F(DevReadTest, MayNotApproveWhenNeitherListedNorInAGroup) {
  EXPECT_FALSE(set_->MayApprove({"alice", "alice", {"dev"}}, "dev-read"));
  EXPECT_FALSE(set_->MayApprove({"dave-ci", "dave", {}}, "dev-read"));
}

TEST_F(DevReadTest, MayNotApproveUnderAnUnknownPolicy) {
  EXPECT_FALSE(set_->MayApprove({"dave", "dave", {"sre"}}, "no-such-policy"));
}

TEST(PolicyEvaluateTest, NobodyMayApproveUnderAnAutoPolicy) {
  auto set = WithPolicies(R"(
  - name: p
    subjects: {groups: [sre]}
    entitlements: [db-read]
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  EXPECT_FALSE(set->MayApprove({"sam", "sam", {"sre"}}, "p"));
}

// --- RequestableBy
// ----------------------------------------------------------------

TEST(PolicyEvaluateTest, RequestableByListsCoveredEntitlementsWithLimits) {
  auto set = WithPolicies(std::string(kDevRead) + R"(
  - name: dev-ssh
    subjects: {groups: [dev]}
    entitlements: [ssh]
    approval: {auto: true}
    require: {mfa: true}
    windows:
      - {days: [mon], from: "08:00", to: "10:00", tz: Europe/Berlin}
  - name: sre-write
    subjects: {groups: [sre]}
    entitlements: [db-write]
    approval: {auto: true}
)");
  ASSERT_NE(set, nullptr);
  std::vector<Requestable> rows = set->RequestableBy(Alice());
  ASSERT_EQ(rows.size(), 2u);

  const Requestable& read = rows[0];
  EXPECT_EQ(read.entitlement, "db-read");
  EXPECT_EQ(read.description, "read prod");
  EXPECT_EQ(read.policy, "dev-read");
  EXPECT_EQ(read.max_duration, minutes(30));
  EXPECT_FALSE(read.auto_approve);
  EXPECT_EQ(read.approvals_required, 1);
  EXPECT_EQ(read.justification_min_chars, 15);
  EXPECT_EQ(read.ticket_pattern, "^OPS-[0-9]+$");
  EXPECT_TRUE(read.emergency_allowed);
  EXPECT_EQ(read.emergency_max_duration, minutes(15));
  EXPECT_FALSE(read.mfa_required);
  EXPECT_THAT(read.time_windows, IsEmpty());

  const Requestable& ssh = rows[1];
  EXPECT_EQ(ssh.entitlement, "ssh");
  EXPECT_EQ(ssh.max_duration, hours(2));
  EXPECT_TRUE(ssh.auto_approve);
  EXPECT_EQ(ssh.approvals_required, 0);
  EXPECT_FALSE(ssh.emergency_allowed);
  EXPECT_FALSE(ssh.emergency_max_duration.has_value());
  EXPECT_TRUE(ssh.mfa_required);
  EXPECT_FALSE(ssh.approver_mfa_required);
  EXPECT_THAT(ssh.time_windows, ElementsAre("mon 08:00-10:00 Europe/Berlin"));
}

TEST(PolicyEvaluateTest, RequestableByTakesLimitsFromTheFirstCoveringPolicy) {
  auto set = WithPolicies(kTwoPolicies);
  ASSERT_NE(set, nullptr);
  std::vector<Requestable> rows = set->RequestableBy(Alice());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].policy, "short-auto");
  EXPECT_EQ(rows[0].max_duration, minutes(10));
}

TEST_F(DevReadTest, RequestableByIsEmptyForAnUncoveredSubject) {
  EXPECT_THAT(set_->RequestableBy({"bob", "bob", {"sales"}}), IsEmpty());
}

}  // namespace
}  // namespace jit

// --- machine tokens ---------------------------------------------------------

namespace jit {
namespace {

constexpr char kCiDeploy[] = R"(
  - name: ci-deploy
    subjects: {tokens: [ci-deploy]}
    entitlements: [ssh]
    max_duration: 15m
    approval: {auto: true}
)";

Subject Machine(const std::string& name, std::vector<std::string> groups = {}) {
  return {name, "token:" + name, std::move(groups), /*machine=*/true};
}

AccessAsk SshAsk(Subject who, Duration d = minutes(10)) {
  AccessAsk ask;
  ask.subject = std::move(who);
  ask.entitlement = "ssh";
  ask.duration = d;
  ask.justification = "deploy build 42";
  return ask;
}

TEST(PolicyMachineTest, TokenListCoversTheMachineAndAutoApproves) {
  auto set = WithPolicies(kCiDeploy);
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(SshAsk(Machine("ci-deploy")), Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_FALSE(d.needs_approval);
  EXPECT_EQ(d.policy, "ci-deploy");
}

TEST(PolicyMachineTest, TokenListNeverCoversAPersonOfThatName) {
  auto set = WithPolicies(kCiDeploy);
  ASSERT_NE(set, nullptr);
  Decision d =
      set->Evaluate(SshAsk(Subject{"ci-deploy", "ci-deploy", {}}), Noon());
  EXPECT_FALSE(d.allow);
  EXPECT_THAT(d.reasons, ElementsAre("no policy lets ci-deploy request ssh"));
}

TEST(PolicyMachineTest, UsersListNeverCoversAMachineOfThatName) {
  auto set = WithPolicies(kDevRead);
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.subject = Machine("carol");
  EXPECT_FALSE(set->Evaluate(ask, Noon()).allow);
  ask.subject = Subject{"carol", "carol", {}};
  EXPECT_TRUE(set->Evaluate(ask, Noon()).allow);
}

TEST(PolicyMachineTest, GroupsCoverMachinesAsPeople) {
  auto set = WithPolicies(kDevRead);
  ASSERT_NE(set, nullptr);
  AccessAsk ask = GoodAsk();
  ask.subject = Machine("build-bot", {"dev"});
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_TRUE(d.needs_approval);
}

TEST(PolicyMachineTest, AutoApprovalForMachinesKeepsItsDurationCap) {
  auto set = WithPolicies(kCiDeploy);
  ASSERT_NE(set, nullptr);
  Decision d = set->Evaluate(SshAsk(Machine("ci-deploy"), minutes(16)), Noon());
  EXPECT_FALSE(d.allow);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_THAT(d.reasons[0], HasSubstr("15m"));
}

TEST(PolicyMachineTest, ApprovalUsersNeverMatchAMachine) {
  auto set = WithPolicies(kDevRead);
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->MayApprove(Subject{"dave", "dave", {}}, "dev-read"));
  EXPECT_FALSE(set->MayApprove(Machine("dave"), "dev-read"));
  EXPECT_TRUE(set->MayApprove(Machine("bot", {"sre"}), "dev-read"));
}

TEST(PolicyMachineTest, TokensChangeTheVersionHash) {
  auto people = WithPolicies(R"(
  - name: p
    subjects: {users: [ci-deploy]}
    entitlements: [ssh]
    approval: {auto: true}
)");
  auto tokens = WithPolicies(R"(
  - name: p
    subjects: {users: [ci-deploy], tokens: [ci-deploy]}
    entitlements: [ssh]
    approval: {auto: true}
)");
  ASSERT_NE(people, nullptr);
  ASSERT_NE(tokens, nullptr);
  EXPECT_NE(people->version_hash(), tokens->version_hash());
}

}  // namespace
}  // namespace jit
