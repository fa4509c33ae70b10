#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"
#include "jit/connectors/ssh_cert/ssh_cert_state.h"
#include "jit/connectors/ssh_cert/ssh_keygen.h"

namespace jit {

// What `type: ssh_cert` reads. Keys: name, type, krl_path (absolute,
// default /etc/ssh/jitd_revoked.krl), session_log (absolute, optional: the
// managed sshd's LogLevel VERBOSE log, its own -E file or a syslog file;
// it must be owned by root or jitd's user and not be writable by group or
// others, nor lie in a directory others may write to without the sticky
// bit), timeout (per ssh-keygen run, default 5s). `discovery` is accepted
// and left to the server.
struct SshCertConnectorConfig {
  std::string name;
  std::filesystem::path krl_path = "/etc/ssh/jitd_revoked.krl";
  std::optional<std::filesystem::path> session_log;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

// kInvalidArgument "ORIGIN: ..." for unknown keys, wrong types, relative
// paths, a bad timeout, a connector name unusable as a directory name, or a
// session_log others could write (checked when it exists; it is checked
// again at every read).
StatusOr<SshCertConnectorConfig> ParseSshCertConnectorConfig(
    const ConnectorConfig& config);

// An OpenSSH user certificate authority. Hosts trust its key
// (TrustedUserCAKeys), map principals to accounts (AuthorizedPrincipalsFile)
// and check its KRL (RevokedKeys); nothing is put on hosts per grant.
//
//  - Grant records the grant as issuable (persisted); Issue signs a user key
//    for it with OpenSSH's ssh-keygen: key id = grant id, one principal,
//    validity ending exactly at the grant's expiry (UTC, T26), no
//    forwarding unless the entitlement allows it (T23).
//  - Revoke adds the grant id to the persisted revoked list and rewrites
//    the KRL at krl_path atomically (every certificate of the grant, by key
//    id). Entries are pruned 24 h after both their certificates' end and
//    their revocation (by jitd's wall clock; the margin covers its jumps).
//  - Sessions are sshd connections authenticated with a certificate of the
//    grant, found through session_log and /proc (so only on the host jitd
//    runs on); KillSessions ends the connection's processes (T12). Without
//    session_log no session is ever listed; an unreadable or untrusted
//    session_log, or sshd fds jitd cannot read, are kUnavailable.
//
// State lives in DATA_DIR/ssh_cert/NAME (0700): the CA key (0600), its .pub
// and state.json. Thread-safe: one mutex serialises state and KRL changes;
// Issue signs outside it, so Revoke never waits for a signing.
// Errors as Connector; Issue also kInvalidArgument for a bad public key or
// source address and kFailedPrecondition for a grant that is not issuable
// (never granted, revoked or expired).
class SshCertConnector final : public Connector, public CertificateAuthority {
 public:
  // Creates (first start) or loads the CA and writes the KRL from the saved
  // state. `env` must outlive the connector.
  static StatusOr<std::unique_ptr<SshCertConnector>> Create(
      SshCertConnectorConfig config, const Environment& env);

  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  // SIGTERM to each session's sshd processes and the user's processes under
  // them, then SIGKILL to what is left after a grace period, bounded by
  // `deadline`; returns what is still connected.
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  CertificateAuthority* AsCertificateAuthority() override { return this; }

  // The CA public key line ("ssh-ed25519 AAAA... jitd-ca-NAME\n").
  StatusOr<std::string> PublicKey() override;
  // The bytes of the KRL at krl_path.
  StatusOr<std::string> RevocationList() override;
  StatusOr<std::string> Issue(const GrantSpec& g, const std::string& public_key,
                              const std::string& source_address,
                              Deadline deadline) override;

  const std::filesystem::path& state_dir() const { return dir_; }

 private:
  SshCertConnector(SshCertConnectorConfig config, const Environment& env,
                   std::filesystem::path dir, SshCertState state);
  Status LoadOrCreateCa(Deadline deadline);
  // Rewrites the KRL from state_. Caller holds mu_.
  Status WriteKrl(Deadline deadline);
  // Prunes and saves state_. Caller holds mu_.
  Status SaveState();
  // Under mu_: checks `g` is issuable, sets req.serial and extends the
  // grant's certs_valid_until to req.valid_before, saved.
  Status ReserveSerial(const GrantSpec& g, CertificateRequest& req);
  StatusOr<std::string> SignInTempDir(const CertificateRequest& req,
                                      const std::string& public_key,
                                      Deadline deadline);
  StatusOr<std::vector<Session>> LiveSessions(const GrantSpec& g) const;
  Status Error(StatusCode code, std::string_view what,
               const GrantSpec& g) const;

  const SshCertConnectorConfig config_;
  const Environment& env_;
  const SshKeygen keygen_;
  const std::filesystem::path dir_;
  std::string ca_public_key_;  // set once in Create

  std::mutex mu_;
  SshCertState state_;  // guarded by mu_
  // Whether the file at krl_path holds every revoked id of state_.
  bool krl_current_ = false;  // guarded by mu_
};

// ConnectorFactory for `type: ssh_cert`. Needs env.data_dir.
StatusOr<std::unique_ptr<Connector>> MakeSshCertConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
