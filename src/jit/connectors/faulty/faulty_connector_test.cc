#include "jit/connectors/faulty/faulty_connector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "jit/connectors/connector_contract_test.h"
#include "jit/connectors/fake/fake_connector.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

GrantSpec Spec(std::string id) {
  GrantSpec g;
  g.grant_id = std::move(id);
  g.request_id = "req_1";
  g.subject = "alice";
  g.entitlement = "demo";
  g.expires_at = std::chrono::system_clock::now() + 30min;
  return g;
}

// The wrapper with nothing scheduled passes the connector contract.
class FaultFreeHarness : public ConnectorHarness {
 public:
  FaultFreeHarness() {
    auto fake = std::make_unique<FakeConnector>();
    fake_ = fake.get();
    faulty_ = std::make_unique<FaultyConnector>(std::move(fake));
  }
  Connector& connector() override { return *faulty_; }
  bool TargetHolds(const GrantSpec& g) override {
    return fake_->Holds(g.grant_id);
  }
  void OpenSession(const GrantSpec& g, const std::string& id) override {
    fake_->OpenSession(g.grant_id, id);
  }
  bool MakeSessionsSurviveKill() override {
    fake_->SetSurvivingSessions(/*survive=*/true);
    return true;
  }

 private:
  FakeConnector* fake_;  // owned by faulty_
  std::unique_ptr<FaultyConnector> faulty_;
};

INSTANTIATE_TEST_SUITE_P(
    Faulty, ConnectorContractTest,
    testing::Values(ConnectorContractParam{
        "FaultFree", [] { return std::make_unique<FaultFreeHarness>(); }}),
    ConnectorContractParamName);

class FaultyConnectorTest : public testing::Test {
 protected:
  FaultyConnectorTest() {
    auto fake = std::make_unique<FakeConnector>();
    fake_ = fake.get();
    faulty_ = std::make_unique<FaultyConnector>(std::move(fake));
  }
  FakeConnector* fake_;
  std::unique_ptr<FaultyConnector> faulty_;
};

TEST_F(FaultyConnectorTest, FailedGrantLeavesTheTargetAlone) {
  faulty_->grants().Set({.every_nth = 2});
  EXPECT_TRUE(faulty_->Grant(Spec("g1"), Soon()).ok());
  EXPECT_EQ(faulty_->Grant(Spec("g2"), Soon()).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(fake_->Holds("g1"));
  EXPECT_FALSE(fake_->Holds("g2"));
  EXPECT_EQ(fake_->grant_calls(), 1);
}

TEST_F(FaultyConnectorTest, ApplyThenFailGrantsAndStillReportsTheError) {
  faulty_->grants().Set({.after = 0,
                         .code = StatusCode::kDeadlineExceeded,
                         .apply_then_fail = true});
  EXPECT_EQ(faulty_->Grant(Spec("g1"), Soon()).code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(fake_->Holds("g1"));
}

TEST_F(FaultyConnectorTest, LatencyPastTheDeadlineTimesOutAndChangesNothing) {
  faulty_->grants().Set({.latency = 5s});
  auto deadline = std::chrono::steady_clock::now() + 50ms;
  EXPECT_EQ(faulty_->Grant(Spec("g1"), deadline).code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(fake_->Holds("g1"));
}

TEST_F(FaultyConnectorTest, RevokeAndKillHaveTheirOwnSchedules) {
  ASSERT_TRUE(faulty_->Grant(Spec("g1"), Soon()).ok());
  faulty_->revokes().Set({.after = 0, .max_faults = 1});
  faulty_->kills().Set({.after = 0});
  EXPECT_EQ(faulty_->Revoke(Spec("g1"), Soon()).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(fake_->Holds("g1"));
  EXPECT_TRUE(faulty_->Revoke(Spec("g1"), Soon()).ok());
  EXPECT_FALSE(fake_->Holds("g1"));
  EXPECT_FALSE(faulty_->KillSessions(Spec("g1"), Soon()).ok());
  EXPECT_EQ(faulty_->grants().calls(), 1);
  EXPECT_EQ(faulty_->revokes().calls(), 2);
}

}  // namespace
}  // namespace jit
