#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// What goes into one user certificate. Every field is already validated by
// the caller (ssh_cert_input.h); each becomes exactly one argv element.
struct CertificateRequest {
  std::string key_id;     // -I
  std::string principal;  // -n, exactly one
  uint64_t serial = 0;    // -z
  SystemTime valid_after{};
  SystemTime valid_before{};
  // Extensions after `-O clear`: permit-pty always, these only when set.
  bool permit_port_forwarding = false;
  bool permit_agent_forwarding = false;
  bool permit_x11_forwarding = false;
  std::string source_address;  // empty = no source-address option
};

// "YYYYMMDDHHMMSSZ": whole seconds (cut down), UTC with an explicit Z, the
// form ssh-keygen -V reads independently of the TZ it runs under (T26).
std::string SshKeygenTime(SystemTime t);

// The argv of `ssh-keygen -s` for `req`, signing `public_key_file` with
// `ca_key` (exposed for tests of the exact flags).
std::vector<std::string> SignArgv(const std::filesystem::path& ca_key,
                                  const CertificateRequest& req,
                                  const std::filesystem::path& public_key_file);

// OpenSSH's own ssh-keygen, run without a shell through a CommandRunner with
// environment PATH, LC_ALL=C and TZ=UTC. Each run is bounded by
// min(`timeout`, time left to the deadline). Thread-safe (no state).
// Errors: kDeadlineExceeded when the time ran out or had already;
// kUnavailable when ssh-keygen cannot start or exits non-zero (message
// carries its stderr, trimmed and capped).
class SshKeygen {
 public:
  // `runner` must outlive this object.
  SshKeygen(CommandRunner& runner, std::chrono::milliseconds timeout)
      : runner_(runner), timeout_(timeout) {}

  // Creates an Ed25519 key pair without passphrase: `private_key` (0600)
  // and `private_key`.pub.
  Status GenerateEd25519(const std::filesystem::path& private_key,
                         const std::string& comment, Deadline deadline) const;
  // The public key line of `private_key` (ssh-keygen -y).
  StatusOr<std::string> PublicKeyOf(const std::filesystem::path& private_key,
                                    Deadline deadline) const;
  // Whether OpenSSH parses `public_key_file` as a public key (ssh-keygen
  // -l). kInvalidArgument when it does not.
  Status CheckPublicKey(const std::filesystem::path& public_key_file,
                        Deadline deadline) const;
  // Signs; the certificate text lands in `<file without .pub>-cert.pub`,
  // which is returned.
  StatusOr<std::string> Sign(const std::filesystem::path& ca_key,
                             const CertificateRequest& req,
                             const std::filesystem::path& public_key_file,
                             Deadline deadline) const;
  // Writes a new KRL to `out` (which must not exist) from the revocation
  // spec `spec_file`, whose `id:` and `serial:` lines refer to certificates
  // of CA `ca_public_key`.
  Status GenerateKrl(const std::filesystem::path& out,
                     const std::filesystem::path& ca_public_key,
                     const std::filesystem::path& spec_file,
                     Deadline deadline) const;

 private:
  StatusOr<CommandResult> Run(std::string_view what,
                              const std::vector<std::string>& args,
                              Deadline deadline) const;
  Status RunToSuccess(std::string_view what,
                      const std::vector<std::string>& args,
                      Deadline deadline) const;

  CommandRunner& runner_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace jit
