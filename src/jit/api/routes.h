#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "jit/api/authenticator.h"
#include "jit/api/http.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/request_service.h"

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
};

// The REST API of DESIGN.md: routing, authentication, input parsing and
// caps, idempotency keys, rendering. No business logic: each route calls one
// service method. Thread-safe (const; services are).
class ApiRoutes {
 public:
  explicit ApiRoutes(const ApiDeps& deps) : deps_(deps) {}
  HttpResponse Handle(const HttpRequest& http) const;

 private:
  HttpResponse Dispatch(const Principal& who, const HttpRequest& http,
                        const std::vector<std::string>& seg) const;
  HttpResponse WithIdempotency(const Principal& who, const HttpRequest& http,
                               const std::vector<std::string>& seg) const;
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
  HttpResponse Unauthenticated(const HttpRequest& http) const;

  const ApiDeps& deps_;
};

}  // namespace jit
