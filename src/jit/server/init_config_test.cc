#include "jit/server/init_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jit/base/sha256.h"
#include "jit/server/config.h"

namespace jit {
namespace {

namespace fs = std::filesystem;

class InitConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "jitd-init-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  fs::path root_;
};

TEST_F(InitConfigTest, WritesALoadableConfigWithTheTokensHashOnly) {
  InitOptions o;
  o.dir = (root_ / "etc").string();
  StatusOr<InitResult> r = WriteStarterConfig(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config_path, (root_ / "etc" / "jitd.yaml").string());
  EXPECT_EQ(r->data_dir, (root_ / "etc" / "data").string());
  EXPECT_EQ(r->admin_token.size(), 64u);

  std::string text = Read(r->config_path);
  EXPECT_EQ(text.find(r->admin_token), std::string::npos)
      << "the clear token must not be in the file";
  EXPECT_NE(text.find(Sha256Hex(r->admin_token)), std::string::npos);

  StatusOr<Config> c = LoadConfig(r->config_path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage, "sqlite");
  EXPECT_EQ(c->data_dir, r->data_dir);
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8420);
  ASSERT_EQ(c->tokens.size(), 1u);
  EXPECT_EQ(c->tokens[0].token_sha256, Sha256Hex(r->admin_token));
  ASSERT_EQ(c->connectors.size(), 1u);
  EXPECT_EQ(c->connectors[0].type, "fake");
}

TEST_F(InitConfigTest, FileIs0600AndNewDirectoryIs0700) {
  InitOptions o;
  o.dir = (root_ / "a" / "b").string();
  ASSERT_TRUE(WriteStarterConfig(o).ok());
  EXPECT_EQ(Mode(root_ / "a" / "b"), 0700u);
  EXPECT_EQ(Mode(root_ / "a" / "b" / "jitd.yaml"), 0600u);
}

TEST_F(InitConfigTest, EveryRunMakesADifferentToken) {
  InitOptions a, b;
  a.dir = (root_ / "a").string();
  b.dir = (root_ / "b").string();
  StatusOr<InitResult> ra = WriteStarterConfig(a);
  StatusOr<InitResult> rb = WriteStarterConfig(b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_NE(ra->admin_token, rb->admin_token);
}

TEST_F(InitConfigTest, RefusesToOverwriteAndChangesNothing) {
  InitOptions o;
  o.dir = root_.string();
  ASSERT_TRUE(WriteStarterConfig(o).ok());
  const std::string before = Read(root_ / "jitd.yaml");
  StatusOr<InitResult> again = WriteStarterConfig(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("never overwrites"),
            std::string::npos);
  EXPECT_EQ(Read(root_ / "jitd.yaml"), before);
  int files = 0;
  for (const auto& e : fs::directory_iterator(root_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "no leftover temp file";
}

TEST_F(InitConfigTest, ListenDataDirAndWebDirAreWrittenAsGiven) {
  InitOptions o;
  o.dir = (root_ / "etc with space").string();
  o.listen = "127.0.0.1:9999";
  o.data_dir = (root_ / "var#lib").string();
  o.web_dir = (root_ / "web \"x\"").string();
  StatusOr<InitResult> r = WriteStarterConfig(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  StatusOr<Config> c = LoadConfig(r->config_path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, 9999);
  EXPECT_EQ(c->data_dir, (root_ / "var#lib").string());
  EXPECT_EQ(c->web_dir, (root_ / "web \"x\"").string());
}

TEST_F(InitConfigTest, BadInputIsAnErrorAndWritesNothing) {
  InitOptions o;
  o.dir = (root_ / "x").string();
  o.listen = "not an address";
  EXPECT_EQ(WriteStarterConfig(o).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ / "x"));
  InitOptions empty;
  EXPECT_EQ(WriteStarterConfig(empty).status().code(),
            StatusCode::kInvalidArgument);
  InitOptions on_file;
  std::ofstream(root_ / "plain") << "x";
  on_file.dir = (root_ / "plain").string();
  EXPECT_EQ(WriteStarterConfig(on_file).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(InitConfigTest, InstalledWebDirNeedsAnIndexBesideTheBinary) {
  fs::create_directories(root_ / "usr" / "bin");
  fs::create_directories(root_ / "usr" / "share" / "jitd" / "web");
  const std::string exe = (root_ / "usr" / "bin" / "jitd").string();
  EXPECT_EQ(InstalledWebDir(exe), "");
  std::ofstream(root_ / "usr" / "share" / "jitd" / "web" / "index.html")
      << "<html></html>";
  EXPECT_EQ(InstalledWebDir(exe),
            (root_ / "usr" / "share" / "jitd" / "web").string());
}

}  // namespace
}  // namespace jit
