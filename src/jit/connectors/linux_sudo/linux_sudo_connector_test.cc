#include "jit/connectors/linux_sudo/linux_sudo_connector.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/connectors/connector_contract_test.h"
#include "jit/connectors/linux_sudo/sudo_test_host.h"
#include "tests/support/system_user.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using testing::BackgroundSudo;
using ::testing::Contains;
using testing::DropInGuard;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::RunSudoAs;
using testing::SudoRun;
using testing::SudoSpec;
using testing::SystemUser;

const std::filesystem::path kSudoersDir = "/etc/sudoers.d";

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `t` as YYYYMMDDHHMMSS in UTC, computed with gmtime_r rather than the
// code under test.
std::string UtcDigits(SystemTime t) {
  time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::floor<std::chrono::seconds>(t));
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  ::strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return buf;
}

class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    const char* old = ::getenv("TZ");
    if (old != nullptr) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

// One test account, a sudo connector on the real /etc/sudoers.d with a
// scratch log dir, and cleanup of every drop-in it may leave.
class SudoRig {
 public:
  SudoRig() {
    StatusOr<SystemUser> u = SystemUser::Create();
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    if (u.ok()) {
      user_.emplace(*std::move(u));
      guard_.AddUser(user_->name());
    }
    nlohmann::json cfg = {{"name", "sudo-test"},
                          {"type", "linux_sudo"},
                          {"log_dir", (logs_.path() / "log").string()},
                          {"timeout", "5s"}};
    StatusOr<std::unique_ptr<Connector>> c = MakeLinuxSudoConnector(
        {"sudo-test", "linux_sudo", cfg.dump(), "test"}, env_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) connector_ = *std::move(c);
  }
  bool ready() const { return user_.has_value() && connector_ != nullptr; }
  const std::string& user() const { return user_->name(); }
  Connector& connector() { return *connector_; }
  DropInGuard& guard() { return guard_; }
  std::filesystem::path log_dir() const { return logs_.path() / "log"; }

  GrantSpec Spec(std::vector<std::string> commands = {"/usr/bin/id",
                                                      "/bin/sleep"},
                 std::chrono::milliseconds duration = 30min) {
    GrantSpec g = SudoSpec(user(), commands, duration);
    guard_.Add(g.grant_id);
    return g;
  }
  std::filesystem::path DropIn(const GrantSpec& g) const {
    return kSudoersDir / ("jitd_" + g.grant_id);
  }
  SudoRun Sudo(const std::vector<std::string>& args,
               const std::optional<std::string>& tz = std::nullopt) {
    return RunSudoAs(user(), args, tz);
  }
  bool SudoAllowed(const std::optional<std::string>& tz = std::nullopt) {
    SudoRun r = Sudo({"/usr/bin/id", "-u"}, tz);
    return r.exit_code == 0 && r.out == "0\n";
  }

 private:
  DropInGuard guard_;
  std::optional<SystemUser> user_;
  TestTempDir logs_;
  SystemClock clock_;
  PosixCommandRunner runner_;
  Environment env_{clock_, runner_, {}};
  std::unique_ptr<Connector> connector_;
};

// ---------------------------------------------------------------------------
// The contract. Its specs name a generic user ("alice") and no params; this
// adapter points them at the rig's real account with two commands, and
// names sessions (sudo pids) by the ids the contract opened them with.

class SpecAdapter : public Connector {
 public:
  SpecAdapter(SudoRig& rig, std::map<std::string, std::string>& names)
      : rig_(rig), names_(names) {}
  GrantSpec Adapt(const GrantSpec& g) {
    GrantSpec out = g;
    out.target_user = rig_.user();
    out.params_json = {{"commands", R"(["/usr/bin/id", "/bin/sleep"])"}};
    rig_.guard().Add(g.grant_id);
    return out;
  }
  Status Grant(const GrantSpec& g, Deadline d) override {
    return rig_.connector().Grant(Adapt(g), d);
  }
  Status Revoke(const GrantSpec& g, Deadline d) override {
    return rig_.connector().Revoke(Adapt(g), d);
  }
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline d) override {
    return rig_.connector().IsActive(Adapt(g), d);
  }
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline d) override {
    return Named(rig_.connector().ListSessions(Adapt(g), d));
  }
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline d) override {
    return Named(rig_.connector().KillSessions(Adapt(g), d));
  }

 private:
  StatusOr<std::vector<Session>> Named(StatusOr<std::vector<Session>> s) {
    if (!s.ok()) return s;
    for (Session& session : *s) {
      auto it = names_.find(session.id);
      if (it != names_.end()) session.id = it->second;
    }
    return s;
  }
  SudoRig& rig_;
  std::map<std::string, std::string>& names_;
};

