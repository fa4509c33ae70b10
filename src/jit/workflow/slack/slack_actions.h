#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/storage/store.h"
#include "jit/workflow/alert_notifier.h"  // kSlack*Action
#include "jit/workflow/deps.h"
#include "jit/workflow/request_service.h"
#include "jit/workflow/seen_subjects.h"
#include "jit/workflow/slack/slack_signature.h"

namespace jit {

// Config `integrations: {slack: {signing_secret_file, users}}`.
struct SlackIntegrationConfig {
  std::string signing_secret;  // from signing_secret_file; never logged
  // Slack user id (e.g. "U012ABC") -> jitd subject name. Only these people
  // can act from Slack, each as exactly that subject.
  std::map<std::string, std::string> users;
};

// Reads the `integrations.slack` block given as JSON. Errors:
// kInvalidArgument "ORIGIN: integrations.slack: reason" (unknown key, a
// signing_secret_file that cannot be read, is readable or writable by group
// or others, or is shorter than 16 bytes; a user id not in Slack's shape,
// an empty subject name).
StatusOr<SlackIntegrationConfig> ParseSlackIntegrationConfig(
    const nlohmann::json& block, const std::string& origin);

// One button press, as Slack sends it (block_actions).
struct SlackAction {
  std::string user_id;    // payload.user.id
  std::string action_id;  // payload.actions[0].action_id
  std::string value;      // payload.actions[0].value
};

// The first action of a block_actions payload (the JSON text of the form
// field `payload`). kInvalidArgument when it is not JSON, not block_actions,
// or lacks the user or the action.
StatusOr<SlackAction> ParseSlackAction(std::string_view payload_json);

// What Slack sent, as the HTTP layer received it.
struct SlackDelivery {
  std::optional<std::string> timestamp;  // X-Slack-Request-Timestamp
  std::optional<std::string> signature;  // X-Slack-Signature
  std::string body;                      // the raw body, as signed
  // Its form field `payload`, decoded; unset when the body has none that
  // could be read (answered only after the signature is checked).
  std::optional<std::string> payload;
};

// Applies Slack button presses (docs/slack.md): checks Slack's signature
// (SlackRequestVerifier), maps the Slack user to a jitd subject, and calls
// the same RequestService methods as the REST API with that subject's
// Principal, so separation of duties is the API's own (THREATS T1-T3). The
// Principal carries no role and `via` slack, which the audit event records.
// Thread-safe.
class SlackActionService {
 public:
  // Everything borrowed outlives this. `seen` may be null (no IdP).
  // `replays`, when given, also remembers every accepted signature durably
  // (its idempotency table), so a press replayed after a restart, or to
  // another replica, is refused too.
  SlackActionService(SlackIntegrationConfig config, RequestService& requests,
                     const PolicyHolder& policies, const SeenSubjects* seen,
                     const Clock& clock, SlackVerifierOptions options = {},
                     Store* replays = nullptr);

  // The message to answer Slack with (200): the outcome replaces the
  // original message, a refusal (unmapped user, self approval, not an
  // approver, conflict...) is shown to the presser alone and changes
  // nothing. Errors (nothing changed): as SlackRequestVerifier::Verify
  // (kUnauthenticated for a bad, stale or replayed signature), and
  // kInvalidArgument for a payload jitd cannot read.
  StatusOr<nlohmann::json> Handle(const SlackDelivery& in);

 private:
  // The subject `slack_user` maps to, with its current groups.
  StatusOr<Principal> PrincipalOf(const std::string& slack_user) const;
  nlohmann::json Apply(const Principal& who, const SlackAction& action);
  StatusOr<RequestView> ExtendFromSlack(const Principal& who,
                                        const std::string& grant_id);

  const SlackIntegrationConfig config_;
  RequestService& requests_;
  const PolicyHolder& policies_;
  const SeenSubjects* const seen_;
  const Clock& clock_;
  SlackRequestVerifier verifier_;
  Store* const replays_;
};

}  // namespace jit
