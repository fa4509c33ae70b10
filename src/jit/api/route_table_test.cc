// THREATS T4: every route goes through one authorization function. This test
// walks every row of the route table with every role, through the real
// ApiRoutes, and holds its own copy of who may call what: a route added to
// the table without a row here fails, and so does a route whose gate
// changes without this file changing with it.
#include "jit/api/route_table.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "jit/api/authenticator.h"
#include "jit/api/routes.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/test_rig.h"
#include "jit/workflow/token_service.h"

namespace jit {
namespace {

enum class Caller { kNone, kRequester, kApprover, kAuditor, kAdmin, kEnforcer };

const std::vector<Caller> kCallers = {Caller::kNone,     Caller::kRequester,
                                      Caller::kApprover, Caller::kAuditor,
                                      Caller::kAdmin,    Caller::kEnforcer};

const char* Name(Caller c) {
  switch (c) {
    case Caller::kNone:
      return "no credential";
    case Caller::kRequester:
      return "requester";
    case Caller::kApprover:
      return "approver";
    case Caller::kAuditor:
      return "auditor";
    case Caller::kAdmin:
      return "admin";
    case Caller::kEnforcer:
      return "enforcer";
  }
  return "?";
}

// Who passes each route's gate, written out by hand (not derived from the
// table): R requester, P approver, U auditor, A admin, E enforcer,
// "*" also no credential.
const std::map<std::string, std::string> kExpected = {
    {"GET /healthz", "*RPUAE"},
    {"GET /readyz", "*RPUAE"},
    {"GET /metrics", "*RPUAE"},
    {"POST /v1/requests", "RPUAE"},
    {"GET /v1/requests", "RPUAE"},
    {"GET /v1/requests/{id}", "RPUAE"},
    {"POST /v1/requests/{id}/approve", "RPUAE"},
    {"POST /v1/requests/{id}/deny", "RPUAE"},
    {"POST /v1/requests/{id}/cancel", "RPUAE"},
    {"GET /v1/grants", "RPUAE"},
    {"GET /v1/grants/{id}", "RPUAE"},
    {"POST /v1/grants/{id}/revoke", "RPUAE"},
    {"POST /v1/grants/{id}/extend", "RPUAE"},
    {"POST /v1/grants/{id}/ssh-cert", "RPUAE"},
    {"POST /v1/check", "RPUAE"},
    {"POST /v1/check/target", "AE"},
    {"GET /v1/audit", "RPUAE"},
    {"GET /v1/audit/verify", "UA"},
    {"GET /v1/audit/checkpoint", "UA"},
    {"GET /v1/audit/pubkey", "RPUAE"},
    {"GET /v1/audit/stream", "RPUAE"},
    {"GET /v1/entitlements", "RPUAE"},
    {"GET /v1/reports/summary", "UA"},
    {"GET /v1/connectors/{name}/ca", "RPUAE"},
    {"GET /v1/connectors/{name}/krl", "RPUAE"},
    {"POST /v1/tokens", "A"},
    {"GET /v1/tokens", "A"},
    {"POST /v1/tokens/{name}/revoke", "A"},
    {"GET /v1/mfa", "RPUAE"},
    {"POST /v1/mfa/totp", "RPUAE"},
    {"POST /v1/mfa/totp/confirm", "RPUAE"},
    {"POST /v1/mfa/totp/{name}/reset", "A"},
    {"POST /v1/integrations/slack/actions", "*RPUAE"},
    {"POST /v1/session", "*RPUAE"},
    {"DELETE /v1/session", "*RPUAE"},
    {"GET /v1/whoami", "RPUAE"},
    {"GET /v1/session/oidc", "*RPUAE"},
    {"GET /v1/session/oidc/start", "*RPUAE"},
    {"GET /v1/session/oidc/callback", "*RPUAE"},
    {"POST /v1/breakglass/codes", "A"},
    {"GET /v1/breakglass/codes", "UA"},
    {"POST /v1/breakglass/codes/{id}/revoke", "A"},
    {"POST /v1/breakglass/activate", "*RPUAE"},
    {"GET /v1/reviews", "UA"},
    {"POST /v1/reviews/{id}/signoff", "UA"},
    {"GET /v1/requests/{id}/history", "RPUAE"},
    {"GET /v1/audit/export", "RPUAE"},
    {"GET /v1/policies", "RPUAE"},
    {"POST /v1/policies/explain", "RPUAE"},
};

char Letter(Caller c) {
  switch (c) {
    case Caller::kNone:
      return '*';
    case Caller::kRequester:
      return 'R';
    case Caller::kApprover:
      return 'P';
    case Caller::kAuditor:
      return 'U';
    case Caller::kAdmin:
      return 'A';
    case Caller::kEnforcer:
      return 'E';
  }
  return '?';
}

std::string Key(const RouteSpec& r) {
  return std::string(r.method) + " " + std::string(r.pattern);
}

// A concrete path for a pattern: ids in their own shape, so the handler
// runs past its id checks.
std::string PathFor(const RouteSpec& r) {
  std::string p(r.pattern);
  bool grant = p.rfind("/v1/grants/", 0) == 0;
  for (auto [from, to] : {std::pair<std::string, std::string>{
                              "{id}", grant ? "grt_00000000000000000000"
                                            : "req_00000000000000000000"},
                          {"{name}", "demo"}}) {
    if (size_t at = p.find(from); at != std::string::npos)
      p.replace(at, from.size(), to);
  }
  return p;
}

class RouteTableTest : public ::testing::Test {
 protected:
  RouteTableTest()
      : auth_(Tokens(), RoleGroups{{"secops"}, {"audit"}, {"hosts"}}),
        audit_(rig_.store, rig_.metrics),
        deps_{auth_,      rig_.requests, audit_,     feed_,      rig_.policies,
              rig_.store, rig_.metrics,  rig_.index, rig_.clock, ready_},
        routes_(deps_) {
    deps_.tokens = &tokens_;
    deps_.mfa = &mfa_;
  }

