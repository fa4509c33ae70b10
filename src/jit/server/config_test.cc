#include "jit/server/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace jit {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kGood = R"(listen: 127.0.0.1:9000
data_dir: /tmp/jitd-config-test
auth:
  tokens:
    - {subject: alice, groups: [dev], token: "alice-token-0123456789"}
    - {subject: bob, person: robert, groups: [sre], token_sha256: "0000000000000000000000000000000000000000000000000000000000000000"}
roles: {admin: [secops], auditor: [audit]}
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: read, connector: demo, max_duration: 1h}
policies:
  - name: p
    subjects: {groups: [dev]}
    entitlements: [read]
    approval: {auto: true}
)";

TEST(ConfigTest, LoadsAGoodFile) {
  auto c = LoadConfig(WriteTemp("good.yaml", kGood));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 9000);
  ASSERT_EQ(c->tokens.size(), 2u);
  EXPECT_EQ(c->tokens[0].subject.person, "alice");
  EXPECT_EQ(c->tokens[1].subject.person, "robert");
  EXPECT_EQ(c->tokens[0].token_sha256.size(), 64u);
  EXPECT_EQ(c->roles.admin, std::vector<std::string>{"secops"});
  ASSERT_EQ(c->connectors.size(), 1u);
  EXPECT_EQ(c->connectors[0].type, "fake");
  EXPECT_NE(c->connectors[0].origin.find("good.yaml:9"), std::string::npos);
}

struct BadConfig {
  std::string name;
  std::string text;
  std::string want;  // substring of the error, with the line
};

TEST(ConfigTest, BadFilesNameFileLineAndReason) {
  std::vector<BadConfig> cases = {
      {"unknown top key", "colour: red\n",
       "bad.yaml:1: unknown key \"colour\""},
      {"bad listen", "listen: nowhere\n",
       "bad.yaml:1: listen must be HOST:PORT"},
      {"token too short",
       "auth:\n  tokens:\n    - {subject: a, token: \"short\"}\n",
       "bad.yaml:3"},
      {"both token kinds",
       "auth:\n  tokens:\n    - {subject: a, token: \"0123456789abcdefgh\", "
       "token_sha256: \"x\"}\n",
       "exactly one of token"},
      {"duplicate connector",
       "connectors:\n  - {name: a, type: fake}\n  - {name: a, type: fake}\n",
       "bad.yaml:3"},
      {"unknown connector in entitlement",
       "entitlements:\n  - {name: r, connector: nope, max_duration: 1h}\n",
       "unknown connector"},
      {"syntax", "auth: [\n", "bad.yaml:"},
      {"oidc without audience", "auth:\n  oidc: {issuer: x}\n", "bad.yaml:2"},
      {"postgres password inline",
       "storage: {postgres: \"postgresql://jitd:pw@x/jitd\"}\n",
       "bad.yaml:1: the PostgreSQL connection string must not contain a "
       "password"},
      {"postgres unknown key", "storage:\n  postgres: {dsn: x}\n",
       "bad.yaml:2: unknown key \"dsn\""},
      {"postgres dsn_file relative",
       "storage:\n  postgres: {dsn_file: pg.dsn}\n",
       "bad.yaml:2: dsn_file \"pg.dsn\": must be an absolute path"},
      {"discovery mode",
       "connectors:\n  - name: a\n    type: fake\n    discovery: {mode: "
       "fix}\n",
       "bad.yaml:4: discovery.mode must be report or enforce"},
      {"discovery key",
       "connectors:\n  - {name: a, type: fake, discovery: {often: 1m}}\n",
       "unknown key \"often\""},
      {"discovery every",
       "connectors:\n  - {name: a, type: fake, discovery: {every: soon}}\n",
       "bad.yaml:2"},
      {"empty enforcement socket", "enforcement_socket: \"\"\n",
       "bad.yaml:1: enforcement_socket must be a path"},
  };
  for (const BadConfig& c : cases) {
    auto loaded = LoadConfig(WriteTemp("bad.yaml", c.text));
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_NE(loaded.status().message().find(c.want), std::string::npos)
        << c.name << ": " << loaded.status().message();
  }
}

