#include "jit/connectors/exec/exec_connector.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"
#include "jit/connectors/common/deadline.h"
#include "jit/connectors/common/params.h"

namespace jit {
namespace {

constexpr size_t kMaxStderrInMessage = 512;
constexpr char kDefaultPath[] = "/usr/sbin:/usr/bin:/sbin:/bin";

const std::vector<std::string> kKnownKeys = {
    "name",     "type",          "grant",   "revoke", "check",
    "sessions", "kill_sessions", "timeout", "env"};

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string ParamEnvName(std::string_view param) {
  std::string out = "JIT_PARAM_";
  for (char c : param) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_');
  }
  return out;
}

// Whitespace trimmed and capped, cut back to a UTF-8 character boundary.
std::string StderrExcerpt(std::string_view err) {
  auto is_space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c));
  };
  while (!err.empty() && is_space(err.front())) err.remove_prefix(1);
  while (!err.empty() && is_space(err.back())) err.remove_suffix(1);
  if (err.size() <= kMaxStderrInMessage) return std::string(err);
  size_t cut = kMaxStderrInMessage;
  while (cut > 0 && (static_cast<unsigned char>(err[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(err.substr(0, cut)) + "...";
}

StatusOr<std::vector<std::string>> ReadArgv(const ConnectorConfigReader& reader,
                                            std::string_view key) {
  JIT_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> argv,
                       reader.StringList(key));
  if (!argv)
    return reader.Error(fmt::format("\"{}\" command is required", key));
  if (argv->empty())
    return reader.Error(fmt::format("\"{}\" must not be empty", key));
  const std::string& program = argv->front();
  if (program.empty() || program[0] != '/' ||
      program.find_first_of("{}") != std::string::npos) {
    return reader.Error(fmt::format(
        "\"{}\": program \"{}\" must be an absolute path without placeholders",
        key, program));
  }
  for (const std::string& arg : *argv) {
    Status valid = ValidateTemplate(arg);
    if (!valid.ok())
      return reader.Error(fmt::format("\"{}\": {}", key, valid.message()));
  }
  return *std::move(argv);
}

StatusOr<std::optional<std::vector<std::string>>> ReadOptionalArgv(
    const ConnectorConfigReader& reader, std::string_view key) {
  using Result = std::optional<std::vector<std::string>>;
  if (!reader.Has(key)) return Result();
  JIT_ASSIGN_OR_RETURN(std::vector<std::string> argv, ReadArgv(reader, key));
  return Result(std::move(argv));
}

StatusOr<std::chrono::milliseconds> ReadTimeout(
    const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(std::optional<Duration> d,
                       reader.DurationValue("timeout"));
  if (!d) return std::chrono::milliseconds(std::chrono::seconds(30));
  return *d;
}

StatusOr<std::map<std::string, std::string>> ReadEnv(
    const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(auto env, reader.StringMap("env"));
  if (!env) return std::map<std::string, std::string>();
  for (const auto& [name, value] : *env) {
    if (!IsEnvName(name) || name.rfind("JIT_", 0) == 0) {
      return reader.Error(fmt::format(
          "\"env\": \"{}\" must be a variable name not starting with JIT_",
          name));
    }
    if (value.find('\0') != std::string::npos) {
      return reader.Error(
          fmt::format("\"env\": \"{}\" contains a NUL byte", name));
    }
  }
  return *std::move(env);
}

std::vector<Session> ParseSessions(std::string_view out) {
  std::vector<Session> sessions;
  while (!out.empty()) {
    size_t nl = out.find('\n');
    std::string_view line = out.substr(0, nl);
    out =
        nl == std::string_view::npos ? std::string_view() : out.substr(nl + 1);
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    size_t tab = line.find('\t');
    std::string id(line.substr(0, tab));
    std::string description =
        tab == std::string_view::npos ? id : std::string(line.substr(tab + 1));
    sessions.push_back(Session{std::move(id), std::move(description)});
  }
  return sessions;
}

}  // namespace

StatusOr<ExecConnectorConfig> ParseExecConnectorConfig(
    const ConnectorConfig& config) {
  JIT_ASSIGN_OR_RETURN(ConnectorConfigReader reader,
                       ConnectorConfigReader::Parse(config, kKnownKeys));
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  ExecConnectorConfig out;
  out.name = config.name;
  JIT_ASSIGN_OR_RETURN(out.grant, ReadArgv(reader, "grant"));
  JIT_ASSIGN_OR_RETURN(out.revoke, ReadArgv(reader, "revoke"));
  JIT_ASSIGN_OR_RETURN(out.check, ReadOptionalArgv(reader, "check"));
  JIT_ASSIGN_OR_RETURN(out.sessions, ReadOptionalArgv(reader, "sessions"));
  JIT_ASSIGN_OR_RETURN(out.kill_sessions,
                       ReadOptionalArgv(reader, "kill_sessions"));
  JIT_ASSIGN_OR_RETURN(out.timeout, ReadTimeout(reader));
  JIT_ASSIGN_OR_RETURN(out.env, ReadEnv(reader));
  return out;
}

ExecConnector::ExecConnector(ExecConnectorConfig config, CommandRunner& runner)
    : config_(std::move(config)), runner_(runner) {}

StatusOr<std::map<std::string, std::string>> ExecConnector::EnvFor(
    const GrantSpec& g) const {
  std::map<std::string, std::string> env = {{"PATH", kDefaultPath}};
  for (const auto& [name, value] : config_.env) env[name] = value;
  env["JIT_GRANT_ID"] = g.grant_id;
  env["JIT_REQUEST_ID"] = g.request_id;
  env["JIT_SUBJECT"] = g.subject;
  env["JIT_USER"] = g.target_user.empty() ? g.subject : g.target_user;
  env["JIT_ENTITLEMENT"] = g.entitlement;
  env["JIT_EXPIRES_AT"] = FormatTime(g.expires_at);
  JIT_ASSIGN_OR_RETURN(env["JIT_EXPIRES_UNIX"],
                       ExpandTemplate("{expires_unix}", g));
  env["JIT_STARTS_AT"] = FormatTime(g.starts_at);
  for (const auto& [name, json] : g.params_json) {
    JIT_ASSIGN_OR_RETURN(env[ParamEnvName(name)], GetParamText(g, name));
  }
  return env;
}

StatusOr<CommandResult> ExecConnector::Run(
    std::string_view what, const std::vector<std::string>& argv_template,
    const GrantSpec& g, Deadline deadline) const {
  const std::string context =
      fmt::format("connector \"{}\": {} {}", config_.name, what, g.grant_id);
  JIT_ASSIGN_OR_RETURN(std::chrono::milliseconds left,
                       TimeLeft(deadline, context));
  std::vector<std::string> argv;
  argv.reserve(argv_template.size());
  for (const std::string& arg : argv_template) {
    StatusOr<std::string> expanded = ExpandTemplate(arg, g);
    if (!expanded.ok()) return expanded.status().WithContext(context);
    argv.push_back(*std::move(expanded));
  }
  StatusOr<std::map<std::string, std::string>> env = EnvFor(g);
  if (!env.ok()) return env.status().WithContext(context);
  StatusOr<CommandResult> result =
      runner_.Run(argv, *env, std::min(config_.timeout, left));
  if (!result.ok()) return result.status().WithContext(context);
  return result;
}

Status ExecConnector::ExitError(std::string_view what,
                                const CommandResult& r) const {
  std::string err = StderrExcerpt(r.err);
  return UnavailableError(fmt::format(
      "connector \"{}\": {} command exited with {}{}{}", config_.name, what,
      r.exit_code, err.empty() ? "" : ": ", err));
}

Status ExecConnector::RunToSuccess(
    std::string_view what, const std::vector<std::string>& argv_template,
    const GrantSpec& g, Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(CommandResult r, Run(what, argv_template, g, deadline));
  if (r.exit_code != 0) return ExitError(what, r);
  return OkStatus();
}

Status ExecConnector::Grant(const GrantSpec& g, Deadline deadline) {
  return RunToSuccess("grant", config_.grant, g, deadline);
}

Status ExecConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  return RunToSuccess("revoke", config_.revoke, g, deadline);
}

