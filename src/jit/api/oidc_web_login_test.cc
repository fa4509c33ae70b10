// Browser sign-in with the OpenID provider: state, nonce and PKCE handling
// against an in-process IdP (discovery, keys and a token endpoint that
// checks the PKCE verifier the way RFC 7636 says).
#include "jit/api/oidc_web_login.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "jit/api/http_server.h"
#include "jit/cli/oidc_login.h"
#include "jit/identity/jwt_test_util.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::TestKey;

constexpr char kRedirect[] = "http://127.0.0.1:9/v1/session/oidc/callback";

// One authorization the IdP granted: the code stands for these.
struct Granted {
  std::string challenge;
  std::string nonce;
  std::string redirect_uri;
};

class TestIdp {
 public:
  TestIdp() : key_(TestKey::Rsa("k1")) {
    HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options, [this](const HttpRequest& r) { return Handle(r); });
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    issuer_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  const std::string& issuer() const { return issuer_; }
  // The user signed in: `code` now stands for the authorization request
  // `query` (as the browser brought it to the IdP).
  void Grant(const std::string& code,
             const std::map<std::string, std::string>& query,
             std::string nonce_override = "") {
    std::lock_guard lock(mu_);
    granted_[code] = {
        query.at("code_challenge"),
        nonce_override.empty() ? query.at("nonce") : nonce_override,
        query.at("redirect_uri")};
  }
  int token_calls() const {
    std::lock_guard lock(mu_);
    return token_calls_;
  }

 private:
  HttpResponse Handle(const HttpRequest& r) {
    std::lock_guard lock(mu_);
    HttpResponse out;
    if (r.path == "/.well-known/openid-configuration") {
      out.body = json{{"issuer", issuer_},
                      {"authorization_endpoint", issuer_ + "/auth"},
                      {"token_endpoint", issuer_ + "/token"},
                      {"jwks_uri", issuer_ + "/jwks"}}
                     .dump();
    } else if (r.path == "/jwks") {
      out.body = testing::JwksJson({key_});
    } else if (r.path == "/token" && r.method == "POST") {
      ++token_calls_;
      out = Token(r.body);
    } else {
      out.status = 404;
    }
    return out;
  }

  HttpResponse Token(const std::string& body) {
    HttpResponse out;
    out.status = 400;
    StatusOr<std::map<std::string, std::string>> form =
        ParseQuery("/token?" + body);
    if (!form.ok()) return out;
    auto field = [&](const char* k) {
      auto it = form->find(k);
      return it == form->end() ? std::string() : it->second;
    };
    auto it = granted_.find(field("code"));
    if (it == granted_.end() || field("client_id") != "jitd-web" ||
        field("grant_type") != "authorization_code" ||
        field("redirect_uri") != it->second.redirect_uri ||
        PkceChallengeS256(field("code_verifier")) != it->second.challenge) {
      out.body = R"({"error":"invalid_grant"})";
      return out;
    }
    Granted g = it->second;
    granted_.erase(it);  // codes are single use
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    json id = {{"iss", issuer_},   {"aud", "jitd-web"}, {"sub", "alice"},
               {"exp", now + 300}, {"iat", now},        {"nonce", g.nonce}};
    out.status = 200;
    out.body =
        json{{"access_token", "access-for-alice"},
             {"token_type", "Bearer"},
             {"id_token", testing::SignJwt({{"alg", "RS256"}}, id, *key_)}}
            .dump();
    return out;
  }

  std::shared_ptr<TestKey> key_;
  std::unique_ptr<HttpServer> server_;
  std::string issuer_;
  mutable std::mutex mu_;
  std::map<std::string, Granted> granted_;  // guarded by mu_
  int token_calls_ = 0;                     // guarded by mu_
};

class OidcWebLoginTest : public ::testing::Test {
 protected:
  OidcWebLoginTest() : clock_(std::chrono::system_clock::now()) {}

  std::unique_ptr<OidcWebLogin> Make(OidcWebLogin::Options options = {}) {
    OidcConfig c;
    c.issuer = idp_.issuer();
    c.audience = "jitd";
    c.web_client_id = "jitd-web";
    c.algorithms = {"RS256"};
    auto login = OidcWebLogin::Create(c, clock_, options);
    EXPECT_TRUE(login.ok()) << login.status().ToString();
    return login.ok() ? std::move(*login) : nullptr;
  }

  // Begin, and the authorization request's query as the IdP sees it.
  std::map<std::string, std::string> Start(OidcWebLogin& login) {
    StatusOr<std::string> url = login.Begin(kRedirect);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    if (!url.ok()) return {};
    EXPECT_TRUE(url->starts_with(idp_.issuer() + "/auth?"));
    StatusOr<std::map<std::string, std::string>> q =
        ParseQuery(url->substr(idp_.issuer().size()));
    EXPECT_TRUE(q.ok());
    return q.ok() ? *q : std::map<std::string, std::string>{};
  }

  TestIdp idp_;
  FakeClock clock_;
};

