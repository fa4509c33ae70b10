#include "jit/base/crash_point.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace jit {
namespace {

// Each test arms in the child of a death test or disarms when done, so
// nothing leaks into other tests of this binary.
class CrashPointTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmCrashPoints(); }
};

TEST_F(CrashPointTest, UnarmedPointDoesNothing) {
  CrashPoint("activate.after_connector");
  CrashPoint("store.commit.before");
  SUCCEED();
}

TEST_F(CrashPointTest, ArmedPointKillsTheProcessLikeKill9) {
  EXPECT_EXIT(
      {
        ASSERT_TRUE(
            ArmCrashPoints({.names = {"activate.after_connector"}}).ok());
        CrashPoint("activate.after_connector");
      },
      ::testing::KilledBySignal(SIGKILL),
      "crash point activate.after_connector fired");
}

TEST_F(CrashPointTest, OtherPointsDoNotFire) {
  EXPECT_EXIT(
      {
        ASSERT_TRUE(ArmCrashPoints({.names = {"revoke.after_connector"}}).ok());
        CrashPoint("revoke.before_connector");
        CrashPoint("revoke.after_commit");
        std::exit(3);
      },
      ::testing::ExitedWithCode(3), "");
}

TEST_F(CrashPointTest, FiresAtTheNthHitCountedOverArmedPoints) {
  EXPECT_EXIT(
      {
        ASSERT_TRUE(ArmCrashPoints(
                        {.names = {"store.commit.before", "store.commit.after"},
                         .after = 3})
                        .ok());
        CrashPoint("store.commit.before");  // 1
        CrashPoint("expiry.pass");          // not armed
        CrashPoint("store.commit.after");   // 2
        std::fprintf(stderr, "survived two\n");
        CrashPoint("store.commit.before");  // 3: dies
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL),
      "survived two\n.*crash point store.commit.before fired");
}

TEST_F(CrashPointTest, StarArmsEveryPoint) {
  EXPECT_EXIT(
      {
        ASSERT_TRUE(ArmCrashPoints({.names = {"*"}}).ok());
        CrashPoint("checkpoint.after_file");
      },
      ::testing::KilledBySignal(SIGKILL), "checkpoint.after_file");
}

TEST_F(CrashPointTest, ProbabilityOneFiresAndZeroNamesDisarm) {
  EXPECT_EXIT(
      {
        ASSERT_TRUE(
            ArmCrashPoints({.names = {"expiry.pass"}, .probability = 1}).ok());
        CrashPoint("expiry.pass");
      },
      ::testing::KilledBySignal(SIGKILL), "expiry.pass");
  ASSERT_TRUE(ArmCrashPoints({.names = {"expiry.pass"}}).ok());
  ASSERT_TRUE(ArmCrashPoints({}).ok());
  CrashPoint("expiry.pass");
  SUCCEED();
}

TEST_F(CrashPointTest, SmallProbabilityFiresWithinBoundedHits) {
  // With p = 0.05 the chance of 10000 hits without a firing is 0.95^10000.
  auto first_firing = [](uint64_t seed) {
    EXPECT_EXIT(
        {
          ASSERT_TRUE(
              ArmCrashPoints(
                  {.names = {"expiry.pass"}, .probability = 0.05, .seed = seed})
                  .ok());
          for (int i = 1; i <= 10000; ++i) {
            std::fprintf(stderr, "hit %d\n", i);
            CrashPoint("expiry.pass");
          }
          std::exit(0);
        },
        ::testing::KilledBySignal(SIGKILL), "crash point expiry.pass fired");
  };
  first_firing(7);
  first_firing(12345);
}

TEST_F(CrashPointTest, BadSettingsAreRefusedAndChangeNothing) {
  EXPECT_EQ(ArmCrashPoints({.names = {"no.such.point"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ArmCrashPoints({.names = {"expiry.pass"}, .after = 0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ArmCrashPoints({.names = {"expiry.pass"}, .probability = 1.5}).code(),
      StatusCode::kInvalidArgument);
  CrashPoint("expiry.pass");  // still unarmed
  SUCCEED();
}

TEST_F(CrashPointTest, EnvironmentArmsAndBadValuesNameTheVariable) {
  setenv("JITD_CRASH_POINT", "expiry.pass,revoke.retry", 1);
  setenv("JITD_CRASH_AFTER", "4", 1);
  auto s = CrashPointSettingsFromEnvironment();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->names,
            (std::vector<std::string>{"expiry.pass", "revoke.retry"}));
  EXPECT_EQ(s->after, 4);
  setenv("JITD_CRASH_AFTER", "4x", 1);
  Status bad = ArmCrashPointsFromEnvironment();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("JITD_CRASH_AFTER"), std::string::npos);
  setenv("JITD_CRASH_AFTER", "1", 1);
  setenv("JITD_CRASH_POINT", "expiry.passs", 1);
  bad = ArmCrashPointsFromEnvironment();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("expiry.passs"), std::string::npos);
  unsetenv("JITD_CRASH_POINT");
  unsetenv("JITD_CRASH_AFTER");
  EXPECT_TRUE(ArmCrashPointsFromEnvironment().ok());
  CrashPoint("expiry.pass");
}

// Every listed name is placed somewhere in the code (a name never placed
// would make a torture iteration silently test nothing), and every place
// uses a listed name (that part the compiler already enforces).
TEST(CrashPointNamesTest, EveryListedNameIsPlacedInTheCode) {
  std::map<std::string, int> placed;
  const std::regex call(R"re(CrashPoint\("([a-z_.]+)"\))re");
  const std::filesystem::path root = JIT_SOURCE_DIR "/src/jit";
  ASSERT_TRUE(std::filesystem::is_directory(root)) << root;
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !name.ends_with(".cc")) continue;
    if (name.ends_with("_test.cc")) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string body = text.str();
    for (std::sregex_iterator it(body.begin(), body.end(), call), end;
         it != end; ++it) {
      ++placed[(*it)[1].str()];
    }
    ++files;
    ASSERT_LT(files, 100000);
  }
  for (std::string_view name : kCrashPointNames) {
    EXPECT_GT(placed[std::string(name)], 0)
        << "crash point " << name << " is listed but never placed";
  }
  for (const auto& [name, count] : placed) {
    bool listed = false;
    for (std::string_view n : kCrashPointNames) listed |= (n == name);
    EXPECT_TRUE(listed) << name;
  }
}

}  // namespace
}  // namespace jit
