#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"
#include "jit/workflow/principal.h"

namespace jit {

// Every route of the REST API, one value each. ApiRoutes dispatches on this
// value with a switch, so a handler can only be reached through a row of
// RouteTable() (and the compiler flags a value without a handler).
enum class RouteId {
  kHealthz,
  kReadyz,
  kMetrics,
  kCreateRequest,
  kListRequests,
  kGetRequest,
  kApproveRequest,
  kDenyRequest,
  kCancelRequest,
  kListGrants,
  kGetGrant,
  kRevokeGrant,
  kExtendGrant,
  kIssueSshCertificate,
  kCheck,
  kCheckTarget,
  kReadAudit,
  kVerifyAudit,
  kSignedCheckpoint,
  kAuditPublicKey,
  kStreamAudit,
  kEntitlements,
  kReportSummary,
  kConnectorCa,
  kConnectorKrl,
  kCreateToken,
  kListTokens,
  kRevokeToken,
  kMfaStatus,
  kEnrollTotp,
  kConfirmTotp,
  kResetTotp,
  kSlackActions,
  kStartSession,
  kEndSession,
  kWhoami,
  kOidcSignInInfo,
  kOidcSignInStart,
  kOidcSignInCallback,
  kIssueBreakglassCodes,
  kListBreakglassCodes,
  kRevokeBreakglassCode,
  kActivateBreakglass,
  kListReviews,
  kSignOffReview,
  kRequestHistory,
  kExportAudit,
  kListPolicies,
  kExplainPolicy,
};

// Who may call a route at all. Object-level rules (your own requests, the
// approvers a policy names, checking another subject) stay with the
// services; this is the gate in front of them.
enum class RouteAccess {
  kPublic,         // no credential (health, readiness, metrics)
  kAuthenticated,  // any authenticated caller
  kAuditor,        // auditor or admin
  kEnforcer,       // enforcer or admin
  kAdmin,          // admin only
};

struct RouteSpec {
  RouteId id;
  std::string_view method;   // "GET", "POST"
  std::string_view pattern;  // "/v1/requests/{id}/approve"
  RouteAccess access;
  // Changes state when it succeeds (Idempotency-Key applies; one audit
  // event per success, THREATS T22).
  bool mutating;
};

// "/v1/requests/req_1" -> {"v1", "requests", "req_1"}; empty segments
// (doubled or trailing slashes) are dropped.
std::vector<std::string> PathSegments(std::string_view path);

// All routes, in no particular order; patterns are unique per method.
const std::vector<RouteSpec>& RouteTable();

// The route for `method` + `path` segments ("v1", "requests", "req_1").
// kNotFound: no pattern matches the path; kInvalidArgument with reason
// "method_not_allowed": a pattern matches but not with this method.
// `{name}` in a pattern matches any one non-empty segment.
StatusOr<const RouteSpec*> MatchRoute(std::string_view method,
                                      const std::vector<std::string>& segments);

// The one authorization decision for every route and role: OK when `who`
// (nullopt = no credential) may call `route`. kUnauthenticated when the
// route needs a credential and there is none; kPermissionDenied when the
// caller lacks the route's role.
Status AuthorizeRoute(const RouteSpec& route,
                      const std::optional<Principal>& who);

std::string_view ToString(RouteAccess access);

}  // namespace jit
