#include "jit/connectors/common/params.h"

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

GrantSpec Spec() {
  GrantSpec g;
  g.grant_id = "grt_1";
  g.request_id = "req_1";
  g.subject = "alice";
  g.target_user = "alice_adm";
  g.entitlement = "prod-db-read";
  g.params_json = {{"role", R"("app_read")"},
                   {"commands", R"(["/usr/bin/systemctl","/bin/journalctl"])"},
                   {"port", "5432"},
                   {"broken", "{not json"}};
  // 2026-12-24T19:00:00.250Z and half an hour later.
  g.starts_at = SystemTime(std::chrono::milliseconds(1'798'138'800'250));
  g.expires_at = g.starts_at + 30min;
  return g;
}

TEST(ParamsTest, ReadsStringParam) {
  StatusOr<std::string> role = GetStringParam(Spec(), "role");
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  EXPECT_EQ(*role, "app_read");
  EXPECT_TRUE(HasParam(Spec(), "role"));
  EXPECT_FALSE(HasParam(Spec(), "missing"));
}

TEST(ParamsTest, ReadsStringListParam) {
  StatusOr<std::vector<std::string>> cmds =
      GetStringListParam(Spec(), "commands");
  ASSERT_TRUE(cmds.ok()) << cmds.status().ToString();
  EXPECT_THAT(*cmds, ElementsAre("/usr/bin/systemctl", "/bin/journalctl"));
}

TEST(ParamsTest, WrongOrMissingParamIsInvalidArgument) {
  GrantSpec g = Spec();
  g.params_json["mixed"] = R"(["a", 1])";
  EXPECT_EQ(GetStringParam(g, "missing").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStringParam(g, "port").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStringParam(g, "broken").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStringListParam(g, "role").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStringListParam(g, "mixed").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_THAT(GetStringParam(g, "missing").status().message(),
              HasSubstr("\"prod-db-read\" has no param \"missing\""));
}

TEST(ParamsTest, ParamTextIsRawForStringsAndJsonOtherwise) {
  EXPECT_EQ(GetParamText(Spec(), "role").value(), "app_read");
  EXPECT_EQ(GetParamText(Spec(), "port").value(), "5432");
  EXPECT_EQ(GetParamText(Spec(), "commands").value(),
            R"(["/usr/bin/systemctl","/bin/journalctl"])");
  EXPECT_EQ(GetParamText(Spec(), "broken").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ExpandTemplateTest, ReplacesEveryPlaceholder) {
  StatusOr<std::string> out = ExpandTemplate(
      "{subject}|{user}|{entitlement}|{grant_id}|{request_id}|{expires_at}|"
      "{expires_unix}|{starts_at}|{starts_unix}",
      Spec());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "alice|alice_adm|prod-db-read|grt_1|req_1|2026-12-24T19:30:00.250Z|"
            "1798140600|2026-12-24T19:00:00.250Z|1798138800");
}

TEST(ExpandTemplateTest, TimesAreUtcWithZWhateverTheLocalZone) {
  // THREATS T26: a target must never read our expiry in its own zone.
  StatusOr<std::string> out = ExpandTemplate("NOTAFTER={expires_at}", Spec());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->back(), 'Z');
}

TEST(ExpandTemplateTest, UserFallsBackToSubject) {
  GrantSpec g = Spec();
  g.target_user.clear();
  EXPECT_EQ(ExpandTemplate("{user}", g).value(), "alice");
}

TEST(ExpandTemplateTest, DoubledBracesAreLiteral) {
  EXPECT_EQ(ExpandTemplate("{{print $1}} {{{subject}}}", Spec()).value(),
            "{print $1} {alice}");
  EXPECT_EQ(ExpandTemplate("no placeholders", Spec()).value(),
            "no placeholders");
  EXPECT_EQ(ExpandTemplate("", Spec()).value(), "");
}

TEST(ExpandTemplateTest, HostileValuesAreCopiedVerbatim) {
  GrantSpec g = Spec();
  g.subject = "x; rm -rf / {grant_id} $(id)";
  EXPECT_EQ(ExpandTemplate("--user={subject}", g).value(),
            "--user=x; rm -rf / {grant_id} $(id)");
}

TEST(ExpandTemplateTest, RefusesUnknownOrMalformedPlaceholders) {
  for (const char* bad : {"{nope}", "{Subject}", "{ subject}", "{}", "{subject",
                          "subject}", "a}b", "{param.role}"}) {
    StatusOr<std::string> out = ExpandTemplate(bad, Spec());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ValidateTemplate(bad).code(), StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_THAT(ExpandTemplate("{nope}", Spec()).status().message(),
              HasSubstr("unknown placeholder {nope}"));
  EXPECT_TRUE(ValidateTemplate("{grant_id}-{{x}}").ok());
}

}  // namespace
}  // namespace jit
