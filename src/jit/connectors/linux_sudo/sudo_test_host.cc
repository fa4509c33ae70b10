#include "jit/connectors/linux_sudo/sudo_test_host.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "jit/base/ids.h"
#include "jit/connectors/linux_sudo/grant_processes.h"

namespace jit::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kRunuser[] = "/usr/sbin/runuser";
constexpr char kSudo[] = "/usr/bin/sudo";
constexpr char kPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> SudoArgv(const std::string& user,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kRunuser, "-u", user, "--", kSudo, "-n"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::optional<ProcessInfo> ChildOf(pid_t parent, const std::string& exe) {
  StatusOr<std::vector<ProcessInfo>> table = ReadProcessTable("/proc");
  if (!table.ok()) return std::nullopt;
  for (const ProcessInfo& p : *table) {
    if (p.ppid == parent && (exe.empty() || p.exe == exe)) return p;
  }
  return std::nullopt;
}

}  // namespace

SudoRun RunSudoAs(const std::string& user, const std::vector<std::string>& args,
                  const std::optional<std::string>& tz,
                  std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
  if (tz) env["TZ"] = *tz;
  PosixCommandRunner runner;
  auto start = std::chrono::steady_clock::now();
  StatusOr<CommandResult> r = runner.Run(SudoArgv(user, args), env, timeout);
  SudoRun out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!r.ok()) {
    out.err = r.status().ToString();
    return out;
  }
  out.exit_code = r->exit_code;
  out.out = r->out;
  out.err = r->err;
  return out;
}

BackgroundSudo::BackgroundSudo(const std::string& user,
                               const std::vector<std::string>& args) {
  std::vector<std::string> argv = SudoArgv(user, args);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::string path = kPath;
  char* envp[] = {path.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (::posix_spawn(&pid, kRunuser, &actions, nullptr, cargv.data(), envp) ==
      0) {
    runuser_pid_ = pid;
  }
  posix_spawn_file_actions_destroy(&actions);
}

BackgroundSudo::~BackgroundSudo() {
  if (runuser_pid_ <= 0) return;
  // Children first, so none is left orphaned when its parent goes.
  std::optional<ProcessInfo> sudo = ChildOf(runuser_pid_, "");
  if (sudo) {
    std::optional<ProcessInfo> command = ChildOf(sudo->pid, "");
    if (command) ::kill(command->pid, SIGKILL);
    ::kill(sudo->pid, SIGKILL);
  }
  if (command_pid_ && ProcessAlive(*command_pid_)) {
    ::kill(*command_pid_, SIGKILL);
  }
  ::kill(runuser_pid_, SIGKILL);
  ::waitpid(runuser_pid_, nullptr, 0);
}

std::optional<pid_t> BackgroundSudo::WaitRunning(
    std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (runuser_pid_ > 0 && std::chrono::steady_clock::now() < until) {
    std::optional<ProcessInfo> sudo = ChildOf(runuser_pid_, kSudo);
    std::optional<ProcessInfo> command =
        sudo ? ChildOf(sudo->pid, "") : std::nullopt;
    if (command) {
      sudo_pid_ = sudo->pid;
      command_pid_ = command->pid;
      return sudo_pid_;
    }
    if (::waitpid(runuser_pid_, nullptr, WNOHANG) == runuser_pid_) {
      runuser_pid_ = -1;  // sudo refused and everything exited
      return std::nullopt;
    }
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

bool BackgroundSudo::WaitGone(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (runuser_pid_ > 0 &&
        ::waitpid(runuser_pid_, nullptr, WNOHANG) == runuser_pid_) {
      runuser_pid_ = -1;
    }
    bool gone = runuser_pid_ <= 0 && !(sudo_pid_ && ProcessAlive(*sudo_pid_)) &&
                !(command_pid_ && ProcessAlive(*command_pid_));
    if (gone) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

DropInGuard::~DropInGuard() {
  for (const std::string& name : Leftovers()) {
    std::error_code ignored;  // a file removed meanwhile is fine
    std::filesystem::remove(std::filesystem::path(dir_) / name, ignored);
  }
  for (const std::string& user : users_) {
    std::error_code ignored;  // sudo may never have made one
    std::filesystem::remove("/run/sudo/ts/" + user, ignored);
  }
}

std::vector<std::string> DropInGuard::Leftovers() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    for (const std::string& id : ids_) {
      if (name.find(id) != std::string::npos) out.push_back(name);
    }
  }
  return out;
}

PamServiceFile::PamServiceFile(const std::string& content)
    : name_("jitd-test-" + RandomHex(6)) {
  std::ofstream("/etc/pam.d/" + name_) << content;
}

PamServiceFile::~PamServiceFile() {
  std::error_code ignored;  // best effort; the name is unique
  std::filesystem::remove("/etc/pam.d/" + name_, ignored);
}

GrantSpec SudoSpec(const std::string& user,
                   const std::vector<std::string>& commands,
                   std::chrono::milliseconds duration) {
  GrantSpec g;
  g.grant_id = NewId("grt_");
  g.request_id = NewId("req_");
  g.subject = user;
  g.target_user = user;
  g.entitlement = "sudo-test";
  g.params_json = {{"commands", nlohmann::json(commands).dump()}};
  g.starts_at = std::chrono::system_clock::now();
  g.expires_at = g.starts_at + duration;
  return g;
}

bool ProcessAlive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  char state = text[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace jit::testing