TEST(ConfigTest, DiscoveryIsTheServersKeyAndEnforcementSocketIsRead) {
  std::string text =
      std::string(kGood) + "enforcement_socket: /run/jitd/check.sock\n";
  size_t at = text.find("  - {name: demo, type: fake}");
  text.replace(at, std::string("  - {name: demo, type: fake}").size(),
               "  - {name: demo, type: fake, discovery: {mode: enforce, "
               "every: 30s}}");
  auto c = LoadConfig(WriteTemp("discovery.yaml", text));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->enforcement_socket, "/run/jitd/check.sock");
  ASSERT_EQ(c->discovery.size(), 1u);
  EXPECT_EQ(c->discovery[0].connector, "demo");
  EXPECT_EQ(c->discovery[0].mode, "enforce");
  EXPECT_EQ(c->discovery[0].every, std::chrono::seconds(30));
  // The connector itself never sees the server's key.
  EXPECT_EQ(c->connectors[0].config_json.find("discovery"), std::string::npos);
}

TEST(ConfigTest, WebDirHasADefaultAndIsChecked) {
  auto plain = LoadConfig(WriteTemp("web0.yaml", kGood));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->web_dir, "web/dist");
  auto set = LoadConfig(WriteTemp(
      "web1.yaml", std::string(kGood) + "web: {dir: /srv/console}\n"));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->web_dir, "/srv/console");
  auto bad = LoadConfig(
      WriteTemp("web2.yaml", std::string(kGood) + "web: {root: x}\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown key \"root\""),
            std::string::npos)
      << bad.status().message();
}

TEST(ConfigTest, PostgresStorageTakesAnInlineDsnOrADsnFile) {
  auto inline_dsn = LoadConfig(WriteTemp(
      "pg-inline.yaml",
      std::string(kGood) + "storage: {postgres: \"host=db user=jitd\"}\n"));
  ASSERT_TRUE(inline_dsn.ok()) << inline_dsn.status().ToString();
  EXPECT_EQ(inline_dsn->storage, "postgres");
  EXPECT_EQ(inline_dsn->postgres_dsn, "host=db user=jitd");

  // A password is fine in a file only jitd can read.
  std::string dsn_path =
      WriteTemp("pg-config-test.dsn", "host=db user=jitd password=s3cret\n");
  std::filesystem::permissions(
      dsn_path,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto from_file = LoadConfig(WriteTemp(
      "pg-file.yaml", std::string(kGood) + "storage:\n  postgres: {dsn_file: " +
                          dsn_path + "}\n"));
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->storage, "postgres");
  EXPECT_EQ(from_file->postgres_dsn, "host=db user=jitd password=s3cret");
}

TEST(ConfigTest, MissingFileIsAClearError) {
  auto c = LoadConfig("/nonexistent/jitd.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cannot read"), std::string::npos);
}

