// The ssh_cert connector end to end: the real jitd binary as an OpenSSH user
// CA, a real sshd trusting it, and the real ssh client logging in as a test
// account with a certificate fetched by the real `jit` CLI (THREATS T12,
// T23, T26).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/duration.h"
#include "tests/integration/jitd_process.h"
#include "tests/support/sshd_server.h"
#include "tests/support/system_user.h"

extern char** environ;

namespace jit::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

const std::string kAliceToken = "ssh-it-alice-token-000";
const std::string kBobToken = "ssh-it-bob-token-00000";
const std::string kAdminToken = "ssh-it-admin-token-000";

std::string Config(const std::string& dir) {
  return R"(storage: sqlite
auth:
  tokens:
    - {subject: alice, groups: [dev], token: ")" +
         kAliceToken + R"("}
    - {subject: bob, groups: [ops], token: ")" +
         kBobToken + R"("}
    - {subject: adam, groups: [secops], token: ")" +
         kAdminToken + R"("}
roles: {admin: [secops], auditor: [secops], enforcer: [secops]}
connectors:
  - name: sshca
    type: ssh_cert
    krl_path: )" +
         dir + R"(/revoked.krl
    session_log: )" +
         dir + R"(/sshd.log
entitlements:
  - name: web-ssh
    connector: sshca
    params: {principal: "{subject}_ops"}
    max_duration: 10m
policies:
  - name: auto-ssh
    subjects: {users: [alice]}
    entitlements: [web-ssh]
    max_duration: 10m
    approval: {auto: true}
)";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// What `ssh-keygen -L` says about a certificate.
struct CertInfo {
  std::string key_id;
  std::string valid_to;  // local time of ssh-keygen, no zone
  std::vector<std::string> principals;
  std::vector<std::string> critical_options;
  std::vector<std::string> extensions;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Parses the listing: fields are indented 8 columns, the items of a list
// field (principals, options, extensions) 16.
CertInfo ParseListing(const std::string& listing) {
  CertInfo info;
  std::vector<std::string>* items = nullptr;
  std::istringstream lines(listing);
  std::string line;
  while (std::getline(lines, line)) {
    std::string t = Trim(line);
    if (line.rfind("                ", 0) == 0) {  // an item of a list field
      if (items != nullptr) items->push_back(t);
      continue;
    }
    items = nullptr;
    if (t.rfind("Key ID: ", 0) == 0) {
      info.key_id = t.substr(8);
      if (info.key_id.size() >= 2 && info.key_id.front() == '"')
        info.key_id = info.key_id.substr(1, info.key_id.size() - 2);
    } else if (t.rfind("Valid: ", 0) == 0) {
      size_t to = t.find(" to ");
      if (to != std::string::npos) info.valid_to = t.substr(to + 4);
    } else if (t.rfind("Principals:", 0) == 0) {
      items = &info.principals;
    } else if (t.rfind("Critical Options:", 0) == 0) {
      items = &info.critical_options;
    } else if (t.rfind("Extensions:", 0) == 0) {
      items = &info.extensions;
    }
  }
  return info;
}

// A program left running in the background (an open ssh session), its
// stdout and stderr going to a file. Killed and reaped on destruction.
class BackgroundProgram {
 public:
  BackgroundProgram(std::vector<std::string> argv, std::string output_path)
      : output_path_(std::move(output_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~BackgroundProgram() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  BackgroundProgram(const BackgroundProgram&) = delete;
  BackgroundProgram& operator=(const BackgroundProgram&) = delete;

  bool started() const { return pid_ > 0; }
  std::string Output() const { return ReadFile(output_path_); }
  // The exit code once the program ended within `limit`.
  std::optional<int> WaitExit(std::chrono::milliseconds limit) {
    if (exit_code_) return exit_code_;
    int status = 0;
    if (!WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                   limit)) {
      return std::nullopt;
    }
    pid_ = -1;
    exit_code_ =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

 private:
  std::string output_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

class SshItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RunningAsRoot()) GTEST_SKIP() << "needs root (useradd, sshd)";
    dir_ = tmp_.path();
    krl_path_ = dir_ + "/revoked.krl";
    log_path_ = dir_ + "/sshd.log";
    key_ = dir_ + "/id_ed25519";
    cert_ = key_ + "-cert.pub";
    jitd_ = std::make_unique<JitdProcess>(dir_, Config(dir_));
    // UTC+14: a validity written in jitd's local time would end 14 h late
    // and fail the valid_before checks (THREATS T26).
    jitd_->SetEnv({{"TZ", "<+14>-14"}});
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();

    Reply ca = jitd_->Get("/v1/connectors/sshca/ca", kAliceToken);
    ASSERT_EQ(ca.status, 200) << ca.raw;
    ca_ = ca.raw;
    WriteFile(dir_ + "/ca.pub", ca_);

    auto sshd = SshdServer::Start({.trusted_user_ca_key = dir_ + "/ca.pub",
                                   .revoked_keys = krl_path_,
                                   .log_file = log_path_});
    ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
    sshd_ = *std::move(sshd);
    StatusOr<SystemUser> u = SystemUser::Create();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    user_.emplace(*std::move(u));
    s = sshd_->AllowPrincipals(user_->name(), {"alice_ops"});
    ASSERT_TRUE(s.ok()) << s.ToString();

    ProgramResult made =
        RunProgram({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                    "-C", "alice@laptop", "-f", key_},
                   {});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    public_key_ = ReadFile(key_ + ".pub");
  }

