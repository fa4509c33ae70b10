#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "jit/api/auth_rate_limiter.h"
#include "jit/api/authenticator.h"
#include "jit/api/http.h"
#include "jit/api/route_table.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/request_service.h"
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

  const ApiDeps& deps_;
};

}  // namespace jit
