#include "jit/workflow/events.h"

#include "jit/base/duration.h"
#include "jit/workflow/deps.h"

namespace jit {

std::string EventDataText(const nlohmann::json& data) {
  return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AuditEvent RequestEvent(AuditType type, const std::string& actor,
                        const Request& r, SystemTime now, nlohmann::json data) {
  AuditEvent e;
  e.time = now;
  e.type = type;
  e.actor = actor;
  e.subject = r.subject;
  e.request_id = r.id;
  e.grant_id = r.grant_id;
  if (data.is_object() && !data.contains("policy") && !r.policy.empty())
    data["policy"] = r.policy;
  e.data = EventDataText(data);
  return e;
}

AuditEvent GrantEvent(AuditType type, const std::string& actor, const Grant& g,
                      SystemTime now, nlohmann::json data) {
  AuditEvent e;
  e.time = now;
  e.type = type;
  e.actor = actor;
  e.subject = g.subject;
  e.request_id = g.request_id;
  e.grant_id = g.id;
  if (data.is_object() && !data.contains("entitlement"))
    data["entitlement"] = g.entitlement;
  e.data = EventDataText(data);
  return e;
}

nlohmann::json RequestFacts(const Request& r) {
  nlohmann::json j = {
      {"entitlement", r.entitlement},
      {"duration", FormatDuration(r.duration)},
      {"justification", r.justification},
      {"ticket", r.ticket},
      {"policy", r.policy},
      {"emergency", r.emergency == Emergency::kYes},
      {"binding", r.binding},
  };
  if (r.start_at) j["start_at"] = FormatTime(*r.start_at);
  if (!r.extends.empty()) j["extends"] = r.extends;
  return j;
}

void StampPolicyVersion(std::vector<AuditEvent>& events,
                        const std::string& version) {
  for (AuditEvent& e : events) {
    if (e.data.find("\"policy_version\"") != std::string::npos) continue;
    nlohmann::json data = nlohmann::json::parse(e.data, nullptr, false);
    if (!data.is_object() || data.contains("policy_version")) continue;
    data["policy_version"] = version;
    e.data = EventDataText(data);
  }
}

}  // namespace jit
