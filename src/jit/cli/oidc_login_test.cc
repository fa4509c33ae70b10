#include "jit/cli/oidc_login.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

#include "jit/api/http_server.h"
#include "jit/base/status_macros.h"
#include "jit/cli/api_client.h"
#include "jit/cli/cli_config.h"
#include "jit/client/http_client.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

class TempHome {
 public:
  TempHome() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jit-login-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempHome() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PkceTest, ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PkceTest, NewPairsAreFreshAndConsistent) {
  StatusOr<Pkce> a = NewPkce();
  StatusOr<Pkce> b = NewPkce();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->verifier.size(), 43u);  // RFC 7636: 43..128 characters
  EXPECT_EQ(a->challenge, PkceChallengeS256(a->verifier));
  EXPECT_NE(a->verifier, b->verifier);
  EXPECT_EQ(
      a->verifier.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(UrlCodingTest, EncodesAllButUnreserved) {
  EXPECT_EQ(UrlEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(UrlEncode("http://127.0.0.1:1/cb?x=1&y=a b"),
            "http%3A%2F%2F127.0.0.1%3A1%2Fcb%3Fx%3D1%26y%3Da%20b");
  EXPECT_EQ(UrlEncode("\xc3\xa9+/"), "%C3%A9%2B%2F");
  EXPECT_EQ(FormEncode({{"a", "1 2"}, {"empty", ""}, {"b&", "="}}),
            "a=1%202&b%26=%3D");
}

TEST(UrlCodingTest, DecodesAndRefusesBadEscapes) {
  EXPECT_EQ(*UrlDecode("a+b%20c%2Fd%c3%A9"), "a b c/d\xc3\xa9");
  EXPECT_FALSE(UrlDecode("abc%2").ok());
  EXPECT_FALSE(UrlDecode("abc%").ok());
  EXPECT_FALSE(UrlDecode("%zz").ok());
  const std::string text = "x y&z=1/\xff";
  EXPECT_EQ(*UrlDecode(UrlEncode(text)), text);
}

TEST(UrlCodingTest, ParsesQueriesAndRefusesRepeatedKeys) {
  auto q = ParseQuery("/callback?code=a%2Bb&state=s&flag");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("code"), "a+b");
  EXPECT_EQ(q->at("state"), "s");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_FALSE(ParseQuery("/callback?state=a&state=b").ok());
}

TEST(UrlCodingTest, SplitsUrls) {
  auto parts = SplitUrl("https://idp.example:8443/realms/x/token?a=1");
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->origin, "https://idp.example:8443");
  EXPECT_EQ(parts->target, "/realms/x/token?a=1");
  EXPECT_EQ(SplitUrl("http://h")->target, "/");
  EXPECT_FALSE(SplitUrl("ftp://h/x").ok());
  EXPECT_FALSE(SplitUrl("https:///x").ok());
}

TEST(CallbackTest, ReturnsTheCodeForThisLoginsState) {
  auto code = CodeFromCallback("/callback?code=abc&state=s1", "s1");
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, "abc");
}

TEST(CallbackTest, RefusesAnotherOrMissingState) {
  auto other = CodeFromCallback("/callback?code=abc&state=s2", "s1");
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().reason(), "state_mismatch");
  EXPECT_EQ(other.status().message().find("abc"), std::string::npos);
  auto none = CodeFromCallback("/callback?code=abc", "s1");
  EXPECT_EQ(none.status().reason(), "state_mismatch");
  // An error redirect with a wrong state is a forgery too, not a refusal.
  auto forged = CodeFromCallback("/callback?error=access_denied", "s1");
  EXPECT_EQ(forged.status().reason(), "state_mismatch");
}

TEST(CallbackTest, AccessDeniedSaysTheIdpRefused) {
  auto denied = CodeFromCallback(
      "/callback?error=access_denied&error_description=user+said+no&state=s1",
      "s1");
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().reason(), "login_refused");
  EXPECT_NE(denied.status().message().find("access_denied (user said no)"),
            std::string::npos)
      << denied.status().ToString();
}

TEST(CallbackTest, WrongPathOrNoCodeIsRefused) {
  EXPECT_FALSE(CodeFromCallback("/other?code=a&state=s1", "s1").ok());
  EXPECT_FALSE(CodeFromCallback("/callback?state=s1", "s1").ok());
}

StatusOr<ClientResponse> Get(uint16_t port, const std::string& target) {
  JIT_ASSIGN_OR_RETURN(
      HttpClient client,
      HttpClient::Create("http://127.0.0.1:" + std::to_string(port), 5s));
  return client.Do("GET", target);
}