  // An auto-approved grant of web-ssh for alice; the grant JSON.
  nlohmann::json Activate(const std::string& duration) {
    Reply r = jitd_->Post("/v1/requests", kAliceToken,
                          {{"entitlement", "web-ssh"},
                           {"duration", duration},
                           {"justification", "deploy the web tier fix"}});
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(r.body.value("state", ""), "active") << r.raw;
    std::string id = r.body.value("grant_id", "");
    EXPECT_FALSE(id.empty()) << r.raw;
    if (id.empty()) return nlohmann::json::object();
    return jitd_->Get("/v1/grants/" + id, kAdminToken).body;
  }
  // `jit ssh web-ssh --public-key KEY.pub` as alice: writes cert_.
  ProgramResult JitSsh() {
    return RunProgram(
        {JIT_BIN, "ssh", "web-ssh", "--public-key", key_ + ".pub"},
        {{"JIT_SERVER", jitd_->url()},
         {"JIT_TOKEN", kAliceToken},
         {"HOME", dir_}});
  }
  Reply AskCert(const std::string& token, const std::string& grant_id,
                const std::string& public_key) {
    return jitd_->Post("/v1/grants/" + grant_id + "/ssh-cert", token,
                       {{"public_key", public_key}});
  }
  std::vector<std::string> Ssh(const SshdServer& sshd,
                               const std::string& command) const {
    return sshd.ClientArgv(key_, cert_, user_->name(), {command});
  }
  // One `ssh USER@127.0.0.1 true` with the key and certificate.
  bool LoginWorks(const SshdServer& sshd) const {
    return RunProgram(Ssh(sshd, "true"), {}).exit_code == 0;
  }
  bool LoginWorks() const { return LoginWorks(*sshd_); }
  // Whether `krl` revokes the certificate at cert_ (ssh-keygen -Q).
  bool KrlRevokesCert(const std::string& krl) {
    WriteFile(dir_ + "/fetched.krl", krl);
    ProgramResult q = RunProgram(
        {"/usr/bin/ssh-keygen", "-Q", "-f", dir_ + "/fetched.krl", cert_}, {});
    bool revoked = q.out.find("REVOKED") != std::string::npos;
    EXPECT_EQ(q.exit_code != 0, revoked) << q.out << q.err;
    return revoked;
  }
  std::string FetchKrl() {
    Reply r = jitd_->Get("/v1/connectors/sshca/krl", kAliceToken);
    EXPECT_EQ(r.status, 200);
    return r.raw;
  }
  // Audit events of `type` about `grant_id`.
  std::vector<nlohmann::json> Events(const std::string& type,
                                     const std::string& grant_id) {
    std::vector<nlohmann::json> found;
    Reply r = jitd_->Get("/v1/audit?limit=1000", kAdminToken);
    for (const auto& e : r.body["items"]) {
      if (e["type"] == type && e["grant_id"] == grant_id) found.push_back(e);
    }
    return found;
  }
  std::string GrantState(const std::string& id) {
    return jitd_->Get("/v1/grants/" + id, kAdminToken).body.value("state", "");
  }

