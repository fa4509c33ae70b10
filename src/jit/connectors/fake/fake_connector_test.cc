#include "jit/connectors/fake/fake_connector.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/connectors/connector_contract_test.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

class FakeHarness : public ConnectorHarness {
 public:
  // `dir`, if any, holds the connector's state file and outlives it.
  explicit FakeHarness(std::unique_ptr<FakeConnector> fake,
                       std::unique_ptr<TestTempDir> dir = nullptr)
      : dir_(std::move(dir)), fake_(std::move(fake)) {}
  Connector& connector() override { return *fake_; }
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
  std::unique_ptr<TestTempDir> dir_;
  std::unique_ptr<FakeConnector> fake_;
};

std::unique_ptr<ConnectorHarness> InMemoryHarness() {
  return std::make_unique<FakeHarness>(std::make_unique<FakeConnector>());
}

// Held grants kept in a state file, as in restart tests.
std::unique_ptr<ConnectorHarness> StateFileHarness() {
  auto dir = std::make_unique<TestTempDir>();
  FakeConnectorOptions options;
  options.state_file = (dir->path() / "state.json").string();
  StatusOr<std::unique_ptr<FakeConnector>> fake =
      FakeConnector::Create(options);
  if (!fake.ok()) {
    ADD_FAILURE() << fake.status().ToString();
    return nullptr;
  }
  return std::make_unique<FakeHarness>(*std::move(fake), std::move(dir));
}

INSTANTIATE_TEST_SUITE_P(
    Fake, ConnectorContractTest,
    testing::Values(ConnectorContractParam{"InMemory", &InMemoryHarness},
                    ConnectorContractParam{"StateFile", &StateFileHarness}),
    ConnectorContractParamName);

