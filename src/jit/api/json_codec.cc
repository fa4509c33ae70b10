#include "jit/api/json_codec.h"

#include <algorithm>

#include "jit/audit/export_formats.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;

json TimeOrNull(const std::optional<SystemTime>& t) {
  return t ? json(FormatTime(*t)) : json(nullptr);
}

json StringOrNull(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

}  // namespace

json ToJson(const RequestView& v) {
  const Request& r = v.request;
  json approvals = json::array();
  for (const Approval& a : v.approvals) {
    approvals.push_back(
        {{"approver", a.approver},
         {"decision",
          a.decision == ApprovalDecision::kApprove ? "approve" : "deny"},
         {"comment", a.comment},
         {"at", FormatTime(a.at)}});
  }
  return {{"id", r.id},
          {"subject", r.subject},
          {"entitlement", r.entitlement},
          {"duration", FormatDuration(r.duration)},
          {"justification", r.justification},
          {"ticket", r.ticket},
          {"start_at", TimeOrNull(r.start_at)},
          {"emergency", r.emergency == Emergency::kYes},
          {"state", ToString(r.state)},
          {"policy", r.policy},
          {"approvals_required", r.approvals_required},
          {"approvals", approvals},
          {"created_at", FormatTime(r.created_at)},
          {"updated_at", FormatTime(r.updated_at)},
          {"approval_deadline", TimeOrNull(r.approval_deadline)},
          {"extends", StringOrNull(r.extends)},
          {"grant_id", StringOrNull(r.grant_id)}};
}

json ToJson(const Grant& g) {
  return {{"id", g.id},
          {"request_id", g.request_id},
          {"subject", g.subject},
          {"entitlement", g.entitlement},
          {"connector", g.connector},
          {"starts_at", FormatTime(g.starts_at)},
          {"expires_at", FormatTime(g.expires_at)},
          {"state", ToString(g.state)},
          {"ended_reason", g.ended_reason == EndReason::kNone
                               ? json(nullptr)
                               : json(std::string(ToString(g.ended_reason)))},
          {"ended_at", TimeOrNull(g.ended_at)},
          {"revoke_attempts", g.revoke_attempts},
          {"last_error", StringOrNull(g.last_error)}};
}

json ToJson(const AuditEvent& e) { return AuditEventObject(e); }

json ToJson(const Requestable& r) {
  json j = {{"entitlement", r.entitlement},
            {"description", r.description},
            {"policy", r.policy},
            {"max_duration", FormatDuration(r.max_duration)},
            {"auto_approve", r.auto_approve},
            {"approvals_required", r.approvals_required},
            {"justification_min_chars", r.justification_min_chars},
            {"ticket_pattern", StringOrNull(r.ticket_pattern)},
            {"emergency_allowed", r.emergency_allowed},
            {"mfa_required", r.mfa_required},
            {"approver_mfa_required", r.approver_mfa_required}};
  if (r.emergency_max_duration) {
    j["emergency_max_duration"] = FormatDuration(*r.emergency_max_duration);
  }
  return j;
}

StatusOr<JsonBody> JsonBody::Parse(const std::string& text,
                                   std::initializer_list<const char*> allowed) {
  json j = json::parse(text.empty() ? std::string("{}") : text, nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("body is not valid JSON");
  if (!j.is_object()) return InvalidArgumentError("body must be a JSON object");
  for (const auto& item : j.items()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& key = item.key();
    bool known = std::any_of(allowed.begin(), allowed.end(),
                             [&](const char* a) { return key == a; });
    if (!known) return InvalidArgumentError("unknown field \"" + key + "\"");
  }
  return JsonBody(std::move(j));
}

StatusOr<std::string> JsonBody::String(const char* key) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) {
    return InvalidArgumentError(std::string("field \"") + key +
                                "\" is required");
  }
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("field \"") + key +
                                "\" must be a string");
  }
  return it->get<std::string>();
}

StatusOr<std::string> JsonBody::OptionalString(const char* key) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("field \"") + key +
                                "\" must be a string");
  }
  return it->get<std::string>();
}

StatusOr<bool> JsonBody::OptionalBool(const char* key) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return InvalidArgumentError(std::string("field \"") + key +
                                "\" must be true or false");
  }
  return it->get<bool>();
}

StatusOr<std::vector<std::string>> JsonBody::OptionalStringList(
    const char* key) const {
  std::vector<std::string> out;
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return out;
  auto wrong = [&] {
    return InvalidArgumentError(std::string("field \"") + key +
                                "\" must be a list of strings");
  };
  if (!it->is_array()) return wrong();
  for (const json& item : *it) {
    if (!item.is_string()) return wrong();
    out.push_back(item.get<std::string>());
  }
  return out;
}

StatusOr<int64_t> JsonBody::OptionalInt(const char* key, int64_t fallback,
                                        int64_t min, int64_t max) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min ||
      it->get<int64_t>() > max) {
    return InvalidArgumentError(
        std::string("field \"") + key + "\" must be a whole number from " +
        std::to_string(min) + " to " + std::to_string(max));
  }
  return it->get<int64_t>();
}

}  // namespace jit
