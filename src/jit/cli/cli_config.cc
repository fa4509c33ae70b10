#include "jit/cli/cli_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>

#include "jit/base/status_macros.h"
#include "jit/cli/oidc_login.h"

namespace jit {
namespace {

struct FileConfig {
  std::optional<std::string> server;
  std::optional<std::string> token;
};

std::string ConfigPath(const CliEnv& env) {
  return (std::filesystem::path(env.home_dir) / ".config" / "jit" / "config")
      .string();
}

Status NodeError(const std::string& path, const YAML::Node& node,
                 const std::string& what) {
  return InvalidArgumentError(
      fmt::format("{}:{}: {}", path, node.Mark().line + 1, what));
}

StatusOr<std::optional<std::string>> ReadStringKey(const std::string& path,
                                                   const YAML::Node& value) {
  if (!value.IsScalar()) return NodeError(path, value, "expected a string");
  return std::optional<std::string>(value.Scalar());
}

StatusOr<FileConfig> ParseConfig(const std::string& path,
                                 const YAML::Node& root) {
  FileConfig config;
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    return NodeError(path, root, "expected `server:` and `token:` lines");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key == "server") {
      JIT_ASSIGN_OR_RETURN(config.server, ReadStringKey(path, entry.second));
    } else if (key == "token") {
      JIT_ASSIGN_OR_RETURN(config.token, ReadStringKey(path, entry.second));
    } else {
      return NodeError(
          path, entry.first,
          fmt::format("unknown key `{}` (known: server, token)", key));
    }
  }
  return config;
}

StatusOr<FileConfig> LoadConfigFile(const CliEnv& env) {
  if (env.home_dir.empty()) return FileConfig{};
  const std::string path = ConfigPath(env);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return FileConfig{};
  try {
    return ParseConfig(path, YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(
        fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
}

std::optional<std::string> EnvValue(const CliEnv& env,
                                    const std::string& name) {
  if (!env.get_env) return std::nullopt;
  std::optional<std::string> value = env.get_env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

StatusOr<ServerConfig> ResolveServerConfig(const std::string& server_flag,
                                           const std::string& token_flag,
                                           const CliEnv& env, bool with_token) {
  ServerConfig config;
  config.server = !server_flag.empty()
                      ? server_flag
                      : EnvValue(env, "JIT_SERVER").value_or("");
  if (with_token) {
    config.token = !token_flag.empty()
                       ? token_flag
                       : EnvValue(env, "JIT_TOKEN").value_or("");
  }
  if (with_token && config.token.empty()) {
    JIT_ASSIGN_OR_RETURN(std::optional<std::string> login,
                         LoginAccessToken(env));
    if (login) config.token = std::move(*login);
  }
  // The file is read only when needed, so a broken one does not get in the
  // way of explicit flags.
  if (config.server.empty() || (with_token && config.token.empty())) {
    JIT_ASSIGN_OR_RETURN(FileConfig file, LoadConfigFile(env));
    if (config.server.empty()) config.server = file.server.value_or("");
    if (with_token && config.token.empty()) {
      config.token = file.token.value_or("");
    }
  }
  if (config.server.empty()) {
    return FailedPreconditionError(
        "no jitd server configured: pass --server URL, set JIT_SERVER "
        "(e.g. http://127.0.0.1:8420), or put `server: URL` in " +
            (env.home_dir.empty() ? "~/.config/jit/config" : ConfigPath(env)),
        "no_server");
  }
  return config;
}

}  // namespace jit
