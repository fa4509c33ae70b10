// docs/operations/nginx.conf used for real: nginx in front of two jitd
// replicas on one PostgreSQL, request, approval, check and the audit stream
// (unbuffered) through it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "jit/client/http_client.h"
#include "tests/integration/fixture.h"
#include "tests/support/postgres_server.h"

namespace jit::testing {
namespace {

const std::string kOps = std::string(JIT_SOURCE_DIR) + "/docs/operations";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A program run for the test (nginx, curl), its stdout and stderr in
// `log`; stopped with `stop_signal` (then SIGKILL) when destroyed.
class Child {
 public:
  explicit Child(int stop_signal = SIGTERM) : stop_signal_(stop_signal) {}
  ~Child() { Stop(); }
  Status Start(std::vector<std::string> args, const std::string& log) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    char* envp[] = {nullptr};
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return UnavailableError("cannot start " + args[0]);
    return OkStatus();
  }
  bool Running() {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, stop_signal_);
    int status = 0;
    if (!WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                   std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  int stop_signal_;
  pid_t pid_ = -1;
};

// Replaces every `from` in `text` (at least once) with `to`.
void ReplaceAll(std::string& text, const std::string& from,
                const std::string& to) {
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos)
      << "nginx.conf no longer holds \"" << from << "\"";
  while (at != std::string::npos) {
    text.replace(at, from.size(), to);
    at = text.find(from, at + to.size());
  }
}

class NginxReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/sbin/nginx", X_OK) != 0)
      GTEST_SKIP() << "nginx is not installed (scripts/install-deps --test)";
    if (!PostgresInstalled()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Exec("CREATE ROLE jitd LOGIN").ok());
    ASSERT_TRUE(pg_->Exec("CREATE DATABASE jitd_store OWNER jitd").ok());

    std::string config = TestConfig(tmp_.path() + "/target");
    const std::string sqlite = "storage: sqlite\n";
    ASSERT_EQ(config.find(sqlite), 0u);
    config.replace(
        0, sqlite.size(),
        "storage: {postgres: \"" + pg_->Dsn("jitd", "jitd_store") + "\"}\n");
    std::filesystem::create_directories(tmp_.path() + "/target/held");
    for (int i = 0; i < 2; ++i) {
      std::string dir = tmp_.path() + "/replica" + std::to_string(i);
      std::filesystem::create_directories(dir);
      replicas_.push_back(std::make_unique<JitdProcess>(dir, config));
      Status s = replicas_.back()->Start();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_NO_FATAL_FAILURE(StartNginx());
  }

  void StartNginx() {
    const std::string dir = tmp_.path() + "/nginx";
    std::filesystem::create_directories(dir + "/logs");
    // nginx workers run as an unprivileged user when started by root and
    // must reach their temp files under `dir`.
    std::filesystem::permissions(tmp_.path(),
                                 std::filesystem::perms::owner_all |
                                     std::filesystem::perms::group_exec |
                                     std::filesystem::perms::others_exec);
    std::filesystem::permissions(dir, std::filesystem::perms::all);
    ProgramResult cert = RunProgram(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
         dir + "/tls.key", "-out", dir + "/tls.crt"},
        {});
    ASSERT_EQ(cert.exit_code, 0) << cert.err;
    port_ = FreePort();
    std::string conf = ReadFile(kOps + "/nginx.conf");
    ReplaceAll(conf, "user www-data;",
               geteuid() == 0 ? "user nobody nogroup;" : "");
    ReplaceAll(conf, "/run/nginx-jitd.pid", dir + "/nginx.pid");
    ReplaceAll(conf, "/var/log/nginx/", dir + "/logs/");
    ReplaceAll(conf, "server 10.0.0.11:8420",
               "server 127.0.0.1:" + std::to_string(replicas_[0]->port()));
    ReplaceAll(conf, "server 10.0.0.12:8420",
               "server 127.0.0.1:" + std::to_string(replicas_[1]->port()));
    ReplaceAll(conf, "listen 443 ssl;",
               "listen 127.0.0.1:" + std::to_string(port_) + " ssl;");
    ReplaceAll(conf, "/etc/nginx/tls/jitd.crt", dir + "/tls.crt");
    ReplaceAll(conf, "/etc/nginx/tls/jitd.key", dir + "/tls.key");
    std::ofstream(dir + "/nginx.conf") << conf;
    ca_file_ = dir + "/tls.crt";
    ASSERT_TRUE(nginx_
                    .Start({"/usr/sbin/nginx", "-p", dir + "/", "-c",
                            dir + "/nginx.conf", "-g", "daemon off;"},
                           dir + "/nginx.stderr")
                    .ok());
    bool up = WaitUntil(
        [&] {
          return !nginx_.Running() || Call("GET", "/healthz", "").status == 200;
        },
        std::chrono::seconds(10));
    ASSERT_TRUE(up && nginx_.Running())
        << ReadFile(dir + "/nginx.stderr")
        << ReadFile(dir + "/logs/jitd-error.log");
  }

  HttpClient Client(std::chrono::milliseconds timeout) const {
    auto c = HttpClient::Create("https://127.0.0.1:" + std::to_string(port_),
                                timeout, TlsOptions{ca_file_});
    return *std::move(c);
  }
  Reply Call(const std::string& method, const std::string& target,
             const std::string& token,
             const nlohmann::json& body = nullptr) const {
    Reply r;
    auto resp =
        Client(std::chrono::seconds(10))
            .Do(method, target, token, body.is_null() ? "" : body.dump());
    if (!resp.ok()) return r;
    r.status = resp->status;
    r.raw = resp->body;
    r.body = nlohmann::json::parse(r.raw, nullptr, /*allow_exceptions=*/false);
    return r;
  }
  // HTTP responses a replica has sent, from its own /metrics.
  long Served(const JitdProcess& replica) const {
    std::string m = replica.Get("/metrics", "").raw;
    std::regex line("jitd_http_responses_total\\{code=\"[0-9]+\"\\} ([0-9]+)");
    long n = 0;
    for (std::sregex_iterator it(m.begin(), m.end(), line), end; it != end;
         ++it) {
      n += std::stol((*it)[1]);
    }
    return n;
  }

  TempDir tmp_;
  std::unique_ptr<PostgresServer> pg_;
  std::vector<std::unique_ptr<JitdProcess>> replicas_;
  Child nginx_{SIGQUIT};
  uint16_t port_ = 0;
  std::string ca_file_;
};

