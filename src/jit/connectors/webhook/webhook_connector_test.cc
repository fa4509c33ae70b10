#include "jit/connectors/webhook/webhook_connector.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/base/environment.h"
#include "jit/client/http_client.h"
#include "jit/connectors/connector_contract_test.h"
#include "jit/connectors/webhook/test_http_receiver.h"
#include "jit/connectors/webhook/webhook_signature.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
namespace fs = std::filesystem;

const std::string kSecret = "whsec-test-0123456789abcdef";
const std::string kOrigin = "jitd.yaml:12";

CannedAnswer Canned(
    int status, std::string body = "",
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  CannedAnswer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return a;
}

TestHttpReceiverOptions PlainOptions() {
  TestHttpReceiverOptions o;
  o.secret = kSecret;
  return o;
}

TestHttpReceiverOptions TlsOptions(std::string cert, std::string key) {
  TestHttpReceiverOptions o = PlainOptions();
  o.cert_file = std::move(cert);
  o.key_file = std::move(key);
  return o;
}

Deadline Soon() { return std::chrono::steady_clock::now() + 10s; }

GrantSpec Spec(
    const std::string& grant_id = "grt_00000000000000000000000000000001") {
  GrantSpec g;
  g.grant_id = grant_id;
  g.request_id = "req_00000000000000000000000000000001";
  g.subject = "alice";
  g.target_user = "alice@example.com";
  g.entitlement = "aws-admin";
  g.params_json = {{"group", R"("AWSAdmins")"}, {"account", "123456789012"}};
  g.starts_at = SystemTime(std::chrono::seconds(1'798'138'800));
  g.expires_at = g.starts_at + 30min;
  return g;
}

void WriteFile(const fs::path& path, const std::string& text, fs::perms perms) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, perms, fs::perm_options::replace);
}

ConnectorConfig Config(const json& cfg) {
  return ConnectorConfig{cfg.value("name", "hook"), "webhook", cfg.dump(),
                         kOrigin};
}

// A connector config pointing at `url`, with a short timeout.
json HookConfig(const std::string& url, const fs::path& secret_file) {
  return {{"name", "hook"},
          {"type", "webhook"},
          {"url", url},
          {"secret_file", secret_file.string()},
          {"timeout", "2s"},
          {"retries", "3"},
          {"allow_private_addresses", true}};
}

StatusOr<std::unique_ptr<WebhookConnector>> MakeHook(
    const json& cfg, const Clock& clock,
    std::chrono::milliseconds backoff = 10ms) {
  StatusOr<WebhookConnectorConfig> parsed =
      ParseWebhookConnectorConfig(Config(cfg));
  if (!parsed.ok()) return parsed.status();
  parsed->first_backoff = backoff;
  return WebhookConnector::Create(*std::move(parsed), clock);
}

class WebhookConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_file_ = dir_.path() / "hook.secret";
    WriteFile(secret_file_, kSecret + "\n", fs::perms::owner_read);
    Status s = receiver_.Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<WebhookConnector> Hook(json cfg) {
    StatusOr<std::unique_ptr<WebhookConnector>> c = MakeHook(cfg, clock_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *std::move(c) : nullptr;
  }
  std::unique_ptr<WebhookConnector> Hook() {
    return Hook(HookConfig(receiver_.Url(), secret_file_));
  }
  Status ConfigError(const json& cfg) {
    StatusOr<std::unique_ptr<WebhookConnector>> c = MakeHook(cfg, clock_);
    return c.ok() ? OkStatus() : c.status();
  }

  SystemClock clock_;
  TestTempDir dir_;
  fs::path secret_file_;
  TestHttpReceiver receiver_{PlainOptions()};
};

// ---------------------------------------------------------------------------
// Round trips