TEST_F(OidcWebLoginTest, CodeFlowWithPkceAndNonceReturnsTheAccessToken) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "jitd-web");
  EXPECT_EQ(q["redirect_uri"], kRedirect);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["code_challenge"].size(), 43u);
  EXPECT_GE(q["state"].size(), 43u);
  EXPECT_GE(q["nonce"].size(), 43u);
  EXPECT_NE(q["state"], q["nonce"]);
  EXPECT_EQ(login->pending(), 1u);

  idp_.Grant("code-1", q);
  StatusOr<std::string> token =
      login->Finish({{"state", q["state"]}, {"code", "code-1"}});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, "access-for-alice");
  EXPECT_EQ(login->pending(), 0u);
}

TEST_F(OidcWebLoginTest, StateIsSingleUse) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  idp_.Grant("code-1", q);
  ASSERT_TRUE(login->Finish({{"state", q["state"]}, {"code", "code-1"}}).ok());
  idp_.Grant("code-2", q);
  StatusOr<std::string> again =
      login->Finish({{"state", q["state"]}, {"code", "code-2"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(again.status().reason(), "unknown_state");
  EXPECT_EQ(idp_.token_calls(), 1);
}

TEST_F(OidcWebLoginTest, UnknownMissingOrHugeStateCallsNoIdp) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  idp_.Grant("code-1", q);
  for (const std::map<std::string, std::string>& bad :
       std::vector<std::map<std::string, std::string>>{
           {{"code", "code-1"}},
           {{"state", ""}, {"code", "code-1"}},
           {{"state", q["state"] + "x"}, {"code", "code-1"}},
           {{"state", std::string(5000, 'a')}, {"code", "code-1"}}}) {
    StatusOr<std::string> r = login->Finish(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reason(), "unknown_state");
  }
  EXPECT_EQ(idp_.token_calls(), 0);
  EXPECT_EQ(login->pending(), 1u);  // the real one is still there
}

TEST_F(OidcWebLoginTest, ExpiredStateIsRefused) {
  auto login = Make({.max_pending = 10, .pending_ttl = 60s});
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  idp_.Grant("code-1", q);
  clock_.Advance(61s);
  StatusOr<std::string> r =
      login->Finish({{"state", q["state"]}, {"code", "code-1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "unknown_state");
  EXPECT_EQ(idp_.token_calls(), 0);
}

TEST_F(OidcWebLoginTest, PendingLoginsAreBoundedOldestDropped) {
  auto login = Make({.max_pending = 3, .pending_ttl = 600s});
  ASSERT_NE(login, nullptr);
  auto first = Start(*login);
  clock_.Advance(1s);
  for (int i = 0; i < 3; ++i) {
    Start(*login);
    clock_.Advance(1s);
  }
  EXPECT_EQ(login->pending(), 3u);
  idp_.Grant("code-1", first);
  EXPECT_EQ(login->Finish({{"state", first["state"]}, {"code", "code-1"}})
                .status()
                .reason(),
            "unknown_state");
}

TEST_F(OidcWebLoginTest, WrongNonceIsRefused) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  idp_.Grant("code-1", q, "another-login's-nonce");
  StatusOr<std::string> r =
      login->Finish({{"state", q["state"]}, {"code", "code-1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "nonce_mismatch");
}

TEST_F(OidcWebLoginTest, CodeOfAnotherLoginFailsPkce) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto mine = Start(*login);
  auto theirs = Start(*login);
  // The attacker's code injected into my callback: my verifier does not
  // match their challenge.
  idp_.Grant("code-theirs", theirs);
  StatusOr<std::string> r =
      login->Finish({{"state", mine["state"]}, {"code", "code-theirs"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "token_refused");
}

TEST_F(OidcWebLoginTest, IdpErrorAndMissingCodeUseUpTheState) {
  auto login = Make();
  ASSERT_NE(login, nullptr);
  auto q = Start(*login);
  StatusOr<std::string> r =
      login->Finish({{"state", q["state"]},
                     {"error", "access_denied"},
                     {"error_description", "End-User aborted interaction"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "login_refused");
  EXPECT_NE(r.status().message().find("access_denied"), std::string::npos);

  auto q2 = Start(*login);
  r = login->Finish({{"state", q2["state"]}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(login->pending(), 0u);
  EXPECT_EQ(idp_.token_calls(), 0);
}

TEST(OidcWebLoginCreate, NeedsAWebClient) {
  FakeClock clock(std::chrono::system_clock::now());
  OidcConfig c;
  c.issuer = "http://127.0.0.1:1";
  c.audience = "jitd";
  EXPECT_EQ(OidcWebLogin::Create(c, clock, {}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(OidcWebLoginCreate, UnreachableIdpRemembersNothing) {
  FakeClock clock(std::chrono::system_clock::now());
  OidcConfig c;
  c.issuer = "http://127.0.0.1:1";
  c.audience = "jitd";
  c.web_client_id = "jitd-web";
  c.http_timeout = 2s;
  auto login = OidcWebLogin::Create(c, clock, {});
  ASSERT_TRUE(login.ok());
  StatusOr<std::string> url = (*login)->Begin(kRedirect);
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*login)->pending(), 0u);
}

}  // namespace
}  // namespace jit
