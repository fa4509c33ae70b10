#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/connectors/connector.h"
#include "jit/connectors/exec/exec_connector.h"
#include "jit/connectors/fake/fake_connector.h"

namespace jit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ConnectorRegistryTest : public testing::Test {
 protected:
  SystemClock clock_;
  PosixCommandRunner runner_;
  Environment env_{clock_, runner_, {}};
};

TEST_F(ConnectorRegistryTest, MakesConnectorOfRegisteredType) {
  ConnectorRegistry registry;
  registry.Add("fake", &MakeFakeConnector);
  StatusOr<std::unique_ptr<Connector>> c = registry.Make(
      {"demo", "fake", R"({"name":"demo","type":"fake"})", "jitd.yaml:3"},
      env_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE(dynamic_cast<FakeConnector*>(c->get()), nullptr);
}

TEST_F(ConnectorRegistryTest, UnknownTypeNamesOriginAndKnownTypes) {
  ConnectorRegistry registry;
  registry.Add("fake", &MakeFakeConnector);
  registry.Add("exec", &MakeExecConnector);
  StatusOr<std::unique_ptr<Connector>> c = registry.Make(
      {"db", "postgress", R"({"name":"db","type":"postgress"})", "jitd.yaml:7"},
      env_);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      c.status().message(),
      "jitd.yaml:7: unknown connector type \"postgress\" (known: exec, fake)");
}

TEST_F(ConnectorRegistryTest, FactoryErrorsPassThrough) {
  ConnectorRegistry registry;
  registry.Add("fake", &MakeFakeConnector);
  StatusOr<std::unique_ptr<Connector>> c = registry.Make(
      {"demo", "fake", R"({"name":"demo","type":"fake","dsn":"x"})",
       "jitd.yaml:3"},
      env_);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("jitd.yaml:3: unknown key \"dsn\""));
}

TEST_F(ConnectorRegistryTest, FactoryReturningNothingIsAnError) {
  ConnectorRegistry registry;
  registry.Add("broken",
               [](const ConnectorConfig&,
                  const Environment&) -> StatusOr<std::unique_ptr<Connector>> {
                 return std::unique_ptr<Connector>();
               });
  StatusOr<std::unique_ptr<Connector>> c =
      registry.Make({"x", "broken", "{}", ""}, env_);
  EXPECT_EQ(c.status().code(), StatusCode::kInternal);
}

TEST_F(ConnectorRegistryTest, TypesAreSortedAndLaterAddReplaces) {
  ConnectorRegistry registry;
  EXPECT_TRUE(registry.Types().empty());
  registry.Add("fake", &MakeFakeConnector);
  registry.Add("exec", &MakeExecConnector);
  registry.Add("fake", &MakeFakeConnector);
  EXPECT_THAT(registry.Types(), ElementsAre("exec", "fake"));
}

}  // namespace
}  // namespace jit