  TempDir tmp_;
  std::string dir_, krl_path_, log_path_, key_, cert_, public_key_, ca_;
  // Destroyed in reverse: sshd and its sessions end before the account goes.
  std::optional<SystemUser> user_;
  std::unique_ptr<JitdProcess> jitd_;
  std::unique_ptr<SshdServer> sshd_;
};

TEST_F(SshItTest, ServesTheCaKeyAndTheKrlOnlyForItsConnector) {
  EXPECT_THAT(ca_, StartsWith("ssh-ed25519 "));
  EXPECT_EQ(ca_.find('\n'), ca_.size() - 1) << ca_;  // exactly one line
  ProgramResult fp =
      RunProgram({"/usr/bin/ssh-keygen", "-l", "-f", dir_ + "/ca.pub"}, {});
  EXPECT_EQ(fp.exit_code, 0) << fp.out << fp.err;

  std::string krl = FetchKrl();
  EXPECT_THAT(krl, StartsWith("SSHKRL"));
  EXPECT_EQ(krl, ReadFile(krl_path_));

  EXPECT_EQ(jitd_->Get("/v1/connectors/nope/ca", kAliceToken).status, 404);
  EXPECT_EQ(jitd_->Get("/v1/connectors/nope/krl", kAliceToken).status, 404);
}

TEST_F(SshItTest, DeniedBeforeAllowedWhileGrantedEndedByRevoke) {
  EXPECT_FALSE(LoginWorks()) << "a key without certificate logged in";

  nlohmann::json grant = Activate("5m");
  const std::string id = grant.value("id", "");
  ASSERT_FALSE(id.empty()) << grant.dump();
  ProgramResult cli = JitSsh();
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  ASSERT_TRUE(std::filesystem::exists(cert_)) << cli.out;

  ProgramResult listing =
      RunProgram({"/usr/bin/ssh-keygen", "-L", "-f", cert_}, {{"TZ", "UTC"}});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  CertInfo info = ParseListing(listing.out);
  EXPECT_EQ(info.key_id, id) << listing.out;
  EXPECT_THAT(info.principals, ElementsAre("alice_ops")) << listing.out;
  EXPECT_EQ(info.valid_to, grant.value("expires_at", "").substr(0, 19))
      << listing.out << grant.dump();
  EXPECT_THAT(info.critical_options, IsEmpty()) << listing.out;
  EXPECT_THAT(info.extensions, ElementsAre("permit-pty")) << listing.out;
  EXPECT_EQ(Events("grant.credential_issued", id).size(), 1u);
  EXPECT_FALSE(KrlRevokesCert(FetchKrl()));

  EXPECT_TRUE(LoginWorks()) << sshd_->LogText();
  BackgroundProgram session(Ssh(*sshd_, "echo ready; exec sleep 60"),
                            dir_ + "/session.out");
  ASSERT_TRUE(session.started());
  ASSERT_TRUE(WaitUntil(
      [&] { return session.Output().find("ready") != std::string::npos; }, 10s))
      << session.Output() << sshd_->LogText();

  const auto start = std::chrono::steady_clock::now();
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kAliceToken,
                        {{"reason", "deploy done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(session.WaitExit(10s).has_value())
      << "the ssh session outlived the revoke\n"
      << jitd_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // THREATS T12
  ASSERT_TRUE(WaitUntil(
      [&] { return !Events("grant.sessions_killed", id).empty(); }, 10s))
      << jitd_->log();
  nlohmann::json killed = Events("grant.sessions_killed", id)[0]["data"];
  EXPECT_TRUE(killed["survivors"].empty()) << killed.dump();
  EXPECT_EQ(GrantState(id), "ended");

  EXPECT_TRUE(KrlRevokesCert(FetchKrl()));
  EXPECT_TRUE(KrlRevokesCert(ReadFile(krl_path_)));
  EXPECT_FALSE(LoginWorks()) << "a revoked certificate logged in";
  EXPECT_EQ(AskCert(kAliceToken, id, public_key_).status, 409);
}

TEST_F(SshItTest, RefusesBadKeysAndOtherPeoplesGrants) {
  const std::string id = Activate("5m").value("id", "");
  ASSERT_FALSE(id.empty());
  Reply ok = AskCert(kAliceToken, id, public_key_);
  ASSERT_EQ(ok.status, 201) << ok.raw;
  EXPECT_EQ(ok.body.value("grant_id", ""), id);
  const std::string certificate = ok.body.value("certificate", "");
  EXPECT_THAT(certificate, StartsWith("ssh-ed25519-cert-v01@openssh.com "));

  Reply forced = AskCert(kAliceToken, id, "command=\"/bin/sh\" " + public_key_);
  EXPECT_EQ(forced.status, 400) << forced.raw;
  Reply two = AskCert(kAliceToken, id, public_key_ + public_key_);
  EXPECT_EQ(two.status, 400) << two.raw;
  Reply cert_as_key = AskCert(kAliceToken, id, certificate);
  EXPECT_EQ(cert_as_key.status, 400) << cert_as_key.raw;

  Reply bob = AskCert(kBobToken, id, public_key_);
  EXPECT_EQ(bob.status, 404) << bob.raw;
  EXPECT_EQ(Events("grant.credential_issued", id).size(), 1u);
}

TEST_F(SshItTest, CertificateStopsWorkingAtExpiryOnItsOwn) {
  // A host that has not fetched a KRL since before the expiry: only the
  // certificate's own validity can refuse the login there (THREATS T26).
  std::filesystem::copy_file(krl_path_, dir_ + "/stale.krl");
  auto stale = SshdServer::Start({.trusted_user_ca_key = dir_ + "/ca.pub",
                                  .revoked_keys = dir_ + "/stale.krl",
                                  .log_file = dir_ + "/stale-sshd.log"});
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  ASSERT_TRUE((*stale)->AllowPrincipals(user_->name(), {"alice_ops"}).ok());

  nlohmann::json grant = Activate("3s");
  const std::string id = grant.value("id", "");
  ASSERT_FALSE(id.empty()) << grant.dump();
  StatusOr<SystemTime> expires_at = ParseTime(grant.value("expires_at", ""));
  ASSERT_TRUE(expires_at.ok()) << grant.dump();
  ProgramResult cli = JitSsh();
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_TRUE(LoginWorks()) << sshd_->LogText();
  EXPECT_TRUE(LoginWorks(**stale)) << (*stale)->LogText();

  ASSERT_TRUE(WaitUntil(
      [&] { return std::chrono::system_clock::now() >= *expires_at; }, 5s));
  EXPECT_FALSE(LoginWorks(**stale)) << "an expired certificate logged in";
  EXPECT_THAT((*stale)->LogText(), HasSubstr("Certificate invalid: expired"));
  EXPECT_FALSE(LoginWorks());
  EXPECT_EQ(AskCert(kAliceToken, id, public_key_).status, 409);
}

TEST_F(SshItTest, CaAndRevocationsSurviveARestart) {
  const std::string id = Activate("5m").value("id", "");
  ASSERT_FALSE(id.empty());
  ProgramResult cli = JitSsh();
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kAliceToken,
                        {{"reason", "deploy done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_TRUE(KrlRevokesCert(FetchKrl()));

  jitd_->Stop();
  Status s = jitd_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  Reply ca = jitd_->Get("/v1/connectors/sshca/ca", kAliceToken);
  EXPECT_EQ(ca.status, 200);
  EXPECT_EQ(ca.raw, ca_);
  EXPECT_TRUE(KrlRevokesCert(FetchKrl()));
  EXPECT_TRUE(KrlRevokesCert(ReadFile(krl_path_)));
  EXPECT_FALSE(LoginWorks()) << "a revoked certificate logged in";
}

}  // namespace
}  // namespace jit::testing
