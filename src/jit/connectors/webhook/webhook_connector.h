#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"
#include "jit/connectors/webhook/address_policy.h"
#include "jit/connectors/webhook/webhook_transport.h"
#include "jit/connectors/webhook/webhook_url.h"

namespace jit {

// What `type: webhook` calls. Every action has its own URL; with a single
// `url`, all of them are that URL.
struct WebhookConnectorConfig {
  std::string name;
  WebhookUrl grant_url;
  WebhookUrl revoke_url;
  WebhookUrl check_url;
  WebhookUrl sessions_url;  // "sessions" and "kill_sessions"
  std::string secret;       // HMAC key: secret_file, trailing space cut
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // per attempt
  int retries = 3;      // attempts after the first, for retryable failures
  std::string ca_file;  // empty: the system trust store
  PrivateAddresses private_addresses = PrivateAddresses::kRefuse;
  // First wait between attempts, doubled each time (capped at 2 s).
  std::chrono::milliseconds first_backoff{100};
};

// Reads and checks a `type: webhook` entry. Keys: name, type, url, or all
// of grant_url/revoke_url/check_url (url, when given too, is the default
// for the ones not given and for the session actions; without url those go
// to check_url); secret_file (required; at least 16 bytes after trailing
// whitespace is cut, at most 4 KiB; not readable or writable by others);
// timeout (duration, default 5s, at most 60s); retries (0..10, default 3);
// ca_file (PEM, loaded here); allow_private_addresses (default false);
// discovery (ignored: the server's key). URLs must be https, except
// http://localhost with allow_private_addresses (for tests; the transport
// sends http to loopback addresses only). An address literal in a URL is
// checked here (CheckAddress); names are checked at every call.
// kInvalidArgument "ORIGIN: ..." otherwise.
StatusOr<WebhookConnectorConfig> ParseWebhookConnectorConfig(
    const ConnectorConfig& config);

// A connector that delivers every action as a signed JSON POST to its
// configured URLs only (docs/connectors/webhook.md has the wire format and
// the signing scheme). Thread-safe. Host names are looked up on threads the
// connector owns (WebhookTransport), so every call returns by its deadline;
// destroying the connector waits for lookups still running.
//
// Each call is one delivery (one delivery id) of up to 1 + retries
// attempts, each bounded by min(timeout, time left to the deadline), name
// lookup included.
// Answers and errors:
//   2xx           success; `check` needs {"active": bool}; `sessions` and
//                 `kill_sessions` read an optional {"sessions": [{"id",
//                 "description"?}]}.
//   5xx, 408, 429, transport failures
//                 retried with exponential backoff while the deadline
//                 allows, then kUnavailable.
//   400, 422      kInvalidArgument, not retried.
//   other 4xx     kFailedPrecondition, not retried.
//   3xx           kFailedPrecondition: redirects are never followed.
//   a refused address (THREATS T19)
//                 kFailedPrecondition, nothing connected to.
//   an answer over 64 KiB or not the JSON asked for
//                 kUnavailable, not retried within the call.
// A deadline already passed: kDeadlineExceeded, nothing sent.
class WebhookConnector final : public Connector {
 public:
  // kInvalidArgument when the CA file cannot be loaded. `clock` (for the
  // signature timestamp) must outlive the connector.
  static StatusOr<std::unique_ptr<WebhookConnector>> Create(
      WebhookConnectorConfig config, const Clock& clock);

  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  // Sends kill_sessions; the survivors are the answer's "sessions" when it
  // has them, else what a following "sessions" delivery lists.
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;

 private:
  WebhookConnector(WebhookConnectorConfig config,
                   std::unique_ptr<WebhookTransport> transport,
                   const Clock& clock)
      : config_(std::move(config)),
        transport_(std::move(transport)),
        clock_(clock) {}

  // Delivers `action` for `g` to `url` with retries; the parsed 2xx answer
  // (an empty body reads as {}).
  StatusOr<nlohmann::json> Deliver(std::string_view action,
                                   const WebhookUrl& url, const GrantSpec& g,
                                   Deadline deadline) const;
  StatusOr<WebhookAnswer> Attempt(const WebhookUrl& url,
                                  const std::string& body,
                                  const std::string& delivery_id,
                                  Deadline deadline) const;
  StatusOr<std::vector<Session>> SessionsIn(const nlohmann::json& answer,
                                            std::string_view action) const;
  std::string Context(std::string_view action, const GrantSpec& g) const;

  const WebhookConnectorConfig config_;
  const std::unique_ptr<WebhookTransport> transport_;
  const Clock& clock_;
};

// ConnectorFactory for `type: webhook`; signs with env.clock's time.
StatusOr<std::unique_ptr<Connector>> MakeWebhookConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
