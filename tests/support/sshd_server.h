#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jit/base/status.h"

namespace jit::testing {

// What the test sshd trusts.
struct SshdServerOptions {
  // OpenSSH public key of the user CA (TrustedUserCAKeys).
  std::filesystem::path trusted_user_ca_key;
  // KRL checked on every login (RevokedKeys). sshd refuses every key while
  // this file is missing, so create it before the first login.
  std::filesystem::path revoked_keys;
  // Where sshd logs (-E); empty = DIR/sshd.log in the server's temp dir.
  std::filesystem::path log_file;
};

// A real OpenSSH server (/usr/sbin/sshd -D) for one test: its own temp dir,
// host key, config and log, listening on 127.0.0.1 on a free port. Logins
// only by certificate (no passwords, no PAM, no authorized_keys); which
// principals each user accepts comes from AuthorizedPrincipalsFile, written
// with AllowPrincipals(). LogLevel VERBOSE, logging to log_path().
// Needs root. The destructor kills the server and every session process it
// started, and removes the temp dir. Not thread-safe.
class SshdServer {
 public:
  // Writes the config, starts sshd and waits (bounded, 10 s) until the port
  // accepts connections. kUnavailable with the log text when it does not.
  static StatusOr<std::unique_ptr<SshdServer>> Start(
      const SshdServerOptions& options);
  ~SshdServer();
  SshdServer(const SshdServer&) = delete;
  SshdServer& operator=(const SshdServer&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& log_path() const { return log_path_; }
  // The whole log as written so far ("" when unreadable).
  std::string LogText() const;

  // Lets Linux account `user` log in with a certificate naming one of
  // `principals`. Also replaces a locked password field ("!", as useradd
  // leaves it) by "*": sshd without PAM refuses locked accounts even for
  // key logins.
  Status AllowPrincipals(const std::string& user,
                         const std::vector<std::string>& principals);

  // argv of an OpenSSH client logging in as `user` with `key` and its
  // certificate `cert`, non-interactive, host key not checked, running
  // `remote_command` (one word per element, joined by spaces by ssh).
  std::vector<std::string> ClientArgv(
      const std::filesystem::path& key, const std::filesystem::path& cert,
      const std::string& user,
      const std::vector<std::string>& remote_command) const;

 private:
  SshdServer(std::filesystem::path dir, uint16_t port,
             std::filesystem::path log_path)
      : dir_(std::move(dir)),
        port_(port),
        log_path_(log_path.empty() ? dir_ / "sshd.log" : std::move(log_path)),
        config_path_(dir_ / "sshd_config") {}
  Status WriteConfig(const SshdServerOptions& options);
  Status Launch();
  Status WaitUntilAccepting();
  void Stop();

  std::filesystem::path dir_;
  uint16_t port_;
  std::filesystem::path log_path_;
  std::filesystem::path config_path_;
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released).
StatusOr<uint16_t> PickFreePort();

}  // namespace jit::testing