TEST_F(NginxReplicasTest, RequestApprovalCheckAndAuditStreamThroughNginx) {
  // The audit stream, open through nginx (curl, unbuffered) before the
  // request exists. Events already in the log arrive at once: nginx does
  // not hold them back.
  const std::string events = tmp_.path() + "/stream.txt";
  Child curl;
  ASSERT_TRUE(
      curl.Start({"/usr/bin/curl", "-sSN", "--max-time", "30", "--cacert",
                  ca_file_, "-H", "Authorization: Bearer " + kAuditor,
                  "https://127.0.0.1:" + std::to_string(port_) +
                      "/v1/audit/stream"},
                 events)
          .ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return ReadFile(events).find("event: ") != std::string::npos; },
      std::chrono::seconds(10)))
      << ReadFile(events);

  Reply asked = Call("POST", "/v1/requests", kAlice,
                     {{"entitlement", "admin"},
                      {"duration", "10m"},
                      {"justification", "rotate the TLS keys"},
                      {"ticket", "OPS-7"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  ASSERT_EQ(asked.body["state"], "pending");
  const std::string request_id = asked.body["id"];
  Reply approved = Call("POST", "/v1/requests/" + request_id + "/approve", kBob,
                        nlohmann::json::object());
  ASSERT_EQ(approved.status, 200) << approved.raw;
  EXPECT_EQ(approved.body["state"], "active");
  // A second approval through the other replica finds the request decided.
  EXPECT_EQ(Call("POST", "/v1/requests/" + request_id + "/approve", kCarol,
                 nlohmann::json::object())
                .status,
            409);

  // The check through nginx: the replica that activated the grant allows
  // at once; round robin reaches it within two calls.
  const nlohmann::json check = {{"subject", "alice"}, {"entitlement", "admin"}};
  int allowed = 0;
  for (int i = 0; i < 4 && allowed == 0; ++i) {
    Reply r = Call("POST", "/v1/check", kEnforcer, check);
    ASSERT_EQ(r.status, 200) << r.raw;
    allowed += r.body["allowed"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(allowed, 1);
  Reply other = Call("POST", "/v1/check", kEnforcer,
                     {{"subject", "bob"}, {"entitlement", "admin"}});
  EXPECT_FALSE(other.body["allowed"].get<bool>()) << other.raw;
  // nginx spread the calls over both replicas.
  EXPECT_GT(Served(*replicas_[0]), 0);
  EXPECT_GT(Served(*replicas_[1]), 0);

  // The request.created event came down the stream while it stayed open.
  // A replica's stream wakes at once for its own writes and within 15 s
  // for the other's.
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::string text = ReadFile(events);
        return text.find("event: request.created") != std::string::npos &&
               text.find(request_id) != std::string::npos;
      },
      std::chrono::seconds(20)))
      << ReadFile(events);
  EXPECT_TRUE(curl.Running()) << "the stream ended early: " << ReadFile(events);
}

// Every replica's check index follows a grant made on another (LISTEN/
// NOTIFY) within the 100 ms (here 2 s, for a loaded machine), and
// follows its end just as well.
TEST_F(NginxReplicasTest, EveryReplicaAllowsAGrantMadeOnAnother) {
  Reply asked = Call("POST", "/v1/requests", kAlice,
                     {{"entitlement", "read"},
                      {"duration", "10m"},
                      {"justification", "read the slow query log"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  ASSERT_EQ(asked.body["state"], "active") << asked.raw;
  const nlohmann::json check = {{"subject", "alice"}, {"entitlement", "read"}};
  for (const auto& replica : replicas_) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          Reply r = replica->Post("/v1/check", kEnforcer, check);
          return r.status == 200 && r.body["allowed"].get<bool>();
        },
        std::chrono::seconds(2)))
        << "replica on port " << replica->port();
  }
  const std::string grant_id = asked.body["grant_id"];
  Reply revoked = Call("POST", "/v1/grants/" + grant_id + "/revoke", kAlice,
                       {{"reason", "done with the slow query log"}});
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  for (const auto& replica : replicas_) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          Reply r = replica->Post("/v1/check", kEnforcer, check);
          return r.status == 200 && !r.body["allowed"].get<bool>();
        },
        std::chrono::seconds(2)))
        << "replica on port " << replica->port();
  }
}

}  // namespace
}  // namespace jit::testing
