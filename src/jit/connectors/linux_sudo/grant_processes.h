#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// Finding and ending the processes a sudo grant started, through /proc.
// Stateless functions; thread-safe. Needs root to read other users'
// environments and to signal root processes.

// One live process as /proc shows it (zombies are left out: they are dead).
struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t real_uid = 0;
  // Start time in clock ticks since boot: with the pid, names the process
  // across a pid being reused.
  unsigned long long start_ticks = 0;
  SystemTime started{};  // start_ticks as wall time, accurate to ~1 s
  std::string exe;       // /proc/PID/exe, without " (deleted)"
  std::string cmdline;   // argv joined by spaces, at most 4 KiB
  std::optional<std::string> sudo_user;  // SUDO_USER= in its environment
};

// Every process under `proc_root` (normally /proc). Processes that exit
// while being read are skipped. kUnavailable when the table cannot be read.
StatusOr<std::vector<ProcessInfo>> ReadProcessTable(
    const std::filesystem::path& proc_root);

// Which processes count as started under a grant of `user`.
struct GrantProcessQuery {
  std::optional<uid_t> uid;  // nullopt when the account is gone
  std::string user;
  SystemTime since{};    // the grant's start
  std::string sudo_exe;  // the sudo binary, e.g. /usr/bin/sudo
};

// Start times are compared with this much slack: /proc's start time is
// derived from the boot time in whole seconds.
inline constexpr std::chrono::seconds kStartSlack{2};

// The processes of `table` started under the grant: sudo processes (exe is
// `sudo_exe`) whose real uid is `uid`, and processes whose environment has
// SUDO_USER=`user`, each started at or after `since` - kStartSlack; plus
// every descendant of those. Sorted by pid.
std::vector<ProcessInfo> SelectGrantProcesses(
    const std::vector<ProcessInfo>& table, const GrantProcessQuery& q);

// The roots of `selected` (processes whose parent is not selected), one
// Session each: id = the pid in decimal, description = "pid N: CMDLINE".
std::vector<Session> SessionsOf(const std::vector<ProcessInfo>& selected);

// Ends the grant's processes: SIGTERM to all, SIGKILL to those left after
// `grace`, and again for processes they started meanwhile, until none is
// left or `deadline`. Signals go through pidfds after checking the start
// time, so a reused pid is never hit. Returns the processes still there.
// kUnavailable when /proc cannot be read.
StatusOr<std::vector<ProcessInfo>> EndGrantProcesses(
    const std::filesystem::path& proc_root, const GrantProcessQuery& q,
    std::chrono::milliseconds grace, Deadline deadline);

}  // namespace jit