StatusOr<bool> ExecConnector::IsActive(const GrantSpec& g, Deadline deadline) {
  if (!config_.check) {
    JIT_RETURN_IF_ERROR(TimeLeft(deadline, "check").status());
    return FailedPreconditionError(
        fmt::format("connector \"{}\" has no check command", config_.name));
  }
  JIT_ASSIGN_OR_RETURN(CommandResult r,
                       Run("check", *config_.check, g, deadline));
  if (r.exit_code == 0) return true;
  if (r.exit_code == 1) return false;
  return ExitError("check", r);
}

StatusOr<std::vector<Session>> ExecConnector::ListSessions(const GrantSpec& g,
                                                           Deadline deadline) {
  if (!config_.sessions) {
    // Nothing to run, but the deadline contract holds for every call.
    JIT_RETURN_IF_ERROR(TimeLeft(deadline, "sessions").status());
    return std::vector<Session>();
  }
  JIT_ASSIGN_OR_RETURN(CommandResult r,
                       Run("sessions", *config_.sessions, g, deadline));
  if (r.exit_code != 0) return ExitError("sessions", r);
  return ParseSessions(r.out);
}

StatusOr<std::vector<Session>> ExecConnector::KillSessions(const GrantSpec& g,
                                                           Deadline deadline) {
  if (config_.kill_sessions) {
    JIT_RETURN_IF_ERROR(
        RunToSuccess("kill_sessions", *config_.kill_sessions, g, deadline));
  }
  return ListSessions(g, deadline);
}

StatusOr<std::unique_ptr<Connector>> MakeExecConnector(
    const ConnectorConfig& config, const Environment& env) {
  JIT_ASSIGN_OR_RETURN(ExecConnectorConfig parsed,
                       ParseExecConnectorConfig(config));
  return std::unique_ptr<Connector>(
      std::make_unique<ExecConnector>(std::move(parsed), env.commands));
}

}  // namespace jit
