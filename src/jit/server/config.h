#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/api/auth_rate_limiter.h"
#include "jit/api/authenticator.h"
#include "jit/api/http_server.h"
#include "jit/base/duration.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"
#include "jit/identity/oidc_config.h"
#include "jit/identity/step_up.h"
#include "jit/policy/policy.h"
#include "jit/workflow/alert_notifier.h"
#include "jit/workflow/slack/slack_actions.h"
#include "jit/workflow/syslog_forwarder.h"

namespace jit {

// A connector's `discovery:` block: look for standing privileges every
// `every`; `report` records drift.found, `enforce` also revokes them.
struct DiscoveryConfig {
  std::string connector;
  std::string mode = "report";
  Duration every = std::chrono::minutes(10);
};

// The whole jitd YAML file (DESIGN.md "Configuration"), validated.
struct Config {
  std::string path;
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 8420;
  std::string data_dir = "./var/jitd";
  std::string storage = "sqlite";  // or "memory" (tests, demos: nothing kept)
                                   // or "postgres"
  // libpq connection string for storage "postgres" (from `dsn_file` it may
  // hold a password: never log it).
  std::string postgres_dsn;
  std::vector<TokenEntry> tokens;
  // `auth.oidc`: bearer JWTs from this OpenID provider (unset: static
  // tokens only).
  std::optional<OidcConfig> oidc;
  RoleGroups roles;
  std::vector<ConnectorConfig> connectors;
  std::vector<DiscoveryConfig> discovery;
  // Unix socket for local enforcement points (pam_jit); empty = none.
  std::string enforcement_socket;
  // `audit:` when the log's head is signed (CheckpointSchedule).
  Duration checkpoint_every = std::chrono::minutes(1);
  int64_t checkpoint_events = 1000;
  // `audit.syslog`: forward the log to a collector (unset: no forwarding).
  std::optional<SyslogOptions> syslog;
  // `notifiers:` where alerts go (AlertNotifier); policies name them in
  // emergency.notify.
  std::vector<NotifierConfig> notifiers;
  // `integrations.slack`: Slack buttons answered at
  // POST /v1/integrations/slack/actions (unset: that route answers 404).
  std::optional<SlackIntegrationConfig> slack;
  std::shared_ptr<const PolicySet> policies;
  std::string log_level = "info";
  // `tls: {cert, key, handshake_timeout}`: serve HTTPS (unset: plain HTTP).
  std::optional<TlsFiles> tls;
  Duration tls_handshake_timeout = std::chrono::seconds(10);
  // `auth.rate_limit: {failures, per, max_sources}`.
  AuthRateLimitOptions auth_rate_limit;
  // `auth.machine_tokens.max_ttl`: the longest life of a machine token.
  Duration machine_token_max_ttl = std::chrono::hours(24 * 90);
  // `auth.mfa`: what counts as a recent second factor (require.mfa,
  // approval.mfa).
  MfaOptions mfa;
  // `web: {dir: PATH}`: the built web console served at `/` (relative to
  // the working directory, like data_dir). The default is where `make`
  // builds it in the source tree; a missing directory is no error (the
  // console then answers how to build it).
  std::string web_dir = "web/dist";
};

// Loads and validates `path`. Unknown keys, wrong types, duplicate token
// subjects or token values, entitlements naming unknown connectors... are
// kInvalidArgument "FILE:LINE: reason". Nothing is started.
StatusOr<Config> LoadConfig(const std::string& path);

// True for 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and "localhost".
// 0.0.0.0 and :: (every address) are not loopback.
bool IsLoopbackHost(std::string_view host);

enum class InsecureListen { kRefuse, kAllow };

// kFailedPrecondition (the message says what to do) when `c` would serve
// plain HTTP on a non-loopback address and `insecure` is kRefuse.
Status CheckListenSecurity(const Config& c, InsecureListen insecure);

// Parses "HOST:PORT" (IPv4 or [IPv6]); kInvalidArgument otherwise.
Status ParseListen(const std::string& text, std::string& address,
                   uint16_t& port);

}  // namespace jit
