#include "jit/connectors/postgres/pgaudit_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

// Lines as PostgreSQL 15 writes them with log_destination = 'jsonlog'.
const std::string kLog =
    R"({"timestamp":"2026-11-24 04:01:12.241 IST","pid":6006,"session_id":"6b04beb0.1776","error_severity":"LOG","message":"database system is ready","backend_type":"startup"})"
    "\n"
    R"({"timestamp":"2026-11-24 04:01:12.470 IST","user":"bob","dbname":"postgres","pid":6013,"session_id":"6b04beb0.177d","line_num":1,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,READ,SELECT,,,\"select a, 'x,\"\"y' from t; select 1\",<not logged>","backend_type":"client backend"})"
    "\n"
    R"({"timestamp":"2026-11-24 04:01:12.470 IST","user":"bob","dbname":"postgres","pid":6013,"session_id":"6b04beb0.177d","line_num":2,"error_severity":"LOG","message":"AUDIT: SESSION,1,2,READ,SELECT,TABLE,public.t,\"select a, 'x,\"\"y' from t; select 1\",<not logged>","backend_type":"client backend"})"
    "\n"
    R"({"timestamp":"2026-11-24 04:01:12.570 IST","user":"carol","dbname":"postgres","pid":6016,"session_id":"6b04beb0.1780","message":"AUDIT: SESSION,1,1,READ,SELECT,,,select pg_sleep(5),<not logged>"})"
    "\n"
    R"({"timestamp":"2026-11-24 04:01:13.001 IST","user":"bob","dbname":"postgres","pid":6020,"session_id":"6b04beb0.1784","message":"AUDIT: SESSION,1,1,ROLE,GRANT,,,GRANT app_admin TO bob,<not logged>"})"
    "\n";

TEST(PgauditMessageTest, ReadsQuotedStatementWithCommasAndQuotes) {
  auto rec = ParsePgauditMessage(
      R"(AUDIT: SESSION,3,1,READ,SELECT,,,"select 'a,""b' from t",<none>)");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->audit_type, "SESSION");
  EXPECT_EQ(rec->statement_id, "3");
  EXPECT_EQ(rec->statement_class, "READ");
  EXPECT_EQ(rec->command, "SELECT");
  EXPECT_EQ(rec->statement, R"(select 'a,"b' from t)");
}

TEST(PgauditMessageTest, RefusesOtherMessagesAndBrokenRecords) {
  EXPECT_FALSE(ParsePgauditMessage("connection authorized: user=bob"));
  EXPECT_FALSE(ParsePgauditMessage("AUDIT: SESSION,1,1"));
  EXPECT_FALSE(
      ParsePgauditMessage(R"(AUDIT: SESSION,1,1,READ,SELECT,,,"open)"));
}

TEST(PgauditJsonlogTest, KeepsOneEntryPerStatementOfTheUser) {
  auto entries = ParsePgauditJsonlog(kLog, "bob", LogStart::kLineStart);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].local_time, "2026-11-24 04:01:12.470");
  EXPECT_EQ(entries[0].pid, "6013");
  EXPECT_EQ(entries[0].session_id, "6b04beb0.177d");
  EXPECT_EQ(entries[0].statement, "select a, 'x,\"y' from t; select 1");
  EXPECT_EQ(entries[1].statement, "GRANT app_admin TO bob");
}

TEST(PgauditJsonlogTest, SkipsAPartialFirstLineAndGarbage) {
  std::string text = kLog.substr(40) + "{not json AUDIT: x\n";
  auto entries = ParsePgauditJsonlog(text, "carol", LogStart::kMidLine);
  EXPECT_THAT(entries, ElementsAre(Field(&PgauditLogEntry::statement,
                                         "select pg_sleep(5)")));
  EXPECT_THAT(ParsePgauditJsonlog(text, "nobody", LogStart::kMidLine),
              IsEmpty());
}

TEST(PgauditJsonlogTest, AUserNameInsideAStatementDoesNotMatch) {
  // carol's statement mentions bob; only the "user" field counts.
  auto entries = ParsePgauditJsonlog(kLog, "pg_sleep", LogStart::kLineStart);
  EXPECT_THAT(entries, IsEmpty());
}

TEST(TruncateUtf8Test, CutsAtACharacterBoundary) {
  EXPECT_EQ(TruncateUtf8("abc", 5), "abc");
  EXPECT_EQ(TruncateUtf8("ab\xc3\xa9z", 3), "ab");  // é is 2 bytes
  EXPECT_EQ(TruncateUtf8("ab\xc3\xa9z", 4), "ab\xc3\xa9");
}

}  // namespace
}  // namespace jit
