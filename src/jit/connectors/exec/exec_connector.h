#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// What `type: exec` runs. Each command is an argv list whose elements are
// templates (see ExpandTemplate), expanded one by one: a value never becomes
// shell text and never splits into two arguments.
struct ExecConnectorConfig {
  std::string name;
  std::vector<std::string> grant;   // required
  std::vector<std::string> revoke;  // required
  // Exit 0 = held, 1 = not held, anything else = error.
  std::optional<std::vector<std::string>> check;
  // Prints one session per line: "ID" or "ID<TAB>description".
  std::optional<std::vector<std::string>> sessions;
  std::optional<std::vector<std::string>> kill_sessions;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::map<std::string, std::string> env;  // extra static variables
};

// Reads and checks a `type: exec` entry. Keys: name, type, grant, revoke,
// check, sessions, kill_sessions, timeout (duration text, default 30s), env
// (mapping). Every argv[0] must be an absolute path without placeholders;
// every placeholder must be known; env names must be shell-style names not
// starting with JIT_. kInvalidArgument "ORIGIN: ..." otherwise.
StatusOr<ExecConnectorConfig> ParseExecConnectorConfig(
    const ConnectorConfig& config);

// A connector that runs configured programs (no shell) through a
// CommandRunner. Each program gets exactly this environment:
//   PATH=/usr/sbin:/usr/bin:/sbin:/bin (the config's env may override it),
//   the config's env, JIT_GRANT_ID, JIT_REQUEST_ID, JIT_SUBJECT, JIT_USER,
//   JIT_ENTITLEMENT, JIT_EXPIRES_AT, JIT_EXPIRES_UNIX, JIT_STARTS_AT, and
//   JIT_PARAM_<NAME> per entitlement param (name upper-cased, other
//   characters as `_`; strings raw, other values as JSON text).
// Each run is bounded by min(config timeout, time left to the deadline).
// Idempotency is the programs' promise: they are called again on retry.
// Thread-safe (holds no mutable state).
//
// Errors: kUnavailable when a program exits non-zero (message carries its
// trimmed stderr, at most 512 bytes) or cannot start; kDeadlineExceeded
// when the time ran out (its process group is killed); kInvalidArgument
// for entitlement params that cannot be passed (bad JSON, NUL bytes).
class ExecConnector final : public Connector {
 public:
  // `runner` must outlive the connector.
  ExecConnector(ExecConnectorConfig config, CommandRunner& runner);

  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  // kFailedPrecondition when no `check` command is configured.
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  // Empty when no `sessions` command is configured.
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  // Runs `kill_sessions` if configured, then returns what `sessions` still
  // lists (without `kill_sessions`, everything it lists survives).
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;

 private:
  StatusOr<CommandResult> Run(std::string_view what,
                              const std::vector<std::string>& argv_template,
                              const GrantSpec& g, Deadline deadline) const;
  // Runs and requires exit code 0.
  Status RunToSuccess(std::string_view what,
                      const std::vector<std::string>& argv_template,
                      const GrantSpec& g, Deadline deadline) const;
  StatusOr<std::map<std::string, std::string>> EnvFor(const GrantSpec& g) const;
  Status ExitError(std::string_view what, const CommandResult& r) const;

  const ExecConnectorConfig config_;
  CommandRunner& runner_;
};

// ConnectorFactory for `type: exec`; runs programs through env.commands.
StatusOr<std::unique_ptr<Connector>> MakeExecConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
