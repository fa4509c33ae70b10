#pragma once

#include <string>

#include "jit/base/status.h"
#include "jit/cli/cli.h"

namespace jit {

// Where the CLI sends requests and with which bearer token.
struct ServerConfig {
  std::string server;  // URL with scheme, e.g. "http://127.0.0.1:8420"
  std::string token;   // empty: no Authorization header
};

// Picks server and token, each on its own, from the first source that has
// it: the flag value (non-empty), then JIT_SERVER / JIT_TOKEN, then (token
// only) the login of `jit login` (`<home>/.config/jit/login.json`, refreshed
// when expired), then `<home>/.config/jit/config` (YAML mapping with
// optional `server` and `token` string keys; a missing file is fine).
// Errors: those of LoginAccessToken (an expired login that cannot be
// refreshed is kUnauthenticated); kInvalidArgument "FILE:LINE: reason" for
// a config file that does not parse or has other keys; kFailedPrecondition
// (reason "no_server") when no source names a server. With
// `with_token` false no token is looked up (a break-glass code stands in
// for it, and the login's identity provider may be down).
StatusOr<ServerConfig> ResolveServerConfig(const std::string& server_flag,
                                           const std::string& token_flag,
                                           const CliEnv& env,
                                           bool with_token = true);

}  // namespace jit