TEST_F(WebhookConnectorTest, GrantCheckRevokeRoundTripIsSignedAndVerified) {
  PosixCommandRunner runner;
  Environment env{clock_, runner, {}};
  StatusOr<std::unique_ptr<Connector>> made = MakeWebhookConnector(
      Config(HookConfig(receiver_.Url(), secret_file_)), env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Connector& hook = **made;
  GrantSpec g = Spec();

  ASSERT_TRUE(hook.Grant(g, Soon()).ok());
  EXPECT_TRUE(receiver_.Holds(g.grant_id));
  StatusOr<bool> active = hook.IsActive(g, Soon());
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_TRUE(*active);
  ASSERT_TRUE(hook.Revoke(g, Soon()).ok());
  EXPECT_FALSE(receiver_.Holds(g.grant_id));
  active = hook.IsActive(g, Soon());
  ASSERT_TRUE(active.ok());
  EXPECT_FALSE(*active);

  std::vector<ReceivedDelivery> got = receiver_.Deliveries();
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::string> actions;
  for (const ReceivedDelivery& d : got) {
    actions.push_back(d.action);
    EXPECT_TRUE(d.signature_ok);
    EXPECT_EQ(d.rejection, "");
    EXPECT_EQ(d.target, "/jitd");
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"grant", "check", "revoke", "check"}));
  EXPECT_NE(got[0].delivery_id, got[2].delivery_id);

  const json& body = got[0].body;
  EXPECT_EQ(body["grant_id"], g.grant_id);
  EXPECT_EQ(body["request_id"], g.request_id);
  EXPECT_EQ(body["subject"], "alice");
  EXPECT_EQ(body["target_user"], "alice@example.com");
  EXPECT_EQ(body["entitlement"], "aws-admin");
  EXPECT_EQ(body["params"],
            json({{"group", "AWSAdmins"}, {"account", 123456789012}}));
  EXPECT_EQ(body["starts_at"], "2026-12-24T19:00:00.000Z");
  EXPECT_EQ(body["expires_at"], "2026-12-24T19:30:00.000Z");
  EXPECT_EQ(body["delivery_id"], got[0].delivery_id);
  EXPECT_THAT(got[0].delivery_id, StartsWith("dlv_"));
  // The signature covers the exact bytes: recompute it from what arrived.
  EXPECT_EQ(
      WebhookSignature(kSecret, got[0].timestamp, got[0].raw_body),
      "v1=" + HmacSha256Hex(kSecret, got[0].timestamp + "." + got[0].raw_body));
}

TEST_F(WebhookConnectorTest, SeparateUrlsReceiveTheirOwnActions) {
  json cfg = HookConfig("", secret_file_);
  cfg.erase("url");
  cfg["grant_url"] = receiver_.Url("/grant");
  cfg["revoke_url"] = receiver_.Url("/revoke");
  cfg["check_url"] = receiver_.Url("/check");
  auto hook = Hook(cfg);
  ASSERT_NE(hook, nullptr);
  GrantSpec g = Spec();
  ASSERT_TRUE(hook->Grant(g, Soon()).ok());
  ASSERT_TRUE(hook->IsActive(g, Soon()).ok());
  ASSERT_TRUE(hook->Revoke(g, Soon()).ok());
  ASSERT_TRUE(hook->ListSessions(g, Soon()).ok());
  std::vector<std::string> targets;
  for (const ReceivedDelivery& d : receiver_.Deliveries())
    targets.push_back(d.target);
  EXPECT_EQ(targets, (std::vector<std::string>{"/grant", "/check", "/revoke",
                                               "/check"}));
}

TEST_F(WebhookConnectorTest, KillSessionsTakesSurvivorsFromTheAnswer) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(
      200, R"({"sessions": [{"id": "console-1", "description": "web"}]})"));
  StatusOr<std::vector<Session>> survivors = hook->KillSessions(Spec(), Soon());
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, ElementsAre(Field(&Session::id, "console-1")));
  EXPECT_EQ(receiver_.Deliveries().size(), 1u);
}