  static std::vector<TokenEntry> Tokens() {
    std::vector<TokenEntry> out;
    for (auto [name, groups] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"alice", {"dev"}},
             {"bob", {"sre"}},
             {"olga", {"audit"}},
             {"erin", {"secops"}},
             {"gate", {"hosts"}}}) {
      out.push_back({Subject{name, name, groups}, Sha256Hex("t-" + name)});
    }
    return out;
  }

  static std::string TokenOf(Caller c) {
    switch (c) {
      case Caller::kRequester:
        return "t-alice";
      case Caller::kApprover:
        return "t-bob";
      case Caller::kAuditor:
        return "t-olga";
      case Caller::kAdmin:
        return "t-erin";
      case Caller::kEnforcer:
        return "t-gate";
      case Caller::kNone:
        break;
    }
    return "";
  }

  HttpResponse Call(const RouteSpec& r, Caller c) {
    HttpRequest http;
    http.method = std::string(r.method);
    http.path = PathFor(r);
    http.remote_address = "127.0.0.1";
    if (c != Caller::kNone)
      http.headers["authorization"] = "Bearer " + TokenOf(c);
    if (http.method == "POST") http.body = "{}";
    return routes_.Handle(http);
  }

  TestRig rig_;
  TokenService tokens_{rig_.deps, kDefaultMaxTokenTtl};
  std::unique_ptr<SecretSealer> sealer_ = *SecretSealer::Ephemeral();
  MfaService mfa_{rig_.deps, *sealer_, MfaOptions{}};
  Authenticator auth_;
  AuditFeed feed_;
  AuditQuery audit_;
  std::atomic<bool> ready_{true};
  ApiDeps deps_;
  ApiRoutes routes_;
};

TEST_F(RouteTableTest, EveryRouteHasAnExpectedRowAndEveryRowARoute) {
  std::set<std::string> in_table;
  for (const RouteSpec& r : RouteTable()) {
    EXPECT_TRUE(in_table.insert(Key(r)).second) << "twice: " << Key(r);
    EXPECT_TRUE(kExpected.count(Key(r)))
        << Key(r) << " has no row in kExpected: say who may call it";
  }
  for (const auto& [key, who] : kExpected)
    EXPECT_TRUE(in_table.count(key)) << key << " is not a route any more";
}

