#include "jit/connectors/linux_sudo/sudo_log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

// The shape sudo 1.9.13 writes with log_format=json (trimmed): one object,
// the same key once per event.
std::string Event(const std::string& kind, const std::string& user,
                  long long seconds, const std::string& argv) {
  return "    \"" + kind + "\": {\n" + "        \"uuid\": \"u-" +
         std::to_string(seconds) + "\",\n" +
         "        \"server_time\": {\"seconds\": " + std::to_string(seconds) +
         ", \"nanoseconds\": 9},\n" +
         "        \"submit_time\": {\"seconds\": " + std::to_string(seconds) +
         ", \"nanoseconds\": 500000000, \"iso8601\": \"x\"},\n" +
         "        \"submituser\": \"" + user + "\",\n" +
         "        \"command\": \"/usr/bin/id\",\n" +
         "        \"runuser\": \"root\",\n" + "        \"runargv\": [" + argv +
         "],\n" + "        \"runenv\": [\"SUDO_USER=" + user + "\"]\n" +
         "    }";
}

TEST(SudoLogTest, ReadsAcceptedEventsInOrder) {
  std::string log = "{\n" + Event("accept", "alice", 100, R"("id", "-u")") +
                    ",\n" + Event("reject", "alice", 101, R"("/bin/ls")") +
                    ",\n" + Event("accept", "alice", 102, R"("id")") + "\n}";
  std::vector<SudoLogEntry> entries = ParseSudoJsonLog(log);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].user, "alice");
  EXPECT_EQ(entries[0].runas, "root");
  EXPECT_EQ(entries[0].command_line, "/usr/bin/id -u");
  EXPECT_EQ(entries[0].uuid, "u-100");
  EXPECT_EQ(entries[0].submitted, SystemTime(std::chrono::seconds(100)) +
                                      std::chrono::milliseconds(500));
  EXPECT_EQ(entries[1].command_line, "/usr/bin/id");
  EXPECT_EQ(entries[1].uuid, "u-102");
}

TEST(SudoLogTest, StopsQuietlyAtAnAppendInProgress) {
  std::string log = "{\n" + Event("accept", "alice", 100, R"("id")") +
                    ",\n    \"accept\": {\"uuid\": \"half";
  std::vector<SudoLogEntry> entries = ParseSudoJsonLog(log);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].uuid, "u-100");
}

TEST(SudoLogTest, SkipsMalformedEventsAndGarbage) {
  EXPECT_TRUE(ParseSudoJsonLog("").empty());
  EXPECT_TRUE(ParseSudoJsonLog("not json").empty());
  EXPECT_TRUE(ParseSudoJsonLog("[1, 2]").empty());
  EXPECT_TRUE(ParseSudoJsonLog(R"({"accept": 3, "accept": {"x": 1}})").empty());
  std::vector<SudoLogEntry> entries = ParseSudoJsonLog(
      R"({"accept": {"submituser": 7, "submit_time": {"seconds": 1}},)"
      R"( "accept": {"submituser": "bob", "submit_time": {"seconds": 5},)"
      R"( "command": "/bin/true", "runargv": ["true", 3, "x"]}})");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].user, "bob");
  EXPECT_EQ(entries[0].command_line, "/bin/true x");
}

}  // namespace
}  // namespace jit