TEST_F(WebhookConnectorTest, MalformedTwoHundredAnswersAreErrors) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(200, "{}"));
  EXPECT_EQ(hook->IsActive(Spec(), Soon()).status().code(),
            StatusCode::kUnavailable);
  receiver_.PushAnswer(Canned(200, "<html>welcome to the portal</html>"));
  EXPECT_EQ(hook->Grant(Spec(), Soon()).code(), StatusCode::kUnavailable);
  receiver_.PushAnswer(Canned(200, R"({"sessions": "all of them"})"));
  EXPECT_EQ(hook->ListSessions(Spec(), Soon()).status().code(),
            StatusCode::kUnavailable);
}

// ---------------------------------------------------------------------------
// The connector contract, checked against the receiver's own state.

class WebhookHarness : public ConnectorHarness {
 public:
  WebhookHarness() {
    secret_file_ = dir_.path() / "hook.secret";
    WriteFile(secret_file_, kSecret, fs::perms::owner_read);
    Status s = receiver_.Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    StatusOr<std::unique_ptr<WebhookConnector>> c =
        MakeHook(HookConfig(receiver_.Url(), secret_file_), clock_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) connector_ = *std::move(c);
  }
  Connector& connector() override { return *connector_; }
  bool TargetHolds(const GrantSpec& g) override {
    return receiver_.Holds(g.grant_id);
  }
  void OpenSession(const GrantSpec& g, const std::string& id) override {
    receiver_.OpenSession(g.grant_id, id);
  }
  bool MakeSessionsSurviveKill() override {
    receiver_.SetSessionsSurviveKill(true);
    return true;
  }

 private:
  SystemClock clock_;
  TestTempDir dir_;
  fs::path secret_file_;
  TestHttpReceiver receiver_{PlainOptions()};
  std::unique_ptr<WebhookConnector> connector_;
};

INSTANTIATE_TEST_SUITE_P(
    Webhook, ConnectorContractTest,
    testing::Values(ConnectorContractParam{
        "Webhook", [] { return std::make_unique<WebhookHarness>(); }}),
    ConnectorContractParamName);

// ---------------------------------------------------------------------------
// Failures and retries (THREATS T11)

TEST_F(WebhookConnectorTest, ServerErrorIsRetriedWithTheSameDeliveryId) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(500, R"({"error": "busy"})"));
  GrantSpec g = Spec();
  Status s = hook->Grant(g, Soon());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(receiver_.Holds(g.grant_id));
  std::vector<ReceivedDelivery> got = receiver_.Deliveries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].canned);
  EXPECT_EQ(got[0].delivery_id, got[1].delivery_id);
  EXPECT_TRUE(got[0].signature_ok && got[1].signature_ok);
}

TEST_F(WebhookConnectorTest, TimeoutAndRateLimitAnswersAreRetried) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(408, ""));
  receiver_.PushAnswer(Canned(429, ""));
  receiver_.PushAnswer(Canned(503, ""));
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(receiver_.Deliveries().size(), 4u);
}

TEST_F(WebhookConnectorTest, GivesUpAsUnavailableWhenRetriesRunOut) {
  auto hook = Hook();
  for (int i = 0; i < 4; ++i) receiver_.PushAnswer(Canned(502, "bad gateway"));
  Status s = hook->Revoke(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("HTTP 502"));
  EXPECT_THAT(s.message(), HasSubstr("4 attempts"));
  EXPECT_EQ(receiver_.Deliveries().size(), 4u);
}

TEST_F(WebhookConnectorTest, ReceiverDownAtRevokeIsUnavailable) {
  auto hook = Hook();
  GrantSpec g = Spec();
  ASSERT_TRUE(hook->Grant(g, Soon()).ok());
  receiver_.Stop();
  // A refused connection fails each attempt at once: the call neither
  // waits out per-attempt timeouts (4 x 2 s) nor its deadline.
  const auto start = std::chrono::steady_clock::now();
  Status s = hook->Revoke(g, start + 60s);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("cannot connect to"));
  EXPECT_THAT(s.message(), HasSubstr("4 attempts"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 7s);
  // Back up: the same revoke goes through.
  ASSERT_TRUE(receiver_.Start().ok());
  EXPECT_TRUE(hook->Revoke(g, Soon()).ok());
  EXPECT_FALSE(receiver_.Holds(g.grant_id));
}

