// SystemUser, declared in system_user.h.
#include "tests/support/system_user.h"

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "jit/base/ids.h"

namespace jit::testing {
namespace {

// Runs argv without a shell; returns its exit code (-1 if it did not start).
int Run(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

bool RunningAsRoot() { return geteuid() == 0; }

StatusOr<SystemUser> SystemUser::Create() {
  if (!RunningAsRoot()) return PermissionDeniedError("useradd needs root");
  std::string name = "jt" + RandomHex(4);
  int rc = Run({"useradd", "--create-home", "--shell", "/bin/sh", name});
  if (rc != 0) {
    return UnavailableError("useradd " + name + " exited " + std::to_string(rc));
  }
  struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) return InternalError("useradd made no entry for " + name);
  return SystemUser(name, pw->pw_dir, static_cast<int>(pw->pw_uid),
                    static_cast<int>(pw->pw_gid));
}

SystemUser::SystemUser(SystemUser&& other) noexcept
    : name_(std::exchange(other.name_, "")),
      home_(std::move(other.home_)),
      uid_(other.uid_),
      gid_(other.gid_) {}

SystemUser::~SystemUser() {
  if (name_.empty()) return;
  // Processes left by the test would make userdel refuse.
  Run({"pkill", "-KILL", "-u", name_});
  Run({"userdel", "--remove", "--force", name_});
}

std::vector<std::string> AsUser(const std::string& user,
                                std::vector<std::string> argv) {
  std::vector<std::string> out = {"runuser", "-u", user, "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace jit::testing