TEST(ConfigTest, AuditSyslogIsReadAndCheckedWithFileAndLine) {
  auto c = LoadConfig(WriteTemp(
      "syslog.yaml", std::string(kGood) +
                         "audit:\n  syslog:\n    address: logs.example:6514\n"
                         "    tls: {ca_file: /etc/jitd/ca.pem}\n"
                         "    facility: 4\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->syslog.has_value());
  EXPECT_EQ(c->syslog->host, "logs.example");
  EXPECT_EQ(c->syslog->port, 6514);
  EXPECT_EQ(c->syslog->ca_file, "/etc/jitd/ca.pem");
  EXPECT_EQ(c->syslog->facility, 4);
  auto none = LoadConfig(WriteTemp("nosyslog.yaml", kGood));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->syslog.has_value());

  const std::vector<BadConfig> bad = {
      {"unknown key", "audit:\n  syslog: {address: h:1, port: 2}\n",
       ":2: unknown key \"port\" in audit.syslog"},
      {"unknown tls key",
       "audit:\n  syslog:\n    address: h:1\n    tls: {cert: x}\n",
       ":4: unknown key \"cert\" in audit.syslog.tls"},
      {"no address", "audit:\n  syslog: {facility: 3}\n",
       ":2: audit.syslog needs address"},
      {"no port", "audit:\n  syslog: {address: h:0}\n",
       ":2: audit.syslog.address must be HOST:PORT"},
      {"facility", "audit:\n  syslog: {address: h:1, facility: 24}\n",
       ":2: audit.syslog.facility must be a number from 0 to 23"},
  };
  for (const BadConfig& b : bad) {
    auto got = LoadConfig(WriteTemp("badsyslog.yaml", b.text));
    ASSERT_FALSE(got.ok()) << b.name;
    EXPECT_NE(got.status().message().find("badsyslog.yaml" + b.want),
              std::string::npos)
        << b.name << ": " << got.status().message();
  }
}

TEST(ConfigTest, NotifiersAreReadAndPoliciesMayNameOnlyThem) {
  const std::string base = std::string(kGood) + R"(  - name: glass
    subjects: {groups: [dev]}
    entitlements: [read]
    approval: {users: [bob]}
    emergency: {allowed: true, notify: [sec-oncall]}
)";
  const std::string notifiers = R"(notifiers:
  - name: sec-oncall
    type: slack
    url: https://hooks.example.com/services/T0/B0/x
    events: [drift.found]
)";
  auto c = LoadConfig(WriteTemp("notifiers.yaml", base + notifiers));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->notifiers.size(), 1u);
  EXPECT_EQ(c->notifiers[0].name, "sec-oncall");
  EXPECT_EQ(c->notifiers[0].type, NotifierType::kSlack);
  EXPECT_EQ(c->notifiers[0].url.host, "hooks.example.com");
  EXPECT_EQ(c->notifiers[0].events.count("drift.found"), 1u);

  // The policy's notify list is on line 21 of `base`.
  auto unknown = LoadConfig(WriteTemp("unknownnotifier.yaml", base));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find(
                "unknownnotifier.yaml:21: emergency.notify names unknown "
                "notifier \"sec-oncall\""),
            std::string::npos)
      << unknown.status().message();

  auto bad = LoadConfig(
      WriteTemp("badnotifier.yaml",
                base + notifiers +
                    "  - {name: x, type: slack, url: http://x.example/}\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("badnotifier.yaml:27: notifier: url "
                                        "must be https"),
            std::string::npos)
      << bad.status().message();
  auto twice = LoadConfig(WriteTemp(
      "twicenotifier.yaml",
      base + notifiers +
          "  - {name: sec-oncall, type: slack, url: https://x.example/}\n"));
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("used twice"), std::string::npos)
      << twice.status().message();
}

// kGood with `auth.oidc` set to `oidc` (indented mapping lines).
std::string WithOidc(const std::string& oidc) {
  std::string text = kGood;
  std::string anchor = "auth:\n";
  text.insert(text.find(anchor) + anchor.size(), "  oidc:\n" + oidc);
  return text;
}

TEST(ConfigTest, AuthOidcIsReadWithDefaults) {
  auto c = LoadConfig(WriteTemp(
      "oidc.yaml",
      WithOidc("    issuer: https://idp.example/realm\n    audience: jitd\n")));

  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->oidc.has_value());
  EXPECT_EQ(c->oidc->issuer, "https://idp.example/realm");
  EXPECT_EQ(c->oidc->subject_claim, "sub");
  EXPECT_EQ(c->oidc->groups_claim, "groups");
  EXPECT_EQ(c->oidc->algorithms,
            (std::vector<std::string>{"RS256", "ES256", "EdDSA"}));
  EXPECT_EQ(c->oidc->leeway, std::chrono::seconds(60));
  EXPECT_EQ(c->tokens.size(), 2u);  // static tokens keep working beside it
}

TEST(ConfigTest, AuthOidcReadsTheWebClient) {
  auto c = LoadConfig(WriteTemp(
      "oidc-web.yaml",
      WithOidc("    issuer: https://idp.example\n    audience: jitd\n"
               "    web_client_id: jitd-web\n"
               "    web_redirect_uri: https://jitd.example/v1/session/oidc/"
               "callback\n"
               "    web_scope: openid jit\n"
               "    web_resource: https://jitd.example\n")));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->oidc->web_client_id, "jitd-web");
  EXPECT_EQ(c->oidc->web_redirect_uri,
            "https://jitd.example/v1/session/oidc/callback");
  EXPECT_EQ(c->oidc->web_scope, "openid jit");
  EXPECT_EQ(c->oidc->web_resource, "https://jitd.example");
}

