// pam_jit.so inside the real sudo: a test account gets a sudoers drop-in
// (through the linux_sudo connector) whose pam_service is a PAM service
// made for the test, running pam_jit.so against a stand-in for jitd.
#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/connectors/linux_sudo/linux_sudo_connector.h"
#include "jit/connectors/linux_sudo/sudo_test_host.h"
#include "pam/test_check_server.h"
#include "tests/support/system_user.h"

#ifndef PAM_JIT_MODULE
#error "PAM_JIT_MODULE must name the built pam_jit.so"
#endif

namespace jit::pam {
namespace {

using namespace std::chrono_literals;
using jit::testing::DropInGuard;
using jit::testing::PamServiceFile;
using jit::testing::RunSudoAs;
using jit::testing::SudoRun;
using jit::testing::SudoSpec;
using jit::testing::SystemUser;
using testing::Behaviour;
using ::testing::HasSubstr;
using testing::ScratchDir;
using testing::TestCheckServer;

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

std::string PamService(const std::string& module_args) {
  return "#%PAM-1.0\n"
         "account required " PAM_JIT_MODULE " " +
         module_args +
         "\n"
         "@include common-auth\n"
         "@include common-account\n"
         "@include common-session-noninteractive\n";
}

class PamJitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!jit::testing::RunningAsRoot()) GTEST_SKIP() << "needs root (sudo)";
    ASSERT_FALSE(dir_.path().empty());
    StatusOr<SystemUser> u = SystemUser::Create();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    user_.emplace(*std::move(u));
    guard_.AddUser(user_->name());
    socket_ = (dir_.path() / "check.sock").string();
    // 1 s for the module leaves sudo's own start-up room within the 2 s
    // of THREATS T24 on a loaded machine.
    UsePamArgs("socket=" + socket_ + " connector=sudo-test timeout_ms=1000");
  }
  void TearDown() override {
    if (connector_ && granted_) {
      EXPECT_TRUE(connector_->Revoke(*granted_, Soon()).ok());
    }
    EXPECT_TRUE(guard_.Leftovers().empty()) << "drop-ins left";
  }

  // Makes the PAM service with these module arguments and grants the test
  // account /usr/bin/id through a drop-in that selects it.
  void UsePamArgs(const std::string& args) {
    pam_.emplace(PamService(args));
    nlohmann::json cfg = {{"name", "sudo-test"},
                          {"type", "linux_sudo"},
                          {"pam_service", pam_->name()},
                          {"log_dir", (dir_.path() / "log").string()}};
    StatusOr<std::unique_ptr<Connector>> c = MakeLinuxSudoConnector(
        {"sudo-test", "linux_sudo", cfg.dump(), "test"}, env_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    if (connector_ && granted_) {
      ASSERT_TRUE(connector_->Revoke(*granted_, Soon()).ok());
    }
    connector_ = *std::move(c);
    granted_ = SudoSpec(user_->name(), {"/usr/bin/id"}, 30min);
    guard_.Add(granted_->grant_id);
    Status s = connector_->Grant(*granted_, Soon());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  SudoRun Sudo() { return RunSudoAs(user_->name(), {"/usr/bin/id", "-u"}); }

  void ExpectDeniedByPam(const SudoRun& r) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_THAT(r.err,
                HasSubstr("PAM account management error: Permission denied"));
  }

  ScratchDir dir_;
  std::string socket_;
  std::optional<SystemUser> user_;
  DropInGuard guard_;
  std::optional<PamServiceFile> pam_;
  SystemClock clock_;
  PosixCommandRunner runner_;
  Environment env_{clock_, runner_, {}};
  std::unique_ptr<Connector> connector_;
  std::optional<GrantSpec> granted_;
};

TEST_F(PamJitTest, AllowedWhenJitdSaysSo) {
  TestCheckServer server(socket_);
  SudoRun r = Sudo();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].request_line, "POST /v1/check/target");
  EXPECT_EQ(server.Requests()[0].body,
            nlohmann::json(
                {{"connector", "sudo-test"}, {"target_user", user_->name()}}));
}

TEST_F(PamJitTest, DeniedWhenJitdSaysNo) {
  TestCheckServer server(socket_);
  server.SetBehaviour(Behaviour::kDeny);
  ExpectDeniedByPam(Sudo());
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST_F(PamJitTest, DeniedWhenTheSocketIsMissing) {
  SudoRun r = Sudo();
  ExpectDeniedByPam(r);
  EXPECT_LT(r.took, 2s);
}

TEST_F(PamJitTest, DeniedWithinTwoSecondsWhenJitdNeverAnswers) {  // T24
  TestCheckServer server(socket_);
  server.SetBehaviour(Behaviour::kNeverAnswer);
  SudoRun r = Sudo();
  ExpectDeniedByPam(r);
  EXPECT_LT(r.took, 2s);
  EXPECT_EQ(server.Requests().size(), 1u) << "the module never asked";
}

TEST_F(PamJitTest, DeniedOnAnythingButAClearYes) {
  TestCheckServer server(socket_);
  for (Behaviour b : {Behaviour::kGarbage, Behaviour::kAllowedText,
                      Behaviour::kServerError}) {
    server.SetBehaviour(b);
    SCOPED_TRACE(static_cast<int>(b));
    ExpectDeniedByPam(Sudo());
  }
  server.SetBehaviour(Behaviour::kAllow);  // the same setup says yes
  EXPECT_EQ(Sudo().exit_code, 0);
}

TEST_F(PamJitTest, DeniedWhenTheModuleIsMisconfigured) {
  TestCheckServer server(socket_);
  UsePamArgs("socket=" + socket_ + " timeout_ms=1000");  // no connector=
  ExpectDeniedByPam(Sudo());
  EXPECT_TRUE(server.Requests().empty());
}

TEST_F(PamJitTest, JitdSayingYesDoesNotHelpWithoutTheDropIn) {
  TestCheckServer server(socket_);
  ASSERT_TRUE(connector_->Revoke(*granted_, Soon()).ok());
  granted_.reset();
  SudoRun r = Sudo();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("a password is required"));
}

}  // namespace
}  // namespace jit::pam