TEST_F(WebhookConnectorTest, RetriesStopAtTheDeadline) {
  json cfg = HookConfig(receiver_.Url(), secret_file_);
  cfg["retries"] = 10;
  StatusOr<std::unique_ptr<WebhookConnector>> hook =
      MakeHook(cfg, clock_, /*backoff=*/100ms);
  ASSERT_TRUE(hook.ok());
  for (int i = 0; i < 11; ++i) receiver_.PushAnswer(Canned(500, ""));
  const auto start = std::chrono::steady_clock::now();
  Status s = (*hook)->Grant(Spec(), start + 400ms);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  // All 11 attempts would sleep 100 ms + 200 ms + ... (capped at 2 s), over
  // 13 s in all; stopping at the deadline ends far sooner, even on a busy
  // machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_LT(receiver_.Deliveries().size(), 5u);
}

TEST_F(WebhookConnectorTest, ClientErrorsArePermanentAndNotRetried) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(404, R"({"error": "no such group"})"));
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("no such group"));
  receiver_.PushAnswer(Canned(400, ""));
  EXPECT_EQ(hook->Grant(Spec(), Soon()).code(), StatusCode::kInvalidArgument);
  receiver_.PushAnswer(Canned(422, ""));
  EXPECT_EQ(hook->Grant(Spec(), Soon()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(receiver_.Deliveries().size(), 3u);
  EXPECT_FALSE(receiver_.Holds(Spec().grant_id));
}

TEST_F(WebhookConnectorTest, OversizedAnswerIsRefused) {
  auto hook = Hook();
  receiver_.PushAnswer(Canned(200, R"({"active": true, "pad": ")" +
                                       std::string(100 * 1024, 'x') + R"("})"));
  StatusOr<bool> active = hook->IsActive(Spec(), Soon());
  EXPECT_EQ(active.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(active.status().message(), HasSubstr("over 65536 bytes"));
  EXPECT_EQ(receiver_.Deliveries().size(), 1u);
}

TEST_F(WebhookConnectorTest, BadParamsAreInvalidArgumentAndNothingIsSent) {
  auto hook = Hook();
  GrantSpec g = Spec();
  g.params_json["group"] = "{not json";
  EXPECT_EQ(hook->Grant(g, Soon()).code(), StatusCode::kInvalidArgument);
  g = Spec();
  g.subject = std::string("al\xff", 3);
  EXPECT_EQ(hook->Grant(g, Soon()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(receiver_.connections(), 0);
}

// ---------------------------------------------------------------------------
// SSRF guard (THREATS T19)

TEST_F(WebhookConnectorTest, RedirectIsNotFollowed) {
  TestHttpReceiver elsewhere(PlainOptions());
  ASSERT_TRUE(elsewhere.Start().ok());
  auto hook = Hook();
  receiver_.PushAnswer(Canned(302, "", {{"Location", elsewhere.Url()}}));
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("redirect"));
  EXPECT_EQ(receiver_.Deliveries().size(), 1u);  // not retried either
  EXPECT_EQ(elsewhere.connections(), 0);
}

TEST_F(WebhookConnectorTest, ForbiddenAddressesAreRefusedAtConfigTime) {
  for (const char* url :
       {"https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/",
        "https://[::ffff:169.254.169.254]/", "https://0.0.0.0/",
        "https://[fd00:ec2::254]/", "https://224.0.0.1/",
        "https://255.255.255.255/", "http://169.254.169.254:80/"}) {
    // Even with private addresses allowed.
    Status s = ConfigError(HookConfig(url, secret_file_));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(s.message(), StartsWith(kOrigin + ": ")) << url;
    EXPECT_THAT(s.message(), HasSubstr("never contacted")) << url;
  }
  json cfg = HookConfig(receiver_.Url(), secret_file_);
  cfg["check_url"] = "https://169.254.169.254/";
  EXPECT_THAT(ConfigError(cfg).message(), HasSubstr("\"check_url\""));
}

TEST_F(WebhookConnectorTest, LoopbackIsRefusedUnlessPrivateAddressesAllowed) {
  json cfg = HookConfig(
      "https://127.0.0.1:" + std::to_string(receiver_.port()) + "/jitd",
      secret_file_);
  cfg["allow_private_addresses"] = false;
  Status s = ConfigError(cfg);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("allow_private_addresses"));
  cfg["url"] = "https://10.1.2.3/jitd";
  EXPECT_EQ(ConfigError(cfg).code(), StatusCode::kInvalidArgument);
  cfg["url"] = "https://[::1]/jitd";
  EXPECT_EQ(ConfigError(cfg).code(), StatusCode::kInvalidArgument);
  // Plain http is for loopback tests only.
  cfg["url"] = "http://idp-bridge.example/jitd";
  EXPECT_THAT(ConfigError(cfg).message(), HasSubstr("must be https"));
  cfg["url"] = receiver_.Url();  // http://localhost:PORT/jitd
  EXPECT_THAT(ConfigError(cfg).message(), HasSubstr("must be https"));
  EXPECT_EQ(receiver_.connections(), 0);
}

TEST_F(WebhookConnectorTest, PlainHttpOnlyToLocalhostEvenWithPrivateAllowed) {
  const std::string port = std::to_string(receiver_.port());
  for (const std::string& url : std::vector<std::string>{
           "http://idp-bridge.example/jitd", "http://10.1.2.3/jitd",
           "http://127.0.0.1:" + port + "/jitd",
           "http://[::1]:" + port + "/jitd",
           "http://localhost.example:" + port + "/jitd",
           "http://localhost.:" + port + "/jitd"}) {
    Status s = ConfigError(HookConfig(url, secret_file_));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(s.message(), StartsWith(kOrigin + ": ")) << url;
    EXPECT_THAT(s.message(), HasSubstr("must be https")) << url;
  }
  json cfg = HookConfig("https://idp-bridge.example/jitd", secret_file_);
  cfg["check_url"] = "http://idp-bridge.example/check";
  EXPECT_THAT(ConfigError(cfg).message(), HasSubstr("\"check_url\""));
  // Host names are case-insensitive.
  EXPECT_TRUE(ConfigError(HookConfig("http://LocalHost:" + port + "/jitd",
                                     secret_file_))
                  .ok());
  EXPECT_TRUE(ConfigError(HookConfig(receiver_.Url(), secret_file_)).ok());
  EXPECT_EQ(receiver_.connections(), 0);
}

TEST_F(WebhookConnectorTest, NameResolvingToRefusedAddressIsNeverContacted) {
  // "localhost" passes config (a name), but resolves to loopback at call
  // time, which this connector may not reach.
  json cfg = HookConfig(
      "https://localhost:" + std::to_string(receiver_.port()) + "/jitd",
      secret_file_);
  cfg["allow_private_addresses"] = false;
  auto hook = Hook(cfg);
  ASSERT_NE(hook, nullptr);
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("localhost resolves to"));
  EXPECT_EQ(hook->Revoke(Spec(), Soon()).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(receiver_.connections(), 0);
}

// ---------------------------------------------------------------------------
// Signatures, seen from the receiver

TEST_F(WebhookConnectorTest, WrongKeyIsRejectedByTheReceiver) {
  fs::path other = dir_.path() / "other.secret";
  WriteFile(other, "some-other-secret-0123456789", fs::perms::owner_read);
  auto hook = Hook(HookConfig(receiver_.Url(), other));
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("401"));
  ASSERT_EQ(receiver_.Deliveries().size(), 1u);
  EXPECT_FALSE(receiver_.Deliveries()[0].signature_ok);
  EXPECT_FALSE(receiver_.Holds(Spec().grant_id));
}

