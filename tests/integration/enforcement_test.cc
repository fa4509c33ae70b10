// The enforcement socket: local enforcement points (pam_jit) ask jitd over a
// Unix socket, authenticated by the peer's uid, whether an account holds a
// grant on a connector.
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using nlohmann::json;

class EnforcementSocketTest : public JitdTest {
 protected:
  void SetUp() override {
    target_dir_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_dir_ + "/held");
    socket_ = tmp_.path() + "/check.sock";
    jitd_ = std::make_unique<JitdProcess>(
        tmp_.path(),
        "enforcement_socket: " + socket_ + "\n" + TestConfig(target_dir_));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // POST over the Unix socket with the real curl; returns status and body.
  std::pair<int, json> AskSocket(const std::string& path, const json& body) {
    ProgramResult r =
        RunProgram({"/usr/bin/curl", "-s", "--max-time", "5", "--unix-socket",
                    socket_, "-o", "-", "-w", "\n%{http_code}", "-H",
                    "Content-Type: application/json", "--data-binary",
                    body.dump(), "http://localhost" + path},
                   {});
    size_t nl = r.out.rfind('\n');
    if (r.exit_code != 0 || nl == std::string::npos) return {0, json()};
    int status = std::stoi(r.out.substr(nl + 1));
    return {status, json::parse(r.out.substr(0, nl), nullptr, false)};
  }

  std::string socket_;
};

TEST_F(EnforcementSocketTest, AnswersByConnectorAndAccountForTheLocalRoot) {
  json ask = {{"connector", "target"}, {"target_user", "alice"}};
  auto [before_status, before] = AskSocket("/v1/check/target", ask);
  ASSERT_EQ(before_status, 200) << before.dump();
  EXPECT_FALSE(before["allowed"].get<bool>());

  Reply granted = Ask(kAlice, "box", "1h", "check the disk usage");
  ASSERT_EQ(granted.status, 201) << granted.raw;
  std::string grant_id = granted.body["grant_id"];

  auto [during_status, during] = AskSocket("/v1/check/target", ask);
  ASSERT_EQ(during_status, 200);
  EXPECT_TRUE(during["allowed"].get<bool>());
  EXPECT_EQ(during["grant_id"], grant_id);
  // Another account, or the right account on another connector: denied.
  EXPECT_FALSE(AskSocket("/v1/check/target",
                         {{"connector", "target"}, {"target_user", "bob"}})
                   .second["allowed"]
                   .get<bool>());
  EXPECT_FALSE(AskSocket("/v1/check/target",
                         {{"connector", "demo"}, {"target_user", "alice"}})
                   .second["allowed"]
                   .get<bool>());
  // The subject form answers too.
  EXPECT_TRUE(
      AskSocket("/v1/check", {{"subject", "alice"}, {"entitlement", "box"}})
          .second["allowed"]
          .get<bool>());

  ASSERT_EQ(jitd_
                ->Post("/v1/grants/" + grant_id + "/revoke", kAlice,
                       {{"reason", "done"}})
                .status,
            200);
  EXPECT_FALSE(
      AskSocket("/v1/check/target", ask).second["allowed"].get<bool>());
}

TEST_F(EnforcementSocketTest, ServesNothingButChecksAndRefusesBadBodies) {
  auto [status, body] = AskSocket("/v1/requests", {{"entitlement", "box"}});
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body["error"]["code"], "not_found");
  auto [bad_status, bad] =
      AskSocket("/v1/check/target", {{"connector", "target"}, {"x", 1}});
  EXPECT_EQ(bad_status, 400);
  EXPECT_EQ(bad["error"]["code"], "invalid_request");
}

TEST_F(EnforcementSocketTest, OverTcpTheTargetCheckNeedsTheEnforcerRole) {
  json ask = {{"connector", "target"}, {"target_user", "alice"}};
  EXPECT_EQ(jitd_->Post("/v1/check/target", kAlice, ask).status, 403);
  Reply as_enforcer = jitd_->Post("/v1/check/target", kEnforcer, ask);
  EXPECT_EQ(as_enforcer.status, 200);
  EXPECT_FALSE(as_enforcer.body["allowed"].get<bool>());
  EXPECT_EQ(jitd_->Post("/v1/check/target", "", ask).status, 401);
}

TEST_F(EnforcementSocketTest, SocketIsPrivateAndRemovedOnStop) {
  auto st = std::filesystem::status(socket_);
  ASSERT_TRUE(std::filesystem::is_socket(st));
  EXPECT_EQ(
      st.permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  jitd_->Stop();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

}  // namespace
}  // namespace jit::testing
