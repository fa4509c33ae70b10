#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
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

// Grants and removes one kind of privilege in a target system.
// Thread-safe. Every method is idempotent and returns by `deadline`.
// Errors: kUnavailable = target unreachable or failed, safe to retry;
//         kInvalidArgument = bad entitlement params, never retried;
//         kDeadlineExceeded = did not finish in time, safe to retry.
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
