#pragma once

#include <nlohmann/json.hpp>

#include "jit/api/http.h"
#include "jit/base/status.h"

namespace jit {

// The one place a Status becomes HTTP (DESIGN "Errors"):
//   kInvalidArgument 400 invalid_request, kUnauthenticated 401,
//   kPermissionDenied 403 (reason forbidden|self_approval|not_an_approver),
//   kFailedPrecondition 403 policy_denied with reasons, or 409 conflict,
//   kNotFound 404, kAborted/kAlreadyExists 409 conflict, kResourceExhausted
//   413 too_large (429 rate_limited when its reason is "rate_limited"),
//   kUnavailable/kDeadlineExceeded 503, anything else 500.
HttpResponse ErrorResponse(const Status& status);

HttpResponse JsonResponse(int http_status, const nlohmann::json& body);

}  // namespace jit
