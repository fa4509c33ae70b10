#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/connectors/postgres/postgres_connector.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConnectorConfig Config(const std::string& json) {
  return ConnectorConfig{"db", "postgres", json, "jitd.yaml:7"};
}

StatusOr<PostgresConnectorConfig> Parse(const std::string& json) {
  return ParsePostgresConnectorConfig(Config(json));
}

void ExpectInvalid(const std::string& json, const std::string& fragment) {
  StatusOr<PostgresConnectorConfig> c = Parse(json);
  ASSERT_FALSE(c.ok()) << json;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("jitd.yaml:7: "));
  EXPECT_THAT(c.status().message(), HasSubstr(fragment));
}

TEST(PostgresConfigTest, ReadsAFullEntry) {
  auto c = Parse(R"({"name":"db","type":"postgres",
      "dsn":"host=127.0.0.1 port=5432 user=jitd dbname=app",
      "managed_roles":["app_read","app_admin"],"timeout":"2s",
      "pgaudit":true,"discovery":{"interval":"5m"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dsn, "host=127.0.0.1 port=5432 user=jitd dbname=app");
  EXPECT_THAT(c->managed_roles, ElementsAre("app_read", "app_admin"));
  EXPECT_EQ(c->timeout, 2s);
  EXPECT_TRUE(c->pgaudit);
  EXPECT_FALSE(c->password.has_value());
}

TEST(PostgresConfigTest, DefaultsAndUri) {
  auto c = Parse(R"({"name":"db","type":"postgres",
      "dsn":"postgresql://jitd@127.0.0.1:5432/app","managed_roles":["r"]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->timeout, 5s);
  EXPECT_FALSE(c->pgaudit);
}

TEST(PostgresConfigTest, RefusesUnknownKeysAndMissingOnes) {
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["r"],"sslmode":"x"})",
                "unknown key \"sslmode\"");
  ExpectInvalid(R"({"managed_roles":["r"]})", "\"dsn\" is required");
  ExpectInvalid(R"({"dsn":"host=x"})", "managed_roles");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":[]})", "managed_roles");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":"r"})", "managed_roles");
}

TEST(PostgresConfigTest, RefusesBadDsnAndInlinePasswords) {
  ExpectInvalid(R"({"dsn":"host=x nonsense","managed_roles":["r"]})",
                "not a valid connection string");
  ExpectInvalid(R"({"dsn":"host=x password=hunter2","managed_roles":["r"]})",
                "password_file");
  ExpectInvalid(
      R"({"dsn":"postgresql://jitd:hunter2@h/app","managed_roles":["r"]})",
      "password_file");
}

TEST(PostgresConfigTest, RefusesHostileOrReservedRoleNames) {
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["x\"; DROP ROLE a; --"]})",
                "not an acceptable role name");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["pg_read_server_files"]})",
                "not an acceptable role name");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["r","r"]})", "twice");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["r"],"timeout":"soon"})",
                "\"timeout\"");
}

TEST(PostgresConfigTest, ReadsPasswordFileAndRefusesRelativeOrMissing) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("jit_pg_pw_" + std::to_string(getpid()));
  {
    std::ofstream out(path);
    out << "s3cret\n";
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write);
  auto c = Parse(R"({"dsn":"host=x","managed_roles":["r"],"password_file":")" +
                 path + "\"}");
  std::filesystem::remove(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->password, "s3cret");
  ExpectInvalid(
      R"({"dsn":"host=x","managed_roles":["r"],"password_file":"pw.txt"})",
      "absolute path");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["r"],"password_file":")" +
                    path + "\"}",
                "cannot read");
}

TEST(PostgresConfigTest, RefusesPasswordFileOthersCanReadOrWrite) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("jit_pg_pwmode_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = dir / "pw";
  {
    std::ofstream out(path);
    out << "s3cret\n";
  }
  const std::string json =
      R"({"dsn":"host=x","managed_roles":["r"],"password_file":")" + path +
      "\"}";
  for (fs::perms extra : {fs::perms::group_read, fs::perms::group_write,
                          fs::perms::others_read, fs::perms::others_write}) {
    fs::permissions(path,
                    fs::perms::owner_read | fs::perms::owner_write | extra);
    ExpectInvalid(json, "accessible by group or others");
  }
  fs::permissions(path, fs::perms::owner_read);
  auto ok = Parse(json);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->password, "s3cret");
  ExpectInvalid(R"({"dsn":"host=x","managed_roles":["r"],"password_file":")" +
                    dir.string() + "\"}",
                "not a regular file");
  fs::remove_all(dir);
}

TEST(RoleNameTest, AcceptsOrdinaryNamesOnly) {
  for (const char* ok : {"alice", "app_read", "_x", "first.last", "a-b",
                         "ci$bot", "user@corp"}) {
    EXPECT_TRUE(IsAcceptableRoleName(ok)) << ok;
  }
  for (const char* bad :
       {"", "1abc", "x\"; DROP ROLE app_admin; --", "a b", "a'b", "a\\b",
        "pg_signal_backend", "caf\xc3\xa9", "a\nb"}) {
    EXPECT_FALSE(IsAcceptableRoleName(bad)) << bad;
  }
  EXPECT_TRUE(IsAcceptableRoleName(std::string(63, 'a')));
  EXPECT_FALSE(IsAcceptableRoleName(std::string(64, 'a')));
}

}  // namespace
}  // namespace jit
