#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "jit/audit/event.h"
#include "jit/domain/grant.h"
#include "jit/domain/request.h"

namespace jit {

// `data` as stored in an event. Text from target systems (statements,
// command lines) may be invalid UTF-8; such bytes become U+FFFD instead of
// failing the write.
std::string EventDataText(const nlohmann::json& data);

// Builds an audit event about `r` (subject, request id, grant id if any).
AuditEvent RequestEvent(AuditType type, const std::string& actor,
                        const Request& r, SystemTime now,
                        nlohmann::json data = nlohmann::json::object());
// Builds an audit event about `g`.
AuditEvent GrantEvent(AuditType type, const std::string& actor, const Grant& g,
                      SystemTime now,
                      nlohmann::json data = nlohmann::json::object());

// The facts every request event carries so the log answers an auditor alone.
nlohmann::json RequestFacts(const Request& r);

}  // namespace jit