TEST(ConfigTest, AuthOidcTakesEveryOption) {
  std::string ca = WriteTemp("oidc-ca.pem", "not checked until used\n");
  auto c = LoadConfig(
      WriteTemp("oidc-all.yaml",
                WithOidc("    issuer: https://idp.example\n"
                         "    audience: jitd-prod\n"
                         "    subject_claim: preferred_username\n"
                         "    groups_claim: roles\n"
                         "    group_map: {idp-developers: dev, idp-sre: sre}\n"
                         "    only_mapped_groups: true\n"
                         "    ca_file: " +
                         ca +
                         "\n"
                         "    algorithms: [ES256]\n"
                         "    leeway: 5s\n"
                         "    jwks_max_age: 10m\n"
                         "    jwks_min_refetch: 1s\n")));

  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->oidc->subject_claim, "preferred_username");
  EXPECT_EQ(c->oidc->group_map.at("idp-sre"), "sre");
  EXPECT_TRUE(c->oidc->only_mapped_groups);
  EXPECT_EQ(c->oidc->ca_file, ca);
  EXPECT_EQ(c->oidc->algorithms, std::vector<std::string>{"ES256"});
  EXPECT_EQ(c->oidc->leeway, std::chrono::seconds(5));
  EXPECT_EQ(c->oidc->jwks_max_age, std::chrono::minutes(10));
  EXPECT_EQ(c->oidc->jwks_min_refetch, std::chrono::seconds(1));
}

TEST(ConfigTest, BadAuthOidcIsAClearError) {
  const std::string kBase =
      "    issuer: https://idp.example\n    audience: jitd\n";
  std::vector<std::pair<std::string, std::string>> cases = {
      {"    issuer: https://idp.example\n", "needs issuer and audience"},
      {kBase + "    algorithms: [HS256]\n", "\"HS256\" is not supported"},
      {kBase + "    algorithms: [none]\n", "\"none\" is not supported"},
      {kBase + "    algorithms: []\n", "algorithms must not be empty"},
      {kBase + "    leeway: soon\n", "oidc-bad.yaml:"},
      {kBase + "    leeway: 1h\n", "leeway must be between"},
      {kBase + "    only_mapped_groups: maybe\n", "true or false"},
      {kBase + "    group_map: [a, b]\n", "group_map must map"},
      {kBase + "    ca_file: /nonexistent/ca.pem\n", "cannot read"},
      {kBase + "    colour: red\n", "unknown key \"colour\" in auth.oidc"},
      {"    issuer: idp.example\n    audience: jitd\n", "http(s)://"},
  };
  for (const auto& [oidc, want] : cases) {
    auto c = LoadConfig(WriteTemp("oidc-bad.yaml", WithOidc(oidc)));
    ASSERT_FALSE(c.ok()) << oidc;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("oidc-bad.yaml:"), std::string::npos)
        << c.status().message();
  }
}

TEST(ConfigTest, TlsAndAuthRateLimitAreRead) {
  std::string text = kGood;
  text.replace(text.find("roles:"), 6,
               "  rate_limit: {failures: 5, per: 30s, max_sources: 1000}\n"
               "roles:");
  text +=
      "tls: {cert: /etc/jitd/c.pem, key: /etc/jitd/k.pem, "
      "handshake_timeout: 3s}\n";
  auto c = LoadConfig(WriteTemp("tls-ratelimit-good.yaml", text));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->tls->cert_file, "/etc/jitd/c.pem");
  EXPECT_EQ(c->tls->key_file, "/etc/jitd/k.pem");
  EXPECT_EQ(c->tls_handshake_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->auth_rate_limit.failures, 5);
  EXPECT_EQ(c->auth_rate_limit.per, std::chrono::seconds(30));
  EXPECT_EQ(c->auth_rate_limit.max_keys, 1000u);

  auto defaults = LoadConfig(WriteTemp("tls-ratelimit-defaults.yaml", kGood));
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_FALSE(defaults->tls.has_value());
  EXPECT_EQ(defaults->auth_rate_limit.failures, 10);
  EXPECT_EQ(defaults->auth_rate_limit.per, std::chrono::minutes(1));
}

