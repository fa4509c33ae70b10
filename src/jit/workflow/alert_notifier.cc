#include "jit/workflow/alert_notifier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/files.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/webhook/webhook_signature.h"
#include "jit/connectors/webhook/webhook_transport.h"
#include "jit/workflow/principal.h"

namespace jit {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kBatch = 100;
constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::seconds(60);
constexpr std::string_view kCutMarker = "\u2026 (cut)";
constexpr std::string_view kReplacement = "\uFFFD";
constexpr size_t kSummaryChars = 300;
constexpr size_t kShortFieldChars = 200;
constexpr size_t kLongFieldChars = 1000;
constexpr size_t kSlackMaxFields = 10;  // Slack's limit per section

const std::vector<std::string> kNotifierKeys = {
    "name",    "type",   "url",     "secret_file",
    "ca_file", "events", "timeout", "allow_private_addresses"};

// --- config

Status Bad(const std::string& origin, const std::string& what) {
  return InvalidArgumentError(origin + ": notifier: " + what);
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

StatusOr<std::string> StringKey(const json& entry, const char* key,
                                const std::string& origin) {
  auto it = entry.find(key);
  if (it == entry.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Bad(origin, fmt::format("{} must be text", key));
  return it->get<std::string>();
}

Status CheckKnownKeys(const json& entry, const std::string& origin) {
  for (const auto& [key, value] : entry.items()) {
    if (std::find(kNotifierKeys.begin(), kNotifierKeys.end(), key) !=
        kNotifierKeys.end())
      continue;
    std::string known;
    for (const std::string& k : kNotifierKeys)
      known += (known.empty() ? "" : ", ") + k;
    return Bad(origin,
               fmt::format("unknown key \"{}\" (known: {})", key, known));
  }
  return OkStatus();
}

// As the webhook connector: https, or http to host localhost only with
// allow_private_addresses (tests).
Status ReadNotifierUrl(const std::string& text, const std::string& origin,
                       NotifierConfig& out) {
  if (text.empty()) return Bad(origin, "url is required");
  StatusOr<WebhookUrl> url = ParseWebhookUrl(text);
  if (!url.ok()) return Bad(origin, url.status().message());
  if (url->literal) {
    Status allowed = CheckAddress(*url->literal, out.private_addresses);
    if (!allowed.ok()) return Bad(origin, allowed.message());
  }
  if (url->scheme == UrlScheme::kHttp &&
      (url->host != "localhost" || url->literal ||
       out.private_addresses != PrivateAddresses::kAllow)) {
    return Bad(origin,
               "url must be https (http only to host localhost with "
               "allow_private_addresses, for tests)");
  }
  out.url = std::move(url).value();
  return OkStatus();
}

Status ReadEvents(const json& entry, const std::string& origin,
                  NotifierConfig& out) {
  auto it = entry.find("events");
  if (it == entry.end() || it->is_null()) return OkStatus();
  if (!it->is_array()) return Bad(origin, "events must be a list");
  for (const json& item : *it) {
    const std::string name = item.is_string() ? item.get<std::string>() : "";
    if (std::find(std::begin(kAlertTypes), std::end(kAlertTypes), name) ==
        std::end(kAlertTypes)) {
      std::string known;
      for (std::string_view t : kAlertTypes)
        known += std::string(known.empty() ? "" : ", ") + std::string(t);
      return Bad(origin,
                 fmt::format("events: unknown alert type {} (known: {})",
                             item.dump(), known));
    }
    out.events.insert(name);
  }
  return OkStatus();
}

Status ReadTimeout(const json& entry, const std::string& origin,
                   NotifierConfig& out) {
  JIT_ASSIGN_OR_RETURN(std::string text, StringKey(entry, "timeout", origin));
  if (text.empty()) return OkStatus();
  StatusOr<Duration> d = ParseDuration(text);
  if (!d.ok() || *d < std::chrono::milliseconds(100) || *d > kMaxTimeout)
    return Bad(origin, "timeout must be a duration from 100ms to 60s");
  out.timeout = *d;
  return OkStatus();
}

// --- alerts

json DataOf(const AuditEvent& e) {
  json data = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
  return data.is_object() ? data : json::object();
}

std::string Str(const json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> Strings(const json& data, const char* key) {
  std::vector<std::string> out;
  auto it = data.find(key);
  if (it == data.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

Alert NewAlert(const AuditEvent& e) {
  Alert a;
  a.type = std::string(ToString(e.type));
  a.seq = e.seq;
  a.time = e.time;
  a.event_hash = e.hash;
  return a;
}

std::optional<Alert> EmergencyAlert(const AuditEvent& e, const json& data,
                                    const Request* request) {
  Alert a = NewAlert(e);
  const std::string entitlement =
      request != nullptr ? request->entitlement : Str(data, "entitlement");
  const std::string duration =
      request != nullptr ? FormatDuration(request->duration) : "";
  a.fields = {{"requester", e.subject},
              {"entitlement", entitlement},
              {"duration", duration},
              {"policy", Str(data, "policy")},
              {"justification", Str(data, "justification")},
              {"ticket", Str(data, "ticket")},
              {"request_id", e.request_id}};
  a.summary = fmt::format("{} used emergency access to {}{}", e.subject,
                          entitlement.empty() ? "an entitlement" : entitlement,
                          duration.empty() ? "" : " for " + duration);
  a.named = Strings(data, "notify");
  return a;
}

std::optional<Alert> RevokeFailedAlert(const AuditEvent& e, const json& data) {
  auto alert = data.find("alert");
  if (alert == data.end() || !alert->is_boolean() || !alert->get<bool>())
    return std::nullopt;
  Alert a = NewAlert(e);
  const std::string entitlement = Str(data, "entitlement");
  a.fields = {{"subject", e.subject},
              {"entitlement", entitlement},
              {"error", Str(data, "error")},
              {"attempt", data.value("attempt", 0)},
              {"next_attempt_at", Str(data, "next_attempt_at")},
              {"grant_id", e.grant_id},
              {"request_id", e.request_id}};
  a.summary = fmt::format(
      "revoke of {} from {} has been failing for over 5 minutes (grant {})",
      entitlement, e.subject, e.grant_id);
  return a;
}

std::optional<Alert> DriftAlert(const AuditEvent& e, const json& data) {
  Alert a = NewAlert(e);
  a.fields = {{"connector", Str(data, "connector")},
              {"target_user", Str(data, "target_user")},
              {"privilege", Str(data, "privilege")},
              {"detail", Str(data, "detail")},
              {"action", Str(data, "action")},
              {"since", Str(data, "since")},
              {"error", Str(data, "error")}};
  a.summary = fmt::format("{} holds {} in {} with no grant ({})",
                          Str(data, "target_user"), Str(data, "privilege"),
                          Str(data, "connector"), Str(data, "action"));
  return a;
}

std::optional<Alert> VerifyFailedAlert(const AuditEvent& e, const json& data) {
  Alert a = NewAlert(e);
  const int64_t first_bad = data.value("first_bad_seq", int64_t{0});
  a.fields = {{"first_bad_seq", first_bad},
              {"reason", Str(data, "reason")},
              {"proven_through", data.value("proven_through", int64_t{0})}};
  a.summary = fmt::format(
      "the audit log no longer verifies: first bad event {}", first_bad);
  return a;
}

std::optional<Alert> ExpiringAlert(const AuditEvent& e, const json& data) {
  Alert a = NewAlert(e);
  const std::string entitlement = Str(data, "entitlement");
  a.fields = {{"subject", e.subject},
              {"entitlement", entitlement},
              {"expires_at", Str(data, "expires_at")},
              {"grant_id", e.grant_id},
              {"request_id", e.request_id}};
  a.summary = fmt::format("{}'s access to {} expires in 5 minutes", e.subject,
                          entitlement);
  return a;
}

std::optional<Alert> ApprovalNeededAlert(const AuditEvent& e, const json& data,
                                         const PolicySet* policies) {
  const int needed = data.value("approvals_required", 0);
  if (needed <= 0) return std::nullopt;
  Alert a = NewAlert(e);
  const std::string policy = Str(data, "policy");
  PolicyApprovers approvers;
  if (policies != nullptr) approvers = policies->ApproversOf(policy);
  a.fields = {{"requester", e.subject},
              {"entitlement", Str(data, "entitlement")},
              {"duration", Str(data, "duration")},
              {"policy", policy},
              {"justification", Str(data, "justification")},
              {"ticket", Str(data, "ticket")},
              {"approvals_required", needed},
              {"approver_groups", approvers.groups},
              {"approver_users", approvers.users},
              {"request_id", e.request_id}};
  if (data.value("emergency", false)) a.fields["emergency"] = true;
  if (!Str(data, "start_at").empty())
    a.fields["start_at"] = Str(data, "start_at");
  a.summary =
      fmt::format("{} asks for {} for {}; {} approval{} needed", e.subject,
                  Str(data, "entitlement"), Str(data, "duration"), needed,
                  needed == 1 ? "" : "s");
  return a;
}

// --- Slack rendering

struct FieldLabel {
  const char* key;
  const char* label;
};

// Display order. Long fields get a section of their own.
constexpr FieldLabel kShortFields[] = {
    {"requester", "Requester"},
    {"subject", "Subject"},
    {"entitlement", "Entitlement"},
    {"duration", "Duration"},
    {"start_at", "Starts at"},
    {"policy", "Policy"},
    {"ticket", "Ticket"},
    {"approvals_required", "Approvals needed"},
    {"approver_groups", "Approver groups"},
    {"approver_users", "Approvers"},
    {"connector", "Connector"},
    {"target_user", "Target user"},
    {"privilege", "Privilege"},
    {"action", "Action"},
    {"since", "Since"},
    {"attempt", "Attempt"},
    {"next_attempt_at", "Next attempt"},
    {"expires_at", "Expires at"},
    {"first_bad_seq", "First bad event"},
    {"proven_through", "Proven through"},
    {"request_id", "Request"},
    {"grant_id", "Grant"},
};
constexpr FieldLabel kLongFields[] = {
    {"justification", "Justification"},
    {"reason", "Reason"},
    {"error", "Error"},
    {"detail", "Detail"},
};

std::string_view TitleOf(const std::string& type) {
  if (type == "emergency.used") return "Emergency access used";
  if (type == "grant.revoke_failed") return "Revoke failing";
  if (type == "drift.found") return "Privilege held outside jitd";
  if (type == "audit.verify_failed") return "Audit log verification failed";
  if (type == "request.created") return "Approval needed";
  if (type == "grant.expiring") return "Access expires soon";
  return "jitd alert";
}

// The field's value as text; "" for empty values (not shown).
std::string PlainValue(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (!v.is_array()) return "";
  std::string out;
  for (const json& item : v) {
    if (!item.is_string()) continue;
    out += (out.empty() ? "" : ", ") + item.get<std::string>();
  }
  return out;
}

json Button(std::string_view action, const char* label, const std::string& id,
            const char* style) {
  json b = {{"type", "button"},
            {"action_id", action},
            {"text", {{"type", "plain_text"}, {"text", label}}},
            {"value", id}};
  if (style != nullptr) b["style"] = style;
  return b;
}

// The buttons of an alert; null when it has none. Ids come from jitd,
// never from user text.
json ActionsOf(const Alert& alert) {
  const auto id = [&](const char* key) {
    auto it = alert.fields.find(key);
    return it != alert.fields.end() && it->is_string() ? it->get<std::string>()
                                                       : "";
  };
  json buttons = json::array();
  if (alert.type == "request.created" && !id("request_id").empty()) {
    buttons.push_back(
        Button(kSlackApproveAction, "Approve", id("request_id"), "primary"));
    buttons.push_back(
        Button(kSlackDenyAction, "Deny", id("request_id"), "danger"));
  }
  if (alert.type == "grant.expiring" && !id("grant_id").empty())
    buttons.push_back(Button(kSlackExtendAction, "Extend", id("grant_id"),
                             /*style=*/nullptr));
  if (buttons.empty()) return nullptr;
  return {{"type", "actions"}, {"elements", std::move(buttons)}};
}

json Mrkdwn(std::string text) {
  // verbatim: Slack neither links nor expands @names or #channels in it.
  return {{"type", "mrkdwn"}, {"text", std::move(text)}, {"verbatim", true}};
}

// Reads the UTF-8 code point at `text[i]` into `cp`, moving `i` past it;
// false when the bytes there are not valid UTF-8 (then `i` moves one byte).
bool DecodeUtf8(std::string_view text, size_t& i, char32_t& cp) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  int extra = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    cp = lead;
    ++i;
    return true;
  }
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    ++i;
    return false;
  }
  if (i + extra >= text.size()) {
    ++i;
    return false;
  }
  for (int k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return false;
  }
  i += extra + 1;
  return true;
}

// Invisible characters that reorder or hide text (bidi controls, zero
// width characters, BOM): a reader must not see other text than was sent.
bool IsFormatCharacter(char32_t cp) {
  return cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// What one code point becomes in Slack text; "" when it is dropped.
std::string SlackPiece(bool valid, char32_t cp) {
  if (!valid || IsFormatCharacter(cp)) return std::string(kReplacement);
  if (cp == '&') return "&amp;";
  if (cp == '<') return "&lt;";
  if (cp == '>') return "&gt;";
  if (cp == '\n' || cp == '\t') return std::string(1, static_cast<char>(cp));
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return "";
  std::string out;
  AppendUtf8(out, cp);
  return out;
}

// --- state files

StatusOr<std::optional<json>> ReadStateFile(const std::string& path) {
  std::error_code exists_ec;
  if (path.empty() || !std::filesystem::exists(path, exists_ec))
    return std::optional<json>();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return UnavailableError("cannot read " + path);
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgumentError(path + ": not a JSON object");
  return std::optional<json>(std::move(j));
}

Status WriteStateFile(const std::string& path, const json& state) {
  if (path.empty()) return OkStatus();
  using std::filesystem::perms;
  return WriteFileAtomically(path, state.dump() + "\n",
                             perms::owner_read | perms::owner_write);
}

}  // namespace

StatusOr<NotifierConfig> ParseNotifierConfig(const json& entry,
                                             const std::string& origin) {
  if (!entry.is_object()) return Bad(origin, "must be a mapping");
  JIT_RETURN_IF_ERROR(CheckKnownKeys(entry, origin));
  NotifierConfig out;
  JIT_ASSIGN_OR_RETURN(out.name, StringKey(entry, "name", origin));
  if (!ValidName(out.name))
    return Bad(origin, "name must be 1 to 64 of a-z, 0-9, - and _");
  JIT_ASSIGN_OR_RETURN(std::string type, StringKey(entry, "type", origin));
  if (type == "webhook") {
    out.type = NotifierType::kWebhook;
  } else if (type == "slack") {
    out.type = NotifierType::kSlack;
  } else {
    return Bad(origin, "type must be webhook or slack");
  }
  auto allow = entry.find("allow_private_addresses");
  if (allow != entry.end() && !allow->is_boolean())
    return Bad(origin, "allow_private_addresses must be true or false");
  if (allow != entry.end() && allow->get<bool>())
    out.private_addresses = PrivateAddresses::kAllow;
  JIT_ASSIGN_OR_RETURN(std::string url, StringKey(entry, "url", origin));
  JIT_RETURN_IF_ERROR(ReadNotifierUrl(url, origin, out));
  JIT_ASSIGN_OR_RETURN(std::string secret_file,
                       StringKey(entry, "secret_file", origin));
  if (out.type == NotifierType::kSlack && !secret_file.empty()) {
    return Bad(origin,
               "secret_file is for type webhook (a Slack incoming webhook "
               "URL is its own secret)");
  }
  if (out.type == NotifierType::kWebhook) {
    if (secret_file.empty()) return Bad(origin, "secret_file is required");
    StatusOr<std::string> secret = ReadWebhookSecretFile(secret_file);
    if (!secret.ok()) return Bad(origin, secret.status().message());
    out.secret = std::move(secret).value();
  }
  JIT_ASSIGN_OR_RETURN(out.ca_file, StringKey(entry, "ca_file", origin));
  if (!out.ca_file.empty() && !std::ifstream(out.ca_file).good())
    return Bad(origin, "cannot read ca_file " + out.ca_file);
  JIT_RETURN_IF_ERROR(ReadEvents(entry, origin, out));
  JIT_RETURN_IF_ERROR(ReadTimeout(entry, origin, out));
  return out;
}

std::optional<Alert> AlertFor(const AuditEvent& e, const Request* request,
                              const PolicySet* policies) {
  switch (e.type) {
    case AuditType::kEmergencyUsed:
      return EmergencyAlert(e, DataOf(e), request);
    case AuditType::kGrantRevokeFailed:
      return RevokeFailedAlert(e, DataOf(e));
    case AuditType::kDriftFound:
      return DriftAlert(e, DataOf(e));
    case AuditType::kAuditVerifyFailed:
      return VerifyFailedAlert(e, DataOf(e));
    case AuditType::kRequestCreated:
      return ApprovalNeededAlert(e, DataOf(e), policies);
    case AuditType::kGrantExpiring:
      return ExpiringAlert(e, DataOf(e));
    default:
      return std::nullopt;
  }
}

bool Wants(const NotifierConfig& notifier, const Alert& alert) {
  if (notifier.events.count(alert.type) > 0) return true;
  return std::find(alert.named.begin(), alert.named.end(), notifier.name) !=
         alert.named.end();
}

std::string AlertDeliveryId(const std::string& notifier, const Alert& alert) {
  return "alr_" + Sha256Hex(notifier + "\n" + std::to_string(alert.seq) + "\n" +
                            alert.event_hash)
                      .substr(0, 32);
}

std::string WebhookAlertBody(const Alert& alert, const std::string& notifier,
                             const std::string& delivery_id) {
  json body = {{"delivery_id", delivery_id}, {"notifier", notifier},
               {"type", alert.type},         {"time", FormatTime(alert.time)},
               {"seq", alert.seq},           {"summary", alert.summary},
               {"fields", alert.fields}};
  // Text from target systems may be invalid UTF-8: replaced, never thrown.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string SlackText(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = 0;
    const bool valid = DecodeUtf8(text, i, cp);
    const std::string piece = SlackPiece(valid, cp);
    // Every piece is one character or an ASCII entity.
    const size_t width = piece.size() > 1 && piece[0] == '&' ? piece.size()
                         : piece.empty()                     ? 0
                                                             : 1;
    if (chars + width > max_chars) {
      out += kCutMarker;
      return out;
    }
    out += piece;
    chars += width;
  }
  return out;
}

json SlackAlertMessage(const Alert& alert) {
  json blocks = json::array();
  blocks.push_back(
      {{"type", "header"},
       {"text", {{"type", "plain_text"}, {"text", TitleOf(alert.type)}}}});
  blocks.push_back({{"type", "section"},
                    {"text", Mrkdwn(SlackText(alert.summary, kSummaryChars))}});
  json fields = json::array();
  for (const FieldLabel& f : kShortFields) {
    auto it = alert.fields.find(f.key);
    if (it == alert.fields.end() || fields.size() == kSlackMaxFields) continue;
    const std::string value = PlainValue(*it);
    if (value.empty()) continue;
    fields.push_back(Mrkdwn(
        fmt::format("*{}*\n{}", f.label, SlackText(value, kShortFieldChars))));
  }
  if (!fields.empty())
    blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
  for (const FieldLabel& f : kLongFields) {
    auto it = alert.fields.find(f.key);
    if (it == alert.fields.end()) continue;
    const std::string value = PlainValue(*it);
    if (value.empty()) continue;
    blocks.push_back(
        {{"type", "section"},
         {"text", Mrkdwn(fmt::format("*{}*\n{}", f.label,
                                     SlackText(value, kLongFieldChars)))}});
  }
  if (json actions = ActionsOf(alert); !actions.is_null())
    blocks.push_back(std::move(actions));
  blocks.push_back({{"type", "context"},
                    {"elements", json::array({Mrkdwn(fmt::format(
                                     "jitd {} · audit seq {} · {}", alert.type,
                                     alert.seq, FormatTime(alert.time)))})}});
  return {{"text", fmt::format("{}: {}", TitleOf(alert.type),
                               SlackText(alert.summary, kSummaryChars))},
          {"blocks", std::move(blocks)}};
}

// One notifier following the log on its own thread.
class AlertNotifier::Channel {
 public:
  Channel(Store& store, AuditFeed& feed, const PolicyHolder& policies,
          Metrics& metrics, const Clock& clock, NotifierConfig config,
          std::unique_ptr<WebhookTransport> transport, std::string state_path,
          int64_t position)
      : store_(store),
        feed_(feed),
        policies_(policies),
        metrics_(metrics),
        clock_(clock),
        config_(std::move(config)),
        transport_(std::move(transport)),
        state_path_(std::move(state_path)),
        position_(position) {}
  ~Channel() { Stop(); }

  const std::string& name() const { return config_.name; }
  int64_t position() const { return position_.load(); }
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

  void Start() {
    std::lock_guard start_lock(start_mu_);
    if (thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stopping_ = false;
    }
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    std::lock_guard start_lock(start_mu_);
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::chrono::milliseconds backoff = config_.min_backoff;
    std::string logged;  // logged once per new kind of failure, not per retry
    while (!Stopping()) {
      std::string error;
      if (Step(error)) {
        backoff = config_.min_backoff;
        logged.clear();
        continue;
      }
      if (error.empty()) {
        WaitForEvents();
        continue;
      }
      if (error != logged)
        spdlog::warn("notifier {}: {} (will retry)", config_.name, error);
      logged = error;
      SetError(error);
      WaitFor(backoff);
      backoff = std::min(backoff * 2, config_.max_backoff);
    }
  }

  // Reads the next batch and deals with it. True when it moved on; false
  // when there was nothing new or a delivery failed (`error` says why).
  bool Step(std::string& error) {
    StatusOr<std::vector<AuditEvent>> events =
        store_.ReadAudit(position_.load(), kBatch);
    if (!events.ok()) {
      error = "reading the audit log: " + events.status().ToString();
      return false;
    }
    if (events->empty()) return false;
    for (const AuditEvent& e : *events) {
      if (Stopping()) return true;
      std::optional<Alert> alert = Consider(e);
      if (alert && Wants(config_, *alert)) {
        if (Status s = Deliver(*alert); !s.ok()) {
          metrics_.CountAlert(config_.name, AlertOutcome::kFailed);
          error = std::string(s.message());
          return false;
        }
        metrics_.CountAlert(config_.name, AlertOutcome::kSent);
        position_.store(e.seq);
        SaveState();
        SetError("");
        continue;
      }
      position_.store(e.seq);
    }
    return true;
  }

  std::optional<Alert> Consider(const AuditEvent& e) {
    std::optional<Request> request;
    if (e.type == AuditType::kEmergencyUsed && !e.request_id.empty()) {
      StatusOr<Request> r = store_.GetRequest(e.request_id);
      if (r.ok()) request = std::move(r).value();
    }
    std::shared_ptr<const PolicySnapshot> snap = policies_.Get();
    return AlertFor(e, request ? &*request : nullptr,
                    snap ? snap->policies.get() : nullptr);
  }

  Status Deliver(const Alert& alert) {
    const std::string delivery_id = AlertDeliveryId(config_.name, alert);
    HeaderList headers = {{"Content-Type", "application/json"}};
    std::string body;
    if (config_.type == NotifierType::kWebhook) {
      body = WebhookAlertBody(alert, config_.name, delivery_id);
      const std::string timestamp =
          std::to_string(std::chrono::floor<std::chrono::seconds>(
                             clock_.Now().time_since_epoch())
                             .count());
      headers.emplace_back("X-Jitd-Timestamp", timestamp);
      headers.emplace_back("X-Jitd-Signature",
                           WebhookSignature(config_.secret, timestamp, body));
      headers.emplace_back("X-Jitd-Delivery", delivery_id);
    } else {
      body = SlackAlertMessage(alert).dump(-1, ' ', false,
                                           json::error_handler_t::replace);
    }
    // Only host and port in messages: a Slack URL's path is its secret.
    const std::string where = HostAndPort(config_.url);
    StatusOr<WebhookAnswer> answer =
        transport_->Post(config_.url, headers, body, config_.timeout);
    if (!answer.ok()) {
      return UnavailableError(
          fmt::format("alert seq {} to {}: {}", alert.seq, where,
                      Redacted(std::string(answer.status().message()))));
    }
    if (answer->status < 200 || answer->status > 299) {
      return UnavailableError(
          fmt::format("alert seq {} to {}: answered HTTP {}", alert.seq, where,
                      answer->status));
    }
    return OkStatus();
  }

  // `text` without the notifier's URL path: a Slack incoming-webhook URL
  // is its own secret and must not reach the log.
  std::string Redacted(std::string text) const {
    const std::string& url = config_.url.text;
    const std::string shown =
        fmt::format("{}://{}/...",
                    config_.url.scheme == UrlScheme::kHttps ? "https" : "http",
                    HostAndPort(config_.url));
    for (size_t at = text.find(url); !url.empty() && at != std::string::npos;
         at = text.find(url, at + shown.size())) {
      text.replace(at, url.size(), shown);
    }
    return text;
  }

  void SaveState() {
    Status s = WriteStateFile(state_path_,
                              json{{"notified_through", position_.load()}});
    if (!s.ok()) {
      spdlog::error("notifier {}: {} (a restart would send again)",
                    config_.name, s.ToString());
    }
  }

  // Until an event beyond the position is published, or a second passes
  // (events committed around the feed are found by the next read). In
  // slices, so Stop() is seen soon.
  void WaitForEvents() {
    constexpr std::chrono::milliseconds kSlice(100);
    const SteadyClock::time_point until =
        SteadyClock::now() + std::chrono::seconds(1);
    while (!Stopping() && SteadyClock::now() < until) {
      const SteadyClock::time_point started = SteadyClock::now();
      if (feed_.WaitBeyond(position_.load(), kSlice) > position_.load()) return;
      // A shut-down feed answers at once: wait here instead of spinning.
      if (SteadyClock::now() - started < kSlice / 2) WaitFor(kSlice);
    }
  }

  void WaitFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, d, [this] { return stopping_; });
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  void SetError(const std::string& error) {
    std::lock_guard lock(mu_);
    last_error_ = error;
  }

  Store& store_;
  AuditFeed& feed_;
  const PolicyHolder& policies_;
  Metrics& metrics_;
  const Clock& clock_;
  const NotifierConfig config_;
  const std::unique_ptr<WebhookTransport> transport_;
  const std::string state_path_;
  std::atomic<int64_t> position_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // guarded by mu_
  std::string last_error_;  // guarded by mu_
  std::thread thread_;      // started and joined under start_mu_
  std::mutex start_mu_;
};

StatusOr<std::unique_ptr<AlertNotifier>> AlertNotifier::Create(
    Store& store, AuditFeed& feed, const PolicyHolder& policies,
    Metrics& metrics, const Clock& clock, std::vector<NotifierConfig> notifiers,
    const std::string& state_dir) {
  JIT_ASSIGN_OR_RETURN(AuditHead head, store.GetAuditHead());
  std::unique_ptr<AlertNotifier> out(new AlertNotifier());
  for (NotifierConfig& config : notifiers) {
    JIT_ASSIGN_OR_RETURN(
        std::unique_ptr<WebhookTransport> transport,
        WebhookTransport::Create(config.ca_file, config.private_addresses));
    const std::string state_path =
        state_dir.empty() ? "" : state_dir + "/alerts_" + config.name + ".json";
    JIT_ASSIGN_OR_RETURN(std::optional<json> state, ReadStateFile(state_path));
    int64_t position = head.seq;
    if (state) {
      auto seq = state->find("notified_through");
      if (seq == state->end() || !seq->is_number_integer() ||
          seq->get<int64_t>() < 0) {
        return InvalidArgumentError(
            state_path +
            ": not a notifier state file ({\"notified_through\": SEQ})");
      }
      position = seq->get<int64_t>();
    } else {
      // Kept at once: an alert committed before the first delivery must
      // not be skipped by a restart that would start at a newer head.
      JIT_RETURN_IF_ERROR(
          WriteStateFile(state_path, json{{"notified_through", position}}));
    }
    out->channels_.push_back(std::make_unique<Channel>(
        store, feed, policies, metrics, clock, std::move(config),
        std::move(transport), state_path, position));
  }
  return out;
}

AlertNotifier::~AlertNotifier() { Stop(); }

void AlertNotifier::Start() {
  for (auto& c : channels_) c->Start();
}

void AlertNotifier::Stop() {
  for (auto& c : channels_) c->Stop();
}

std::optional<int64_t> AlertNotifier::NotifiedThrough(
    std::string_view notifier) const {
  for (const auto& c : channels_) {
    if (c->name() == notifier) return c->position();
  }
  return std::nullopt;
}

std::string AlertNotifier::LastError(std::string_view notifier) const {
  for (const auto& c : channels_) {
    if (c->name() == notifier) return c->last_error();
  }
  return "";
}

VerifyFailureAlarm::VerifyFailureAlarm(Store& store, const Clock& clock,
                                       std::string state_path)
    : store_(store), clock_(clock), state_path_(std::move(state_path)) {}

Status VerifyFailureAlarm::Load() {
  JIT_ASSIGN_OR_RETURN(std::optional<json> state, ReadStateFile(state_path_));
  if (!state) return OkStatus();
  auto seq = state->find("raised_first_bad_seq");
  if (seq == state->end() || !(seq->is_null() || seq->is_number_integer())) {
    return InvalidArgumentError(
        state_path_ +
        ": not a verify alarm state file ({\"raised_first_bad_seq\": SEQ})");
  }
  std::lock_guard lock(mu_);
  if (seq->is_number_integer()) raised_ = seq->get<int64_t>();
  return OkStatus();
}

Status VerifyFailureAlarm::Verified(const VerifyResult& result) {
  std::lock_guard lock(mu_);
  if (result.ok) {
    if (!raised_) return OkStatus();
    raised_.reset();
    return SaveState(std::nullopt);
  }
  const int64_t first_bad = result.first_bad_seq.value_or(0);
  if (raised_ == first_bad) return OkStatus();
  AuditEvent e;
  e.time = clock_.Now();
  e.type = AuditType::kAuditVerifyFailed;
  e.actor = kSystemActor;
  e.data = json{{"first_bad_seq", first_bad},
                {"reason", result.reason},
                {"events", result.events},
                {"proven_through", result.proven_through}}
               .dump(-1, ' ', false, json::error_handler_t::replace);
  ChangeSet cs;
  cs.events.push_back(std::move(e));
  JIT_RETURN_IF_ERROR(store_.Commit(cs));
  raised_ = first_bad;
  return SaveState(first_bad);
}

Status VerifyFailureAlarm::SaveState(std::optional<int64_t> first_bad_seq) {
  return WriteStateFile(state_path_, json{{"raised_first_bad_seq",
                                           first_bad_seq ? json(*first_bad_seq)
                                                         : json(nullptr)}});
}

}  // namespace jit