class SudoHarness : public ConnectorHarness {
 public:
  SudoHarness() : adapter_(rig_, names_) {}
  Connector& connector() override { return adapter_; }
  bool TargetHolds(const GrantSpec& g) override {
    std::filesystem::path path = rig_.DropIn(g);
    return std::filesystem::exists(path) &&
           ReadFile(path).find(rig_.user() + " ALL=(root) NOTAFTER=") !=
               std::string::npos;
  }
  void OpenSession(const GrantSpec&, const std::string& id) override {
    sessions_.push_back(std::make_unique<BackgroundSudo>(
        rig_.user(), std::vector<std::string>{"/bin/sleep", "60"}));
    std::optional<pid_t> pid = sessions_.back()->WaitRunning(10s);
    ASSERT_TRUE(pid.has_value()) << "sudo /bin/sleep did not start";
    names_[std::to_string(*pid)] = id;
  }
  bool MakeSessionsSurviveKill() override { return false; }  // SIGKILL wins

 private:
  SudoRig rig_;
  std::map<std::string, std::string> names_;  // sudo pid -> contract id
  SpecAdapter adapter_;
  std::vector<std::unique_ptr<BackgroundSudo>> sessions_;
};

// Skips every test of this binary, the contract's included, when not root.
class RootOnly : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root (useradd, sudo)";
  }
};
::testing::Environment* const kRootOnly =
    ::testing::AddGlobalTestEnvironment(new RootOnly);

std::unique_ptr<ConnectorHarness> MakeSudoHarness() {
  return std::make_unique<SudoHarness>();
}

INSTANTIATE_TEST_SUITE_P(LinuxSudo, ConnectorContractTest,
                         ::testing::Values(ConnectorContractParam{
                             "RealSudo", &MakeSudoHarness}),
                         ConnectorContractParamName);

// ---------------------------------------------------------------------------
// Behaviour with the real sudo.

class LinuxSudoConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root (useradd, sudo)";
    rig_ = std::make_unique<SudoRig>();
    ASSERT_TRUE(rig_->ready());
  }
  void TearDown() override {
    if (!rig_) return;
    EXPECT_THAT(rig_->guard().Leftovers(), IsEmpty()) << "drop-ins left";
  }
  std::unique_ptr<SudoRig> rig_;
};

TEST_F(LinuxSudoConnectorTest, SudoDeniedBeforeAllowedWhileGrantedDeniedAfter) {
  GrantSpec g = rig_->Spec();
  EXPECT_FALSE(rig_->SudoAllowed());
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  EXPECT_TRUE(rig_->SudoAllowed());
  // Only the granted commands.
  EXPECT_NE(rig_->Sudo({"/bin/ls", "/"}).exit_code, 0);
  ASSERT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
  EXPECT_FALSE(rig_->SudoAllowed());
  EXPECT_FALSE(std::filesystem::exists(rig_->DropIn(g)));
}