class SignedPost {
 public:
  explicit SignedPost(const TestHttpReceiver& receiver)
      : client_(*HttpClient::Create(receiver.Url(""), 2s)) {}
  ClientResponse Send(const std::string& body, const std::string& timestamp,
                      const std::string& signature,
                      const std::string& delivery_id) {
    StatusOr<ClientResponse> r = client_.Do("POST", "/jitd", "", body,
                                            {{"X-Jitd-Timestamp", timestamp},
                                             {"X-Jitd-Signature", signature},
                                             {"X-Jitd-Delivery", delivery_id}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ClientResponse{};
  }

 private:
  HttpClient client_;
};

std::string Now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

TEST_F(WebhookConnectorTest, TamperedBodyOrStaleTimestampIsRejected) {
  SignedPost post(receiver_);
  json grant = {
      {"action", "grant"}, {"grant_id", "grt_a"}, {"delivery_id", "dlv_1"}};
  json tampered = grant;
  tampered["grant_id"] = "grt_mallory";
  const std::string ts = Now();
  const std::string sig = WebhookSignature(kSecret, ts, grant.dump());

  EXPECT_EQ(post.Send(tampered.dump(), ts, sig, "dlv_1").status, 401);
  EXPECT_FALSE(receiver_.Holds("grt_mallory"));
  std::string stale = std::to_string(std::stoll(ts) - 3600);
  EXPECT_EQ(post.Send(grant.dump(), stale,
                      WebhookSignature(kSecret, stale, grant.dump()), "dlv_1")
                .status,
            401);
  EXPECT_EQ(post.Send(grant.dump(), ts, sig, "dlv_other").status, 401);
  EXPECT_FALSE(receiver_.Holds("grt_a"));
  // The untouched delivery is accepted: the checks above can pass.
  EXPECT_EQ(post.Send(grant.dump(), ts, sig, "dlv_1").status, 200);
  EXPECT_TRUE(receiver_.Holds("grt_a"));

  std::vector<ReceivedDelivery> got = receiver_.Deliveries();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].rejection, "bad signature");
  EXPECT_EQ(got[1].rejection, "timestamp outside the replay window");
  EXPECT_EQ(got[2].rejection, "X-Jitd-Delivery does not match the body");
  EXPECT_EQ(got[3].rejection, "");
}

