#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "jit/audit/event.h"
#include "jit/audit/verifier.h"
#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/connectors/webhook/address_policy.h"
#include "jit/connectors/webhook/webhook_url.h"
#include "jit/domain/request.h"
#include "jit/storage/store.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/metrics.h"

namespace jit {

// The audit event types that can raise an alert, as named in a notifier's
// `events:` list (docs/audit.md "Alerts"). request.created alerts only for
// requests that wait for approval; grant.expiring is written 5 minutes
// before an active grant ends (ExpiryNotices).
inline constexpr std::string_view kAlertTypes[] = {
    "emergency.used",      "grant.revoke_failed", "drift.found",
    "audit.verify_failed", "request.created",     "grant.expiring"};

// The action ids of the buttons on Slack messages (docs/slack.md); each
// button's value is the id the action is about.
inline constexpr std::string_view kSlackApproveAction = "jitd_approve";  // req_
inline constexpr std::string_view kSlackDenyAction = "jitd_deny";        // req_
inline constexpr std::string_view kSlackExtendAction = "jitd_extend";    // grt_

enum class NotifierType {
  kWebhook,  // signed JSON, as the webhook connector signs its deliveries
  kSlack,    // a Slack-compatible incoming webhook (text + blocks)
};

// One entry of the config's `notifiers:` list.
struct NotifierConfig {
  std::string name;  // [a-z0-9_-]{1,64}: used in file names and metrics
  NotifierType type = NotifierType::kWebhook;
  WebhookUrl url;
  std::string secret;   // webhook: the HMAC key from secret_file
  std::string ca_file;  // https: trust these instead of the system store
  PrivateAddresses private_addresses = PrivateAddresses::kRefuse;
  // Alert types sent to this notifier unasked. Emergency alerts also go to
  // the notifiers a policy names in emergency.notify.
  std::set<std::string, std::less<>> events;
  std::chrono::milliseconds timeout{5'000};       // one delivery attempt
  std::chrono::milliseconds min_backoff{200};     // after a failed attempt,
  std::chrono::milliseconds max_backoff{30'000};  // doubling up to this
};

// Reads one `notifiers:` entry given as JSON (keys name, type, url,
// secret_file, ca_file, events, timeout, allow_private_addresses). Errors:
// kInvalidArgument "ORIGIN: reason" (unknown key or type, bad name, url
// that is not https, unknown event type, unreadable secret_file...).
StatusOr<NotifierConfig> ParseNotifierConfig(const nlohmann::json& entry,
                                             const std::string& origin);

// What one audit event tells the people watching. `fields` hold user text
// as it was entered; renderers escape it for their format.
struct Alert {
  std::string type;  // the audit event type, e.g. "emergency.used"
  int64_t seq = 0;
  SystemTime time{};
  std::string summary;  // one line, built from fields
  nlohmann::json fields = nlohmann::json::object();
  // Notifiers named by the policy (emergency.notify), besides those whose
  // `events` list the type.
  std::vector<std::string> named;
  std::string event_hash;  // the event's chain hash: a stable delivery id
};

// The alert `e` raises, or nullopt when it raises none (a revoke failure
// not yet alerting, a request that needs no approval, other types).
// `request` is the request `e` is about when the store has it; `policies`
// names the approvers of a request waiting for approval. Pure.
std::optional<Alert> AlertFor(const AuditEvent& e, const Request* request,
                              const PolicySet* policies);

// True when `notifier` takes `alert` (named by it, or its type listed).
bool Wants(const NotifierConfig& notifier, const Alert& alert);

// The delivery id every attempt of `alert` to `notifier` carries, the same
// after a restart, so receivers can drop repeats.
std::string AlertDeliveryId(const std::string& notifier, const Alert& alert);

// `type: webhook` body: {delivery_id, notifier, type, time, seq, summary,
// fields}. User text stays JSON data.
std::string WebhookAlertBody(const Alert& alert, const std::string& notifier,
                             const std::string& delivery_id);

// `type: slack` body: {"text": fallback, "blocks": [header section, fields
// section, (actions), context]}. Every text holding user input is escaped
// by SlackText. A request waiting for approval gets Approve and Deny
// buttons, a grant about to expire an Extend button (kSlack*Action, value
// the request or grant id), answered at POST /v1/integrations/slack/actions.
nlohmann::json SlackAlertMessage(const Alert& alert);

// `text` made safe for a Slack message (THREATS T16): '&', '<', '>' as
// &amp; &lt; &gt; (so "<!channel>" mentions no one), bidirectional control
// characters and other invisible format characters as U+FFFD, control
// characters other than newline and tab dropped, invalid UTF-8 as U+FFFD,
// and at most `max_chars` code points of output, cut at a whole character
// or entity and ended with "… (cut)". Pure.
std::string SlackText(std::string_view text, size_t max_chars);

// Turns audit events into alerts and delivers them to the configured
// notifiers (docs/audit.md "Alerts"). Each notifier follows the audit log on
// its own thread and only reads the store, so a notifier that is down or
// slow never holds up request handling or the other notifiers. Alerts reach
// a notifier in seq order, at least once: a failed delivery is tried again
// with bounded exponential backoff, and nothing later is sent before it.
//
// Each notifier's position (seq of the last event it has dealt with) is kept
// in `state_dir`/alerts_NAME.json, written atomically after every delivery,
// so a restart sends nothing twice that was answered 2xx and skips nothing.
// Without that file a notifier starts at the log's head at Create (a new
// notifier is not sent the log's history), and the file is written then.
// `state_dir` empty: positions are not kept, start at the log's head (memory
// store).
//
// Thread-safe: Start/Stop from any thread; accessors at any time.
class AlertNotifier {
 public:
  // Nothing is sent yet. Errors: kInvalidArgument for a CA file that cannot
  // be loaded or a state file that is not one of ours; kUnavailable when
  // the log's head or a state file cannot be read, or a missing state file
  // cannot be written.
  static StatusOr<std::unique_ptr<AlertNotifier>> Create(
      Store& store, AuditFeed& feed, const PolicyHolder& policies,
      Metrics& metrics, const Clock& clock,
      std::vector<NotifierConfig> notifiers, const std::string& state_dir);
  ~AlertNotifier();
  AlertNotifier(const AlertNotifier&) = delete;
  AlertNotifier& operator=(const AlertNotifier&) = delete;

  void Start();
  // Ends every thread; returns once they have (at most about one delivery
  // timeout).
  void Stop();

  // The seq of the last event `notifier` has dealt with; nullopt for an
  // unknown name.
  std::optional<int64_t> NotifiedThrough(std::string_view notifier) const;
  // The last failure of `notifier`, "" after a success or for an unknown
  // name.
  std::string LastError(std::string_view notifier) const;

 private:
  class Channel;
  AlertNotifier() = default;
  std::vector<std::unique_ptr<Channel>> channels_;
};

// Records an `audit.verify_failed` event when a verification of the audit
// log fails, once per distinct failure (its first bad seq), not on every
// verification that finds it again; a verification that passes re-arms it.
// The last failure recorded is kept in `state_path` (empty: not kept) so a
// restart does not raise it again. Thread-safe.
class VerifyFailureAlarm {
 public:
  VerifyFailureAlarm(Store& store, const Clock& clock, std::string state_path);

  // Reads the state file; kUnavailable when it exists but cannot be read,
  // kInvalidArgument when it is not one of ours.
  Status Load();
  // Called with every verification result. Errors: as Store::Commit (the
  // failure is then raised again by the next verification).
  Status Verified(const VerifyResult& result);

 private:
  Status SaveState(std::optional<int64_t> first_bad_seq);

  Store& store_;
  const Clock& clock_;
  const std::string state_path_;
  std::mutex mu_;
  std::optional<int64_t> raised_;  // first_bad_seq raised; guarded by mu_
};

}  // namespace jit
