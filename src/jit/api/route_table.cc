#include "jit/api/route_table.h"

namespace jit {
namespace {

bool PathMatches(std::string_view pattern,
                 const std::vector<std::string>& segments) {
  std::vector<std::string> want = PathSegments(pattern);
  if (want.size() != segments.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    bool wildcard =
        want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}';
    if (wildcard ? segments[i].empty() : want[i] != segments[i]) return false;
  }
  return true;
}

bool Holds(const Principal& who, RouteAccess access) {
  switch (access) {
    case RouteAccess::kPublic:
    case RouteAccess::kAuthenticated:
      return true;
    case RouteAccess::kAuditor:
      return who.admin || who.auditor;
    case RouteAccess::kEnforcer:
      return who.admin || who.enforcer;
    case RouteAccess::kAdmin:
      return who.admin;
  }
  return false;
}

}  // namespace

std::vector<std::string> PathSegments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

const std::vector<RouteSpec>& RouteTable() {
  using A = RouteAccess;
  using R = RouteId;
  static const std::vector<RouteSpec> kTable = {
      {R::kHealthz, "GET", "/healthz", A::kPublic, false},
      {R::kReadyz, "GET", "/readyz", A::kPublic, false},
      {R::kMetrics, "GET", "/metrics", A::kPublic, false},
      {R::kCreateRequest, "POST", "/v1/requests", A::kAuthenticated, true},
      {R::kListRequests, "GET", "/v1/requests", A::kAuthenticated, false},
      {R::kGetRequest, "GET", "/v1/requests/{id}", A::kAuthenticated, false},
      {R::kApproveRequest, "POST", "/v1/requests/{id}/approve",
       A::kAuthenticated, true},
      {R::kDenyRequest, "POST", "/v1/requests/{id}/deny", A::kAuthenticated,
       true},
      {R::kCancelRequest, "POST", "/v1/requests/{id}/cancel", A::kAuthenticated,
       true},
      {R::kListGrants, "GET", "/v1/grants", A::kAuthenticated, false},
      {R::kGetGrant, "GET", "/v1/grants/{id}", A::kAuthenticated, false},
      {R::kRevokeGrant, "POST", "/v1/grants/{id}/revoke", A::kAuthenticated,
       true},
      {R::kExtendGrant, "POST", "/v1/grants/{id}/extend", A::kAuthenticated,
       true},
      {R::kIssueSshCertificate, "POST", "/v1/grants/{id}/ssh-cert",
       A::kAuthenticated, true},
      // Another subject's check is the service's rule (enforcer or admin).
      {R::kCheck, "POST", "/v1/check", A::kAuthenticated, false},
      {R::kCheckTarget, "POST", "/v1/check/target", A::kEnforcer, false},
      {R::kReadAudit, "GET", "/v1/audit", A::kAuthenticated, false},
      {R::kVerifyAudit, "GET", "/v1/audit/verify", A::kAuditor, false},
      {R::kSignedCheckpoint, "GET", "/v1/audit/checkpoint", A::kAuditor, false},
      {R::kAuditPublicKey, "GET", "/v1/audit/pubkey", A::kAuthenticated, false},
      {R::kStreamAudit, "GET", "/v1/audit/stream", A::kAuthenticated, false},
      {R::kEntitlements, "GET", "/v1/entitlements", A::kAuthenticated, false},
      {R::kReportSummary, "GET", "/v1/reports/summary", A::kAuditor, false},
      {R::kConnectorCa, "GET", "/v1/connectors/{name}/ca", A::kAuthenticated,
       false},
      {R::kConnectorKrl, "GET", "/v1/connectors/{name}/krl", A::kAuthenticated,
       false},
      {R::kCreateToken, "POST", "/v1/tokens", A::kAdmin, true},
      {R::kListTokens, "GET", "/v1/tokens", A::kAdmin, false},
      {R::kRevokeToken, "POST", "/v1/tokens/{name}/revoke", A::kAdmin, true},
      // Callers enroll only themselves; a reset of another's seed is admin.
      {R::kMfaStatus, "GET", "/v1/mfa", A::kAuthenticated, false},
      {R::kEnrollTotp, "POST", "/v1/mfa/totp", A::kAuthenticated, true},
      {R::kConfirmTotp, "POST", "/v1/mfa/totp/confirm", A::kAuthenticated,
       true},
      {R::kResetTotp, "POST", "/v1/mfa/totp/{name}/reset", A::kAdmin, true},
      // Slack's request signature authenticates it (docs/slack.md); the
      // handler then acts as the jitd subject the Slack user maps to.
      {R::kSlackActions, "POST", "/v1/integrations/slack/actions", A::kPublic,
       true},
      // Web console sign-in: the body carries the credential, checked by
      // the handler like an Authorization header. Sessions live in memory
      // only; no audited state changes.
      {R::kStartSession, "POST", "/v1/session", A::kPublic, false},
      {R::kEndSession, "DELETE", "/v1/session", A::kPublic, false},
      {R::kWhoami, "GET", "/v1/whoami", A::kAuthenticated, false},
      // Browser sign-in with the OpenID provider: the IdP's answer (code,
      // state, nonce, PKCE) is the credential, checked by the handler.
      {R::kOidcSignInInfo, "GET", "/v1/session/oidc", A::kPublic, false},
      {R::kOidcSignInStart, "GET", "/v1/session/oidc/start", A::kPublic, false},
      {R::kOidcSignInCallback, "GET", "/v1/session/oidc/callback", A::kPublic,
       false},
      {R::kIssueBreakglassCodes, "POST", "/v1/breakglass/codes", A::kAdmin,
       true},
      {R::kListBreakglassCodes, "GET", "/v1/breakglass/codes", A::kAuditor,
       false},
      {R::kRevokeBreakglassCode, "POST", "/v1/breakglass/codes/{id}/revoke",
       A::kAdmin, true},
      // The one-time code in the body authenticates it: the identity
      // provider may be down. Failed codes count against the source and
      // the named subject (auth.rate_limit).
      {R::kActivateBreakglass, "POST", "/v1/breakglass/activate", A::kPublic,
       true},
      {R::kListReviews, "GET", "/v1/reviews", A::kAuditor, false},
      {R::kSignOffReview, "POST", "/v1/reviews/{id}/signoff", A::kAuditor,
       true},
      // The service decides: the requester, auditors/admins, and whoever
      // may decide the pending request; 404 for anyone else.
      {R::kRequestHistory, "GET", "/v1/requests/{id}/history",
       A::kAuthenticated, false},
      // Visibility as GET /v1/audit: callers export what they may read.
      {R::kExportAudit, "GET", "/v1/audit/export", A::kAuthenticated, false},
      {R::kListPolicies, "GET", "/v1/policies", A::kAuthenticated, false},
      // A dry run that records nothing; another subject needs auditor or
      // admin (the service's rule).
      {R::kExplainPolicy, "POST", "/v1/policies/explain", A::kAuthenticated,
       false},
  };
  return kTable;
}

