// THREATS T13 against the real jitd: its wall clock is stepped with
// libfaketime while a grant is active; the grant still ends after its
// duration in real time, in jitd and in the target.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

constexpr char kLibFaketime[] =
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

class ClockJumpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ClockJumpTest, GrantEndsAfterItsDurationWhateverTheWallClockDoes) {
  if (!std::filesystem::exists(kLibFaketime))
    GTEST_SKIP() << "libfaketime not installed";
  TempDir tmp;
  std::string target = tmp.path() + "/target";
  std::filesystem::create_directories(target + "/held");
  std::string offset_file = tmp.path() + "/faketime";
  std::ofstream(offset_file) << "+0\n";
  JitdProcess jitd(tmp.path(), TestConfig(target));
  jitd.SetEnv({{"LD_PRELOAD", kLibFaketime},
               {"FAKETIME_TIMESTAMP_FILE", offset_file},
               {"FAKETIME_NO_CACHE", "1"},
               {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
               {"DONT_FAKE_MONOTONIC", "1"}});
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();

  auto started = std::chrono::steady_clock::now();
  Reply asked = jitd.Post("/v1/requests", kAlice,
                          {{"entitlement", "box"},
                           {"duration", "3s"},
                           {"justification", "deploy hotfix"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  std::string grant_id = asked.body["grant_id"];
  ASSERT_TRUE(std::filesystem::exists(target + "/held/" + grant_id));

  std::ofstream(offset_file, std::ios::trunc) << GetParam() << "\n";
  bool gone = WaitUntil(
      [&] { return !std::filesystem::exists(target + "/held/" + grant_id); },
      std::chrono::seconds(20));
  auto lived = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(gone) << "grant outlived its duration after a wall-clock jump of "
                    << GetParam() << "\n"
                    << jitd.log();
  EXPECT_LT(lived, std::chrono::seconds(6));
  Reply check = jitd.Post("/v1/check", kAlice,
                          {{"subject", "alice"}, {"entitlement", "box"}});
  EXPECT_FALSE(check.body["allowed"].get<bool>());
  EXPECT_TRUE(jitd.Get("/v1/audit/verify", kAuditor).body["ok"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(Jumps, ClockJumpTest,
                         ::testing::Values("-1h", "+1h",
                                           "@1970-01-01 00:00:10"),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "BackOneHour"
                                              : info.index == 1
                                                  ? "ForwardOneHour"
                                                  : "ToTheEpoch");
                         });

}  // namespace
}  // namespace jit::testing
