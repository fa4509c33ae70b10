#include "pam/pam_args.h"

#include <vector>

#include "gtest/gtest.h"

namespace jit::pam {
namespace {

ParsedArgs Parse(std::vector<const char*> argv) {
  return ParsePamArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(PamArgsTest, ReadsAllArguments) {
  ParsedArgs p =
      Parse({"socket=/run/x/check.sock", "connector=sudo", "timeout_ms=700"});
  ASSERT_TRUE(p.args.has_value()) << p.error;
  EXPECT_EQ(p.args->socket, "/run/x/check.sock");
  EXPECT_EQ(p.args->connector, "sudo");
  EXPECT_EQ(p.args->timeout, std::chrono::milliseconds(700));
}

TEST(PamArgsTest, Defaults) {
  ParsedArgs p = Parse({"connector=sudo"});
  ASSERT_TRUE(p.args.has_value()) << p.error;
  EXPECT_EQ(p.args->socket, "/run/jitd/check.sock");
  EXPECT_EQ(p.args->timeout, std::chrono::milliseconds(1500));
}

TEST(PamArgsTest, RefusesWhatItDoesNotUnderstand) {
  for (const std::vector<const char*>& argv :
       std::vector<std::vector<const char*>>{
           {},                                     // no connector
           {"connector="},                         // empty
           {"connector=sudo", "debug"},            // not key=value
           {"connector=sudo", "sockt=/x"},         // unknown
           {"connector=sudo", "connector=other"},  // twice
           {"connector=sudo", "socket=relative"},
           {"connector=sudo", "timeout_ms=0"},
           {"connector=sudo", "timeout_ms=60001"},
           {"connector=sudo", "timeout_ms=15s"},
           {"connector=sudo", "timeout_ms=-5"},
       }) {
    ParsedArgs p = Parse(argv);
    EXPECT_FALSE(p.args.has_value());
    EXPECT_FALSE(p.error.empty());
  }
}

}  // namespace
}  // namespace jit::pam
