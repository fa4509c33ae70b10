#include "jit/workflow/slack/slack_actions.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/connectors/webhook/webhook_signature.h"
#include "jit/workflow/alert_notifier.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxUsers = 10'000;
constexpr size_t kMaxSubjectBytes = 256;
constexpr size_t kShownChars = 300;
constexpr std::string_view kChannel = "slack";

Status Bad(const std::string& origin, const std::string& what) {
  return InvalidArgumentError(origin + ": integrations.slack: " + what);
}

// Slack user ids: "U" (or "W" for Enterprise Grid) and upper-case letters
// and digits.
bool ValidSlackUserId(const std::string& id) {
  if (id.size() < 3 || id.size() > 32) return false;
  if (id[0] != 'U' && id[0] != 'W') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// As other secret files, and stricter: the group may not read it either.
StatusOr<std::string> ReadSigningSecret(const std::string& path,
                                        const std::string& origin) {
  if (path.empty()) return Bad(origin, "signing_secret_file is required");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Bad(origin, fmt::format("cannot read signing_secret_file {}: {}",
                                   path, std::strerror(errno)));
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    return Bad(origin, fmt::format("signing_secret_file {} is readable or "
                                   "writable by group or others (chmod 600 it)",
                                   path));
  }
  StatusOr<std::string> secret = ReadWebhookSecretFile(path);
  if (!secret.ok()) return Bad(origin, std::string(secret.status().message()));
  return secret;
}

Status ReadUsers(const json& block, const std::string& origin,
                 SlackIntegrationConfig& out) {
  auto it = block.find("users");
  if (it == block.end() || it->is_null()) return OkStatus();
  if (!it->is_object())
    return Bad(origin, "users must map Slack user ids to jitd subjects");
  if (it->size() > kMaxUsers)
    return Bad(origin, fmt::format("users holds over {} entries", kMaxUsers));
  for (const auto& [id, subject] : it->items()) {
    if (!ValidSlackUserId(id)) {
      return Bad(origin, fmt::format("users: \"{}\" is not a Slack user id "
                                     "(U or W and upper-case letters/digits)",
                                     id.substr(0, 40)));
    }
    if (!subject.is_string() || subject.get<std::string>().empty() ||
        subject.get<std::string>().size() > kMaxSubjectBytes) {
      return Bad(origin,
                 fmt::format("users: {} must map to a jitd subject name", id));
    }
    out.users[id] = subject.get<std::string>();
  }
  return OkStatus();
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Shown to the presser alone; the original message stays as it was.
json Refusal(const std::string& text) {
  return {{"response_type", "ephemeral"},
          {"replace_original", false},
          {"text", SlackText(text, kShownChars)}};
}

json Outcome(const std::string& text) {
  const std::string shown = SlackText(text, kShownChars);
  return {
      {"response_type", "in_channel"},
      {"replace_original", true},
      {"text", shown},
      {"blocks",
       json::array(
           {{{"type", "section"},
             {"text",
              {{"type", "mrkdwn"}, {"text", shown}, {"verbatim", true}}}}})}};
}

std::string RefusalText(const Status& s) {
  const std::string reason(s.reason());
  if (reason == "self_approval")
    return "Refused: you cannot decide your own request (self_approval).";
  if (reason == "not_an_approver")
    return "Refused: " + std::string(s.message()) + " (not_an_approver).";
  if (reason == "policy_denied") {
    std::string text = "Refused by policy";
    for (const std::string& r : s.details()) text += "; " + r;
    return text + ".";
  }
  return "Not done: " + std::string(s.message()) + ".";
}

std::string Described(const Request& r) {
  return fmt::format("{} ({} for {}, {})", r.id, r.entitlement,
                     FormatDuration(r.duration), r.subject);
}

}  // namespace

StatusOr<SlackIntegrationConfig> ParseSlackIntegrationConfig(
    const json& block, const std::string& origin) {
  if (!block.is_object()) return Bad(origin, "must be a mapping");
  for (const auto& [key, value] : block.items()) {
    if (key != "signing_secret_file" && key != "users") {
      return Bad(origin, fmt::format("unknown key \"{}\" (known: "
                                     "signing_secret_file, users)",
                                     key.substr(0, 80)));
    }
  }
  SlackIntegrationConfig out;
  const std::string path = Str(block, "signing_secret_file");
  if (block.contains("signing_secret_file") &&
      !block["signing_secret_file"].is_string()) {
    return Bad(origin, "signing_secret_file must be text");
  }
  auto secret = ReadSigningSecret(path, origin);
  if (!secret.ok()) return secret.status();
  out.signing_secret = std::move(secret).value();
  if (Status s = ReadUsers(block, origin, out); !s.ok()) return s;
  return out;
}

StatusOr<SlackAction> ParseSlackAction(std::string_view payload_json) {
  const json payload =
      json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object())
    return InvalidArgumentError("payload is not a JSON object");
  if (Str(payload, "type") != "block_actions") {
    return InvalidArgumentError("payload type must be block_actions, not \"" +
                                Str(payload, "type").substr(0, 40) + "\"");
  }
  SlackAction out;
  auto user = payload.find("user");
  if (user != payload.end()) out.user_id = Str(*user, "id");
  if (out.user_id.empty())
    return InvalidArgumentError("payload has no user.id");
  auto actions = payload.find("actions");
  if (actions == payload.end() || !actions->is_array() || actions->empty())
    return InvalidArgumentError("payload has no actions");
  out.action_id = Str((*actions)[0], "action_id");
  out.value = Str((*actions)[0], "value");
  if (out.action_id.empty() || out.value.empty())
    return InvalidArgumentError("payload action has no action_id or value");
  return out;
}

