#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jit/policy/policy.h"
#include "jit/policy/policy_test_util.h"

namespace jit {
namespace {

using policy_test::LoadString;
using policy_test::MustLoad;
using policy_test::TempFile;
using policy_test::Yaml;
using testing::HasSubstr;
using testing::StartsWith;

// --- every load error names file and line -----------------------------------

struct LoadErrorCase {
  std::string name;  // test name suffix
  std::string yaml;
  int line;
  std::string message_part;
};

std::ostream& operator<<(std::ostream& os, const LoadErrorCase& c) {
  return os << c.name;
}

// Lines 1-7; most cases change one line of this.
std::string Base(std::string_view policy_extra = "",
                 std::string_view approval = "{groups: [sre]}") {
  return Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db]
    approval: )") +
         std::string(approval) + "\n" + std::string(policy_extra);
}

class LoadErrorTest : public testing::TestWithParam<LoadErrorCase> {};

TEST_P(LoadErrorTest, FromStringGivesPathLineAndReason) {
  const LoadErrorCase& c = GetParam();
  StatusOr<std::shared_ptr<const PolicySet>> set = LoadString(c.yaml);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(),
              StartsWith("cfg.yaml:" + std::to_string(c.line) + ": "));
  EXPECT_THAT(set.status().message(), HasSubstr(c.message_part));
}

TEST_P(LoadErrorTest, FromFileGivesFileLineAndReason) {
  const LoadErrorCase& c = GetParam();
  TempFile file(c.yaml);
  const std::string& path = file.path();
  StatusOr<std::shared_ptr<const PolicySet>> set = PolicySet::LoadFile(path);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(),
              StartsWith(path + ":" + std::to_string(c.line) + ": "));
  EXPECT_THAT(set.status().message(), HasSubstr(c.message_part));
}

