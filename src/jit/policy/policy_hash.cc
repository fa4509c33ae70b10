// The version hash of a loaded PolicySet.

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "jit/base/sha256.h"
#include "jit/policy/policy_model.h"

namespace jit::policy_internal {
namespace {

nlohmann::json EntitlementJson(const Entitlement& e) {
  return {{"name", e.name},
          {"connector", e.connector},
          {"params", e.params_json},
          {"max_duration_ms", e.max_duration.count()},
          {"description", e.description}};
}

nlohmann::json OptionalMillis(const std::optional<Duration>& d) {
  if (!d.has_value()) return nullptr;
  return d->count();
}

nlohmann::json PolicyJson(const PolicyDef& p) {
  nlohmann::json windows = nlohmann::json::array();
  for (const TimeWindow& w : p.windows) windows.push_back(w.description());
  nlohmann::json out = {
      {"name", p.name},
      {"subject_users", p.subject_users},
      {"subject_groups", p.subject_groups},
      {"entitlements", p.entitlements},
      {"max_duration_ms", OptionalMillis(p.max_duration)},
      {"justification_min_chars", p.justification_min_chars},
      {"ticket_pattern", p.ticket_pattern},
      {"mfa", p.mfa},
      {"auto_approve", p.auto_approve},
      {"approver_groups", p.approver_groups},
      {"approver_users", p.approver_users},
      {"approval_count", p.approval_count},
      {"approval_timeout_ms", OptionalMillis(p.approval_timeout)},
      {"emergency_allowed", p.emergency_allowed},
      {"emergency_max_duration_ms", OptionalMillis(p.emergency_max_duration)},
      {"notify", p.notify},
      {"windows", windows}};
  // Only when set: hashes of policies without tokens stay as they were.
  if (!p.subject_tokens.empty()) out["subject_tokens"] = p.subject_tokens;
  if (p.approver_mfa) out["approver_mfa"] = true;
  return out;
}

}  // namespace

std::string ComputeVersionHash(const PolicySet::Impl& impl) {
  nlohmann::json doc = {{"entitlements", nlohmann::json::array()},
                        {"policies", nlohmann::json::array()}};
  for (const Entitlement& e : impl.entitlements) {
    doc["entitlements"].push_back(EntitlementJson(e));
  }
  for (const PolicyDef& p : impl.policies) {
    doc["policies"].push_back(PolicyJson(p));
  }
  // nlohmann::json sorts object keys, so the text is canonical.
  return Sha256Hex(doc.dump());
}

}  // namespace jit::policy_internal