TEST(ConfigTest, BadTlsOrRateLimitIsAClearError) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"tls: {cert: c.pem}\n", "tls needs cert and key"},
      {"tls: {cert: c.pem, key: k.pem, ca: x}\n", "unknown key \"ca\" in tls"},
      {"tls: {cert: c.pem, key: k.pem, handshake_timeout: 0s}\n",
       "invalid duration \"0s\""},
      {"tls: c.pem\n", "tls must be a mapping"},
  };
  std::string with_limit = kGood;
  with_limit.replace(with_limit.find("roles:"), 6,
                     "  rate_limit: LIMIT\nroles:");
  for (const auto& [limit, want] :
       std::vector<std::pair<std::string, std::string>>{
           {"{failures: 0}", "failures must be a number from 1 to 100000"},
           {"{failures: many}", "failures must be a number"},
           {"{per: 0s}", "invalid duration \"0s\""},
           {"{failures: 100000, per: 1s}", "more than one failure per"},
           {"{burst: 3}", "unknown key \"burst\" in auth.rate_limit"},
       }) {
    std::string text = with_limit;
    text.replace(text.find("LIMIT"), 5, limit);
    cases.push_back({text, want});
  }
  for (auto& [text, want] : cases) {
    std::string whole = text.rfind("tls:", 0) == 0 ? kGood + text : text;
    auto c = LoadConfig(WriteTemp("tls-ratelimit-bad.yaml", whole));
    ASSERT_FALSE(c.ok()) << whole;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << c.status().message();
  }
}

TEST(ConfigTest, AuthMfaIsReadWithDefaults) {
  auto defaults = LoadConfig(WriteTemp("mfa-defaults.yaml", kGood));
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->mfa, MfaOptions{});
  EXPECT_EQ(defaults->mfa.max_age, std::chrono::minutes(15));

  std::string text = kGood;
  text.replace(text.find("roles:"), 6,
               "  mfa: {max_age: 5m, amr_values: [hwk], acr_values: [gold]}\n"
               "roles:");
  auto c = LoadConfig(WriteTemp("mfa-good.yaml", text));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mfa.max_age, std::chrono::minutes(5));
  EXPECT_EQ(c->mfa.amr_values, std::vector<std::string>{"hwk"});
  EXPECT_EQ(c->mfa.acr_values, std::vector<std::string>{"gold"});

  for (const auto& [mfa, want] :
       std::vector<std::pair<std::string, std::string>>{
           {"{max_age: 0s}", "invalid duration \"0s\""},
           {"{amr_values: otp}", "auth.mfa.amr_values must be a list"},
           {"{totp: true}", "unknown key \"totp\" in auth.mfa"},
       }) {
    std::string bad = kGood;
    bad.replace(bad.find("roles:"), 6, "  mfa: " + mfa + "\nroles:");
    auto refused = LoadConfig(WriteTemp("mfa-bad.yaml", bad));
    ASSERT_FALSE(refused.ok()) << mfa;
    EXPECT_NE(refused.status().message().find(want), std::string::npos)
        << refused.status().message();
  }
}

TEST(ConfigTest, LoopbackHosts) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1",
                           "::ffff:10.0.0.1", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ConfigTest, PlainHttpOffLoopbackNeedsInsecure) {
  Config c;
  c.listen_address = "0.0.0.0";
  Status refused = CheckListenSecurity(c, InsecureListen::kRefuse);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("--insecure"), std::string::npos);
  EXPECT_TRUE(CheckListenSecurity(c, InsecureListen::kAllow).ok());
  c.tls = TlsFiles{"c.pem", "k.pem"};
  EXPECT_TRUE(CheckListenSecurity(c, InsecureListen::kRefuse).ok());
  c.tls.reset();
  c.listen_address = "::1";
  EXPECT_TRUE(CheckListenSecurity(c, InsecureListen::kRefuse).ok());
}

}  // namespace
}  // namespace jit
