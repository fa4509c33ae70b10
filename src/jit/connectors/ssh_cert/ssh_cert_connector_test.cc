// SshCertConnector against a real sshd (tests/support/sshd_server.h) and
// the real OpenSSH client and ssh-keygen. Needs root (accounts, sshd).
#include "jit/connectors/ssh_cert/ssh_cert_connector.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/connectors/connector_contract_test.h"
#include "jit/connectors/ssh_cert/sshd_sessions.h"
#include "tests/support/sshd_server.h"
#include "tests/support/system_user.h"

extern char** environ;

namespace jit {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using ::jit::testing::RunningAsRoot;
using ::jit::testing::SshdServer;
using ::jit::testing::SystemUser;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kSshKeygen[] = "/usr/bin/ssh-keygen";
const std::map<std::string, std::string> kToolEnv = {
    {"PATH", "/usr/bin:/bin"}, {"TZ", "UTC"}, {"LC_ALL", "C"}};

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

CommandResult RunTool(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env = kToolEnv) {
  PosixCommandRunner runner;
  StatusOr<CommandResult> r = runner.Run(argv, env, 20s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : CommandResult{};
}

// Whole seconds, as certificates carry time.
SystemTime WholeSecondsFromNow(std::chrono::seconds d) {
  return std::chrono::ceil<std::chrono::seconds>(
             std::chrono::system_clock::now()) +
         d;
}

// The fields of `ssh-keygen -L` output: scalars by name, list sections
// (Principals, Critical Options, Extensions) as their indented items.
struct CertText {
  std::map<std::string, std::string> fields;
  std::map<std::string, std::vector<std::string>> lists;
};

CertText ParseCertListing(const std::string& text) {
  CertText out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    size_t indent = line.find_first_not_of(" \t");
    if (indent == std::string::npos) continue;
    std::string body = line.substr(indent);
    if (indent >= 16) {  // an item of the current section
      out.lists[section].push_back(body);
      continue;
    }
    size_t colon = body.find(':');
    if (colon == std::string::npos) continue;
    section = body.substr(0, colon);
    std::string value =
        colon + 1 < body.size() ? body.substr(colon + 2) : std::string();
    out.fields[section] = value;
    if (value.empty() || value == "(none)") out.lists[section];
  }
  return out;
}

CertText ListCert(const fs::path& cert,
                  const std::map<std::string, std::string>& env = kToolEnv) {
  CommandResult r = RunTool({kSshKeygen, "-L", "-f", cert.string()}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ParseCertListing(r.out);
}

// "Valid: from 2026-11-23T22:25:36 to 2026-11-23T23:26:36", read as UTC.
SystemTime ValidBefore(const CertText& c) {
  const std::string& v = c.fields.at("Valid");
  StatusOr<SystemTime> t = ParseTime(v.substr(v.rfind(' ') + 1) + "Z");
  EXPECT_TRUE(t.ok()) << v;
  return t.ok() ? *t : SystemTime{};
}

// A CommandRunner that runs every program with TZ forced to `tz`, as on a
// host configured in that zone.
class ZoneRunner final : public CommandRunner {
 public:
  explicit ZoneRunner(std::string tz) : tz_(std::move(tz)) {}
  StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              std::chrono::milliseconds timeout) override {
    std::map<std::string, std::string> zoned = env;
    zoned["TZ"] = tz_;
    return inner_.Run(argv, zoned, timeout);
  }

 private:
  std::string tz_;
  PosixCommandRunner inner_;
};

// A child process (an ssh client) whose stdout the test reads.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  // The first line of stdout, waiting at most `limit`.
  std::string ReadLine(std::chrono::milliseconds limit) {
    std::string line;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1 || c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }
  // Whether it exited within `limit` (polling: it is a real process).
  bool ExitsWithin(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return pid_ <= 0;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

pid_t ParentOf(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 1));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

// Processes owned by `uid` that are not zombies.
int LiveProcessesOf(int uid) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0 ||
        static_cast<int>(st.st_uid) != uid)
      continue;
    std::string stat = ReadFile(e.path() / "stat");
    size_t close = stat.rfind(')');
    if (close != std::string::npos && stat.substr(close + 2, 1) != "Z") ++n;
  }
  return n;
}

// One CA connector, one sshd trusting it, one account that accepts
// principal `principal()` (and only that).
class SshCertRig {
 public:
  // `runner` (default: a PosixCommandRunner) runs ssh-keygen for the
  // connector.
  explicit SshCertRig(CommandRunner* runner = nullptr)
      : runner_(runner != nullptr ? *runner : posix_runner_) {}

  // Builds everything; with `with_sshd` false, the connector only.
  Status Start(bool with_sshd = true) {
    principal_ = "ops" + RandomHex(4);
    nlohmann::json cfg = {{"name", "sshca"},
                          {"type", "ssh_cert"},
                          {"krl_path", krl_path().string()},
                          {"session_log", log_path().string()},
                          {"timeout", "10s"}};
    StatusOr<SshCertConnectorConfig> parsed =
        ParseSshCertConnectorConfig({"sshca", "ssh_cert", cfg.dump(), "t:1"});
    if (!parsed.ok()) return parsed.status();
    StatusOr<std::unique_ptr<SshCertConnector>> c =
        SshCertConnector::Create(*parsed, env_);
    if (!c.ok()) return c.status();
    connector_ = *std::move(c);
    if (!with_sshd) return OkStatus();
    StatusOr<SystemUser> user = SystemUser::Create();
    if (!user.ok()) return user.status();
    user_.emplace(*std::move(user));
    StatusOr<std::unique_ptr<SshdServer>> sshd = SshdServer::Start(
        {connector_->state_dir() / "ca.pub", krl_path(), log_path()});
    if (!sshd.ok()) return sshd.status();
    sshd_ = *std::move(sshd);
    return sshd_->AllowPrincipals(user_->name(), {principal_});
  }

