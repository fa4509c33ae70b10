#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/command_runner.h"
#include "jit/connectors/connector.h"

namespace jit::testing {

// Helpers for tests that drive the real sudo of this host as a test
// account. Need root. Everything they put on the host is removed by their
// destructors, also when a test fails half-way.

// Runs `sudo -n ARGS...` as `user` (runuser -u USER -- sudo -n ...) with
// PATH and, when given, TZ in its environment; at most `timeout`.
struct SudoRun {
  int exit_code = -1;  // -1 when it could not run or timed out
  std::string out;
  std::string err;
  std::chrono::milliseconds took{0};
};
SudoRun RunSudoAs(const std::string& user, const std::vector<std::string>& args,
                  const std::optional<std::string>& tz = std::nullopt,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15));

// `sudo -n ARGS...` as `user`, left running in the background. The
// destructor kills what is left of it (the command runs as root, so the
// account's removal would not) and reaps it.
class BackgroundSudo {
 public:
  BackgroundSudo(const std::string& user, const std::vector<std::string>& args);
  ~BackgroundSudo();
  BackgroundSudo(const BackgroundSudo&) = delete;
  BackgroundSudo& operator=(const BackgroundSudo&) = delete;

  // Waits (bounded) until sudo runs the command; the sudo process's pid,
  // or nullopt when it did not get there within `limit`.
  std::optional<pid_t> WaitRunning(std::chrono::milliseconds limit);
  // Polls until the whole thing (sudo and its command) is gone.
  bool WaitGone(std::chrono::milliseconds limit);

 private:
  pid_t runuser_pid_ = -1;
  std::optional<pid_t> sudo_pid_;
  std::optional<pid_t> command_pid_;
};

// Removes SUDOERS_DIR/jitd_<id> and any of its temp files for each id added,
// and the sudo timestamp of each user added, on destruction; Leftovers()
// lists the drop-in files still there meanwhile.
class DropInGuard {
 public:
  explicit DropInGuard(std::string sudoers_dir = "/etc/sudoers.d")
      : dir_(std::move(sudoers_dir)) {}
  ~DropInGuard();
  DropInGuard(const DropInGuard&) = delete;
  DropInGuard& operator=(const DropInGuard&) = delete;
  void Add(const std::string& grant_id) { ids_.push_back(grant_id); }
  void AddUser(const std::string& user) { users_.push_back(user); }
  // Files in the directory (drop-ins or temp files) naming an added id.
  std::vector<std::string> Leftovers() const;

 private:
  std::string dir_;
  std::vector<std::string> ids_;
  std::vector<std::string> users_;
};

// /etc/pam.d/jitd-test-<random hex>, removed on destruction.
class PamServiceFile {
 public:
  explicit PamServiceFile(const std::string& content);
  ~PamServiceFile();
  PamServiceFile(const PamServiceFile&) = delete;
  PamServiceFile& operator=(const PamServiceFile&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// A GrantSpec for `user` with commands `commands` (JSON list) and a fresh
// grant id, starting now and lasting `duration`.
GrantSpec SudoSpec(const std::string& user,
                   const std::vector<std::string>& commands,
                   std::chrono::milliseconds duration);

// Whether process `pid` is alive (not a zombie).
bool ProcessAlive(pid_t pid);

}  // namespace jit::testing