TEST_F(RouteTableTest, AuthorizeRouteMatchesTheExpectedTable) {
  for (const RouteSpec& r : RouteTable()) {
    auto row = kExpected.find(Key(r));
    ASSERT_NE(row, kExpected.end()) << Key(r);
    for (Caller c : kCallers) {
      std::optional<Principal> who;
      if (c != Caller::kNone) {
        HttpRequest http;
        http.headers["authorization"] = "Bearer " + TokenOf(c);
        auto p = auth_.Authenticate(http);
        ASSERT_TRUE(p.ok()) << p.status().ToString();
        who = *p;
      }
      bool want = row->second.find(Letter(c)) != std::string::npos;
      EXPECT_EQ(AuthorizeRoute(r, who).ok(), want)
          << Key(r) << " as " << Name(c);
    }
  }
}

// The same matrix through ApiRoutes::Handle: the gate is what the server
// really applies, not a function beside it.
TEST_F(RouteTableTest, EveryRouteWithEveryRoleThroughTheServer) {
  for (const RouteSpec& r : RouteTable()) {
    if (r.id == RouteId::kStreamAudit) continue;  // checked below: it streams
    auto row = kExpected.find(Key(r));
    ASSERT_NE(row, kExpected.end()) << Key(r);
    for (Caller c : kCallers) {
      HttpResponse out = Call(r, c);
      bool want = row->second.find(Letter(c)) != std::string::npos;
      std::string what = Key(r) + " as " + Name(c) + " -> " +
                         std::to_string(out.status) + " " + out.body;
      if (want) {
        EXPECT_NE(out.status, 401) << what;
        EXPECT_EQ(out.body.find("role\""), std::string::npos) << what;
        EXPECT_NE(out.status, 405) << what;
        continue;
      }
      if (c == Caller::kNone) {
        EXPECT_EQ(out.status, 401) << what;
        continue;
      }
      ASSERT_EQ(out.status, 403) << what;
      auto body = nlohmann::json::parse(out.body);
      EXPECT_EQ(body["error"]["code"], "forbidden") << what;
      EXPECT_NE(body["error"]["message"].get<std::string>().find(
                    "needs the " + std::string(ToString(r.access)) + " role"),
                std::string::npos)
          << what;
    }
  }
}

TEST_F(RouteTableTest, StreamIsGatedLikeTheRest) {
  const RouteSpec* stream = nullptr;
  for (const RouteSpec& r : RouteTable())
    if (r.id == RouteId::kStreamAudit) stream = &r;
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(Call(*stream, Caller::kNone).status, 401);
  HttpResponse ok = Call(*stream, Caller::kRequester);
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(static_cast<bool>(ok.stream));
}

TEST_F(RouteTableTest, UnknownPathsAndMethods) {
  HttpRequest http;
  http.method = "GET";
  http.path = "/v1/nothing-here";
  EXPECT_EQ(routes_.Handle(http).status, 401);  // no hint without a token
  http.headers["authorization"] = "Bearer t-alice";
  EXPECT_EQ(routes_.Handle(http).status, 404);
  http.path = "/v1/requests";
  http.method = "DELETE";
  EXPECT_EQ(routes_.Handle(http).status, 405);
  http.method = "GET";
  http.path = "/v1/requests/req_00000000000000000000/frobnicate";
  http.method = "POST";
  EXPECT_EQ(routes_.Handle(http).status, 404);
  http.path = "/elsewhere";
  http.headers.clear();
  EXPECT_EQ(routes_.Handle(http).status, 404);
}

TEST(RouteMatch, PathSegmentsDropEmptyOnes) {
  EXPECT_EQ(PathSegments("/v1//requests/"),
            (std::vector<std::string>{"v1", "requests"}));
  EXPECT_TRUE(PathSegments("/").empty());
  EXPECT_TRUE(PathSegments("").empty());
}

TEST(RouteMatch, WildcardsMatchOneNonEmptySegment) {
  auto r = MatchRoute("POST", {"v1", "requests", "req_1", "approve"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->id, RouteId::kApproveRequest);
  EXPECT_FALSE(
      MatchRoute("POST", {"v1", "requests", "req_1", "approve", "x"}).ok());
  EXPECT_FALSE(MatchRoute("GET", {"v1", "requests", "", "approve"}).ok());
  auto wrong = MatchRoute("GET", {"v1", "requests", "req_1", "approve"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().reason(), "method_not_allowed");
}

}  // namespace
}  // namespace jit