TEST(LoopbackReceiverTest, ServesOneCallbackThenStopsListening) {
  auto receiver = LoopbackReceiver::Listen();
  ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
  const uint16_t port = (*receiver)->port();
  EXPECT_EQ((*receiver)->redirect_uri(),
            "http://127.0.0.1:" + std::to_string(port) + "/callback");
  auto browser = std::async(std::launch::async, [port] {
    StatusOr<ClientResponse> favicon = Get(port, "/favicon.ico");
    StatusOr<ClientResponse> cb = Get(port, "/callback?code=c1&state=st");
    return std::make_pair(favicon.ok() ? favicon->status : -1,
                          cb.ok() ? cb->status : -1);
  });
  StatusOr<std::string> code = (*receiver)->WaitForCode("st", 10s);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, "c1");
  auto [favicon_status, callback_status] = browser.get();
  EXPECT_EQ(favicon_status, 404);
  EXPECT_EQ(callback_status, 200);
  EXPECT_FALSE(Get(port, "/callback?code=c2&state=st").ok());  // closed
}

TEST(LoopbackReceiverTest, StateMismatchEndsTheWait) {
  auto receiver = LoopbackReceiver::Listen();
  ASSERT_TRUE(receiver.ok());
  const uint16_t port = (*receiver)->port();
  auto browser = std::async(std::launch::async, [port] {
    return Get(port, "/callback?code=c1&state=forged").ok();
  });
  StatusOr<std::string> code = (*receiver)->WaitForCode("st", 10s);
  EXPECT_EQ(code.status().reason(), "state_mismatch");
  EXPECT_TRUE(browser.get());
}

