#include "jit/identity/claims_mapper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jit {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

OidcConfig Config() {
  OidcConfig c;
  c.issuer = "https://idp.test";
  c.audience = "jitd";
  return c;
}

TEST(ClaimsMapperTest, SubjectAndGroupsFromDefaultClaims) {
  StatusOr<OidcIdentity> id =
      MapClaims({{"sub", "alice"}, {"groups", {"dev", "ops"}}}, Config());

  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->subject.name, "alice");
  EXPECT_EQ(id->subject.person, "alice");
  EXPECT_THAT(id->subject.groups, ElementsAre("dev", "ops"));
}

TEST(ClaimsMapperTest, ConfiguredClaimsAreUsed) {
  OidcConfig c = Config();
  c.subject_claim = "preferred_username";
  c.groups_claim = "roles";

  StatusOr<OidcIdentity> id = MapClaims({{"sub", "2f1e-opaque"},
                                         {"preferred_username", "bob"},
                                         {"groups", {"ignored"}},
                                         {"roles", {"sre"}}},
                                        c);

  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->subject.name, "bob");
  EXPECT_THAT(id->subject.groups, ElementsAre("sre"));
}

TEST(ClaimsMapperTest, GroupsAreMappedAndUnmappedPassThrough) {
  OidcConfig c = Config();
  c.group_map = {
      {"idp-developers", "dev"}, {"idp-sre", "sre"}, {"idp-dev-2", "dev"}};

  StatusOr<OidcIdentity> id = MapClaims(
      {{"sub", "a"},
       {"groups", {"idp-developers", "idp-dev-2", "everyone", "idp-sre"}}},
      c);

  ASSERT_TRUE(id.ok());
  EXPECT_THAT(id->subject.groups, ElementsAre("dev", "everyone", "sre"));
}

TEST(ClaimsMapperTest, OnlyMappedGroupsDropsTheRest) {
  OidcConfig c = Config();
  c.group_map = {{"idp-developers", "dev"}};
  c.only_mapped_groups = true;

  StatusOr<OidcIdentity> id =
      MapClaims({{"sub", "a"}, {"groups", {"idp-developers", "secops"}}}, c);

  ASSERT_TRUE(id.ok());
  EXPECT_THAT(id->subject.groups, ElementsAre("dev"));
}

TEST(ClaimsMapperTest, MissingGroupsClaimMeansNoGroups) {
  StatusOr<OidcIdentity> id = MapClaims({{"sub", "a"}}, Config());
  ASSERT_TRUE(id.ok());
  EXPECT_THAT(id->subject.groups, IsEmpty());
  id = MapClaims({{"sub", "a"}, {"groups", nullptr}}, Config());
  ASSERT_TRUE(id.ok());
  EXPECT_THAT(id->subject.groups, IsEmpty());
}

TEST(ClaimsMapperTest, StepUpClaimsAreKept) {
  StatusOr<OidcIdentity> id = MapClaims({{"sub", "a"},
                                         {"amr", {"pwd", "otp"}},
                                         {"acr", "urn:mfa"},
                                         {"auth_time", 1'800'000'000}},
                                        Config());

  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_THAT(id->amr, ElementsAre("pwd", "otp"));
  EXPECT_EQ(id->acr, "urn:mfa");
  ASSERT_TRUE(id->auth_time.has_value());
  EXPECT_EQ(id->auth_time->time_since_epoch(),
            std::chrono::seconds(1'800'000'000));
}

TEST(ClaimsMapperTest, BadlyShapedClaimsAreUnauthenticated) {
  for (const json& claims :
       {json{{"groups", {"dev"}}}, json{{"sub", ""}}, json{{"sub", 42}},
        json{{"sub", "a\nb"}}, json{{"sub", std::string(300, 'a')}},
        json{{"sub", "a"}, {"groups", "dev"}},
        json{{"sub", "a"}, {"groups", {"dev", 1}}},
        json{{"sub", "a"}, {"amr", "pwd"}}, json{{"sub", "a"}, {"acr", 1}},
        json{{"sub", "a"}, {"auth_time", "yesterday"}}}) {
    EXPECT_EQ(MapClaims(claims, Config()).status().code(),
              StatusCode::kUnauthenticated)
        << claims.dump();
  }
}

}  // namespace
}  // namespace jit
