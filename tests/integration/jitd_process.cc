#include "tests/integration/jitd_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "jit/base/command_runner.h"

extern char** environ;

namespace jit::testing {

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "jitd-it-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  uint16_t port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (int i = 0; i < 100000; ++i) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    // Pacing for polling a real server process; bounded by `limit`.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

JitdProcess::JitdProcess(const std::string& dir, std::string config_yaml)
    : dir_(dir), port_(FreePort()) {
  RewriteConfig(std::move(config_yaml));
}

std::unique_ptr<JitdProcess> JitdProcess::ForConfigFile(
    const std::string& dir, const std::string& config_path) {
  std::unique_ptr<JitdProcess> p(new JitdProcess(dir, ExistingFile{}));
  p->config_file_ = config_path;
  p->extra_args_ = {"--listen", "127.0.0.1:" + std::to_string(p->port_)};
  return p;
}

JitdProcess::~JitdProcess() { Stop(); }

void JitdProcess::RewriteConfig(std::string config_yaml) {
  std::ofstream out(config_path(), std::ios::trunc);
  out << "listen: 127.0.0.1:" << port_ << "\n"
      << "data_dir: " << dir_ << "/data\n"
      << config_yaml;
}

std::string JitdProcess::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string JitdProcess::log() const {
  std::ifstream in(dir_ + "/jitd.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t JitdProcess::Spawn() {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log_path = dir_ + "/jitd.log";
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Servers a test started (receivers, listeners) must not leak into jitd:
  // an inherited listening socket would outlive the test's own close.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::string bin = JITD_BIN;
  std::string flag = "--config";
  std::string cfg = config_path();
  std::vector<char*> argv = {bin.data(), flag.data(), cfg.data()};
  std::vector<std::string> extra = extra_args_;
  for (std::string& a : extra) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) env_text.emplace_back(*e);
  for (const auto& [name, value] : extra_env_)
    env_text.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

Status JitdProcess::Start(std::chrono::seconds ready_within) {
  pid_ = Spawn();
  if (pid_ < 0)
    return UnavailableError("cannot start " + std::string(JITD_BIN));
  bool ready = WaitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return Get("/readyz", "").status == 200;
      },
      ready_within);
  if (pid_ < 0)
    return UnavailableError("jitd exited during start-up:\n" + log());
  if (!ready) {
    return UnavailableError("jitd not ready within " +
                            std::to_string(ready_within.count()) + " s:\n" +
                            log());
  }
  return OkStatus();
}

StatusOr<std::pair<int, std::string>> JitdProcess::RunToExit() {
  pid_t pid = Spawn();
  if (pid < 0) return UnavailableError("cannot start jitd");
  int status = 0;
  bool exited = WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                          std::chrono::seconds(20));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return DeadlineExceededError("jitd did not exit");
  }
  return std::make_pair(
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), log());
}

void JitdProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

void JitdProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool JitdProcess::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

void JitdProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  bool exited =
      WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                std::chrono::seconds(10));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

Reply JitdProcess::Call(
    const std::string& method, const std::string& target,
    const std::string& token, const std::string& body,
    const std::map<std::string, std::string>& headers) const {
  Reply r;
  auto client = HttpClient::Create(url(), std::chrono::seconds(10));
  if (!client.ok()) return r;
  auto resp = client->Do(method, target, token, body, headers);
  if (!resp.ok()) return r;
  r.status = resp->status;
  r.raw = resp->body;
  r.body =
      nlohmann::json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  return r;
}

ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env) {
  PosixCommandRunner runner;
  std::map<std::string, std::string> full = env;
  full.emplace("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
  if (const char* home = std::getenv("HOME")) full.emplace("HOME", home);
  auto r = runner.Run(argv, full, std::chrono::seconds(60));
  if (!r.ok()) return ProgramResult{-1, "", r.status().ToString()};
  return ProgramResult{r->exit_code, r->out, r->err};
}

std::string Sqlite(const std::string& db, const std::string& sql) {
  ProgramResult r =
      RunProgram({"/usr/bin/sqlite3", "-cmd", ".timeout 5000", db, sql}, {});
  return r.out + r.err;
}

std::string WriteSecretFile(const std::string& dir, const std::string& name,
                            const std::string& secret) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << secret << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_read,
                               std::filesystem::perm_options::replace);
  return path;
}

}  // namespace jit::testing
