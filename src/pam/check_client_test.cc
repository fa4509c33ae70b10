#include "pam/check_client.h"

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pam/test_check_server.h"

namespace jit::pam {
namespace {

using namespace std::chrono_literals;
using testing::Behaviour;
using ::testing::HasSubstr;
using testing::ScratchDir;
using testing::TestCheckServer;

class CheckClientTest : public ::testing::Test {
 protected:
  CheckQuery Query(std::chrono::milliseconds timeout = 1500ms) const {
    return CheckQuery{socket_, "sudo", "alice", timeout};
  }
  ScratchDir dir_;
  std::string socket_ = (dir_.path() / "check.sock").string();
};

TEST_F(CheckClientTest, AllowedOnlyOnAClearYes) {
  TestCheckServer server(socket_);
  CheckOutcome out = AskJitd(Query());
  EXPECT_EQ(out.verdict, Verdict::kAllowed) << out.reason;
  EXPECT_EQ(out.grant_id, "grt_test");
  EXPECT_EQ(out.expires_at, "2030-01-01T00:00:00.000Z");
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].request_line, "POST /v1/check/target");
  EXPECT_EQ(server.Requests()[0].body,
            nlohmann::json({{"connector", "sudo"}, {"target_user", "alice"}}));
}

TEST_F(CheckClientTest, DeniedWhenJitdSaysNo) {
  TestCheckServer server(socket_);
  server.SetBehaviour(Behaviour::kDeny);
  CheckOutcome out = AskJitd(Query());
  EXPECT_EQ(out.verdict, Verdict::kDenied);
  EXPECT_THAT(out.reason, HasSubstr("no active grant"));
}

TEST_F(CheckClientTest, DeniedAtOnceWhenTheSocketIsMissing) {
  auto start = std::chrono::steady_clock::now();
  CheckOutcome out = AskJitd(Query());
  EXPECT_EQ(out.verdict, Verdict::kDenied);
  EXPECT_THAT(out.reason, HasSubstr("cannot connect"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(CheckClientTest, DeniedWithinTheTimeoutWhenJitdNeverAnswers) {
  TestCheckServer server(socket_);
  server.SetBehaviour(Behaviour::kNeverAnswer);
  auto start = std::chrono::steady_clock::now();
  CheckOutcome out = AskJitd(Query(300ms));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.verdict, Verdict::kDenied);
  EXPECT_THAT(out.reason, HasSubstr("no answer within 300 ms"));
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
}

TEST_F(CheckClientTest, DeniedOnAnythingButAClearYes) {
  TestCheckServer server(socket_);
  for (Behaviour b : {Behaviour::kGarbage, Behaviour::kAllowedText,
                      Behaviour::kServerError}) {
    server.SetBehaviour(b);
    CheckOutcome out = AskJitd(Query());
    EXPECT_EQ(out.verdict, Verdict::kDenied)
        << "behaviour " << static_cast<int>(b);
    EXPECT_FALSE(out.reason.empty());
  }
}

TEST_F(CheckClientTest, NonUtf8UserIsDeniedNotAltered) {
  TestCheckServer server(socket_);
  CheckQuery q = Query();
  q.target_user = "al\xffice";
  CheckOutcome out = AskJitd(q);
  EXPECT_EQ(out.verdict, Verdict::kDenied);
  EXPECT_TRUE(server.Requests().empty());
}

}  // namespace
}  // namespace jit::pam
