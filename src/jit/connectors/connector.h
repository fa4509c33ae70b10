#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// Real monotonic time (std::chrono::steady_clock::now() + budget), not
// Clock::MonotonicNow(): a FakeClock holds still, but a target system does not.
using Deadline = std::chrono::steady_clock::time_point;

// What a connector needs to know about one grant.
struct GrantSpec {
  std::string grant_id;
  std::string request_id;
  std::string subject;      // jitd subject
  std::string target_user;  // user name in the target (params.user mapped)
  std::string entitlement;
  // The entitlement's params, each value JSON text (see Entitlement).
  std::map<std::string, std::string> params_json;
  SystemTime starts_at{};
  SystemTime expires_at{};
};

// A session the grant opened in the target (a backend, an ssh login...).
struct Session {
  std::string id;
  std::string description;
};

// A privilege the target shows as held, found by Discover(): who holds what,
// since when if the target knows. Compared against live grants to find
// standing privileges (drift).
struct Holding {
  std::string target_user;
  std::string privilege;  // e.g. the role name; what Covers() matches
  std::optional<SystemTime> since;
  std::string detail;  // free text for the drift.found event
};

// Something done with a grant, as the target recorded it (a pgaudit
// statement, a sudo command, an ssh login). Attached to the grant's audit
// trail as grant.activity events.
struct Activity {
  SystemTime at{};
  std::string kind;     // "statement" | "command" | "session"
  std::string session;  // target session id (backend pid, sshd pid...)
  std::string text;     // statement or command line, at most 4 KiB
};

// A connector that issues certificates (ssh_cert).
class CertificateAuthority {
 public:
  virtual ~CertificateAuthority() = default;
  // The CA public key in the target's text format (an OpenSSH public key).
  virtual StatusOr<std::string> PublicKey() = 0;
  // The current revocation list (an OpenSSH KRL, binary).
  virtual StatusOr<std::string> RevocationList() = 0;
  // A certificate for `public_key` under active grant `g`, valid at most
  // until g.expires_at. `source_address` (may be empty) restricts where it
  // may be used from. Errors: kInvalidArgument for a bad public key.
  virtual StatusOr<std::string> Issue(const GrantSpec& g,
                                      const std::string& public_key,
                                      const std::string& source_address,
                                      Deadline deadline) = 0;
};

// Grants and removes one kind of privilege in a target system.
// Thread-safe. Every method is idempotent and returns by `deadline`.
// Errors: kUnavailable = target unreachable or failed, safe to retry;
//         kDeadlineExceeded = did not finish in time, safe to retry;
//         kInvalidArgument = bad entitlement params or input;
//         kFailedPrecondition = the target refuses for a reason a retry will
//           not change (no such account, a role jitd does not manage).
// A failed Grant fails the activation; a failed Revoke is retried whatever
// the code (the privilege must go). ActivitySince may return any code: its
// failure is recorded, never fatal.
class Connector {
 public:
  virtual ~Connector() = default;
  // Makes `g.target_user` hold the privilege. Where the target can enforce
  // `g.expires_at` itself, it must.
  virtual Status Grant(const GrantSpec& g, Deadline deadline) = 0;
  // Removes the privilege. OK if it was not held.
  virtual Status Revoke(const GrantSpec& g, Deadline deadline) = 0;
  // Whether the target shows the privilege as held now.
  virtual StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) = 0;
  // Sessions opened under `g` that are still alive.
  virtual StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                                      Deadline deadline) = 0;
  // Ends sessions opened under `g`; returns the survivors.
  virtual StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                                      Deadline deadline) = 0;

  // Optional parts; the defaults say "not supported".

  // Whether `a` and `b` give the very same privilege in the target (one
  // PostgreSQL membership), so revoking one would take the other's away.
  // jitd then leaves the privilege in place while another grant holds it.
  virtual bool SharesPrivilege(const GrantSpec& a, const GrantSpec& b) const {
    (void)a;
    (void)b;
    return false;
  }

  // Whether Discover() is implemented (config `discovery:` is refused for
  // connectors that cannot list holders).
  virtual bool CanDiscover() const { return false; }
  // Every holder of a privilege this connector manages, granted by jitd or
  // not. kFailedPrecondition (reason "unsupported") when the target cannot
  // be listed.
  virtual StatusOr<std::vector<Holding>> Discover(Deadline deadline);
  // Whether `h` is the privilege grant `g` gives (so it is not drift).
  virtual bool Covers(const GrantSpec& g, const Holding& h) const;
  // Removes a standing privilege found by Discover() (enforce mode).
  // Idempotent. kFailedPrecondition "unsupported" by default.
  virtual Status RevokeHolding(const Holding& h, Deadline deadline);
  // What the target recorded as done under `g` at or after `since`, oldest
  // first. Empty by default.
  virtual StatusOr<std::vector<Activity>> ActivitySince(const GrantSpec& g,
                                                        SystemTime since,
                                                        Deadline deadline);
  // Non-null when the connector issues certificates.
  virtual CertificateAuthority* AsCertificateAuthority() { return nullptr; }
};

// The `connectors:` entry that builds one connector, as JSON text of the
// whole YAML mapping (e.g. {"name":"demo","type":"fake"}), plus where it
// came from for error messages.
struct ConnectorConfig {
  std::string name;
  std::string type;
  std::string config_json;
  std::string origin;  // "FILE:LINE"
};

struct Environment;
using ConnectorFactory = std::function<StatusOr<std::unique_ptr<Connector>>(
    const ConnectorConfig& config, const Environment& env)>;

// Name -> factory, filled by hand in server/ (no static registration).
// Not thread-safe while being filled; read-only afterwards.
class ConnectorRegistry {
 public:
  void Add(std::string type, ConnectorFactory factory);
  // kInvalidArgument "ORIGIN: unknown connector type "x" (known: a, b)".
  StatusOr<std::unique_ptr<Connector>> Make(const ConnectorConfig& config,
                                            const Environment& env) const;
  std::vector<std::string> Types() const;

 private:
  std::map<std::string, ConnectorFactory> factories_;
};

}  // namespace jit