const LoadErrorCase kLoadErrors[] = {
    {"UnknownPolicyKey", Base("    colour: red\n"), 8,
     "policy p: unknown key \"colour\""},
    {"UnknownEntitlementKey", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
  - {name: ssh, connector: ca, max_duration: 1h, owner: me}
)"),
     3, "entitlement ssh: unknown key \"owner\""},
    {"UnknownSubjectsKey", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {group: [dev]}
    entitlements: [db]
    approval: {groups: [sre]}
)"),
     5, "unknown key \"group\""},
    {"UnknownApprovalKey", Base("", "{groups: [sre], quorum: 2}"), 7,
     "unknown key \"quorum\""},
    {"UnknownRequireKey", Base("    require: {mfa: false, ticket: x}\n"), 8,
     "unknown key \"ticket\""},
    {"UnknownEmergencyKey", Base("    emergency: {allowed: true, page: me}\n"),
     8, "unknown key \"page\""},
    {"UnknownWindowKey",
     Base(
         "    windows:\n      - {from: \"08:00\", to: \"10:00\", zone: UTC}\n"),
     9, "unknown key \"zone\""},
    {"KeyGivenTwice", Base("    max_duration: 10m\n    max_duration: 20m\n"), 9,
     "key \"max_duration\" given twice"},
    {"KeyWithoutValueReportedAtTheKey",
     Base("    max_duration:\n    approval_timeout: 1h\n"), 8,
     "policy p: max_duration has no value"},
    {"PoliciesWithoutValue", "policies:\nlisten: 127.0.0.1:8420\n", 1,
     "policies must be a list"},
    {"DescriptionNotUtf8",
     "entitlements:\n  - name: db\n    connector: pg\n    max_duration: 1h\n"
     "    description: \"caf\xe9\"\n",
     5, "description is not valid UTF-8"},
    {"ParamNotUtf8",
     "entitlements:\n  - name: db\n    connector: pg\n    max_duration: 1h\n"
     "    params: {role: \"\xff\"}\n",
     5, "params.role is not valid UTF-8"},
    {"EntitlementBadDuration", Yaml(R"(
entitlements:
  - name: db
    connector: pg
    max_duration: 1 hour
)"),
     4, "invalid duration"},
    {"EntitlementWithoutMaxDuration", Yaml(R"(
entitlements:
  - {name: db, connector: pg}
)"),
     2, "needs max_duration"},
    {"EntitlementWithoutConnector", Yaml(R"(
entitlements:
  - name: db
    max_duration: 1h
)"),
     2, "needs connector"},
    {"EntitlementWithoutName", Yaml(R"(
entitlements:
  - {connector: pg, max_duration: 1h}
)"),
     2, "entitlement #1 needs name"},
    {"EntitlementNameWithSpaces", Yaml(R"(
entitlements:
  - {name: "db read", connector: pg, max_duration: 1h}
)"),
     2, "entitlement name \"db read\" must be"},
    {"EntitlementDefinedTwice", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
  - {name: ssh, connector: ca, max_duration: 1h}
  - {name: db, connector: pg, max_duration: 2h}
)"),
     4, "entitlement db is defined twice"},
    {"EntitlementParamWithoutValue", Yaml(R"(
entitlements:
  - name: db
    connector: pg
    params:
      role:
    max_duration: 1h
)"),
     5, "params.role has no value"},
    {"EntitlementsNotAList", Yaml(R"(
entitlements: {name: db}
)"),
     1, "entitlements must be a list"},
    {"PolicyDefinedTwice", Base(R"(  - name: p
    subjects: {users: [carol]}
    entitlements: [db]
    approval: {auto: true}
)"),
     8, "policy p is defined twice"},
    {"PolicyListsUnknownEntitlement", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements:
      - db
      - dbb
    approval: {groups: [sre]}
)"),
     8, "policy p: unknown entitlement dbb"},
    {"PolicyWithoutApproval", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db]
)"),
     4, "policy p needs approval"},
    {"PolicyWithoutSubjects", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    entitlements: [db]
    approval: {auto: true}
)"),
     4, "policy p needs subjects"},
    {"SubjectsEmpty", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: []}
    entitlements: [db]
    approval: {auto: true}
)"),
     5, "subjects needs at least one group or user"},
    {"SubjectsAsListNotMapping", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: [dev]
    entitlements: [db]
    approval: {auto: true}
)"),
     5, "policy p subjects must be a mapping"},
    {"SubjectUsersAsText", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects:
      users: carol
    entitlements: [db]
    approval: {auto: true}
)"),
     6, "subjects.users must be a list"},
    {"PolicyEntitlementsEmpty", Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements: []
    approval: {auto: true}
)"),
     6, "entitlements must list at least one"},
    {"ApprovalWithoutApprovers", Base("", "{count: 2}"), 7,
     "approval needs groups or users"},
    {"ApprovalAutoFalseWithoutApprovers", Base("", "{auto: false}"), 7,
     "approval needs groups or users"},
    {"ApprovalCountZero", Base("", "{groups: [sre], count: 0}"), 7,
     "approval.count must be a whole number from 1"},
    {"ApprovalCountNotANumber", Base("", "{groups: [sre], count: two}"), 7,
     "approval.count must be a whole number"},
    {"ApprovalCountAboveListedUsers",
     Base("", "{users: [dave, erin], count: 3}"), 7,
     "approval.count 3 is more than the 2 listed approvers"},
    {"ApprovalAutoWithApprovers", Base("", "{auto: true, groups: [sre]}"), 7,
     "auto: true takes no groups, users or count"},
    {"ApprovalAutoNotBoolean", Base("", "{auto: yes}"), 7,
     "approval.auto must be true or false"},
    {"PolicyBadMaxDuration", Base("    max_duration: forever\n"), 8,
     "policy p max_duration: invalid duration"},
    {"PolicyBadApprovalTimeout", Base("    approval_timeout: -5m\n"), 8,
     "approval_timeout: invalid duration"},
    {"InvalidTicketRegex",
     Base("    require:\n      ticket_pattern: \"^OPS-([0-9]+$\"\n"), 9,
     "not a valid regular expression"},
    {"EmptyTicketPattern", Base("    require: {ticket_pattern: \"\"}\n"), 8,
     "ticket_pattern must not be empty"},
    {"MinCharsNotANumber",
     Base("    require: {justification_min_chars: ten}\n"), 8,
     "justification_min_chars must be a whole number"},
    {"MinCharsAboveJustificationCap",
     Base("    require: {justification_min_chars: 5000}\n"), 8,
     "from 0 to 4096"},
    {"MfaNotBoolean", Base("    require: {mfa: \"true\"}\n"), 8,
     "require.mfa must be true or false"},
    {"EmergencyWithoutAllowed", Base("    emergency: {max_duration: 10m}\n"), 8,
     "emergency needs allowed"},
    {"EmergencyMaxAbovePolicyMax",
     Base("    max_duration: 30m\n    emergency:\n      allowed: true\n"
          "      max_duration: 45m\n"),
     11, "emergency.max_duration 45m is above the policy max_duration 30m"},
    {"WindowsEmpty", Base("    windows: []\n"), 8,
     "windows must be a non-empty list"},
    {"WindowUnknownTimeZone",
     Base("    windows:\n      - from: \"08:00\"\n        to: \"18:00\"\n"
          "        tz: Mars/Olympus\n"),
     11, "unknown time zone \"Mars/Olympus\""},
    {"WindowUnknownDay",
     Base("    windows:\n      - days: [mon, funday]\n        from: \"08:00\"\n"
          "        to: \"18:00\"\n"),
     9, "unknown day \"funday\""},
    {"WindowFromWithoutLeadingZero",
     Base("    windows:\n      - from: \"8:00\"\n        to: \"18:00\"\n"), 9,
     "from: \"8:00\" is not a time of day"},
    {"WindowToPastMidnight",
     Base("    windows:\n      - from: \"08:00\"\n        to: \"25:00\"\n"), 10,
     "to: \"25:00\" is not a time of day"},
    {"WindowFromAtEndOfDay",
     Base("    windows:\n      - from: \"24:00\"\n        to: \"06:00\"\n"), 9,
     "from: \"24:00\" is not a time of day"},
    {"WindowFromEqualsTo",
     Base("    windows:\n      - {from: \"08:00\", to: \"08:00\"}\n"), 9,
     "from and to are equal"},
    {"WindowWithoutTo", Base("    windows:\n      - {from: \"08:00\"}\n"), 9,
     "needs to"},
};