TEST(FakeConnectorTest, FailNextFailsExactlyThatManyCallsAndChangesNothing) {
  FakeConnector fake;
  fake.FailNext(2, StatusCode::kUnavailable);
  EXPECT_EQ(fake.Grant(Spec("g1"), Soon()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(fake.Revoke(Spec("g1"), Soon()).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(fake.Holds("g1"));
  EXPECT_TRUE(fake.Grant(Spec("g1"), Soon()).ok());
  EXPECT_TRUE(fake.Holds("g1"));
}

TEST(FakeConnectorTest, FailNextUsesTheGivenCode) {
  FakeConnector fake;
  fake.FailNext(1, StatusCode::kInvalidArgument);
  EXPECT_EQ(fake.Grant(Spec("g1"), Soon()).code(),
            StatusCode::kInvalidArgument);
}

TEST(FakeConnectorTest, SetFailingFailsEveryCallUntilCleared) {
  FakeConnector fake;
  ASSERT_TRUE(fake.Grant(Spec("g1"), Soon()).ok());
  fake.SetFailing(/*failing=*/true);
  EXPECT_EQ(fake.Revoke(Spec("g1"), Soon()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(fake.IsActive(Spec("g1"), Soon()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(fake.KillSessions(Spec("g1"), Soon()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(fake.Holds("g1"));
  fake.SetFailing(/*failing=*/false);
  EXPECT_TRUE(fake.Revoke(Spec("g1"), Soon()).ok());
  EXPECT_FALSE(fake.Holds("g1"));
}

TEST(FakeConnectorTest, CountsGrantAndRevokeCallsIncludingFailedOnes) {
  FakeConnector fake;
  fake.FailNext(1, StatusCode::kUnavailable);
  (void)fake.Revoke(Spec("g1"), Soon());
  (void)fake.Revoke(Spec("g1"), Soon());
  (void)fake.Grant(Spec("g1"), Soon());
  (void)fake.IsActive(Spec("g1"), Soon());
  EXPECT_EQ(fake.grant_calls(), 1);
  EXPECT_EQ(fake.revoke_calls(), 2);
}

TEST(FakeConnectorTest, LatencyBeyondDeadlineEndsAtDeadline) {
  FakeConnector fake;
  fake.SetLatency(1h);
  const auto start = std::chrono::steady_clock::now();
  Status s = fake.Grant(Spec("g1"), start + 50ms);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_FALSE(fake.Holds("g1"));
}

TEST(FakeConnectorTest, LatencyWithinDeadlineSucceeds) {
  FakeConnector fake;
  fake.SetLatency(20ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(fake.Grant(Spec("g1"), Soon()).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_TRUE(fake.Holds("g1"));
}

TEST(FakeConnectorTest, LoweringLatencyReleasesWaitingCalls) {
  FakeConnector fake;
  fake.SetLatency(1h);
  Status result = InternalError("not run");
  std::thread caller([&] {
    result = fake.Grant(Spec("g1"), std::chrono::steady_clock::now() + 1h);
  });
  fake.SetLatency(0ms);
  caller.join();  // would take an hour if the wait were not woken
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_TRUE(fake.Holds("g1"));
}

TEST(FakeConnectorTest, KillSessionsEndsOnlyThatGrantsSessions) {
  FakeConnector fake;
  fake.OpenSession("g1", "a");
  fake.OpenSession("g2", "b");
  StatusOr<std::vector<Session>> survivors =
      fake.KillSessions(Spec("g1"), Soon());
  ASSERT_TRUE(survivors.ok());
  EXPECT_THAT(*survivors, IsEmpty());
  EXPECT_THAT(fake.ListSessions(Spec("g1"), Soon()).value(), IsEmpty());
  EXPECT_THAT(fake.ListSessions(Spec("g2"), Soon()).value(),
              ElementsAre(Field(&Session::id, "b")));
}

TEST(FakeConnectorTest, SurvivingSessionsAreReportedAndKept) {
  FakeConnector fake;
  fake.OpenSession("g1", "a");
  fake.SetSurvivingSessions(/*survive=*/true);
  EXPECT_THAT(fake.KillSessions(Spec("g1"), Soon()).value(),
              ElementsAre(Field(&Session::id, "a")));
  EXPECT_THAT(fake.ListSessions(Spec("g1"), Soon()).value(),
              ElementsAre(Field(&Session::id, "a")));
}

TEST(FakeConnectorTest, ConcurrentGrantsAndRevokesKeepCountsAndState) {
  FakeConnector fake;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&fake, t] {
      for (int i = 0; i < 50; ++i) {
        std::string id = "g" + std::to_string(t) + "_" + std::to_string(i);
        (void)fake.Grant(Spec(id), Soon());
        if (i % 2 == 0) (void)fake.Revoke(Spec(id), Soon());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fake.grant_calls(), 400);
  EXPECT_EQ(fake.revoke_calls(), 200);
  EXPECT_EQ(fake.HeldGrants().size(), 200u);
}

class FakeStateFileTest : public testing::Test {
 protected:
  std::unique_ptr<FakeConnector> Open() {
    FakeConnectorOptions options;
    options.state_file = state_file_;
    StatusOr<std::unique_ptr<FakeConnector>> fake =
        FakeConnector::Create(options);
    EXPECT_TRUE(fake.ok()) << fake.status().ToString();
    return fake.ok() ? *std::move(fake) : nullptr;
  }

  TestTempDir dir_;
  std::string state_file_ = (dir_.path() / "fake.json").string();
};

TEST_F(FakeStateFileTest, HeldGrantsSurviveARestart) {
  {
    auto fake = Open();
    ASSERT_TRUE(fake->Grant(Spec("g1"), Soon()).ok());
    ASSERT_TRUE(fake->Grant(Spec("g2"), Soon()).ok());
    ASSERT_TRUE(fake->Revoke(Spec("g1"), Soon()).ok());
  }
  auto restarted = Open();
  EXPECT_THAT(restarted->HeldGrants(), ElementsAre("g2"));
  ASSERT_TRUE(restarted->Revoke(Spec("g2"), Soon()).ok());
  EXPECT_THAT(Open()->HeldGrants(), IsEmpty());
}

TEST_F(FakeStateFileTest, LeavesNoTemporaryFilesBehind) {
  auto fake = Open();
  ASSERT_TRUE(fake->Grant(Spec("g1"), Soon()).ok());
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename(), "fake.json");
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(FakeStateFileTest, CorruptStateFileIsRefused) {
  std::ofstream(state_file_) << "{\"grants\": [";
  FakeConnectorOptions options;
  options.state_file = state_file_;
  EXPECT_EQ(FakeConnector::Create(options).status().code(),
            StatusCode::kInvalidArgument);
  std::ofstream(state_file_) << R"({"version": 2, "grants": {}})";
  EXPECT_EQ(FakeConnector::Create(options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(FakeStateFileTest, UnwritableStateFileFailsGrantAndChangesNothing) {
  FakeConnectorOptions options;
  options.state_file = (dir_.path() / "missing-dir" / "fake.json").string();
  StatusOr<std::unique_ptr<FakeConnector>> fake =
      FakeConnector::Create(options);
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  EXPECT_EQ((*fake)->Grant(Spec("g1"), Soon()).code(),
            StatusCode::kUnavailable);
  EXPECT_FALSE((*fake)->Holds("g1"));
}

TEST_F(FakeStateFileTest, CallLogRecordsEffectiveChangesInOrder) {
  std::string log = (dir_.path() / "calls.log").string();
  FakeConnectorOptions options;
  options.state_file = state_file_;
  options.call_log = log;
  auto fake = FakeConnector::Create(options);
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  ASSERT_TRUE((*fake)->Grant(Spec("g1"), Soon()).ok());
  ASSERT_TRUE((*fake)->Grant(Spec("g1"), Soon()).ok());
  ASSERT_TRUE((*fake)->Revoke(Spec("g1"), Soon()).ok());
  ASSERT_TRUE((*fake)->Revoke(Spec("g1"), Soon()).ok());
  (*fake)->FailNext(1, StatusCode::kUnavailable);
  EXPECT_FALSE((*fake)->Grant(Spec("g2"), Soon()).ok());  // not logged
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "grant g1 new\ngrant g1 held\nrevoke g1 removed\n"
            "revoke g1 absent\n");
}

class MakeFakeConnectorTest : public testing::Test {
 protected:
  StatusOr<std::unique_ptr<Connector>> Make(std::string json) {
    return MakeFakeConnector({"demo", "fake", std::move(json), "jitd.yaml:4"},
                             env_);
  }
  SystemClock clock_;
  PosixCommandRunner runner_;
  Environment env_{clock_, runner_, {}};
  TestTempDir dir_;
};

TEST_F(MakeFakeConnectorTest, BuildsFromMinimalConfig) {
  auto c = Make(R"({"name":"demo","type":"fake"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->Grant(Spec("g1"), Soon()).ok());
}

TEST_F(MakeFakeConnectorTest, FailKeyStartsFailing) {
  auto c = Make(R"({"name":"demo","type":"fake","fail":true})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->Grant(Spec("g1"), Soon()).code(), StatusCode::kUnavailable);
}

TEST_F(MakeFakeConnectorTest, StateFileKeyPersists) {
  std::string path = (dir_.path() / "s.json").string();
  std::string json =
      R"({"name":"demo","type":"fake","state_file":")" + path + "\"}";
  {
    auto c = Make(json);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE((*c)->Grant(Spec("g1"), Soon()).ok());
  }
  auto again = Make(json);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->IsActive(Spec("g1"), Soon()).value());
}

TEST_F(MakeFakeConnectorTest, UnknownKeyIsRefusedWithOrigin) {
  auto c = Make(R"({"name":"demo","type":"fake","statefile":"/tmp/x"})");
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("jitd.yaml:4: unknown key \"statefile\""));
}

TEST_F(MakeFakeConnectorTest, WrongTypesAreRefused) {
  for (const char* json : {R"({"fail":"yes"})", R"({"state_file":3})",
                           R"({"state_file":""})", R"({"name":1})", "[]"}) {
    EXPECT_EQ(Make(json).status().code(), StatusCode::kInvalidArgument) << json;
  }
}

}  // namespace
}  // namespace jit
