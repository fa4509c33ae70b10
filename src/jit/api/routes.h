#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "jit/api/auth_rate_limiter.h"
#include "jit/api/authenticator.h"
#include "jit/api/http.h"
#include "jit/api/oidc_web_login.h"
#include "jit/api/route_table.h"
#include "jit/api/session_table.h"
#include "jit/api/web_console.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/breakglass_service.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/mfa_service.h"
#include "jit/workflow/request_service.h"
#include "jit/workflow/slack/slack_actions.h"
#include "jit/workflow/token_service.h"

namespace jit {

// Everything the REST routes borrow; all outlive the routes.
struct ApiDeps {
  const Authenticator& auth;
  RequestService& requests;
  const AuditQuery& audit;
  AuditFeed& feed;
  PolicyHolder& policies;
  Store& store;
  Metrics& metrics;
  const GrantIndex& index;
  const Clock& clock;
  const std::atomic<bool>& ready;  // reconciliation done
  // Failed authentications per source; null: not limited (unit tests).
  AuthRateLimiter* auth_limiter = nullptr;
  // Machine tokens; null: their routes answer 503.
  TokenService* tokens = nullptr;
  // Break-glass codes and reviews; null: their routes answer 503.
  BreakglassService* breakglass = nullptr;
  // TOTP enrollment (/v1/mfa); null: those routes answer 503.
  MfaService* mfa = nullptr;
  // Config integrations.slack; null: its route answers 404.
  SlackActionService* slack = nullptr;
  // Browser sessions (POST /v1/session); null: those routes answer 503.
  SessionTable* sessions = nullptr;
  // Browser sign-in with the IdP (auth.oidc.web_client_id); null: off.
  OidcWebLogin* web_login = nullptr;
  // The web console for GET paths outside the API; null: they are 404.
  const WebConsole* console = nullptr;
};

// The REST API of DESIGN.md: routing, authentication, input parsing and
// caps, idempotency keys, rendering. No business logic: each route calls one
// service method. Thread-safe (const; services are).
class ApiRoutes {
 public:
  explicit ApiRoutes(const ApiDeps& deps) : deps_(deps) {}
  HttpResponse Handle(const HttpRequest& http) const;

 private:
  // Matches the route, authenticates unless it is public, and asks
  // AuthorizeRoute (the one role gate of every route) before dispatching.
  HttpResponse Route(const HttpRequest& http,
                     const std::vector<std::string>& seg) const;
  HttpResponse Dispatch(RouteId id, const Principal& who,
                        const HttpRequest& http,
                        const std::vector<std::string>& seg) const;
  HttpResponse WithIdempotency(const RouteSpec& route, const Principal& who,
                               const HttpRequest& http,
                               const std::vector<std::string>& seg) const;
  HttpResponse VerifyAudit(const Principal& who) const;
  HttpResponse CreateRequest(const Principal& who,
                             const HttpRequest& http) const;
  HttpResponse ListRequests(const Principal& who,
                            const HttpRequest& http) const;
  HttpResponse Decide(const Principal& who, const HttpRequest& http,
                      const std::string& id, const std::string& verb) const;
  HttpResponse ListGrants(const Principal& who, const HttpRequest& http) const;
  HttpResponse EndGrant(const Principal& who, const HttpRequest& http,
                        const std::string& id) const;
  HttpResponse ExtendGrant(const Principal& who, const HttpRequest& http,
                           const std::string& id) const;
  HttpResponse Check(const Principal& who, const HttpRequest& http) const;
  HttpResponse CheckTarget(const Principal& who, const HttpRequest& http) const;
  HttpResponse ReadAudit(const Principal& who, const HttpRequest& http) const;
  HttpResponse SignedCheckpoint(const Principal& who,
                                const HttpRequest& http) const;
  HttpResponse StreamAudit(const Principal& who, const HttpRequest& http) const;
  HttpResponse Entitlements(const Principal& who) const;
  HttpResponse Summary(const Principal& who, const HttpRequest& http) const;
  HttpResponse Connector(const std::vector<std::string>& seg) const;
  HttpResponse SshCertificate(const Principal& who, const HttpRequest& http,
                              const std::string& id) const;
  // credential_routes.cc: machine tokens (and break-glass codes).
  HttpResponse CreateToken(const Principal& who, const HttpRequest& http) const;
  HttpResponse ListTokens(const Principal& who) const;
  HttpResponse RevokeToken(const Principal& who, const std::string& name) const;
  // mfa_routes.cc: TOTP enrollment, and the rate limit on TOTP codes.
  HttpResponse MfaStatus(const Principal& who) const;
  HttpResponse EnrollTotp(const Principal& who, const HttpRequest& http) const;
  HttpResponse ConfirmTotp(const Principal& who, const HttpRequest& http) const;
  HttpResponse ResetTotp(const Principal& who, const std::string& name) const;
  // 429 while the caller's source or subject is limited for failed
  // authentications and `code` is not empty (a code is checked only when
  // neither is limited); nullopt: go ahead.
  std::optional<HttpResponse> CodeLimited(const Principal& who,
                                          const HttpRequest& http,
                                          std::string_view code) const;
  // Counts `outcome` against source and subject when it says "mfa_failed".
  void NoteCodeOutcome(const Principal& who, const HttpRequest& http,
                       const Status& outcome) const;
  // breakglass_routes.cc: one-time emergency codes and their reviews.
  HttpResponse IssueBreakglassCodes(const Principal& who,
                                    const HttpRequest& http) const;
  HttpResponse ListBreakglassCodes(const Principal& who) const;
  HttpResponse RevokeBreakglassCode(const Principal& who,
                                    const std::string& id) const;
  HttpResponse ActivateBreakglass(const HttpRequest& http) const;
  HttpResponse ListReviews(const Principal& who, const HttpRequest& http) const;
  HttpResponse SignOffReview(const Principal& who, const HttpRequest& http,
                             const std::string& id) const;
  // slack_routes.cc: Slack button presses (integrations.slack).
  HttpResponse SlackActions(const HttpRequest& http) const;

  // session_routes.cc: browser sign-in for the web console.
  // The caller by bearer token, or by session cookie when there is none.
  StatusOr<Principal> Authenticate(const HttpRequest& http) const;
  HttpResponse StartSession(const HttpRequest& http) const;
  HttpResponse EndSession(const HttpRequest& http) const;
  HttpResponse OidcSignInInfo() const;
  HttpResponse OidcSignInStart(const HttpRequest& http) const;
  HttpResponse OidcSignInCallback(const HttpRequest& http) const;
  HttpResponse Whoami(const Principal& who) const;

  // console_routes.cc: what the web console's Audit, Policies and
  // Approvals pages need beyond the core API.
  HttpResponse RequestHistory(const Principal& who, const HttpRequest& http,
                              const std::string& id) const;
  HttpResponse ExportAudit(const Principal& who, const HttpRequest& http) const;
  HttpResponse ListPolicies() const;
  HttpResponse ExplainPolicy(const Principal& who,
                             const HttpRequest& http) const;

  const ApiDeps& deps_;
};

}  // namespace jit
