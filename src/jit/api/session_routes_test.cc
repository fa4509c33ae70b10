// Browser sessions through the real ApiRoutes: sign-in by token, the
// HttpOnly cookie as credential, CSRF refusal, sign-out and expiry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "jit/api/authenticator.h"
#include "jit/api/routes.h"
#include "jit/api/session_table.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;

class SessionRoutesTest : public ::testing::Test {
 protected:
  SessionRoutesTest()
      : auth_(Tokens(), RoleGroups{{"secops"}, {"audit"}, {"hosts"}}),
        audit_(rig_.store, rig_.metrics),
        sessions_(rig_.clock, std::chrono::hours(8), 4),
        deps_{auth_,      rig_.requests, audit_,     feed_,      rig_.policies,
              rig_.store, rig_.metrics,  rig_.index, rig_.clock, ready_},
        routes_(deps_) {
    deps_.sessions = &sessions_;
  }

  static std::vector<TokenEntry> Tokens() {
    return {{Subject{"alice", "alice", {"dev"}}, Sha256Hex("t-alice")},
            {Subject{"bob", "bob", {"sre"}}, Sha256Hex("t-bob")},
            {Subject{"erin", "erin", {"secops"}}, Sha256Hex("t-erin")}};
  }

  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "",
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest http;
    http.method = method;
    http.path = path;
    http.body = body;
    http.headers = std::move(headers);
    http.remote_address = "127.0.0.1";
    return routes_.Handle(http);
  }

  // Signs in with `token`; returns the cookie pair "jitd_session=…".
  std::string SignIn(const std::string& token) {
    HttpResponse r = Call("POST", "/v1/session", json{{"token", token}}.dump(),
                          {{"x-jitd-csrf", "1"}});
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string& set = r.headers["Set-Cookie"];
    return set.substr(0, set.find(';'));
  }

  // A pending db-write request of alice (needs one sre approval).
  std::string PendingRequest() {
    HttpResponse r = Call("POST", "/v1/requests",
                          json{{"entitlement", "db-write"},
                               {"duration", "30m"},
                               {"justification", std::string(kGoodReason)}}
                              .dump(),
                          {{"authorization", "Bearer t-alice"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }

  TestRig rig_;
  Authenticator auth_;
  AuditFeed feed_;
  AuditQuery audit_;
  SessionTable sessions_;
  std::atomic<bool> ready_{true};
  ApiDeps deps_;
  ApiRoutes routes_;
};

TEST_F(SessionRoutesTest, SignInSetsAnHttpOnlyStrictCookieThatAuthenticates) {
  HttpResponse r = Call("POST", "/v1/session", R"({"token":"t-bob"})",
                        {{"x-jitd-csrf", "1"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string& set = r.headers["Set-Cookie"];
  EXPECT_EQ(set.rfind("jitd_session=", 0), 0u) << set;
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set.find("Max-Age=28800"), std::string::npos);
  EXPECT_EQ(set.find("t-bob"), std::string::npos);  // never the token
  EXPECT_EQ(json::parse(r.body)["subject"], "bob");

  std::string cookie = set.substr(0, set.find(';'));
  HttpResponse me = Call("GET", "/v1/whoami", "", {{"cookie", cookie}});
  ASSERT_EQ(me.status, 200) << me.body;
  json who = json::parse(me.body);
  EXPECT_EQ(who["subject"], "bob");
  EXPECT_EQ(who["groups"], json::array({"sre"}));
  EXPECT_EQ(who["roles"], json::array());
}

TEST_F(SessionRoutesTest, WhoamiShowsRoles) {
  HttpResponse me =
      Call("GET", "/v1/whoami", "", {{"authorization", "Bearer t-erin"}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["roles"], json::array({"admin"}));
}

TEST_F(SessionRoutesTest, WrongTokenGetsNoSession) {
  HttpResponse r = Call("POST", "/v1/session", R"({"token":"t-nobody"})",
                        {{"x-jitd-csrf", "1"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.count("Set-Cookie"), 0u);
  EXPECT_EQ(sessions_.size(), 0u);
  for (const char* bad : {"", "{}", R"({"token":""})", R"({"token":7})",
                          R"({"token":"t-bob","x":1})", "not json"}) {
    EXPECT_EQ(Call("POST", "/v1/session", bad, {{"x-jitd-csrf", "1"}}).status,
              400)
        << bad;
  }
}

TEST_F(SessionRoutesTest, SignInNeedsTheCsrfHeader) {
  HttpResponse r = Call("POST", "/v1/session", R"({"token":"t-bob"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(sessions_.size(), 0u);
}

// A page on another site can make the browser post a form with the cookie
// (were SameSite not honoured); it cannot add a custom header.
TEST_F(SessionRoutesTest, CrossSiteFormPostCannotApprove) {
  std::string id = PendingRequest();
  std::string cookie = SignIn("t-bob");
  HttpResponse forged =
      Call("POST", "/v1/requests/" + id + "/approve", "comment=lgtm",
           {{"cookie", cookie},
            {"content-type", "application/x-www-form-urlencoded"},
            {"origin", "https://evil.example"}});
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_NE(forged.body.find("X-Jitd-Csrf"), std::string::npos);
  EXPECT_EQ(rig_.StoredRequest(id).state, RequestState::kPending);

  HttpResponse real =
      Call("POST", "/v1/requests/" + id + "/approve", R"({"comment":"ok"})",
           {{"cookie", cookie}, {"x-jitd-csrf", "1"}});
  EXPECT_EQ(real.status, 200) << real.body;
  EXPECT_NE(rig_.StoredRequest(id).state, RequestState::kPending);
}

TEST_F(SessionRoutesTest, BearerCallsNeedNoCsrfHeader) {
  std::string id = PendingRequest();
  HttpResponse r = Call("POST", "/v1/requests/" + id + "/approve", "{}",
                        {{"authorization", "Bearer t-bob"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(SessionRoutesTest, SignOutEndsTheSession) {
  std::string cookie = SignIn("t-alice");
  HttpResponse out = Call("DELETE", "/v1/session", "",
                          {{"cookie", cookie}, {"x-jitd-csrf", "1"}});
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.headers["Set-Cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", cookie}}).status, 401);
}

TEST_F(SessionRoutesTest, SessionEndsAfterItsMaxAge) {
  std::string cookie = SignIn("t-alice");
  rig_.clock.Advance(std::chrono::hours(8) - std::chrono::seconds(1));
  EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", cookie}}).status, 200);
  rig_.clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", cookie}}).status, 401);
}

TEST_F(SessionRoutesTest, SessionEndsWithItsCredential) {
  std::string cookie = SignIn("t-alice");
  auth_.Replace({{Subject{"bob", "bob", {"sre"}}, Sha256Hex("t-bob")}},
                RoleGroups{{"secops"}, {"audit"}, {"hosts"}});
  EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", cookie}}).status, 401);
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(SessionRoutesTest, ForgedOrStaleCookiesAreRefused) {
  for (const std::string& cookie :
       {std::string("jitd_session=") + std::string(64, 'a'),
        std::string("jitd_session=short"), std::string("jitd_session=")}) {
    EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", cookie}}).status, 401)
        << cookie;
  }
}

TEST_F(SessionRoutesTest, TableIsBoundedAndEvictsTheOldest) {
  std::string first = SignIn("t-alice");
  rig_.clock.Advance(std::chrono::minutes(1));
  for (int i = 0; i < 4; ++i) SignIn("t-bob");
  EXPECT_EQ(sessions_.size(), 4u);
  EXPECT_EQ(Call("GET", "/v1/whoami", "", {{"cookie", first}}).status, 401);
}

TEST(SessionCookieNameTest, TlsUsesTheHostPrefix) {
  EXPECT_EQ(SessionCookieName(Transport::kTls), "__Host-jitd_session");
  HttpRequest http;
  http.transport = Transport::kTls;
  http.headers["cookie"] = "jitd_session=plain; __Host-jitd_session=abc";
  EXPECT_EQ(SessionCookieValue(http), "abc");
  http.transport = Transport::kPlain;
  EXPECT_EQ(SessionCookieValue(http), "plain");
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

class OidcSignInRoutesTest : public SessionRoutesTest {
 protected:
  // A web client whose IdP is not there: callbacks with a bad state must
  // fail before any network call.
  void EnableWebLogin() {
    OidcConfig c;
    c.issuer = "http://127.0.0.1:1";
    c.audience = "jitd";
    c.web_client_id = "jitd-web";
    c.http_timeout = std::chrono::seconds(2);
    auto login = OidcWebLogin::Create(c, rig_.clock, {});
    ASSERT_TRUE(login.ok());
    web_login_ = std::move(*login);
    deps_.web_login = web_login_.get();
  }
  std::unique_ptr<OidcWebLogin> web_login_;
};

TEST_F(OidcSignInRoutesTest, OffByDefault) {
  EXPECT_EQ(Call("GET", "/v1/session/oidc").status, 404);
  for (const char* path :
       {"/v1/session/oidc/start", "/v1/session/oidc/callback"}) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.headers.count("Set-Cookie"), 0u);
  }
}

TEST_F(OidcSignInRoutesTest, InfoNamesTheIssuer) {
  EnableWebLogin();
  HttpResponse r = Call("GET", "/v1/session/oidc");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["issuer"], "http://127.0.0.1:1");
}

TEST_F(OidcSignInRoutesTest, BadCallbacksShowAnErrorPageAndSignNobodyIn) {
  EnableWebLogin();
  for (const std::map<std::string, std::string>& query :
       std::vector<std::map<std::string, std::string>>{
           {},
           {{"code", "c"}},
           {{"state", "forged"}, {"code", "c"}},
           {{"state", "<script>"}, {"error", "access_denied"}}}) {
    HttpRequest http;
    http.method = "GET";
    http.path = "/v1/session/oidc/callback";
    http.query = query;
    http.remote_address = "127.0.0.1";
    HttpResponse r = routes_.Handle(http);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("Sign-in failed"), std::string::npos);
    EXPECT_EQ(r.body.find("<script>"), std::string::npos);
    EXPECT_NE(r.headers["Content-Security-Policy"].find("default-src 'none'"),
              std::string::npos);
    EXPECT_EQ(r.headers.count("Set-Cookie"), 0u);
  }
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(OidcSignInRoutesTest, StartWithTheIdpDownIsAnErrorPage) {
  EnableWebLogin();
  HttpResponse r =
      Call("GET", "/v1/session/oidc/start", "", {{"host", "127.0.0.1:8420"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.count("Location"), 0u);
  EXPECT_EQ(web_login_->pending(), 0u);
  // A Host header that cannot be part of a URL is refused first.
  r = Call("GET", "/v1/session/oidc/start", "", {{"host", "a/b?c"}});
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace jit
