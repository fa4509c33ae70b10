// HTTPS listener, refusal of plain HTTP off loopback, HSTS, and rate limits
// on failed authentication, against the real jitd binary. Certificates come
// from the openssl CLI; requests from curl and openssl s_client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"

extern char** environ;

namespace jit::testing {
namespace {

const std::string kCurl = "/usr/bin/curl";
const std::string kOpenssl = "/usr/bin/openssl";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

ProgramResult Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kOpenssl};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, {});
}

// A CA in `dir`: NAME.pem and NAME.key.
void MakeCa(const std::string& dir, const std::string& name) {
  ProgramResult r = Openssl(
      {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", dir + "/" + name + ".key", "-out",
       dir + "/" + name + ".pem", "-days", "2", "-subj", "/CN=" + name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

// A server certificate for 127.0.0.1 signed by CA `ca`: NAME.pem, NAME.key
// (mode 0600).
void MakeServerCert(const std::string& dir, const std::string& ca,
                    const std::string& name) {
  std::string key = dir + "/" + name + ".key";
  std::string csr = dir + "/" + name + ".csr";
  std::string ext = dir + "/" + name + ".ext";
  ProgramResult r =
      Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  WriteFile(ext, "subjectAltName=IP:127.0.0.1\n");
  r = Openssl({"x509", "-req", "-in", csr, "-CA", dir + "/" + ca + ".pem",
               "-CAkey", dir + "/" + ca + ".key", "-CAcreateserial", "-out",
               dir + "/" + name + ".pem", "-days", "2", "-extfile", ext});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
}

// The real jitd with a config written here and its own flags; stopped
// (SIGTERM, then SIGKILL) when the object dies.
class Jitd {
 public:
  Jitd(std::string dir, std::string config, std::vector<std::string> flags)
      : dir_(std::move(dir)), flags_(std::move(flags)) {
    WriteFile(dir_ + "/jitd.yaml", config);
  }
  ~Jitd() { Stop(); }

  bool Spawn() {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = dir_ + "/jitd.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<std::string> args = {JITD_BIN, "--config", dir_ + "/jitd.yaml"};
    args.insert(args.end(), flags_.begin(), flags_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc =
        posix_spawn(&pid_, JITD_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
    return pid_ > 0;
  }

  // Waits (bounded) until `ready` holds, or jitd exits. False if it exited
  // or never got ready.
  bool WaitReady(const std::function<bool()>& ready) {
    bool done = WaitUntil([&] { return Exited() || ready(); },
                          std::chrono::seconds(20));
    return done && pid_ > 0;
  }

  // Waits (bounded) for jitd to exit by itself; its exit code, or -1.
  int WaitExit() {
    WaitUntil([&] { return Exited(); }, std::chrono::seconds(20));
    return pid_ < 0 ? exit_code_ : -1;
  }

  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitUntil([&] { return Exited(); }, std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  std::string log() const { return ReadFile(dir_ + "/jitd.log"); }

 private:
  bool Exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    pid_ = -1;
    return true;
  }

  std::string dir_;
  std::vector<std::string> flags_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

std::string BaseConfig(const std::string& dir, const std::string& listen) {
  return "listen: " + listen + "\ndata_dir: " + dir +
         R"(/data
storage: memory
auth:
  tokens:
    - {subject: alice, groups: [dev], token: ")" +
         kAlice + R"("}
    - {subject: audrey, groups: [audit], token: ")" +
         kAuditor + R"("}
  rate_limit: {failures: 3, per: 1m}
roles: {auditor: [audit]}
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
policies:
  - name: auto-read
    subjects: {groups: [dev]}
    entitlements: [read]
    max_duration: 30m
    approval: {auto: true}
)";
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    MakeCa(dir_, "ca");
    MakeCa(dir_, "other-ca");
    MakeServerCert(dir_, "ca", "server");
    port_ = FreePort();
  }

  std::string Https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::string TlsConfig() const {
    return BaseConfig(dir_, "127.0.0.1:" + std::to_string(port_)) +
           "tls: {cert: " + dir_ + "/server.pem, key: " + dir_ +
           "/server.key, handshake_timeout: 2s}\n";
  }

  // curl with the test CA; -sS, bounded.
  ProgramResult Curl(std::vector<std::string> args,
                     const std::string& ca = "ca") const {
    std::vector<std::string> argv = {
        kCurl,        "-sS", "--noproxy", "*",
        "--max-time", "10",  "--cacert",  dir_ + "/" + ca + ".pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {});
  }

  // The HTTP status of GET `path` over TLS as `token` ("" = none).
  int Status(const std::string& path, const std::string& token = "") const {
    std::vector<std::string> args = {"-o", "/dev/null", "-w", "%{http_code}"};
    if (!token.empty()) {
      args.push_back("-H");
      args.push_back("Authorization: Bearer " + token);
    }
    args.push_back(Https(path));
    ProgramResult r = Curl(args);
    return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
  }

  void StartTlsJitd() {
    jitd_ =
        std::make_unique<Jitd>(dir_, TlsConfig(), std::vector<std::string>{});
    ASSERT_TRUE(jitd_->Spawn());
    ASSERT_TRUE(jitd_->WaitReady([&] { return Status("/readyz") == 200; }))
        << jitd_->log();
  }

  TempDir tmp_;
  std::string dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Jitd> jitd_;
};

TEST_F(TlsTest, HttpsWithTheRightCaGets200AndHsts) {
  StartTlsJitd();
  ProgramResult r = Curl({"-D", "-", "-o", "/dev/null", Https("/healthz")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string head = Lower(r.out);
  EXPECT_NE(head.find("http/1.1 200"), std::string::npos) << r.out;
  EXPECT_NE(head.find("strict-transport-security: max-age=31536000"),
            std::string::npos)
      << r.out;
  // Error answers carry it too.
  r = Curl({"-D", "-", "-o", "/dev/null", Https("/v1/requests")});
  head = Lower(r.out);
  EXPECT_NE(head.find("http/1.1 401"), std::string::npos) << r.out;
  EXPECT_NE(head.find("strict-transport-security: max-age=31536000"),
            std::string::npos)
      << r.out;
  EXPECT_NE(jitd_->log().find("listening on https://"), std::string::npos);
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoAnswer) {
  StartTlsJitd();
  ProgramResult r =
      Curl({"-o", "/dev/null", "-w", "%{http_code}",
            "http://127.0.0.1:" + std::to_string(port_) + "/healthz"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out, "200");
}

TEST_F(TlsTest, AnotherCaIsNotTrusted) {
  StartTlsJitd();
  ProgramResult r = Curl({"-o", "/dev/null", Https("/healthz")}, "other-ca");
  EXPECT_EQ(r.exit_code, 60) << r.err;  // peer certificate not verified
}

TEST_F(TlsTest, KeepAliveReusesOneTlsConnection) {
  StartTlsJitd();
  ProgramResult r = Curl({"-o", "/dev/null", "-o", "/dev/null", "-w",
                          "%{http_code} %{num_connects}\n", Https("/healthz"),
                          Https("/readyz")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "200 1\n200 0\n");
}

// Opens a TCP connection to 127.0.0.1:port and sends nothing.
int SilentClient(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(TlsTest, SilentClientDoesNotBlockOthersAndIsDropped) {
  StartTlsJitd();
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i) {
    int fd = SilentClient(port_);
    ASSERT_GE(fd, 0);
    silent.push_back(fd);
  }
  EXPECT_EQ(Status("/healthz"), 200);
  // handshake_timeout is 2 s: each silent connection is closed by jitd
  // (EOF or reset) well within 10 s.
  for (int fd : silent) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, 10'000);
    EXPECT_EQ(ready, 1) << "silent connection still open after 10 s";
    char byte = 0;
    EXPECT_LE(recv(fd, &byte, 1, 0), 0);
    close(fd);
  }
  EXPECT_EQ(Status("/healthz"), 200);
}

TEST_F(TlsTest, AuditStreamDeliversALiveEventOverTls) {
  StartTlsJitd();
  // The whole stream as the auditor: first the start-up events, then live.
  std::string out = dir_ + "/stream.txt";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<std::string> args = {kCurl,
                                   "-sS",
                                   "-N",
                                   "--noproxy",
                                   "*",
                                   "--max-time",
                                   "20",
                                   "--cacert",
                                   dir_ + "/ca.pem",
                                   "-H",
                                   "Authorization: Bearer " + kAuditor,
                                   Https("/v1/audit/stream")};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t curl = -1;
  ASSERT_EQ(posix_spawn(&curl, kCurl.c_str(), &actions, nullptr, argv.data(),
                        environ),
            0);
  posix_spawn_file_actions_destroy(&actions);
  auto seen = [&](const std::string& what) {
    return ReadFile(out).find(what) != std::string::npos;
  };
  // The start-up event arrived: the stream is open and caught up.
  bool open = WaitUntil([&] { return seen("event: policy.loaded"); },
                        std::chrono::seconds(10));
  bool live = false;
  if (open) {
    ProgramResult r =
        Curl({"-o", "/dev/null", "-w", "%{http_code}", "-H",
              "Authorization: Bearer " + kAlice, "-H",
              "Content-Type: application/json", "--data",
              R"({"entitlement":"read","duration":"5m","justification":"x"})",
              Https("/v1/requests")});
    EXPECT_EQ(r.out, "201") << r.err;
    live = WaitUntil([&] { return seen("event: request.created"); },
                     std::chrono::seconds(10));
  }
  kill(curl, SIGTERM);
  int status = 0;
  waitpid(curl, &status, 0);
  EXPECT_TRUE(open) << ReadFile(out);
  EXPECT_TRUE(live) << ReadFile(out);
}

TEST_F(TlsTest, WorldReadableKeyIsRefusedAtStart) {
  ASSERT_EQ(chmod((dir_ + "/server.key").c_str(), 0644), 0);
  Jitd jitd(dir_, TlsConfig(), {});
  ASSERT_TRUE(jitd.Spawn());
  EXPECT_EQ(jitd.WaitExit(), 1);
  EXPECT_NE(jitd.log().find("is readable by others; chmod 600 it"),
            std::string::npos)
      << jitd.log();
}

// The subject CN that s_client sees.
std::string ServedCertSubject(const std::string& dir, uint16_t port) {
  ProgramResult r = RunProgram(
      {"/bin/sh", "-c",
       kOpenssl + " s_client -connect 127.0.0.1:" + std::to_string(port) +
           " -CAfile " + dir + "/ca.pem </dev/null 2>/dev/null | " + kOpenssl +
           " x509 -noout -subject"},
      {});
  return r.out;
}

TEST_F(TlsTest, SighupReloadsTheCertificate) {
  StartTlsJitd();
  EXPECT_NE(ServedCertSubject(dir_, port_).find("CN = server"),
            std::string::npos);
  MakeServerCert(dir_, "ca", "renewed");
  // A bad key first: the reload is refused and the old certificate stays.
  std::filesystem::copy_file(dir_ + "/renewed.key", dir_ + "/bad.key");
  ASSERT_EQ(chmod((dir_ + "/bad.key").c_str(), 0644), 0);
  std::string config = TlsConfig();
  std::string bad = config;
  bad.replace(bad.find("server.pem"), 10, "renewed.pem");
  bad.replace(bad.find("server.key"), 10, "bad.key");
  WriteFile(dir_ + "/jitd.yaml", bad);
  jitd_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return jitd_->log().find("reload refused") != std::string::npos; },
      std::chrono::seconds(10)))
      << jitd_->log();
  EXPECT_NE(ServedCertSubject(dir_, port_).find("CN = server"),
            std::string::npos);
  std::string good = config;
  good.replace(good.find("server.pem"), 10, "renewed.pem");
  good.replace(good.find("server.key"), 10, "renewed.key");
  WriteFile(dir_ + "/jitd.yaml", good);
  jitd_->Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil(
      [&] {
        return ServedCertSubject(dir_, port_).find("CN = renewed") !=
               std::string::npos;
      },
      std::chrono::seconds(10)))
      << jitd_->log();
  EXPECT_EQ(Status("/healthz"), 200);
}

TEST_F(TlsTest, WrongTokensGet401Then429AndARightTokenStillWorks) {
  StartTlsJitd();
  const std::string wrong = "not-a-valid-token-000000";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Status("/v1/requests", wrong), 401) << "attempt " << i + 1;
  }
  ProgramResult r = Curl({"-D", "-", "-H", "Authorization: Bearer " + wrong,
                          Https("/v1/requests")});
  std::string reply = Lower(r.out);
  EXPECT_NE(reply.find("http/1.1 429"), std::string::npos) << r.out;
  EXPECT_NE(reply.find("retry-after: 20"), std::string::npos) << r.out;
  EXPECT_NE(reply.find("\"rate_limited\""), std::string::npos) << r.out;
  // Decided: a right credential is still accepted from a limited source.
  EXPECT_EQ(Status("/v1/requests", kAlice), 200);
  // A request without credentials is not a guess: still 401.
  EXPECT_EQ(Status("/v1/requests"), 401);
  ProgramResult metrics = Curl({Https("/metrics")});
  EXPECT_NE(metrics.out.find("jitd_auth_failures_total{result=\"rejected\"} 3"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(
      metrics.out.find("jitd_auth_failures_total{result=\"rate_limited\"} 1"),
      std::string::npos)
      << metrics.out;
  std::string log = jitd_->log();
  EXPECT_NE(log.find("rate limited"), std::string::npos) << log;
  EXPECT_EQ(log.find(wrong), std::string::npos) << "token in the log";
}

class InsecureListenTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(InsecureListenTest, PlainHttpOnAllAddressesIsRefused) {
  uint16_t port = FreePort();
  Jitd jitd(tmp_.path(),
            BaseConfig(tmp_.path(), "0.0.0.0:" + std::to_string(port)), {});
  ASSERT_TRUE(jitd.Spawn());
  EXPECT_EQ(jitd.WaitExit(), 1);
  EXPECT_NE(jitd.log().find("refusing to serve plain HTTP on 0.0.0.0"),
            std::string::npos)
      << jitd.log();
}

TEST_F(InsecureListenTest, InsecureFlagStartsWithAWarning) {
  uint16_t port = FreePort();
  Jitd jitd(tmp_.path(),
            BaseConfig(tmp_.path(), "0.0.0.0:" + std::to_string(port)),
            {"--insecure"});
  ASSERT_TRUE(jitd.Spawn());
  // Contacted only through 127.0.0.1.
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
  bool ready = jitd.WaitReady([&] {
    ProgramResult r =
        RunProgram({kCurl, "-sS", "--noproxy", "*", "--max-time", "5", "-o",
                    "/dev/null", "-w", "%{http_code}", url},
                   {});
    return r.out == "200";
  });
  EXPECT_TRUE(ready) << jitd.log();
  EXPECT_NE(jitd.log().find("INSECURE"), std::string::npos) << jitd.log();
}

TEST_F(InsecureListenTest, PlainHttpOnLoopbackNeedsNoFlag) {
  uint16_t port = FreePort();
  Jitd jitd(tmp_.path(),
            BaseConfig(tmp_.path(), "127.0.0.1:" + std::to_string(port)), {});
  ASSERT_TRUE(jitd.Spawn());
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
  EXPECT_TRUE(jitd.WaitReady([&] {
    ProgramResult r =
        RunProgram({kCurl, "-sS", "--noproxy", "*", "--max-time", "5", "-o",
                    "/dev/null", "-w", "%{http_code}", url},
                   {});
    return r.out == "200";
  })) << jitd.log();
  EXPECT_EQ(jitd.log().find("INSECURE"), std::string::npos);
}

}  // namespace
}  // namespace jit::testing