// ---------------------------------------------------------------------------
// Config

TEST_F(WebhookConnectorTest, SecretFileProblemsAreConfigErrors) {
  json cfg = HookConfig(receiver_.Url(), dir_.path() / "missing.secret");
  Status s = ConfigError(cfg);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith(kOrigin + ": cannot read secret_file"));

  fs::path open_file = dir_.path() / "open.secret";
  WriteFile(open_file, kSecret,
            fs::perms::owner_read | fs::perms::owner_write |
                fs::perms::group_read | fs::perms::others_read);
  s = ConfigError(HookConfig(receiver_.Url(), open_file));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("readable or writable by others"));

  fs::path short_file = dir_.path() / "short.secret";
  WriteFile(short_file, "tiny\n", fs::perms::owner_read);
  EXPECT_THAT(ConfigError(HookConfig(receiver_.Url(), short_file)).message(),
              HasSubstr("fewer than 16 bytes"));

  cfg = HookConfig(receiver_.Url(), secret_file_);
  cfg.erase("secret_file");
  EXPECT_THAT(ConfigError(cfg).message(),
              HasSubstr("\"secret_file\" is required"));
  cfg["secret_file"] = secret_file_.string();
  cfg["secret"] = kSecret;
  EXPECT_THAT(ConfigError(cfg).message(),
              HasSubstr("must not be written into the config"));
}

