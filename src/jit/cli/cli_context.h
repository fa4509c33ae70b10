#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "jit/base/status.h"
#include "jit/cli/api_client.h"
#include "jit/cli/cli.h"
#include "jit/cli/json_fields.h"

namespace jit {

// Option values of a group of subcommands, bound by CLI11 during parsing.
struct CommandGroup {
  virtual ~CommandGroup() = default;
};

// State shared by the commands of one RunCli call: the streams, the
// environment, the global flags and the action of each subcommand. Lives on
// RunCli's stack; not thread-safe.
class CliContext {
 public:
  using Action = std::function<int()>;
  using ApiAction = std::function<int(const ApiClient&)>;

  CliContext(std::ostream& out, std::ostream& err, const CliEnv& env)
      : out_(out), err_(err), env_(env) {}

  std::ostream& out() const { return out_; }
  std::ostream& err() const { return err_; }
  const CliEnv& env() const { return env_; }
  bool json() const { return json_; }

  // Adds --server, --token and --json to the top-level command.
  void AddGlobalFlags(CLI::App& app);

  // Keeps `group` alive for the rest of the RunCli call; returns it.
  template <typename T>
  T& Keep(std::unique_ptr<T> group) {
    T& kept = *group;
    groups_.push_back(std::move(group));
    return kept;
  }

  // `action` runs when `command` is the (innermost) subcommand chosen.
  void OnRun(CLI::App* command, Action action);
  // Like OnRun, with a client for the configured server. A missing or bad
  // server configuration prints why and exits kExitUsage.
  void OnRunWithApi(CLI::App* command, ApiAction action);
  // Runs `action` with a client for the configured server now (for an
  // action that needs one only on some paths); errors as OnRunWithApi.
  // With `with_token` false the client sends no credential.
  int RunWithApi(const ApiAction& action, bool with_token = true) const;
  // Runs the chosen command's action; kExitUsage when none was chosen.
  int RunChosen() const;

  // Prints "error: CODE: message" and each detail on its own line to err;
  // returns kExitFailure.
  int Fail(const Status& status) const;
  // Prints "error: message" to err; returns kExitUsage.
  int UsageError(const Status& status) const;
  // Writes `value` to out as JSON (see WriteJson), indented.
  void PrintJson(const Json& value) const;

 private:
  std::ostream& out_;
  std::ostream& err_;
  const CliEnv& env_;
  std::string server_flag_;
  std::string token_flag_;
  bool json_ = false;
  std::vector<std::pair<CLI::App*, Action>> actions_;
  std::vector<std::unique_ptr<CommandGroup>> groups_;
};

// Each adds its subcommands to `app` and their actions to `ctx`; both must
// outlive the returned parse. Defined in *_commands.cc.
void AddRequestCommands(CLI::App& app, CliContext& ctx);
void AddGrantCommands(CLI::App& app, CliContext& ctx);
void AddAuditCommands(CLI::App& app, CliContext& ctx);
void AddPolicyCommands(CLI::App& app, CliContext& ctx);
void AddReportCommands(CLI::App& app, CliContext& ctx);
void AddTokenCommands(CLI::App& app, CliContext& ctx);
void AddMfaCommands(CLI::App& app, CliContext& ctx);
void AddBreakglassCommands(CLI::App& app, CliContext& ctx);

// Writes the signed JSON Lines export of the events with from <= time < to
// (RFC 3339 texts, empty = open) to `out` (docs/audit.md "Export format").
// Errors: kInvalidArgument for a bad time; the API's errors (403 without
// the auditor role).
Status WriteSignedExport(const ApiClient& api, const std::string& from,
                         const std::string& to, std::ostream& out);

// The whole file at `path`; kNotFound "cannot read PATH" when it cannot be
// read.
StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace jit
