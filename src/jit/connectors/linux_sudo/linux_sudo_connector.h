#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// What `type: linux_sudo` works with.
struct LinuxSudoConfig {
  std::string name;
  std::filesystem::path sudoers_dir = "/etc/sudoers.d";
  std::string visudo = "/usr/sbin/visudo";
  // Written as `Defaults:USER pam_service=...` so sudo runs the account
  // stack of this service (with pam_jit.so) for granted users.
  std::optional<std::string> pam_service;
  // sudo logs each granted user's commands (JSON) to LOG_DIR/sudo_USER.log.
  std::filesystem::path log_dir = "/var/log/jitd";
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // per visudo
  // Fixed for the host; not config keys.
  std::filesystem::path timestamp_dir = "/run/sudo/ts";
  std::filesystem::path proc_root = "/proc";
  std::string sudo_exe = "/usr/bin/sudo";
};

// Reads and checks a `type: linux_sudo` entry. Keys: name, type,
// sudoers_dir, visudo, pam_service, log_dir, timeout (duration text);
// `discovery` is accepted and left to the server. Paths must be absolute
// and plain (they end up in sudoers). kInvalidArgument "ORIGIN: ..."
// otherwise.
StatusOr<LinuxSudoConfig> ParseLinuxSudoConfig(const ConnectorConfig& config);

// Grants sudo rights with one sudoers drop-in per grant,
// SUDOERS_DIR/jitd_<grant id>:
//   Defaults:USER logfile=LOG_DIR/sudo_USER.log, log_format=json
//   Defaults:USER pam_service=SERVICE            (when configured)
//   USER ALL=(RUNAS) NOTAFTER=YYYYMMDDHHMMSSZ NOPASSWD: CMD, CMD
// NOTAFTER is UTC with the Z (THREATS T26), so sudo ends the grant itself
// even if jitd is down. The file is written beside its final name under a
// name sudo skips (it holds a "."), mode 0440 root, checked with
// `visudo -c -f`, then renamed into place.
//
// Entitlement params: `commands` (required; absolute paths with optional
// fixed arguments, or ["ALL"]), `runas` (default root), `user` (mapped by
// the server; ignored here). GrantSpec::target_user must be an existing
// account. Values that sudoers could read as syntax are kInvalidArgument.
//
// Sessions are processes: the target user's sudo processes and processes
// whose environment carries SUDO_USER=USER, started at or after the grant's
// start, with all their descendants; one Session per tree root (id = pid).
// Several grants of one user share these, so ending one grant's sessions
// ends sudo commands started under the others too.
//
// Thread-safe (no mutable state). Needs root. Errors: kInvalidArgument for
// bad params; kUnavailable when files, visudo or /proc fail;
// kDeadlineExceeded when the deadline passed (at once if already past,
// changing nothing).
class LinuxSudoConnector final : public Connector {
 public:
  // `runner` and `clock` must outlive the connector.
  LinuxSudoConnector(LinuxSudoConfig config, CommandRunner& runner,
                     const Clock& clock);

  // Writes the drop-in; the same content again is a no-op, a later
  // expires_at rewrites NOTAFTER (extension).
  Status Grant(const GrantSpec& g, Deadline deadline) override;
  // Removes the drop-in, clears the user's sudo timestamp and ends the
  // grant's sessions (SIGTERM, then SIGKILL) within the deadline; sessions
  // that survive are left for KillSessions to report.
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  // The drop-in exists and its NOTAFTER has not passed by clock.Now().
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  // Commands sudo accepted for the target user between the grant's start
  // and end and at or after `since`, from sudo's log; kind "command",
  // session = sudo's event uuid. kResourceExhausted when the log is over
  // 64 MiB (rotate it).
  StatusOr<std::vector<Activity>> ActivitySince(const GrantSpec& g,
                                                SystemTime since,
                                                Deadline deadline) override;

  std::filesystem::path DropInPath(const std::string& grant_id) const;

 private:
  Status WriteValidated(const std::filesystem::path& path,
                        const std::string& content, Deadline deadline) const;
  Status RunVisudo(const std::filesystem::path& file, Deadline deadline) const;
  Status ClearTimestamp(const std::string& user) const;
  std::filesystem::path LogFile(const std::string& user) const;
  std::string Context(std::string_view what, const GrantSpec& g) const;

  const LinuxSudoConfig config_;
  CommandRunner& runner_;
  const Clock& clock_;
};

// ConnectorFactory for `type: linux_sudo`; runs visudo through
// env.commands and reads time from env.clock.
StatusOr<std::unique_ptr<Connector>> MakeLinuxSudoConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
