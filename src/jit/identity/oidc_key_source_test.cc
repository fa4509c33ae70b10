// OidcKeySource against a real HTTP server on 127.0.0.1 playing the IdP's
// discovery and JWKS endpoints; FakeClock drives refetch timing.
#include "jit/identity/oidc_key_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "jit/api/http_server.h"
#include "jit/identity/jwt_test_util.h"

namespace jit {
namespace {

using testing::TestKey;
using namespace std::chrono_literals;

class FakeIdp {
 public:
  FakeIdp() {
    HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options, [this](const HttpRequest& r) { return Handle(r); });
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    issuer_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/realm";
  }
  const std::string& issuer() const { return issuer_; }
  void Publish(const std::vector<std::shared_ptr<TestKey>>& keys) {
    std::lock_guard lock(mu_);
    jwks_ = testing::JwksJson(keys);
  }
  void SetDiscoveryIssuer(std::string issuer) {
    std::lock_guard lock(mu_);
    discovery_issuer_ = std::move(issuer);
  }
  void Fail(bool fail) { fail_ = fail; }
  int jwks_fetches() const { return jwks_fetches_; }
  int discovery_fetches() const { return discovery_fetches_; }

 private:
  HttpResponse Handle(const HttpRequest& r) {
    std::lock_guard lock(mu_);
    HttpResponse out;
    if (fail_) {
      out.status = 500;
      return out;
    }
    if (r.path == "/realm/.well-known/openid-configuration") {
      ++discovery_fetches_;
      nlohmann::json doc = {
          {"issuer", discovery_issuer_.empty() ? issuer_ : discovery_issuer_},
          {"jwks_uri", issuer_ + "/jwks?format=json"}};
      out.body = doc.dump();
    } else if (r.path == "/realm/jwks" && r.query.count("format") == 1) {
      ++jwks_fetches_;
      out.body = jwks_;
    } else {
      out.status = 404;
    }
    return out;
  }

  std::unique_ptr<HttpServer> server_;
  std::string issuer_;
  std::mutex mu_;
  std::string jwks_ = R"({"keys": []})";  // guarded by mu_
  std::string discovery_issuer_;          // guarded by mu_
  std::atomic<bool> fail_{false};
  std::atomic<int> jwks_fetches_{0};
  std::atomic<int> discovery_fetches_{0};
};

class OidcKeySourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    k1_ = TestKey::Ec("k1");
    k2_ = TestKey::Ec("k2");
  }
  static void TearDownTestSuite() {
    k1_.reset();
    k2_.reset();
  }
  OidcConfig Config() const {
    OidcConfig c;
    c.issuer = idp_.issuer();
    c.audience = "jitd";
    c.jwks_max_age = 1h;
    c.jwks_min_refetch = 30s;
    c.http_timeout = 5s;
    return c;
  }
  static inline std::shared_ptr<TestKey> k1_, k2_;
  FakeIdp idp_;
  FakeClock clock_{SystemTime(std::chrono::seconds(1'800'000'000))};
};

TEST_F(OidcKeySourceTest, DiscoversAndFetchesKeysOnFirstUse) {
  idp_.Publish({k1_});
  OidcKeySource keys(Config(), clock_);
  EXPECT_EQ(idp_.jwks_fetches(), 0);

  StatusOr<std::shared_ptr<const Jwk>> key = keys.FindKey("k1");

  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ((*key)->kid(), "k1");
  EXPECT_EQ(idp_.discovery_fetches(), 1);
  EXPECT_EQ(idp_.jwks_fetches(), 1);
  EXPECT_TRUE(keys.FindKey("k1").ok());
  EXPECT_EQ(idp_.jwks_fetches(), 1);  // cached
}

TEST_F(OidcKeySourceTest, UnknownKidRefetchesAtMostOncePerInterval) {
  idp_.Publish({k1_});
  OidcKeySource keys(Config(), clock_);
  ASSERT_TRUE(keys.FindKey("k1").ok());
  idp_.Publish({k2_});  // the IdP rotates

  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(keys.FindKey("made-up-" + std::to_string(i)).status().code(),
              StatusCode::kNotFound);
  }
  EXPECT_EQ(idp_.jwks_fetches(), 1);
  EXPECT_EQ(keys.FindKey("k2").status().code(), StatusCode::kNotFound);

  clock_.Advance(30s);

  EXPECT_TRUE(keys.FindKey("k2").ok());
  EXPECT_EQ(idp_.jwks_fetches(), 2);
  EXPECT_EQ(keys.FindKey("k1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(idp_.discovery_fetches(), 1);
}

TEST_F(OidcKeySourceTest, KeysOlderThanMaxAgeAreFetchedAgain) {
  idp_.Publish({k1_});
  OidcKeySource keys(Config(), clock_);
  ASSERT_TRUE(keys.FindKey("k1").ok());

  clock_.Advance(1h);
  ASSERT_TRUE(keys.FindKey("k1").ok());

  EXPECT_EQ(idp_.jwks_fetches(), 2);
}

TEST_F(OidcKeySourceTest, FailedFetchKeepsTheOldKeys) {
  idp_.Publish({k1_});
  OidcKeySource keys(Config(), clock_);
  ASSERT_TRUE(keys.FindKey("k1").ok());
  idp_.Fail(true);
  clock_.Advance(2h);

  EXPECT_TRUE(keys.FindKey("k1").ok());
  EXPECT_EQ(keys.FindKey("k2").status().code(), StatusCode::kNotFound);
}

TEST_F(OidcKeySourceTest, IdpDownAtFirstUseIsUnavailable) {
  idp_.Fail(true);
  OidcKeySource keys(Config(), clock_);

  StatusOr<std::shared_ptr<const Jwk>> key = keys.FindKey("k1");

  EXPECT_EQ(key.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(key.status().message().find("HTTP 500"), std::string::npos)
      << key.status().message();
}

TEST_F(OidcKeySourceTest, DiscoveryNamingAnotherIssuerIsRefused) {
  idp_.Publish({k1_});
  idp_.SetDiscoveryIssuer("https://evil.test/realm");
  OidcKeySource keys(Config(), clock_);

  StatusOr<std::shared_ptr<const Jwk>> key = keys.FindKey("k1");

  EXPECT_EQ(key.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(key.status().message().find("another issuer"), std::string::npos);
  EXPECT_EQ(idp_.jwks_fetches(), 0);
}

TEST_F(OidcKeySourceTest, UnreachableIdpIsUnavailable) {
  OidcConfig c = Config();
  c.issuer = "http://127.0.0.1:1/realm";
  OidcKeySource keys(c, clock_);

  EXPECT_EQ(keys.FindKey("k1").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace jit