INSTANTIATE_TEST_SUITE_P(Policy, LoadErrorTest, testing::ValuesIn(kLoadErrors),
                         [](const testing::TestParamInfo<LoadErrorCase>& info) {
                           return info.param.name;
                         });

TEST(PolicyLoadTest, YamlSyntaxErrorGivesFileAndLine) {
  TempFile file(Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
      entitlements: [db]
)"));
  const std::string& path = file.path();
  StatusOr<std::shared_ptr<const PolicySet>> set = PolicySet::LoadFile(path);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(), StartsWith(path + ":6: "));
}

TEST(PolicyLoadTest, MissingFileIsAnError) {
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::LoadFile("/nonexistent/jitd.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(),
              HasSubstr("/nonexistent/jitd.yaml: cannot read file"));
}

TEST(PolicyLoadTest, RootThatIsNotAMappingIsAnError) {
  StatusOr<std::shared_ptr<const PolicySet>> set = LoadString("- a\n- b\n");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), StartsWith("cfg.yaml:1: "));
}

// --- what a good file loads to -----------------------------------------------

TEST(PolicyLoadTest, LoadsExampleFileAndIgnoresOtherTopLevelKeys) {
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::LoadFile(JIT_POLICY_TESTDATA "/policies.yaml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ((*set)->entitlements().size(), 3u);
  EXPECT_EQ((*set)->policy_count(), 2u);
  const Entitlement* ssh = (*set)->FindEntitlement("web-ssh");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->connector, "sshca");
  EXPECT_EQ(ssh->max_duration, std::chrono::hours(2));
  EXPECT_EQ(ssh->description, "SSH to the web hosts");
}

TEST(PolicyLoadTest, EmptyDocumentLoadsAsNoPolicies) {
  StatusOr<std::shared_ptr<const PolicySet>> set = LoadString("");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE((*set)->entitlements().empty());
  EXPECT_EQ((*set)->policy_count(), 0u);
}