TEST_F(LinuxSudoConnectorTest, DropInIsRootOwnedReadOnlyAndPassesVisudo) {
  GrantSpec g = rig_->Spec();
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(rig_->DropIn(g).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0440u);
  PosixCommandRunner runner;
  StatusOr<CommandResult> check =
      runner.Run({"/usr/sbin/visudo", "-c"}, {{"PATH", "/usr/bin:/bin"}}, 10s);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, SudoItselfEndsTheGrantAtNotAfter) {
  GrantSpec g = rig_->Spec({"/usr/bin/id"}, 3s);
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  EXPECT_TRUE(rig_->SudoAllowed());
  // jitd does nothing more: the drop-in stays, sudo must refuse on its own.
  const auto until = std::chrono::steady_clock::now() + 8s;
  bool denied = false;
  while (!denied && std::chrono::steady_clock::now() < until) {
    denied = !rig_->SudoAllowed();
    if (!denied) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(denied) << "sudo still allowed after NOTAFTER";
  EXPECT_LE(std::chrono::system_clock::now(), g.expires_at + 8s);
  EXPECT_TRUE(std::filesystem::exists(rig_->DropIn(g)));
  StatusOr<bool> active = rig_->connector().IsActive(g, Soon());
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(*active);
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, NotAfterIsUtcWhateverTheTimeZone) {  // T26
  GrantSpec long_grant = rig_->Spec({"/usr/bin/id"}, 30min);
  GrantSpec short_grant = rig_->Spec({"/usr/bin/id"}, 3s);
  {
    ScopedTz jitd_tz("Pacific/Kiritimati");  // jitd's own zone: UTC+14
    ASSERT_TRUE(rig_->connector().Grant(long_grant, Soon()).ok());
    ASSERT_TRUE(rig_->connector().Grant(short_grant, Soon()).ok());
  }
  std::string text = ReadFile(rig_->DropIn(long_grant));
  EXPECT_THAT(
      text,
      HasSubstr("NOTAFTER=" + UtcDigits(long_grant.expires_at - 1s) + "Z "));
  ASSERT_TRUE(rig_->connector().Revoke(short_grant, Soon()).ok());
  // Read as local time, a +14 h zone would put NOTAFTER 14 h in the past.
  EXPECT_TRUE(rig_->SudoAllowed("Pacific/Kiritimati"));
  EXPECT_TRUE(rig_->SudoAllowed("Etc/GMT+12"));
  ASSERT_TRUE(rig_->connector().Revoke(long_grant, Soon()).ok());

  // Read as local time, a -12 h zone would keep the short grant 12 h longer.
  GrantSpec g = rig_->Spec({"/usr/bin/id"}, 3s);
  {
    ScopedTz jitd_tz("Etc/GMT+12");
    ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  }
  EXPECT_THAT(ReadFile(rig_->DropIn(g)),
              HasSubstr("NOTAFTER=" + UtcDigits(g.expires_at - 1s) + "Z "));
  EXPECT_TRUE(rig_->SudoAllowed("Etc/GMT+12"));
  const auto until = std::chrono::steady_clock::now() + 8s;
  bool denied = false;
  while (!denied && std::chrono::steady_clock::now() < until) {
    denied = !rig_->SudoAllowed("Etc/GMT+12");
    if (!denied) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(denied) << "the user's TZ kept the grant alive";
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, RefusesInjectionAndWritesNothing) {
  struct Case {
    std::string what;
    std::function<void(GrantSpec&)> edit;
  };
  std::vector<Case> cases = {
      {"comma",
       [](GrantSpec& g) {
         g.params_json["commands"] = R"(["/usr/bin/id, /bin/sh"])";
       }},
      {"newline",
       [](GrantSpec& g) {
         g.params_json["commands"] = R"(["/usr/bin/id\nALL ALL=(ALL) ALL"])";
       }},
      {"equals",
       [](GrantSpec& g) {
         g.params_json["commands"] = R"(["/usr/bin/env A=B"])";
       }},
      {"colon",
       [](GrantSpec& g) {
         g.params_json["commands"] = R"(["/usr/bin/id : ALL"])";
       }},
      {"wildcard",
       [](GrantSpec& g) { g.params_json["commands"] = R"(["/bin/*"])"; }},
      {"directory",
       [](GrantSpec& g) { g.params_json["commands"] = R"(["/bin/"])"; }},
      {"no commands", [](GrantSpec& g) { g.params_json.erase("commands"); }},
      {"ALL not alone",
       [](GrantSpec& g) {
         g.params_json["commands"] = R"(["ALL", "/usr/bin/id"])";
       }},
      {"user", [](GrantSpec& g) { g.target_user += " ALL=(ALL) ALL"; }},
      {"user comma", [](GrantSpec& g) { g.target_user += ",root"; }},
      {"no such user", [](GrantSpec& g) { g.target_user = "nosuchuser9z"; }},
      {"runas",
       [](GrantSpec& g) { g.params_json["runas"] = R"("root, ALL")"; }},
      {"runas newline",
       [](GrantSpec& g) {
         g.params_json["runas"] = R"("root\nDefaults !env_reset")";
       }},
      {"unknown param", [](GrantSpec& g) { g.params_json["group"] = "\"x\""; }},
      {"grant id", [](GrantSpec& g) { g.grant_id += ".x"; }},
  };
  for (const Case& c : cases) {
    GrantSpec g = rig_->Spec();
    c.edit(g);
    rig_->guard().Add(g.grant_id);
    Status s = rig_->connector().Grant(g, Soon());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument)
        << c.what << ": " << s.ToString();
    EXPECT_THAT(rig_->guard().Leftovers(), IsEmpty()) << c.what;
  }
  EXPECT_FALSE(rig_->SudoAllowed());
}

TEST_F(LinuxSudoConnectorTest, AllOnlyWhenGivenAndRunasHonoured) {
  GrantSpec g = rig_->Spec({"ALL"});
  g.params_json["runas"] = "\"nobody\"";
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  SudoRun r = rig_->Sudo({"-u", "nobody", "/usr/bin/id", "-un"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "nobody\n");
  EXPECT_NE(rig_->Sudo({"/usr/bin/id"}).exit_code, 0) << "root not granted";
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, GrantAgainKeepsTheFileAndLaterExpiryExtends) {
  GrantSpec g = rig_->Spec({"/usr/bin/id"}, 30min);
  g.expires_at = std::chrono::system_clock::now() - 1min;  // already over
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  EXPECT_FALSE(rig_->SudoAllowed());
  struct stat before {};
  ASSERT_EQ(::stat(rig_->DropIn(g).c_str(), &before), 0);
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  struct stat again {};
  ASSERT_EQ(::stat(rig_->DropIn(g).c_str(), &again), 0);
  EXPECT_EQ(before.st_ino, again.st_ino) << "same grant rewrote the file";

  g.expires_at = std::chrono::system_clock::now() + 30min;  // extension
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  EXPECT_THAT(ReadFile(rig_->DropIn(g)),
              HasSubstr("NOTAFTER=" + UtcDigits(g.expires_at - 1s) + "Z "));
  EXPECT_TRUE(rig_->SudoAllowed());
  StatusOr<bool> active = rig_->connector().IsActive(g, Soon());
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(*active);
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, RevokeEndsARunningSudoWithinTenSeconds) {  // T12
  GrantSpec g = rig_->Spec();
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  BackgroundSudo running(rig_->user(), {"/bin/sleep", "60"});
  std::optional<pid_t> pid = running.WaitRunning(10s);
  ASSERT_TRUE(pid.has_value());
  StatusOr<std::vector<Session>> sessions =
      rig_->connector().ListSessions(g, Soon());
  ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
  EXPECT_THAT(*sessions,
              ElementsAre(Field(&Session::id, std::to_string(*pid))));

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
  EXPECT_TRUE(running.WaitGone(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  StatusOr<std::vector<Session>> survivors =
      rig_->connector().KillSessions(g, Soon());
  ASSERT_TRUE(survivors.ok());
  EXPECT_THAT(*survivors, IsEmpty());
}

TEST_F(LinuxSudoConnectorTest, SessionsOfOtherUsersAndEarlierOnesAreLeftAlone) {
  GrantSpec g = rig_->Spec();
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  BackgroundSudo mine(rig_->user(), {"/bin/sleep", "60"});
  ASSERT_TRUE(mine.WaitRunning(10s).has_value());

  SudoRig other;
  ASSERT_TRUE(other.ready());
  GrantSpec og = other.Spec();
  ASSERT_TRUE(other.connector().Grant(og, Soon()).ok());
  BackgroundSudo theirs(other.user(), {"/bin/sleep", "60"});
  std::optional<pid_t> their_pid = theirs.WaitRunning(10s);
  ASSERT_TRUE(their_pid.has_value());

  StatusOr<std::vector<Session>> survivors =
      rig_->connector().KillSessions(g, Soon());
  ASSERT_TRUE(survivors.ok());
  EXPECT_THAT(*survivors, IsEmpty());
  EXPECT_TRUE(mine.WaitGone(5s));
  EXPECT_TRUE(testing::ProcessAlive(*their_pid));
  StatusOr<std::vector<Session>> left =
      other.connector().ListSessions(og, Soon());
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(*left,
              ElementsAre(Field(&Session::id, std::to_string(*their_pid))));
  EXPECT_TRUE(other.connector().Revoke(og, Soon()).ok());
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

TEST_F(LinuxSudoConnectorTest, ActivitySinceListsTheCommandsRunUnderTheGrant) {
  GrantSpec g = rig_->Spec();
  ASSERT_TRUE(rig_->connector().Grant(g, Soon()).ok());
  ASSERT_EQ(rig_->Sudo({"/usr/bin/id", "-u"}).exit_code, 0);
  ASSERT_NE(rig_->Sudo({"/bin/ls", "/"}).exit_code, 0);  // refused: not listed
  ASSERT_EQ(rig_->Sudo({"/bin/sleep", "0"}).exit_code, 0);

  StatusOr<std::vector<Activity>> acts =
      rig_->connector().ActivitySince(g, g.starts_at, Soon());
  ASSERT_TRUE(acts.ok()) << acts.status().ToString();
  ASSERT_EQ(acts->size(), 2u);
  EXPECT_EQ((*acts)[0].kind, "command");
  EXPECT_EQ((*acts)[0].text, "/usr/bin/id -u");
  EXPECT_EQ((*acts)[1].text, "/bin/sleep 0");
  EXPECT_FALSE((*acts)[0].session.empty());
  EXPECT_GE((*acts)[0].at, g.starts_at);
  EXPECT_LE((*acts)[0].at, (*acts)[1].at);

  StatusOr<std::vector<Activity>> later =
      rig_->connector().ActivitySince(g, (*acts)[1].at + 1ms, Soon());
  ASSERT_TRUE(later.ok());
  EXPECT_THAT(*later, IsEmpty());
  EXPECT_TRUE(rig_->connector().Revoke(g, Soon()).ok());
}

}  // namespace
}  // namespace jit
