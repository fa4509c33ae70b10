#pragma once

#include "jit/api/http.h"
#include "jit/base/status.h"
#include "jit/workflow/audit_query.h"

namespace jit {

// The audit search of GET /v1/audit and /v1/audit/export from the query:
// `type` (an event type), `subject` (subject or actor), `request_id`,
// `grant_id`, `from` and `to` (RFC 3339; from <= time < to). Absent or
// empty parameters do not filter. Errors: kInvalidArgument naming the
// parameter (unknown type, bad time, from not before to, over 256 bytes).
StatusOr<AuditFilter> ParseAuditFilter(const HttpRequest& http);

}  // namespace jit
