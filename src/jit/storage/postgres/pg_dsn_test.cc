#include "jit/storage/postgres/pg_dsn.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace jit {
namespace {

TEST(CheckDsnTest, AcceptsKeyValueAndUriForms) {
  for (const char* dsn :
       {"host=127.0.0.1 port=5432 user=jitd dbname=jitd",
        "postgresql://jitd@db.example.com:5432/jitd?sslmode=verify-full",
        "postgres://jitd@127.0.0.1/jitd"}) {
    EXPECT_TRUE(CheckDsn(dsn, DsnPassword::kRefused).ok()) << dsn;
  }
}

TEST(CheckDsnTest, RefusesAPasswordWhenAskedWithoutRepeatingIt) {
  for (const char* dsn : {"host=db user=jitd password=hunter2secret",
                          "postgresql://jitd:hunter2secret@db/jitd"}) {
    Status s = CheckDsn(dsn, DsnPassword::kRefused);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << dsn;
    EXPECT_EQ(s.message().find("hunter2secret"), std::string::npos);
    EXPECT_NE(s.message().find("password"), std::string::npos);
    EXPECT_TRUE(CheckDsn(dsn, DsnPassword::kAllowed).ok()) << dsn;
  }
}

TEST(CheckDsnTest, UnparsableOrEmptyIsInvalidArgument) {
  for (const char* dsn :
       {"", "host='unterminated", "no_such_keyword=1", "postgresql://[::1"}) {
    EXPECT_EQ(CheckDsn(dsn, DsnPassword::kAllowed).code(),
              StatusCode::kInvalidArgument)
        << dsn;
  }
}

TEST(WithConnectDefaultsTest, AddsTimeoutAndNameOnlyWhenUnset) {
  EXPECT_EQ(WithConnectDefaults("host=db"),
            "host=db connect_timeout=5 fallback_application_name=jitd");
  EXPECT_EQ(WithConnectDefaults("postgresql://db/jitd"),
            "postgresql://db/jitd?connect_timeout=5&"
            "fallback_application_name=jitd");
  EXPECT_EQ(WithConnectDefaults("postgresql://db/jitd?connect_timeout=2"),
            "postgresql://db/jitd?connect_timeout=2&"
            "fallback_application_name=jitd");
  EXPECT_EQ(WithConnectDefaults(
                "host=db connect_timeout=1 fallback_application_name=x"),
            "host=db connect_timeout=1 fallback_application_name=x");
  // Every result still parses.
  EXPECT_TRUE(CheckDsn(WithConnectDefaults("postgresql://db/jitd"),
                       DsnPassword::kAllowed)
                  .ok());
}

class ReadDsnFileTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "jit_pg_dsn_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text,
                    mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(ReadDsnFileTest, ReadsOneLineWithoutItsNewline) {
  std::string path = Write("dsn", "host=db user=jitd password=s3cret\n", 0600);
  StatusOr<std::string> dsn = ReadDsnFile(path);
  ASSERT_TRUE(dsn.ok()) << dsn.status().ToString();
  EXPECT_EQ(*dsn, "host=db user=jitd password=s3cret");
}

TEST_F(ReadDsnFileTest, RefusesFilesOthersCanRead) {
  std::string path = Write("dsn", "host=db password=s3cret\n", 0640);
  Status s = ReadDsnFile(path).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("group or others"), std::string::npos);
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos);
}

TEST_F(ReadDsnFileTest, RefusesBadPathsAndContents) {
  EXPECT_EQ(ReadDsnFile("relative/dsn").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadDsnFile(dir_ + "/missing").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadDsnFile(dir_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadDsnFile(Write("empty", "\n", 0600)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadDsnFile(Write("two", "host=a\nhost=b\n", 0600)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jit