StatusOr<const RouteSpec*> MatchRoute(
    std::string_view method, const std::vector<std::string>& segments) {
  bool path_known = false;
  for (const RouteSpec& r : RouteTable()) {
    if (!PathMatches(r.pattern, segments)) continue;
    if (r.method == method) return &r;
    path_known = true;
  }
  if (path_known) {
    return Status(StatusCode::kInvalidArgument, "method not allowed",
                  "method_not_allowed");
  }
  return NotFoundError("no route");
}

Status AuthorizeRoute(const RouteSpec& route,
                      const std::optional<Principal>& who) {
  if (route.access == RouteAccess::kPublic) return OkStatus();
  if (!who) return UnauthenticatedError("this route needs a bearer token");
  if (Holds(*who, route.access)) return OkStatus();
  return PermissionDeniedError(std::string(route.method) + " " +
                               std::string(route.pattern) + " needs the " +
                               std::string(ToString(route.access)) + " role");
}

std::string_view ToString(RouteAccess access) {
  switch (access) {
    case RouteAccess::kPublic:
      return "public";
    case RouteAccess::kAuthenticated:
      return "authenticated";
    case RouteAccess::kAuditor:
      return "auditor";
    case RouteAccess::kEnforcer:
      return "enforcer";
    case RouteAccess::kAdmin:
      return "admin";
  }
  return "unknown";
}

}  // namespace jit
