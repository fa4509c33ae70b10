// The real jitd, the real sudo and pam_jit.so together: a test account asks
// jitd for sudo, jitd writes the drop-in through the linux_sudo connector,
// and sudo asks jitd's enforcement socket through pam_jit.so on every run.
#include <signal.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/connectors/linux_sudo/sudo_test_host.h"
#include "tests/integration/jitd_process.h"
#include "tests/support/system_user.h"

#ifndef PAM_JIT_MODULE
#error "PAM_JIT_MODULE must name the built pam_jit.so"
#endif

namespace jit::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::IsEmpty;

const std::string kToken = "it-sudo-user-token-000";

std::string Config(const std::string& user, const std::string& dir,
                   const std::string& socket, const std::string& pam_service) {
  return R"(storage: sqlite
enforcement_socket: )" +
         socket + R"(
auth:
  tokens:
    - {subject: )" +
         user + R"(, groups: [dev], token: ")" + kToken + R"("}
connectors:
  - name: sudo
    type: linux_sudo
    pam_service: )" +
         pam_service + R"(
    log_dir: )" +
         dir + R"(/sudo-log
    timeout: 5s
entitlements:
  - name: box-sudo
    connector: sudo
    params: {commands: [/usr/bin/id, /bin/sleep]}
    max_duration: 1h
policies:
  - name: auto-sudo
    subjects: {groups: [dev]}
    entitlements: [box-sudo]
    max_duration: 1h
    approval: {auto: true}
)";
}

class SudoIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RunningAsRoot()) GTEST_SKIP() << "needs root (useradd, sudo)";
    StatusOr<SystemUser> u = SystemUser::Create();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    user_.emplace(*std::move(u));
    guard_.AddUser(user_->name());
    socket_ = tmp_.path() + "/check.sock";
    // 1 s for the module leaves sudo's start-up room within T24's 2 s.
    pam_.emplace(
        "#%PAM-1.0\naccount required " PAM_JIT_MODULE " socket=" + socket_ +
        " connector=sudo timeout_ms=1000\n"
        "@include common-auth\n@include common-account\n"
        "@include common-session-noninteractive\n");
    jitd_ = std::make_unique<JitdProcess>(
        tmp_.path(), Config(user_->name(), tmp_.path(), socket_, pam_->name()));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << jitd_->log();
  }
  void TearDown() override {
    if (jitd_) jitd_->Stop();
  }

  // An auto-approved grant of box-sudo for `duration`; its id.
  std::string Grant(const std::string& duration) {
    Reply r = jitd_->Post("/v1/requests", kToken,
                          {{"entitlement", "box-sudo"},
                           {"duration", duration},
                           {"justification", "integration test of sudo"}});
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(r.body.value("state", ""), "active") << r.raw;
    std::string id = r.body.value("grant_id", "");
    EXPECT_FALSE(id.empty()) << r.raw;
    guard_.Add(id);
    return id;
  }
  bool SudoAllowed() {
    SudoRun r = RunSudoAs(user_->name(), {"/usr/bin/id", "-u"});
    last_took_ = r.took;
    return r.exit_code == 0 && r.out == "0\n";
  }
  bool DropInThere(const std::string& grant_id) {
    return std::filesystem::exists("/etc/sudoers.d/jitd_" + grant_id);
  }

  TempDir tmp_;
  std::optional<SystemUser> user_;
  DropInGuard guard_;  // removes drop-ins even when a test fails
  std::optional<PamServiceFile> pam_;
  std::string socket_;
  std::unique_ptr<JitdProcess> jitd_;
  std::chrono::milliseconds last_took_{0};
};

TEST_F(SudoIntegrationTest, DeniedBeforeAllowedWhileGrantedEndedByRevoke) {
  EXPECT_FALSE(SudoAllowed());
  std::string id = Grant("10m");
  ASSERT_TRUE(DropInThere(id));
  EXPECT_TRUE(SudoAllowed());

  BackgroundSudo running(user_->name(), {"/bin/sleep", "60"});
  ASSERT_TRUE(running.WaitRunning(10s).has_value());
  const auto start = std::chrono::steady_clock::now();
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kToken,
                        {{"reason", "task done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(running.WaitGone(10s)) << "sudo sleep outlived the revoke";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // THREATS T12
  EXPECT_FALSE(SudoAllowed());
  EXPECT_THAT(guard_.Leftovers(), IsEmpty());

  // The commands sudo logged under the grant are in the grant's trail.
  std::vector<std::string> commands;
  Reply audit = jitd_->Get("/v1/audit?limit=1000", kToken);
  for (const nlohmann::json& e : audit.body["items"]) {
    if (e["type"] != "grant.activity" || e["grant_id"] != id) continue;
    nlohmann::json data =
        e["data"].is_string()
            ? nlohmann::json::parse(e["data"].get<std::string>())
            : e["data"];
    for (const nlohmann::json& item : data["items"]) {
      EXPECT_EQ(item["kind"], "command");
      commands.push_back(item["text"]);
    }
  }
  bool ran_id = false, ran_sleep = false;
  for (const std::string& c : commands) {
    ran_id = ran_id || c.find("/usr/bin/id") != std::string::npos;
    ran_sleep = ran_sleep || c.find("/bin/sleep 60") != std::string::npos;
  }
  EXPECT_TRUE(ran_id && ran_sleep)
      << "activity: " << nlohmann::json(commands).dump();
}

TEST_F(SudoIntegrationTest, DeniedAfterExpiry) {
  std::string id = Grant("3s");
  EXPECT_TRUE(SudoAllowed());
  EXPECT_TRUE(WaitUntil([&] { return !SudoAllowed(); }, 8s))
      << "sudo still allowed after the grant expired";
  // jitd's expiry removes the drop-in too.
  EXPECT_TRUE(WaitUntil([&] { return !DropInThere(id); }, 10s));
  EXPECT_THAT(guard_.Leftovers(), IsEmpty());
}

TEST_F(SudoIntegrationTest, DeniedWithinTwoSecondsWhenJitdHangsOrStops) {
  std::string id = Grant("10m");
  ASSERT_TRUE(SudoAllowed());

  jitd_->Signal(SIGSTOP);  // hangs: the socket accepts, nobody answers
  bool allowed = SudoAllowed();
  jitd_->Signal(SIGCONT);
  EXPECT_FALSE(allowed) << "sudo allowed while jitd hung";
  EXPECT_LT(last_took_, 2s);  // THREATS T24

  jitd_->Stop();
  ASSERT_TRUE(DropInThere(id));  // only pam_jit stands in the way now
  EXPECT_FALSE(SudoAllowed()) << "sudo allowed while jitd was down";
  EXPECT_LT(last_took_, 2s);

  Status s = jitd_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(SudoAllowed()) << "grant lost across the restart";
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kToken,
                        {{"reason", "task done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_FALSE(SudoAllowed());
  EXPECT_THAT(guard_.Leftovers(), IsEmpty());
}

}  // namespace
}  // namespace jit::testing
