// SshdServer, declared in sshd_server.h.
#include "tests/support/sshd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "jit/base/command_runner.h"
#include "jit/base/status_macros.h"

extern char** environ;

namespace jit::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kSshd[] = "/usr/sbin/sshd";
constexpr char kPrivsepDir[] = "/run/sshd";
constexpr int kStartAttempts = 3;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Parent pid of `pid` from /proc/PID/stat, or -1.
pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');  // comm may hold spaces and parentheses
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

// Every live descendant of `root`, found by walking /proc parent links.
std::set<pid_t> DescendantsOf(pid_t root) {
  std::map<pid_t, pid_t> parent;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    parent[pid] = ParentOf(pid);
  }
  std::set<pid_t> found = {root};
  for (size_t before = 0; before != found.size();) {  // until no new ones
    before = found.size();
    for (const auto& [pid, ppid] : parent) {
      if (found.count(ppid) != 0) found.insert(pid);
    }
  }
  found.erase(root);
  return found;
}

Status RunTool(const std::vector<std::string>& argv) {
  PosixCommandRunner runner;
  StatusOr<CommandResult> r =
      runner.Run(argv, {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}},
                 std::chrono::seconds(10));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return UnavailableError(argv[0] + " exited " +
                            std::to_string(r->exit_code) + ": " + r->err);
  }
  return OkStatus();
}

}  // namespace

StatusOr<uint16_t> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return UnavailableError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return UnavailableError("no free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

StatusOr<std::unique_ptr<SshdServer>> SshdServer::Start(
    const SshdServerOptions& options) {
  if (geteuid() != 0) return PermissionDeniedError("sshd needs root");
  // sshd checks its privilege separation directory at start-up.
  ::mkdir(kPrivsepDir, 0755);
  Status last = UnavailableError("sshd not started");
  // A port picked free can be taken before sshd binds it: try a few.
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "jit_sshd_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return UnavailableError("mkdtemp");
    StatusOr<uint16_t> port = PickFreePort();
    if (!port.ok()) return port.status();
    std::unique_ptr<SshdServer> server(
        new SshdServer(tmpl, *port, options.log_file));
    last = server->WriteConfig(options);
    if (!last.ok()) return last;
    last = server->Launch();
    if (last.ok()) last = server->WaitUntilAccepting();
    if (last.ok()) return server;
  }
  return last;
}

SshdServer::~SshdServer() {
  Stop();
  std::error_code ignored;  // best effort: a leftover temp dir harms nothing
  std::filesystem::remove_all(dir_, ignored);
}

Status SshdServer::WriteConfig(const SshdServerOptions& options) {
  JIT_RETURN_IF_ERROR(
      RunTool({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
               "jit-test-host", "-f", (dir_ / "host_key").string()}));
  // sshd reads AuthorizedPrincipalsFile as the logging-in user.
  std::filesystem::create_directories(dir_ / "principals");
  ::chmod(dir_.c_str(), 0755);
  ::chmod((dir_ / "principals").c_str(), 0755);
  std::ofstream cfg(config_path_);
  cfg << "ListenAddress 127.0.0.1\n"
      << "Port " << port_ << "\n"
      << "HostKey " << (dir_ / "host_key").string() << "\n"
      << "PidFile " << (dir_ / "sshd.pid").string() << "\n"
      << "TrustedUserCAKeys " << options.trusted_user_ca_key.string() << "\n"
      << "RevokedKeys " << options.revoked_keys.string() << "\n"
      << "AuthorizedPrincipalsFile " << (dir_ / "principals").string()
      << "/%u\n"
      << "AuthorizedKeysFile none\n"
      << "PubkeyAuthentication yes\n"
      << "PasswordAuthentication no\n"
      << "KbdInteractiveAuthentication no\n"
      << "UsePAM no\n"
      << "StrictModes no\n"  // temp dirs and files are not root-only
      << "PermitRootLogin no\n"
      << "LogLevel VERBOSE\n";
  cfg.close();
  if (!cfg) return UnavailableError("cannot write " + config_path_.string());
  return OkStatus();
}

Status SshdServer::Launch() {
  std::vector<std::string> argv = {
      kSshd, "-D", "-f", config_path_.string(), "-E", log_path_.string()};
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&pid_, kSshd, &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return UnavailableError("cannot start sshd: " + std::to_string(rc));
  }
  return OkStatus();
}

Status SshdServer::WaitUntilAccepting() {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < give_up) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return UnavailableError("sshd exited at start: " + LogText());
    }
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool up = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr),
                                   sizeof(addr)) == 0;
    if (fd >= 0) ::close(fd);
    if (up) return OkStatus();
    std::this_thread::sleep_for(20ms);  // polling a real process
  }
  Stop();
  return UnavailableError("sshd did not accept within 10 s: " + LogText());
}

void SshdServer::Stop() {
  if (pid_ <= 0) return;
  // Killing the listener leaves its per-connection processes running, so
  // end those (and what they started) first.
  for (pid_t child : DescendantsOf(pid_)) ::kill(child, SIGKILL);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string SshdServer::LogText() const { return ReadAll(log_path_); }

Status SshdServer::AllowPrincipals(const std::string& user,
                                   const std::vector<std::string>& principals) {
  std::ofstream out(dir_ / "principals" / user);
  for (const std::string& p : principals) out << p << "\n";
  out.close();
  if (!out) return UnavailableError("cannot write principals of " + user);
  ::chmod((dir_ / "principals" / user).c_str(), 0644);
  return RunTool({"/usr/sbin/usermod", "-p", "*", user});
}

std::vector<std::string> SshdServer::ClientArgv(
    const std::filesystem::path& key, const std::filesystem::path& cert,
    const std::string& user,
    const std::vector<std::string>& remote_command) const {
  std::vector<std::string> argv = {
      "/usr/bin/ssh",
      "-F",
      "/dev/null",  // no user or system client config
      "-i",
      key.string(),
      "-o",
      "CertificateFile=" + cert.string(),
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "IdentityAgent=none",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "ConnectTimeout=5",
      "-p",
      std::to_string(port_),
      user + "@127.0.0.1"};
  argv.insert(argv.end(), remote_command.begin(), remote_command.end());
  return argv;
}

}  // namespace jit::testing