TEST_F(WebhookConnectorTest, ConfigIsStrict) {
  json ok = HookConfig(receiver_.Url(), secret_file_);
  ok["discovery"] = {{"mode", "report"}};  // the server's key
  EXPECT_TRUE(ConfigError(ok).ok()) << ConfigError(ok).ToString();

  auto with = [&](const std::string& key, const json& value) {
    json cfg = HookConfig(receiver_.Url(), secret_file_);
    cfg[key] = value;
    return ConfigError(cfg);
  };
  for (const Status& s :
       {with("retries", "11"), with("retries", -1), with("retries", "two"),
        with("timeout", "forever"), with("timeout", "2m"),
        with("allow_private_addresses", "yes"), with("headers", json::object()),
        with("url", "ftp://127.0.0.1/"),
        with("ca_file", (dir_.path() / "no-such-ca.pem").string())}) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), StartsWith(kOrigin + ": "));
  }
  json no_url = HookConfig(receiver_.Url(), secret_file_);
  no_url.erase("url");
  no_url["grant_url"] = receiver_.Url();
  EXPECT_THAT(ConfigError(no_url).message(), HasSubstr("needs \"url\""));
}

TEST_F(WebhookConnectorTest, FactoryNamesTheOriginForAnUnusableCaFile) {
  fs::path not_pem = dir_.path() / "ca.pem";
  WriteFile(not_pem, "not a certificate\n", fs::perms::owner_read);
  json cfg = HookConfig(receiver_.Url(), secret_file_);
  cfg["ca_file"] = not_pem.string();
  PosixCommandRunner runner;
  Environment env{clock_, runner, {}};
  StatusOr<std::unique_ptr<Connector>> made =
      MakeWebhookConnector(Config(cfg), env);
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(made.status().message(),
              StartsWith(kOrigin + ": cannot load CA certificates"));
}

// ---------------------------------------------------------------------------
// https with peer verification

class WebhookTlsTest : public WebhookConnectorTest {
 protected:
  void SetUp() override {
    secret_file_ = dir_.path() / "hook.secret";
    WriteFile(secret_file_, kSecret, fs::perms::owner_read);
    cert_ = (dir_.path() / "cert.pem").string();
    key_ = (dir_.path() / "key.pem").string();
    // Self-signed, valid for the name "localhost" only (not 127.0.0.1).
    PosixCommandRunner runner;
    StatusOr<CommandResult> r = runner.Run(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
         key_, "-out", cert_},
        {{"PATH", "/usr/bin:/bin"}}, 20s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->exit_code, 0) << r->err;
    tls_ = std::make_unique<TestHttpReceiver>(TlsOptions(cert_, key_));
    Status s = tls_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string LocalhostUrl() const {
    return "https://localhost:" + std::to_string(tls_->port()) + "/jitd";
  }

  std::string cert_;
  std::string key_;
  std::unique_ptr<TestHttpReceiver> tls_;
};

TEST_F(WebhookTlsTest, RoundTripOverVerifiedTls) {
  json cfg = HookConfig(LocalhostUrl(), secret_file_);
  cfg["ca_file"] = cert_;
  auto hook = Hook(cfg);
  ASSERT_NE(hook, nullptr);
  GrantSpec g = Spec();
  Status s = hook->Grant(g, Soon());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(tls_->Holds(g.grant_id));
  StatusOr<bool> active = hook->IsActive(g, Soon());
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_TRUE(*active);
  ASSERT_TRUE(hook->Revoke(g, Soon()).ok());
  EXPECT_FALSE(tls_->Holds(g.grant_id));
  for (const ReceivedDelivery& d : tls_->Deliveries())
    EXPECT_TRUE(d.signature_ok && d.rejection.empty()) << d.rejection;
}

TEST_F(WebhookTlsTest, UntrustedCertificateFailsBeforeAnythingIsSent) {
  auto hook = Hook(HookConfig(LocalhostUrl(), secret_file_));  // system CAs
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("TLS handshake failed"));
  EXPECT_THAT(tls_->Deliveries(), IsEmpty());
}

TEST_F(WebhookTlsTest, CertificateForAnotherNameFails) {
  json cfg =
      HookConfig("https://127.0.0.1:" + std::to_string(tls_->port()) + "/jitd",
                 secret_file_);
  cfg["ca_file"] = cert_;
  cfg["retries"] = 0;
  auto hook = Hook(cfg);
  Status s = hook->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("TLS handshake failed"));
  EXPECT_THAT(tls_->Deliveries(), IsEmpty());
}

}  // namespace
}  // namespace jit
