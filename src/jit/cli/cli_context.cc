#include "jit/cli/cli_context.h"

#include <fstream>
#include <sstream>

#include "jit/cli/cli_config.h"
#include "jit/cli/terminal_text.h"

namespace jit {

void CliContext::AddGlobalFlags(CLI::App& app) {
  app.add_option("--server", server_flag_,
                 "jitd URL, e.g. http://127.0.0.1:8420 (default: $JIT_SERVER, "
                 "then ~/.config/jit/config)");
  app.add_option("--token", token_flag_,
                 "bearer token (default: $JIT_TOKEN, then the config file)");
  app.add_flag("--json", json_, "print the server's JSON instead of a table");
}

void CliContext::OnRun(CLI::App* command, Action action) {
  actions_.emplace_back(command, std::move(action));
}

void CliContext::OnRunWithApi(CLI::App* command, ApiAction action) {
  OnRun(command,
        [this, action = std::move(action)]() { return RunWithApi(action); });
}

int CliContext::RunWithApi(const ApiAction& action, bool with_token) const {
  StatusOr<ServerConfig> config =
      ResolveServerConfig(server_flag_, token_flag_, env_, with_token);
  if (!config.ok()) return UsageError(config.status());
  StatusOr<ApiClient> api = ApiClient::Create(*config);
  if (!api.ok()) return UsageError(api.status());
  return action(*api);
}

int CliContext::RunChosen() const {
  // The innermost chosen command: `jit report evidence` parses both
  // `report` and `evidence`; only evidence runs.
  for (const auto& [command, action] : actions_) {
    if (!command->parsed()) continue;
    bool inner_chosen = false;
    for (const CLI::App* sub : command->get_subcommands()) {
      inner_chosen = inner_chosen || sub->parsed();
    }
    if (!inner_chosen) return action();
  }
  err_ << "error: no command given; see --help\n";
  return kExitUsage;
}

int CliContext::Fail(const Status& status) const {
  err_ << "error: ";
  if (!status.reason().empty())
    err_ << SanitizeForTerminal(status.reason()) << ": ";
  err_ << SanitizeForTerminal(status.message()) << '\n';
  for (const std::string& detail : status.details()) {
    err_ << "  - " << SanitizeForTerminal(detail) << '\n';
  }
  return kExitFailure;
}

int CliContext::UsageError(const Status& status) const {
  err_ << "error: " << SanitizeForTerminal(status.message()) << '\n';
  return kExitUsage;
}

void CliContext::PrintJson(const Json& value) const {
  WriteJson(out_, value, /*indent=*/2);
}

StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace jit