  SshCertConnector& connector() { return *connector_; }
  SshdServer& sshd() { return *sshd_; }
  const SystemUser& user() { return *user_; }
  const std::string& principal() const { return principal_; }
  fs::path krl_path() const { return dir_.path() / "revoked.krl"; }
  fs::path log_path() const { return dir_.path() / "sshd.log"; }
  const fs::path& dir() const { return dir_.path(); }

  // A grant of `principal()` for `d` from now (expiry in whole seconds).
  GrantSpec Spec(std::chrono::seconds d = 1800s,
                 std::map<std::string, std::string> extra_params = {}) {
    GrantSpec g;
    g.grant_id = NewId("grt_");
    g.request_id = NewId("req_");
    g.subject = "alice";
    g.target_user = user_ ? user_->name() : "alice";
    g.entitlement = "web-ssh";
    g.params_json = std::move(extra_params);
    g.params_json.emplace("principal", nlohmann::json(principal_).dump());
    g.starts_at = std::chrono::system_clock::now();
    g.expires_at = WholeSecondsFromNow(d);
    return g;
  }

  // A fresh user key pair; returns the private key path.
  fs::path NewKey() {
    fs::path key = dir() / ("key" + RandomHex(4));
    CommandResult r = RunTool(
        {kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", key.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return key;
  }
  static std::string PublicOf(const fs::path& key) {
    return ReadFile(key.string() + ".pub");
  }

  // Issues a certificate for `key` under `g` and stores it as KEY-cert.pub.
  StatusOr<fs::path> IssueFor(const GrantSpec& g, const fs::path& key,
                              const std::string& source = "") {
    StatusOr<std::string> cert =
        connector_->Issue(g, PublicOf(key), source, Soon());
    if (!cert.ok()) return cert.status();
    fs::path path = key.string() + "-cert.pub";
    WriteFile(path, *cert);
    return path;
  }

  // Logs in with a real ssh client; the exit code (0 = in, 255 = refused).
  int Login(const fs::path& key, const fs::path& cert,
            std::vector<std::string> remote = {"true"}) {
    CommandResult r =
        RunTool(sshd_->ClientArgv(key, cert, user_->name(), std::move(remote)),
                {{"PATH", "/usr/bin:/bin"}});
    return r.exit_code;
  }

  // Whether the KRL at krl_path revokes `cert` (ssh-keygen -Q).
  bool KrlRevokes(const fs::path& cert) {
    CommandResult r =
        RunTool({kSshKeygen, "-Q", "-f", krl_path().string(), cert.string()});
    EXPECT_TRUE(r.exit_code == 0 || r.out.find("REVOKED") != std::string::npos)
        << r.out << r.err;
    return r.out.find("REVOKED") != std::string::npos;
  }

  // A certificate with key id `key_id`, signed directly with the CA key
  // (not through the connector), for looking at the KRL.
  fs::path SignDirectly(const std::string& key_id) {
    fs::path key = NewKey();
    CommandResult r =
        RunTool({kSshKeygen, "-q", "-s",
                 (connector_->state_dir() / "ca").string(), "-I", key_id, "-n",
                 principal_, "-V", "-1m:+1h", key.string() + ".pub"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return key.string() + "-cert.pub";
  }

 private:
  TestTempDir dir_;
  SystemClock clock_;
  PosixCommandRunner posix_runner_;
  CommandRunner& runner_;
  Environment env_{clock_, runner_, dir_.path() / "data"};
  std::string principal_;
  std::unique_ptr<SshCertConnector> connector_;
  std::optional<SystemUser> user_;
  std::unique_ptr<SshdServer> sshd_;  // destroyed first: ends sessions
};

#define SKIP_UNLESS_ROOT() \
  if (!RunningAsRoot())    \
  GTEST_SKIP() << "needs root: creates accounts, runs sshd"

class SshCertConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_ROOT();
    Status s = rig_.Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  SshCertRig rig_;
};

TEST_F(SshCertConnectorTest, LoginAcceptedWhileGrantedRefusedAfterRevoke) {
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(g, key);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(rig_.Login(key, *cert), 0) << rig_.sshd().LogText();
  EXPECT_FALSE(rig_.KrlRevokes(*cert));

  ASSERT_TRUE(rig_.connector().Revoke(g, Soon()).ok());
  EXPECT_TRUE(rig_.KrlRevokes(*cert));
  EXPECT_EQ(rig_.Login(key, *cert), 255);
  StatusOr<std::string> krl = rig_.connector().RevocationList();
  ASSERT_TRUE(krl.ok());
  EXPECT_EQ(*krl, ReadFile(rig_.krl_path()));
  StatusOr<bool> active = rig_.connector().IsActive(g, Soon());
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(*active);
  // No new certificate for a revoked grant.
  EXPECT_EQ(rig_.IssueFor(g, key).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SshCertConnectorTest, RevokeAgainChangesNothing) {
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  ASSERT_TRUE(rig_.connector().Revoke(g, Soon()).ok());
  std::string krl = ReadFile(rig_.krl_path());
  struct stat before {};
  ASSERT_EQ(::stat(rig_.krl_path().c_str(), &before), 0);
  ASSERT_TRUE(rig_.connector().Revoke(g, Soon()).ok());
  EXPECT_EQ(ReadFile(rig_.krl_path()), krl);
  struct stat after {};
  ASSERT_EQ(::stat(rig_.krl_path().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // not even rewritten
}

TEST_F(SshCertConnectorTest, LoginRefusedAfterCertificateExpires) {
  GrantSpec g = rig_.Spec(3s);
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(g, key);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(ValidBefore(ListCert(*cert)), g.expires_at);
  ASSERT_LT(std::chrono::system_clock::now() + 1s, g.expires_at);
  EXPECT_EQ(rig_.Login(key, *cert), 0) << rig_.sshd().LogText();
  // Bounded wait for the real clock to pass the certificate's end.
  while (std::chrono::system_clock::now() < g.expires_at + 200ms) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(rig_.Login(key, *cert), 255);
  StatusOr<bool> active = rig_.connector().IsActive(g, Soon());
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(*active);
  EXPECT_EQ(rig_.IssueFor(g, key).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SshCertConnectorTest, CertificateForAnotherPrincipalIsRefused) {
  GrantSpec g = rig_.Spec();
  g.params_json["principal"] = "\"someone_else\"";
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(g, key);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(rig_.Login(key, *cert), 255);
}

TEST_F(SshCertConnectorTest, CertificateIsNarrow) {  // T23
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(g, key, "127.0.0.1/32");
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  CertText c = ListCert(*cert);
  EXPECT_EQ(c.fields["Key ID"], "\"" + g.grant_id + "\"");
  EXPECT_THAT(c.lists["Principals"], ElementsAre(rig_.principal()));
  EXPECT_THAT(c.lists["Extensions"], ElementsAre("permit-pty"));
  EXPECT_THAT(c.lists["Critical Options"],
              ElementsAre("source-address 127.0.0.1/32"));
  EXPECT_EQ(ValidBefore(c), g.expires_at);
  EXPECT_EQ(rig_.Login(key, *cert), 0) << rig_.sshd().LogText();

  // The same grant, but only usable from an address the client is not at.
  fs::path elsewhere_key = rig_.NewKey();
  StatusOr<fs::path> elsewhere = rig_.IssueFor(g, elsewhere_key, "192.0.2.1");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  EXPECT_EQ(rig_.Login(elsewhere_key, *elsewhere), 255);
}

TEST_F(SshCertConnectorTest, ForwardingOnlyWhenEntitlementAllowsIt) {  // T23
  GrantSpec g = rig_.Spec(1800s, {{"allow_port_forwarding", "true"},
                                  {"allow_agent_forwarding", "true"},
                                  {"allow_x11_forwarding", "false"}});
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  StatusOr<fs::path> cert = rig_.IssueFor(g, rig_.NewKey());
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  CertText c = ListCert(*cert);
  EXPECT_THAT(c.lists["Extensions"],
              UnorderedElementsAre("permit-pty", "permit-port-forwarding",
                                   "permit-agent-forwarding"));
  EXPECT_THAT(c.lists["Critical Options"], IsEmpty());
}

TEST_F(SshCertConnectorTest, SerialsAreUniqueAndKeyIdIsTheGrant) {
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  StatusOr<fs::path> a = rig_.IssueFor(g, rig_.NewKey());
  StatusOr<fs::path> b = rig_.IssueFor(g, rig_.NewKey());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(ListCert(*a).fields["Serial"], ListCert(*b).fields["Serial"]);
  EXPECT_EQ(ListCert(*b).fields["Key ID"], "\"" + g.grant_id + "\"");
}

TEST_F(SshCertConnectorTest, OpenSessionEndsWithinTenSecondsOfRevoke) {  // T12
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(g, key);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  Child ssh(rig_.sshd().ClientArgv(key, *cert, rig_.user().name(),
                                   {"echo ready; exec sleep 60"}));
  ASSERT_EQ(ssh.ReadLine(10s), "ready") << rig_.sshd().LogText();
  StatusOr<std::vector<Session>> open =
      rig_.connector().ListSessions(g, Soon());
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->size(), 1u) << rig_.sshd().LogText();
  ASSERT_GT(LiveProcessesOf(rig_.user().uid()), 0);

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(rig_.connector().Revoke(g, Soon()).ok());
  StatusOr<std::vector<Session>> survivors =
      rig_.connector().KillSessions(g, start + 10s);
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, IsEmpty());
  EXPECT_TRUE(
      ssh.ExitsWithin(std::chrono::duration_cast<std::chrono::milliseconds>(
          start + 10s - std::chrono::steady_clock::now())));
  EXPECT_EQ(LiveProcessesOf(rig_.user().uid()), 0);  // the remote sleep too
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  StatusOr<std::vector<Session>> left =
      rig_.connector().ListSessions(g, Soon());
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(*left, IsEmpty());
}

TEST_F(SshCertConnectorTest, SessionsOfOtherGrantsAreLeftAlone) {
  GrantSpec mine = rig_.Spec();
  GrantSpec other = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(mine, Soon()).ok());
  ASSERT_TRUE(rig_.connector().Grant(other, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(other, key);
  ASSERT_TRUE(cert.ok());
  Child ssh(rig_.sshd().ClientArgv(key, *cert, rig_.user().name(),
                                   {"echo ready; exec sleep 60"}));
  ASSERT_EQ(ssh.ReadLine(10s), "ready");
  StatusOr<std::vector<Session>> killed =
      rig_.connector().KillSessions(mine, Soon());
  ASSERT_TRUE(killed.ok());
  EXPECT_THAT(*killed, IsEmpty());
  EXPECT_FALSE(ssh.ExitsWithin(300ms));
  StatusOr<std::vector<Session>> others =
      rig_.connector().ListSessions(other, Soon());
  ASSERT_TRUE(others.ok());
  EXPECT_EQ(others->size(), 1u);
}

// "ssh login USER from A port P, ..." -> P.
std::string ClientPortOf(const Session& s) {
  const std::string& d = s.description;
  size_t at = d.find(" port ");
  return d.substr(at + 6, d.find(',', at) - at - 6);
}

// Lines anyone can put into a syslog file (`logger`): they must neither
// hide a login nor tie a connection to a grant through a pid that is not
// the connection's sshd (T12).
TEST_F(SshCertConnectorTest, ForgedLogLinesNeitherHideNorMoveSessions) {
  GrantSpec mine = rig_.Spec();
  GrantSpec other = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(mine, Soon()).ok());
  ASSERT_TRUE(rig_.connector().Grant(other, Soon()).ok());
  fs::path key = rig_.NewKey();
  StatusOr<fs::path> cert = rig_.IssueFor(mine, key);
  ASSERT_TRUE(cert.ok());
  Child ssh(rig_.sshd().ClientArgv(key, *cert, rig_.user().name(),
                                   {"echo ready; exec sleep 60"}));
  ASSERT_EQ(ssh.ReadLine(10s), "ready") << rig_.sshd().LogText();
  StatusOr<std::vector<Session>> open =
      rig_.connector().ListSessions(mine, Soon());
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->size(), 1u) << rig_.sshd().LogText();
  const std::string monitor = (*open)[0].id;
  const std::string port = ClientPortOf((*open)[0]);
  const std::string connection = "Connection from 127.0.0.1 port " + port +
                                 " on 127.0.0.1 port 1 rdomain \"\"";
  const std::string accepted =
      "Accepted publickey for " + rig_.user().name() + " from 127.0.0.1 port " +
      port + " ssh2: ED25519-CERT SHA256:x ID " + other.grant_id +
      " (serial 99) CA ED25519 SHA256:y";
  const std::string listener = std::to_string(rig_.sshd().pid());
  {
    std::ofstream log(rig_.log_path(), std::ios::app);
    log << "Nov 23 22:26:01 host alice: " << connection << "\n"
        << "Nov 23 22:26:01 host sshd[" << monitor << "]: " << connection
        << "\n"
        << "Invalid user x " << connection << "\n"
        << "Nov 23 22:26:01 host sshd[" << listener << "]: " << accepted << "\n"
        << "Nov 23 22:26:01 host alice: " << accepted << "\n";
  }
  StatusOr<std::vector<Session>> still =
      rig_.connector().ListSessions(mine, Soon());
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(still->size(), 1u);
  StatusOr<std::vector<Session>> moved =
      rig_.connector().ListSessions(other, Soon());
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_THAT(*moved, IsEmpty());
  EXPECT_FALSE(ssh.ExitsWithin(100ms));
  // With the pid of the process holding the connection a syslog line is
  // taken (as sshd's own would be): it can add a grant, never hide one.
  std::ofstream(rig_.log_path(), std::ios::app)
      << "Nov 23 22:26:01 host sshd[" << monitor << "]: " << accepted << "\n";
  StatusOr<std::vector<Session>> tagged =
      rig_.connector().ListSessions(other, Soon());
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();
  ASSERT_EQ(tagged->size(), 1u);
  EXPECT_EQ((*tagged)[0].id, monitor);
}

TEST_F(SshCertConnectorTest, HostilePublicKeysAndParamsAreRefused) {
  GrantSpec g = rig_.Spec();
  ASSERT_TRUE(rig_.connector().Grant(g, Soon()).ok());
  fs::path key = rig_.NewKey();
  const std::string pub = SshCertRig::PublicOf(key);
  const std::string line = pub.substr(0, pub.find('\n'));
  StatusOr<fs::path> real_cert = rig_.IssueFor(g, key);
  ASSERT_TRUE(real_cert.ok());
  for (const std::string& bad : {
           line + "\n" + line,
           "command=\"/bin/sh -c id\" " + line,
           "from=\"*\",no-pty " + line,
           ReadFile(*real_cert),                 // a certificate
           std::string("ssh-ed25519 AAAAAAAA"),  // base64, but not a key
           std::string("not a key at all"),
       }) {
    StatusOr<std::string> c = rig_.connector().Issue(g, bad, "", Soon());
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument)
        << bad.substr(0, 60);
  }
  for (const char* principal : {"\"a,b\"", "\"a b\"", "\"root,{subject}\""}) {
    GrantSpec bad = rig_.Spec();
    bad.params_json["principal"] = principal;
    EXPECT_EQ(rig_.connector().Grant(bad, Soon()).code(),
              StatusCode::kInvalidArgument)
        << principal;
    EXPECT_EQ(rig_.connector().Issue(bad, pub, "", Soon()).status().code(),
              StatusCode::kInvalidArgument)
        << principal;
  }
  EXPECT_EQ(rig_.connector()
                .Issue(g, pub, "127.0.0.1 -O permit-port-forwarding", Soon())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  GrantSpec injected = rig_.Spec();
  injected.grant_id = "grt_x\nid: grt_other";
  EXPECT_EQ(rig_.connector().Grant(injected, Soon()).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SshCertConnectorTest, IssueNeedsAGrant) {
  GrantSpec g = rig_.Spec();
  EXPECT_EQ(rig_.IssueFor(g, rig_.NewKey()).status().code(),
            StatusCode::kFailedPrecondition);
}

// Tests below need ssh-keygen only.

TEST(SshCertConnectorZoneTest, ValidBeforeIsGrantExpiryInUtcInAnyZone) {  // T26
  for (const char* tz : {"Pacific/Kiritimati", "Etc/GMT+12"}) {
    SCOPED_TRACE(tz);
    ZoneRunner zoned(tz);
    SshCertRig rig(&zoned);
    Status s = rig.Start(/*with_sshd=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    GrantSpec g = rig.Spec(7200s);
    ASSERT_TRUE(rig.connector().Grant(g, Soon()).ok());
    StatusOr<fs::path> cert = rig.IssueFor(g, rig.NewKey());
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    EXPECT_EQ(ValidBefore(ListCert(*cert)), g.expires_at);
    // The zone did apply to ssh-keygen: read in it, the end looks shifted.
    std::map<std::string, std::string> env = kToolEnv;
    env["TZ"] = tz;
    EXPECT_NE(ValidBefore(ListCert(*cert, env)), g.expires_at);
  }
}

TEST(SshCertConnectorStateTest, CaKeyAndSerialsSurviveRestart) {
  TestTempDir dir;
  SystemClock clock;
  PosixCommandRunner runner;
  Environment env{clock, runner, dir.path() / "data"};
  nlohmann::json cfg = {{"name", "sshca"},
                        {"type", "ssh_cert"},
                        {"krl_path", (dir.path() / "krl").string()},
                        {"discovery", {{"enabled", true}}}};
  const ConnectorConfig config{"sshca", "ssh_cert", cfg.dump(), "jitd.yaml:7"};
  std::string first_key;
  {
    StatusOr<std::unique_ptr<Connector>> c = MakeSshCertConnector(config, env);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    CertificateAuthority* ca = (*c)->AsCertificateAuthority();
    ASSERT_NE(ca, nullptr);
    StatusOr<std::string> pub = ca->PublicKey();
    ASSERT_TRUE(pub.ok());
    first_key = *pub;
    EXPECT_EQ(first_key.rfind("ssh-ed25519 ", 0), 0u) << first_key;
    EXPECT_EQ(std::count(first_key.begin(), first_key.end(), '\n'), 1);
  }
  const fs::path state = dir.path() / "data" / "ssh_cert" / "sshca";
  EXPECT_EQ(fs::status(state).permissions() & fs::perms::all,
            fs::perms::owner_all);
  EXPECT_EQ(fs::status(state / "ca").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  StatusOr<std::unique_ptr<Connector>> again =
      MakeSshCertConnector(config, env);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->AsCertificateAuthority()->PublicKey(), first_key);
  // An empty KRL exists from the start: sshd refuses all keys without one.
  StatusOr<std::string> krl =
      (*again)->AsCertificateAuthority()->RevocationList();
  ASSERT_TRUE(krl.ok());
  EXPECT_EQ(krl->rfind("SSHKRL", 0), 0u);
}

TEST(SshCertConnectorStateTest, ExpiredRevocationsArePrunedFromKrl) {
  TestTempDir dir;
  FakeClock clock(std::chrono::system_clock::now());
  PosixCommandRunner runner;
  Environment env{clock, runner, dir.path() / "data"};
  nlohmann::json cfg = {{"name", "sshca"},
                        {"type", "ssh_cert"},
                        {"krl_path", (dir.path() / "revoked.krl").string()}};
  StatusOr<std::unique_ptr<Connector>> c =
      MakeSshCertConnector({"sshca", "ssh_cert", cfg.dump(), "t:1"}, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  GrantSpec old_grant;
  old_grant.grant_id = NewId("grt_");
  old_grant.params_json = {{"principal", "\"deploy\""}};
  old_grant.starts_at = clock.Now();
  old_grant.expires_at = clock.Now() + 10min;
  GrantSpec young = old_grant;
  young.grant_id = NewId("grt_");
  young.expires_at = clock.Now() + 30h;
  ASSERT_TRUE((*c)->Revoke(old_grant, Soon()).ok());
  ASSERT_TRUE((*c)->Revoke(young, Soon()).ok());

  // Signed straight with the CA key: only the KRL is looked at.
  auto revoked = [&](const std::string& key_id) {
    fs::path key = dir.path() / ("k" + RandomHex(4));
    EXPECT_EQ(RunTool({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f",
                       key.string()})
                  .exit_code,
              0);
    EXPECT_EQ(RunTool({kSshKeygen, "-q", "-s",
                       (dir.path() / "data/ssh_cert/sshca/ca").string(), "-I",
                       key_id, "-n", "deploy", key.string() + ".pub"})
                  .exit_code,
              0);
    CommandResult r =
        RunTool({kSshKeygen, "-Q", "-f", (dir.path() / "revoked.krl").string(),
                 key.string() + "-cert.pub"});
    return r.out.find("REVOKED") != std::string::npos;
  };
  EXPECT_TRUE(revoked(old_grant.grant_id));
  EXPECT_TRUE(revoked(young.grant_id));
  EXPECT_FALSE(revoked(NewId("grt_")));

  clock.Advance(10min + 25h);  // old_grant's certificates long dead
  GrantSpec another = young;
  another.grant_id = NewId("grt_");
  ASSERT_TRUE((*c)->Revoke(another, Soon()).ok());
  EXPECT_FALSE(revoked(old_grant.grant_id));
  EXPECT_TRUE(revoked(young.grant_id));
  EXPECT_TRUE(revoked(another.grant_id));
}

// A wall clock stepped forward (NTP, `date -s`) must not drop revoked
// grants whose certificates are still valid in real time (M3, T13).
TEST(SshCertConnectorStateTest, WallClockJumpKeepsLiveRevocations) {
  TestTempDir dir;
  FakeClock clock(std::chrono::system_clock::now());
  PosixCommandRunner runner;
  Environment env{clock, runner, dir.path() / "data"};
  nlohmann::json cfg = {{"name", "sshca"},
                        {"type", "ssh_cert"},
                        {"krl_path", (dir.path() / "revoked.krl").string()}};
  StatusOr<std::unique_ptr<Connector>> c =
      MakeSshCertConnector({"sshca", "ssh_cert", cfg.dump(), "t:1"}, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  GrantSpec g;
  g.grant_id = NewId("grt_");
  g.params_json = {{"principal", "\"deploy\""}};
  g.starts_at = clock.Now();
  g.expires_at = clock.Now() + 10min;
  ASSERT_TRUE((*c)->Revoke(g, Soon()).ok());
  clock.JumpWall(2h);  // real time: the certificates still have 10 min
  GrantSpec another = g;
  another.grant_id = NewId("grt_");
  another.expires_at = clock.Now() + 10min;
  ASSERT_TRUE((*c)->Revoke(another, Soon()).ok());  // rewrites the KRL
  nlohmann::json state = nlohmann::json::parse(
      ReadFile(dir.path() / "data/ssh_cert/sshca/state.json"));
  EXPECT_TRUE(state["grants"].contains(g.grant_id)) << state.dump();
  // The KRL names key ids; checked with a certificate of the grant.
  fs::path key = dir.path() / "k";
  ASSERT_EQ(
      RunTool({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", key.string()})
          .exit_code,
      0);
  ASSERT_EQ(RunTool({kSshKeygen, "-q", "-s",
                     (dir.path() / "data/ssh_cert/sshca/ca").string(), "-I",
                     g.grant_id, "-n", "deploy", key.string() + ".pub"})
                .exit_code,
            0);
  CommandResult r =
      RunTool({kSshKeygen, "-Q", "-f", (dir.path() / "revoked.krl").string(),
               key.string() + "-cert.pub"});
  EXPECT_NE(r.out.find("REVOKED"), std::string::npos) << r.out;
}

// Runs ssh-keygen, holding certificate signings (argv with -I) until
// Release() or 10 s.
class SlowSigningRunner final : public CommandRunner {
 public:
  StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              std::chrono::milliseconds timeout) override {
    if (std::find(argv.begin(), argv.end(), "-I") != argv.end()) {
      std::unique_lock lock(mu_);
      signing_ = true;
      changed_.notify_all();
      changed_.wait_for(lock, 10s, [this] { return released_; });
      signing_ = false;
    }
    return inner_.Run(argv, env, timeout);
  }
  bool WaitUntilSigning() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 10s, [this] { return signing_; });
  }
  bool signing() {
    std::lock_guard lock(mu_);
    return signing_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  PosixCommandRunner inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool signing_ = false;   // guarded by mu_
  bool released_ = false;  // guarded by mu_
};

// Revoke and RevocationList do not wait for a slow signing (M4); the
// certificate signed meanwhile is not handed out.
TEST(SshCertConnectorStateTest, RevokeDoesNotWaitForASlowIssue) {
  TestTempDir dir;
  SystemClock clock;
  SlowSigningRunner runner;
  Environment env{clock, runner, dir.path() / "data"};
  nlohmann::json cfg = {{"name", "sshca"},
                        {"type", "ssh_cert"},
                        {"krl_path", (dir.path() / "revoked.krl").string()}};
  StatusOr<std::unique_ptr<Connector>> made =
      MakeSshCertConnector({"sshca", "ssh_cert", cfg.dump(), "t:1"}, env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Connector& c = **made;
  GrantSpec g;
  g.grant_id = NewId("grt_");
  g.params_json = {{"principal", "\"deploy\""}};
  g.starts_at = clock.Now();
  g.expires_at = WholeSecondsFromNow(1h);
  ASSERT_TRUE(c.Grant(g, Soon()).ok());
  fs::path key = dir.path() / "user";
  ASSERT_EQ(
      RunTool({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", key.string()})
          .exit_code,
      0);
  auto issued = std::async(std::launch::async, [&] {
    return c.AsCertificateAuthority()->Issue(g, ReadFile(key.string() + ".pub"),
                                             "", Soon());
  });
  ASSERT_TRUE(runner.WaitUntilSigning());
  const auto start = std::chrono::steady_clock::now();
  Status revoked = c.Revoke(g, start + 5s);
  StatusOr<std::string> krl = c.AsCertificateAuthority()->RevocationList();
  const bool still_signing = runner.signing();
  runner.Release();
  EXPECT_TRUE(revoked.ok()) << revoked.ToString();
  EXPECT_TRUE(krl.ok());
  EXPECT_TRUE(still_signing);  // done before the signing ended
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(issued.get().status().code(), StatusCode::kFailedPrecondition);
}

// A session_log that cannot be read is an error, not "no sessions" (T12).
TEST(SshCertConnectorStateTest, UnreadableOrUntrustedSessionLogIsUnavailable) {
  TestTempDir dir;
  SystemClock clock;
  PosixCommandRunner runner;
  Environment env{clock, runner, dir.path() / "data"};
  const fs::path log = dir.path() / "sshd.log";
  nlohmann::json cfg = {{"name", "sshca"},
                        {"type", "ssh_cert"},
                        {"krl_path", (dir.path() / "revoked.krl").string()},
                        {"session_log", log.string()}};
  StatusOr<std::unique_ptr<Connector>> c =
      MakeSshCertConnector({"sshca", "ssh_cert", cfg.dump(), "t:1"}, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  GrantSpec g;
  g.grant_id = NewId("grt_");
  g.params_json = {{"principal", "\"deploy\""}};
  g.starts_at = clock.Now();
  g.expires_at = clock.Now() + 1h;
  EXPECT_EQ((*c)->ListSessions(g, Soon()).status().code(),
            StatusCode::kUnavailable);  // missing
  EXPECT_EQ((*c)->KillSessions(g, Soon()).status().code(),
            StatusCode::kUnavailable);
  WriteFile(log, "");
  fs::permissions(log, fs::perms::owner_read | fs::perms::owner_write);
  StatusOr<std::vector<Session>> none = (*c)->ListSessions(g, Soon());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_THAT(*none, IsEmpty());
  fs::permissions(log, fs::perms::others_write, fs::perm_options::add);
  EXPECT_EQ((*c)->ListSessions(g, Soon()).status().code(),
            StatusCode::kUnavailable);  // made writable after config load
}

// Refused at config load: a session_log others can write (T12).
TEST(SshCertConnectorConfigTest, SessionLogOthersCanWriteIsRefused) {
  TestTempDir dir;
  const fs::path log = dir.path() / "auth.log";
  WriteFile(log, "");
  auto parse = [&](const fs::path& path) {
    nlohmann::json cfg = {
        {"name", "c"}, {"type", "ssh_cert"}, {"session_log", path.string()}};
    return ParseSshCertConnectorConfig(
               {"c", "ssh_cert", cfg.dump(), "jitd.yaml:4"})
        .status();
  };
  const fs::perms rw = fs::perms::owner_read | fs::perms::owner_write;
  fs::permissions(log, rw | fs::perms::group_read | fs::perms::others_read);
  EXPECT_TRUE(parse(log).ok()) << parse(log).ToString();
  EXPECT_TRUE(parse(dir.path() / "not-yet-there.log").ok());
  for (fs::perms extra : {fs::perms::group_write, fs::perms::others_write}) {
    fs::permissions(log, rw | extra);
    Status s = parse(log);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().rfind("jitd.yaml:4: ", 0), 0u) << s.message();
  }
  fs::permissions(log, rw);
  const fs::path open_dir = dir.path() / "open";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, fs::perms::all);
  WriteFile(open_dir / "auth.log", "");
  fs::permissions(open_dir / "auth.log", rw);
  EXPECT_EQ(parse(open_dir / "auth.log").code(), StatusCode::kInvalidArgument);
  fs::permissions(open_dir, fs::perms::sticky_bit, fs::perm_options::add);
  EXPECT_TRUE(parse(open_dir / "auth.log").ok());
  if (RunningAsRoot()) {  // a file of another user
    ASSERT_EQ(::chown(log.c_str(), 65534, 65534), 0);
    EXPECT_EQ(parse(log).code(), StatusCode::kInvalidArgument);
  }
}

// jitd without permission to read an sshd process's fds must say so
// instead of finding no session there (T12). The lookup runs in a child
// that gives up root.
TEST(FindLiveSshdSessionsRootTest, UnreadableSshdFdsAreUnavailable) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root: changes uid";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t probe = ::fork();  // a root process named like sshd
  ASSERT_GE(probe, 0);
  if (probe == 0) {
    ::prctl(PR_SET_NAME, "sshd-probe");
    ::close(ready[0]);
    ::close(ready[1]);  // tells the parent the name is set
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  (void)::read(ready[0], &c, 1);  // EOF once the probe closed its end
  ::close(ready[0]);
  pid_t looker = ::fork();
  ASSERT_GE(looker, 0);
  if (looker == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    SshdCertLogin login;
    login.client_address = "127.0.0.1";
    login.client_port = 1;
    StatusOr<std::vector<SshdSession>> found = FindLiveSshdSessions({login});
    ::_exit(found.ok()                                          ? 1
            : found.status().code() == StatusCode::kUnavailable ? 0
                                                                : 2);
  }
  int status = 0;
  ::waitpid(looker, &status, 0);
  ::kill(probe, SIGKILL);
  ::waitpid(probe, nullptr, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SshCertConnectorConfigTest, BadConfigIsInvalidArgumentWithOrigin) {
  for (const nlohmann::json& cfg : {
           nlohmann::json{{"name", "c"}, {"type", "ssh_cert"}, {"bogus", 1}},
           nlohmann::json{{"name", "c"},
                          {"type", "ssh_cert"},
                          {"krl_path", "relative.krl"}},
           nlohmann::json{
               {"name", "c"}, {"type", "ssh_cert"}, {"session_log", 7}},
           nlohmann::json{
               {"name", "c"}, {"type", "ssh_cert"}, {"timeout", "soon"}},
       }) {
    StatusOr<SshCertConnectorConfig> parsed = ParseSshCertConnectorConfig(
        {"c", "ssh_cert", cfg.dump(), "jitd.yaml:9"});
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << cfg;
    EXPECT_EQ(parsed.status().message().rfind("jitd.yaml:9: ", 0), 0u)
        << parsed.status().message();
  }
  EXPECT_EQ(ParseSshCertConnectorConfig({"../x", "ssh_cert",
                                         R"({"name":"../x","type":"ssh_cert"})",
                                         "jitd.yaml:9"})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SshCertConnectorConfigTest, NeedsDataDir) {
  SystemClock clock;
  PosixCommandRunner runner;
  Environment env{clock, runner, {}};
  EXPECT_EQ(
      MakeSshCertConnector(
          {"c", "ssh_cert", R"({"name":"c","type":"ssh_cert"})", "t:1"}, env)
          .status()
          .code(),
      StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// The connector contract, against the real sshd.

// Forwards to the connector under test, adding the entitlement's params
// (the contract's grants carry none) and naming sessions as the harness
// opened them: "s1" instead of the sshd pid the harness found for it.
class ContractView final : public Connector {
 public:
  ContractView(SshCertConnector& inner, std::string principal)
      : inner_(inner), principal_(std::move(principal)) {}
  GrantSpec WithParams(GrantSpec g) const {
    g.params_json["principal"] = nlohmann::json(principal_).dump();
    return g;
  }
  void Name(const std::string& pid, const std::string& id) { names_[pid] = id; }

  Status Grant(const GrantSpec& g, Deadline d) override {
    return inner_.Grant(WithParams(g), d);
  }
  Status Revoke(const GrantSpec& g, Deadline d) override {
    return inner_.Revoke(WithParams(g), d);
  }
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline d) override {
    return inner_.IsActive(WithParams(g), d);
  }
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline d) override {
    return Renamed(inner_.ListSessions(WithParams(g), d));
  }
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline d) override {
    return Renamed(inner_.KillSessions(WithParams(g), d));
  }

 private:
  StatusOr<std::vector<Session>> Renamed(
      StatusOr<std::vector<Session>> sessions) const {
    if (!sessions.ok()) return sessions;
    for (Session& s : *sessions) {
      auto it = names_.find(s.id);
      if (it != names_.end()) s.id = it->second;
    }
    return sessions;
  }
  SshCertConnector& inner_;
  std::string principal_;
  std::map<std::string, std::string> names_;  // sshd pid -> harness name
};

class SshCertHarness final : public ConnectorHarness {
 public:
  SshCertHarness() {
    Status s = rig_.Start();
    if (!s.ok()) {
      Fail(s);
      return;
    }
    view_.emplace(rig_.connector(), rig_.principal());
  }
  Connector& connector() override { return *view_; }

  // Issuable in the connector's saved state, and not revoked by the KRL
  // sshd reads.
  bool TargetHolds(const GrantSpec& g) override {
    nlohmann::json state = nlohmann::json::parse(
        ReadFile(rig_.connector().state_dir() / "state.json"));
    const nlohmann::json& grants = state["grants"];
    if (!grants.contains(g.grant_id) ||
        grants[g.grant_id]["revoked"].get<bool>()) {
      return false;
    }
    return !rig_.KrlRevokes(rig_.SignDirectly(g.grant_id));
  }

  // A real ssh login under a certificate of `g`. The shell reports its
  // parent (the session's unprivileged sshd), whose parent is the
  // connection's monitor: the pid the connector should report.
  void OpenSession(const GrantSpec& g, const std::string& id) override {
    fs::path key = rig_.NewKey();
    StatusOr<fs::path> cert = rig_.IssueFor(view_->WithParams(g), key);
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    sessions_.push_back(std::make_unique<Child>(rig_.sshd().ClientArgv(
        key, *cert, rig_.user().name(), {"echo $PPID; exec sleep 60"})));
    std::string child = sessions_.back()->ReadLine(10s);
    ASSERT_FALSE(child.empty()) << rig_.sshd().LogText();
    view_->Name(std::to_string(ParentOf(std::stoi(child))), id);
  }
  // Root's SIGKILL ends any sshd process; nothing to simulate with.
  bool MakeSessionsSurviveKill() override { return false; }

 private:
  static void Fail(const Status& s) { FAIL() << s.ToString(); }

  SshCertRig rig_;
  std::optional<ContractView> view_;
  std::vector<std::unique_ptr<Child>> sessions_;
};

// Not root: a harness that is never used, after marking the test skipped.
class SkippedHarness final : public ConnectorHarness {
 public:
  SkippedHarness() { Skip(); }
  Connector& connector() override { std::abort(); }
  bool TargetHolds(const GrantSpec&) override { std::abort(); }
  void OpenSession(const GrantSpec&, const std::string&) override {
    std::abort();
  }
  bool MakeSessionsSurviveKill() override { std::abort(); }

 private:
  static void Skip() {
    GTEST_SKIP() << "needs root: creates accounts, runs sshd";
  }
};

INSTANTIATE_TEST_SUITE_P(SshCert, ConnectorContractTest,
                         ::testing::Values(ConnectorContractParam{
                             "RealSshd",
                             []() -> std::unique_ptr<ConnectorHarness> {
                               if (!RunningAsRoot())
                                 return std::make_unique<SkippedHarness>();
                               return std::make_unique<SshCertHarness>();
                             }}),
                         ConnectorContractParamName);

}  // namespace
}  // namespace jit