TEST(PolicyLoadTest, FindEntitlementReturnsNullForUnknownName) {
  auto set = MustLoad(Base());
  ASSERT_NE(set, nullptr);
  EXPECT_NE(set->FindEntitlement("db"), nullptr);
  EXPECT_EQ(set->FindEntitlement("nope"), nullptr);
}

TEST(PolicyLoadTest, ParamsAreKeptAsJsonText) {
  auto set = MustLoad(Yaml(R"(
entitlements:
  - name: sudo
    connector: sudo
    max_duration: 30m
    params:
      user: "{subject}_adm"
      commands: [/usr/bin/systemctl, /usr/bin/journalctl]
      port: 5432
      port_text: "5432"
      forward: false
      limits: {cpu: 2, hosts: [a, b]}
)"));
  ASSERT_NE(set, nullptr);
  const Entitlement* e = set->FindEntitlement("sudo");
  ASSERT_NE(e, nullptr);
  const auto& p = e->params_json;
  EXPECT_EQ(p.at("user"), "\"{subject}_adm\"");
  EXPECT_EQ(p.at("commands"),
            R"(["/usr/bin/systemctl","/usr/bin/journalctl"])");
  EXPECT_EQ(p.at("port"), "5432");
  EXPECT_EQ(p.at("port_text"), "\"5432\"");
  EXPECT_EQ(p.at("forward"), "false");
  EXPECT_EQ(nlohmann::json::parse(p.at("limits")),
            nlohmann::json::parse(R"({"cpu": 2, "hosts": ["a", "b"]})"));
}

TEST(PolicyLoadTest, ParamsMayHoldAnyKey) {
  auto set = MustLoad(Yaml(R"(
entitlements:
  - {name: x, connector: exec, max_duration: 1h, params: {anything_goes: 1}}
)"));
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->FindEntitlement("x")->params_json.at("anything_goes"), "1");
}

TEST(PolicyLoadTest, VersionHashIsSha256Hex) {
  auto set = MustLoad(Base());
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(set->version_hash(), testing::MatchesRegex("[0-9a-f]{64}"));
}

TEST(PolicyLoadTest, VersionHashIgnoresLayoutAndComments) {
  auto flow = MustLoad(Base());
  auto block = MustLoad(Yaml(R"(
# the same policy, written out in block style
entitlements:
  - name: db
    connector: pg
    max_duration: 60m
policies:
  - name: p
    subjects:
      groups:
        - dev
    entitlements: [db]
    approval:
      groups: [sre]
unrelated: key
)"));
  ASSERT_NE(flow, nullptr);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(flow->version_hash(), block->version_hash());
}

TEST(PolicyLoadTest, VersionHashChangesWithAnyRule) {
  auto a = MustLoad(Base());
  auto b = MustLoad(Base("    max_duration: 10m\n"));
  auto c = MustLoad(Base("", "{groups: [sre, security]}"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(a->version_hash(), b->version_hash());
  EXPECT_NE(a->version_hash(), c->version_hash());
  EXPECT_NE(b->version_hash(), c->version_hash());
}

TEST(PolicyLoadTest, PoliciesForListsPoliciesInFileOrder) {
  auto set = MustLoad(Base(R"(  - name: q
    subjects: {users: [carol]}
    entitlements: [db]
    approval: {auto: true}
)"));
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(set->PoliciesFor("db"), testing::ElementsAre("p", "q"));
  EXPECT_TRUE(set->PoliciesFor("nope").empty());
}

TEST(PolicyLoadTest, WarningsNameUncoveredEntitlementsButNotMfaPolicies) {
  auto set = MustLoad(Yaml(R"(
entitlements:
  - {name: db, connector: pg, max_duration: 1h}
  - {name: lonely, connector: pg, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements: [db]
    require: {mfa: true}
    approval: {auto: true}
)"));
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(set->Warnings(),
              testing::ElementsAre(
                  HasSubstr("entitlement lonely is covered by no policy")));
}

}  // namespace
}  // namespace jit
