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
      {"oidc not yet", "auth:\n  oidc: {issuer: x}\n", "bad.yaml:2"},
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

}  // namespace
}  // namespace jit