TEST(LoopbackReceiverTest, GivesUpAtTheDeadline) {
  auto receiver = LoopbackReceiver::Listen();
  ASSERT_TRUE(receiver.ok());
  StatusOr<std::string> code = (*receiver)->WaitForCode("st", 50ms);
  EXPECT_EQ(code.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(DiscoveryTest, ChecksIssuerAndHttpsEndpoints) {
  const std::string issuer = "https://idp.test";
  nlohmann::json doc = {{"issuer", issuer},
                        {"authorization_endpoint", issuer + "/auth"},
                        {"token_endpoint", issuer + "/token"}};
  auto ok = ParseDiscovery(doc.dump(), issuer);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->device_authorization_endpoint.empty());
  EXPECT_FALSE(ParseDiscovery(doc.dump(), "https://other.test").ok());
  doc["token_endpoint"] = "http://idp.test/token";
  EXPECT_FALSE(ParseDiscovery(doc.dump(), issuer).ok());
  EXPECT_FALSE(ParseDiscovery("[1]", issuer).ok());
  EXPECT_FALSE(ParseDiscovery("not json", issuer).ok());
}

TEST(TokenResponseTest, ParsesTokensAndErrors) {
  const SystemTime now = SystemTime(std::chrono::seconds(1000));
  auto t = ParseTokenResponse(
      200, R"({"access_token":"a","refresh_token":"r","expires_in":60})", now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->access_token, "a");
  EXPECT_EQ(t->refresh_token, "r");
  EXPECT_EQ(*t->expires_at, now + 60s);
  auto e = ParseTokenResponse(400, R"({"error":"invalid_grant"})", now);
  EXPECT_EQ(e.status().reason(), "invalid_grant");
  EXPECT_FALSE(ParseTokenResponse(200, R"({"token_type":"x"})", now).ok());
  EXPECT_EQ(ParseTokenResponse(502, "<html>", now).status().code(),
            StatusCode::kUnavailable);
}

// A device-flow IdP on a real HTTP server: pending, slow_down, then a token.
TEST(DeviceFlowTest, PollsWithTheIntervalAndHonoursSlowDown) {
  std::vector<std::string> answers = {
      R"({"error":"authorization_pending"})", R"({"error":"slow_down"})",
      R"({"error":"authorization_pending"})",
      R"({"access_token":"tok","expires_in":300})"};
  std::atomic<size_t> polls{0};
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(options, [&](const HttpRequest& r) {
    HttpResponse res;
    const size_t i = polls.fetch_add(1);
    EXPECT_NE(r.body.find("device_code=dc"), std::string::npos) << r.body;
    res.body = answers[std::min(i, answers.size() - 1)];
    res.status = res.body.find("error") != std::string::npos ? 400 : 200;
    return res;
  });
  ASSERT_TRUE(server.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  FakeClock clock{SystemTime(std::chrono::seconds(1700000000))};
  std::vector<Duration> slept;
  const CliEnv env{.get_env = {},
                   .home_dir = "",
                   .clock = clock,
                   .sleep =
                       [&](Duration d) {
                         slept.push_back(d);
                         clock.Advance(d);
                       },
                   .stop_requested = [] { return false; }};
  LoginSettings settings{base, "jit-cli", "", "openid", ""};
  OidcEndpoints endpoints{base, base + "/auth", base + "/token", ""};
  DeviceAuthorization device{"dc", "ABCD-EFGH", base + "/device", "", 600s, 5s};
  StatusOr<TokenSet> tokens = PollDeviceToken(settings, endpoints, device, env);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(tokens->access_token, "tok");
  EXPECT_EQ(slept, (std::vector<Duration>{5s, 5s, 10s, 10s}));

  // Never confirmed: ends at expires_in, not before, with a clear error.
  answers = {R"({"error":"authorization_pending"})"};
  polls = 0;
  slept.clear();
  device.expires_in = 30s;
  tokens = PollDeviceToken(settings, endpoints, device, env);
  EXPECT_EQ(tokens.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(polls.load(), 6u);

  answers = {R"({"error":"access_denied"})"};
  polls = 0;
  tokens = PollDeviceToken(settings, endpoints, device, env);
  EXPECT_EQ(tokens.status().reason(), "access_denied");
}

StoredLogin SampleLogin(std::optional<SystemTime> expires_at,
                        std::string refresh) {
  StoredLogin login;
  login.settings = {"https://idp.test", "jit-cli", "", "openid", ""};
  login.token_endpoint = "https://idp.test/token";
  login.tokens = {"access-1", std::move(refresh), expires_at};
  return login;
}

TEST(LoginFileTest, IsWrittenWithMode0600AndReadBack) {
  TempHome home;
  const auto path = LoginFilePath(home.path());
  const SystemTime at = SystemTime(std::chrono::seconds(2000000000));
  ASSERT_TRUE(SaveLogin(path, SampleLogin(at, "r")).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  auto loaded = LoadLogin(path);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->tokens.access_token, "access-1");
  EXPECT_EQ((*loaded)->tokens.refresh_token, "r");
  EXPECT_EQ(*(*loaded)->tokens.expires_at, at);
  EXPECT_EQ((*loaded)->settings.client_id, "jit-cli");
}

TEST(LoginFileTest, ReadableByOthersOrBrokenIsRefused) {
  TempHome home;
  const auto path = LoginFilePath(home.path());
  ASSERT_TRUE(SaveLogin(path, SampleLogin(std::nullopt, "")).ok());
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(LoadLogin(path).status().reason(), "login_file_mode");
  ::chmod(path.c_str(), 0600);
  std::ofstream(path) << "{not json";
  EXPECT_EQ(LoadLogin(path).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(LoadLogin(path.string() + ".none")->has_value());
}

class LoginTokenTest : public ::testing::Test {
 protected:
  CliEnv Env() {
    return CliEnv{.get_env =
                      [this](const std::string& name) {
                        return name == "JIT_TOKEN" ? env_token_
                                                   : std::optional<std::string>(
                                                         "http://127.0.0.1:1");
                      },
                  .home_dir = home_.path(),
                  .clock = clock_,
                  .sleep = [](Duration) {},
                  .stop_requested = [] { return false; }};
  }
  TempHome home_;
  FakeClock clock_{SystemTime(std::chrono::seconds(1700000000))};
  std::optional<std::string> env_token_;
};

TEST_F(LoginTokenTest, UsedWhenNoJitTokenIsSet) {
  ASSERT_TRUE(SaveLogin(LoginFilePath(home_.path()),
                        SampleLogin(clock_.Now() + 5min, ""))
                  .ok());
  auto config = ResolveServerConfig("", "", Env());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->token, "access-1");
  env_token_ = "from-env";
  EXPECT_EQ(ResolveServerConfig("", "", Env())->token, "from-env");
  EXPECT_EQ(ResolveServerConfig("", "flag", Env())->token, "flag");
}

TEST_F(LoginTokenTest, ExpiredWithoutRefreshTokenAsksForLoginAgain) {
  ASSERT_TRUE(
      SaveLogin(LoginFilePath(home_.path()), SampleLogin(clock_.Now() - 1s, ""))
          .ok());
  auto token = LoginAccessToken(Env());
  EXPECT_EQ(token.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(token.status().message().find("jit login"), std::string::npos);
  EXPECT_EQ(token.status().message().find("access-1"), std::string::npos);
}

TEST_F(LoginTokenTest, NotLoggedInIsNoToken) {
  auto token = LoginAccessToken(Env());
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(token->has_value());
}

}  // namespace
}  // namespace jit