SlackActionService::SlackActionService(
    SlackIntegrationConfig config, RequestService& requests,
    const PolicyHolder& policies, const SeenSubjects* seen, const Clock& clock,
    SlackVerifierOptions options, Store* replays)
    : config_(std::move(config)),
      requests_(requests),
      policies_(policies),
      seen_(seen),
      clock_(clock),
      verifier_(config_.signing_secret, clock, options),
      replays_(replays) {}

StatusOr<Principal> SlackActionService::PrincipalOf(
    const std::string& slack_user) const {
  auto mapped = config_.users.find(slack_user);
  if (mapped == config_.users.end()) {
    return PermissionDeniedError(
        "your Slack user " + slack_user.substr(0, 40) +
        " is not mapped to a jitd identity (integrations.slack.users)");
  }
  Principal who;
  who.via = ActingVia{std::string(kChannel), slack_user};
  // Groups as the API would see them now: the config's directory for
  // static subjects, else what the identity provider last said.
  auto snap = policies_.Get();
  auto listed = snap->directory.find(mapped->second);
  if (listed != snap->directory.end()) {
    who.subject = listed->second;
    return who;
  }
  std::optional<Subject> seen =
      seen_ != nullptr ? seen_->Find(mapped->second) : std::nullopt;
  if (!seen) {
    return PermissionDeniedError("jitd does not know the groups of " +
                                 mapped->second +
                                 " yet; sign in to jitd once, then try again");
  }
  who.subject = std::move(*seen);
  return who;
}

StatusOr<RequestView> SlackActionService::ExtendFromSlack(
    const Principal& who, const std::string& grant_id) {
  StatusOr<Grant> g = requests_.GetGrant(who, grant_id);
  if (!g.ok()) return g.status();
  StatusOr<RequestView> original = requests_.Get(who, g->request_id);
  if (!original.ok()) return original.status();
  // One more term of the original length, counted from now: the button
  // asks for what the holder asked for before, under the same reason.
  const auto remaining =
      std::chrono::duration_cast<Duration>(g->expires_at - clock_.Now());
  const Duration extra =
      std::max<Duration>(std::chrono::floor<std::chrono::seconds>(
                             original->request.duration - remaining),
                         std::chrono::seconds(1));
  return requests_.Extend(who, grant_id,
                          ExtendInput{extra, original->request.justification});
}

json SlackActionService::Apply(const Principal& who,
                               const SlackAction& action) {
  const std::string comment = "from Slack";
  StatusOr<RequestView> done = NotFoundError("unknown action");
  std::string verb;
  if (action.action_id == kSlackApproveAction ||
      action.action_id == kSlackDenyAction) {
    if (!LooksLikeId(action.value, "req_"))
      return Refusal("Not done: the button names no request.");
    const bool approve = action.action_id == kSlackApproveAction;
    verb = approve ? "Approved" : "Denied";
    done = approve ? requests_.Approve(who, action.value, comment)
                   : requests_.Deny(who, action.value, comment);
  } else if (action.action_id == kSlackExtendAction) {
    if (!LooksLikeId(action.value, "grt_"))
      return Refusal("Not done: the button names no grant.");
    verb = "Extension asked";
    done = ExtendFromSlack(who, action.value);
  } else {
    return Refusal("Not done: jitd has no action \"" +
                   action.action_id.substr(0, 40) + "\".");
  }
  if (!done.ok()) {
    spdlog::info("slack action {} by {} ({}) refused: {}", action.action_id,
                 who.name(), action.value.substr(0, 40),
                 done.status().ToString());
    return Refusal(RefusalText(done.status()));
  }
  const Request& r = done->request;
  spdlog::info("request_id={} {} from slack by {}", r.id, action.action_id,
               who.name());
  return Outcome(fmt::format("{} by {} from Slack: {} is now {}.", verb,
                             who.name(), Described(r), ToString(r.state)));
}

StatusOr<json> SlackActionService::Handle(const SlackDelivery& in) {
  if (Status s = verifier_.Verify(in.timestamp, in.signature, in.body);
      !s.ok()) {
    return s;
  }
  if (replays_ != nullptr && in.signature) {
    // The first acceptance of a signature wins, in any process that shares
    // the store: the in-memory check above does not survive a restart.
    Status first = replays_->PutIdempotent(
        {*in.signature, "slack", "POST /v1/integrations/slack/actions", 200, "",
         clock_.Now()});
    if (first.code() == StatusCode::kAlreadyExists) {
      return UnauthenticatedError("this Slack request was already handled");
    }
    if (!first.ok()) return first;
  }
  if (!in.payload) {
    return InvalidArgumentError(
        "the body must be a form with a payload field (block_actions)");
  }
  StatusOr<SlackAction> action = ParseSlackAction(*in.payload);
  if (!action.ok()) return action.status();
  StatusOr<Principal> who = PrincipalOf(action->user_id);
  if (!who.ok())
    return Refusal("Not done: " + std::string(who.status().message()) + ".");
  return Apply(*who, *action);
}

}  // namespace jit
