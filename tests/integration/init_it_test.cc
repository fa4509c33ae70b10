// `jitd --init DIR` end to end: the real jitd writes a starter config, then
// starts on it, and the token it printed (once) works against the API.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/jitd_process.h"

namespace jit::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The value after "JIT_TOKEN=" in jitd's output, up to the line's end.
std::string PrintedToken(const std::string& out) {
  const std::string key = "JIT_TOKEN=";
  size_t at = out.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  size_t end = out.find_first_of(" \n", at);
  return out.substr(at, end == std::string::npos ? end : end - at);
}

ProgramResult Init(const std::string& dir) {
  return RunProgram({JITD_BIN, "--init", dir}, {});
}

TEST(JitdInitTest, StarterConfigStartsAndThePrintedTokenWorks) {
  TempDir tmp;
  const std::string etc = tmp.path() + "/etc";
  ProgramResult init = Init(etc);
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  const std::string token = PrintedToken(init.out);
  ASSERT_EQ(token.size(), 64u) << init.out;
  const std::string config = etc + "/jitd.yaml";
  EXPECT_EQ(Mode(config), 0600u);
  EXPECT_EQ(Mode(etc), 0700u);
  EXPECT_EQ(ReadFile(config).find(token), std::string::npos)
      << "the clear token must not be stored";

  auto jitd = JitdProcess::ForConfigFile(tmp.path(), config);
  ASSERT_TRUE(jitd->Start().ok()) << jitd->log();
  EXPECT_EQ(jitd->Get("/healthz", "").status, 200);
  Reply verify = jitd->Get("/v1/audit/verify", token);
  ASSERT_EQ(verify.status, 200) << verify.raw;
  EXPECT_TRUE(verify.body["ok"].get<bool>());
  Reply grants = jitd->Get("/v1/grants", token);
  EXPECT_EQ(grants.status, 200) << grants.raw;
  EXPECT_EQ(jitd->Get("/v1/audit/verify", "").status, 401);
  EXPECT_EQ(jitd->Get("/v1/audit/verify", std::string(64, 'a')).status, 401);
  // The SQLite store is inside DIR, as the config says.
  EXPECT_TRUE(std::filesystem::exists(etc + "/data/jitd.db"));
  EXPECT_EQ(Mode(etc + "/data"), 0700u);
}

TEST(JitdInitTest, SecondInitIsRefusedAndChangesNothing) {
  TempDir tmp;
  const std::string etc = tmp.path() + "/etc";
  ProgramResult first = Init(etc);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string token = PrintedToken(first.out);
  const std::string before = ReadFile(etc + "/jitd.yaml");

  ProgramResult second = Init(etc);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("never overwrites"), std::string::npos)
      << second.err;
  EXPECT_EQ(PrintedToken(second.out), "") << "no token for a refused init";
  EXPECT_EQ(ReadFile(etc + "/jitd.yaml"), before);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(etc)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "nothing else appeared in " << etc;

  // The first token is still the one that works.
  auto jitd = JitdProcess::ForConfigFile(tmp.path(), etc + "/jitd.yaml");
  ASSERT_TRUE(jitd->Start().ok()) << jitd->log();
  EXPECT_EQ(jitd->Get("/v1/grants", token).status, 200);
}

TEST(JitdInitTest, InitAndConfigTogetherAreRefused) {
  TempDir tmp;
  ProgramResult r = RunProgram(
      {JITD_BIN, "--init", tmp.path() + "/x", "--config", "/dev/null"}, {});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/x"));
}

}  // namespace
}  // namespace jit::testing
