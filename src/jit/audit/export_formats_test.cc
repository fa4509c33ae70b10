#include "jit/audit/export_formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const SystemTime kT0 = ParseTime("2026-11-23T12:00:00.250Z").value();

AuditEvent Event(AuditType type = AuditType::kGrantActivated) {
  AuditEvent e;
  e.seq = 42;
  e.time = kT0;
  e.type = type;
  e.actor = "alice";
  e.subject = "bob";
  e.request_id = "req_1";
  e.grant_id = "grt_1";
  e.data = R"({"entitlement":"prod-db-read","justification":"OPS-12"})";
  e.prev_hash = std::string(kGenesisHash);
  e.hash = ComputeEventHash(e);
  return e;
}

// An RFC 4180 reader for the checks: records of cells, CRLF between
// records, line breaks allowed inside quotes.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().push_back(std::move(cell));
      cell.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      records.back().push_back(std::move(cell));
      cell.clear();
      records.emplace_back();
      ++i;
    } else {
      cell += c;
    }
  }
  if (records.back().empty()) records.pop_back();
  return records;
}

TEST(CsvTest, FormulaPrefixesGetALeadingQuote) {
  EXPECT_EQ(CsvCell("=1+1"), "'=1+1");
  EXPECT_EQ(CsvCell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
  EXPECT_EQ(CsvCell("-2"), "'-2");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("\tx"), "'\tx");
  EXPECT_EQ(CsvCell("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvCell("a=b"), "a=b");  // only the first character counts
  EXPECT_EQ(CsvCell(""), "");
}

TEST(CsvTest, QuotesCommasQuotesAndLineBreaks) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("line1\nline2"), "\"line1\nline2\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
}

TEST(CsvTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(CsvCell("a\xff"
                    "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(CsvCell("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(CsvCell("\xED\xA0\x80"),                           // a surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(CsvCell("caf\xC3\xA9"), "caf\xC3\xA9");  // valid stays
}

TEST(CsvTest, HostileRowReadsBackAsTenCells) {
  AuditEvent e = Event();
  e.actor = "=cmd|'/C calc'!A0";
  e.subject = "@evil,\"quoted\"\r\nnext line";
  e.request_id = "-1+1";
  e.data = R"({"justification":"a,b\nc"})";
  const std::string text = CsvHeader() + CsvRow(e);
  auto records = ParseCsv(text);
  ASSERT_EQ(records.size(), 2u) << text;
  EXPECT_THAT(records[0], ElementsAre("seq", "time", "type", "actor", "subject",
                                      "request_id", "grant_id", "data",
                                      "prev_hash", "hash"));
  ASSERT_EQ(records[1].size(), 10u);
  EXPECT_EQ(records[1][0], "42");
  EXPECT_EQ(records[1][1], "2026-11-23T12:00:00.250Z");
  EXPECT_EQ(records[1][2], "grant.activated");
  EXPECT_EQ(records[1][3], "'=cmd|'/C calc'!A0");
  EXPECT_EQ(records[1][4], "'@evil,\"quoted\"\r\nnext line");
  EXPECT_EQ(records[1][5], "'-1+1");
  EXPECT_EQ(records[1][7], e.data);
  EXPECT_EQ(records[1][9], e.hash);
  for (const std::string& cell : records[1]) {
    ASSERT_FALSE(cell.empty());
    EXPECT_EQ(std::string("=+-@\t\r").find(cell[0]), std::string::npos) << cell;
  }
}

TEST(AuditEventJsonTest, RoundTripsAndKeepsTheHash) {
  AuditEvent e = Event();
  e.request_id.clear();
  e.hash = ComputeEventHash(e);
  const std::string text = AuditEventJson(e);
  json j = json::parse(text);
  EXPECT_TRUE(j["request_id"].is_null());
  EXPECT_EQ(j["data"]["entitlement"], "prod-db-read");
  StatusOr<AuditEvent> back = ParseAuditEventJson(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->data, e.data);
  EXPECT_EQ(back->time, e.time);
  EXPECT_EQ(ComputeEventHash(*back), e.hash);
}

TEST(AuditEventJsonTest, DataThatDoesNotPrintBackIsAString) {
  AuditEvent e = Event();
  e.data = R"({"b":1, "a":2})";  // spaces, unsorted: not the compact form
  json j = json::parse(AuditEventJson(e));
  EXPECT_EQ(j["data"], e.data);
  StatusOr<AuditEvent> back = ParseAuditEventJson(AuditEventJson(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->data, e.data);
}

TEST(AuditEventJsonTest, BadInputIsAnErrorNotACrash) {
  for (const char* text :
       {"", "[]", "{", R"({"seq":"x"})", R"({"seq":1,"time":"yesterday"})",
        R"({"seq":1,"time":"2026-11-23T12:00:00Z","type":"nope"})",
        R"({"seq":1,"time":"2026-11-23T12:00:00Z","type":"grant.activated",
            "actor":7})"}) {
    EXPECT_EQ(ParseAuditEventJson(text).status().code(),
              StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(OcsfTest, GrantActivatedIsUserAccessManagementAssign) {
  json o = json::parse(OcsfJson(Event(AuditType::kGrantActivated)));
  EXPECT_EQ(o["class_uid"], 3005);
  EXPECT_EQ(o["category_uid"], 3);
  EXPECT_EQ(o["activity_id"], 1);
  EXPECT_EQ(o["type_uid"], 300501);
  EXPECT_EQ(o["time"], ToUnixMillis(kT0));
  EXPECT_EQ(o["user"]["name"], "bob");
  EXPECT_EQ(o["actor"]["user"]["name"], "alice");
  EXPECT_THAT(o["privileges"], ElementsAre("prod-db-read"));
  EXPECT_EQ(o["resource"]["uid"], "grt_1");
  EXPECT_EQ(o["metadata"]["uid"], "42");
  EXPECT_EQ(o["metadata"]["product"]["name"], "jitd");
  EXPECT_EQ(o["unmapped"]["jitd"]["hash"], Event().hash);
  EXPECT_EQ(o["status_id"], 1);
}

TEST(OcsfTest, RevokesAndFailuresMapToRevokePrivileges) {
  json expired = json::parse(OcsfJson(Event(AuditType::kGrantExpired)));
  EXPECT_EQ(expired["type_uid"], 300502);
  json failed = json::parse(OcsfJson(Event(AuditType::kGrantRevokeFailed)));
  EXPECT_EQ(failed["type_uid"], 300502);
  EXPECT_EQ(failed["status_id"], 2);
  EXPECT_EQ(failed["severity_id"], 4);
}

TEST(OcsfTest, RequestsAreApiActivity) {
  json created = json::parse(OcsfJson(Event(AuditType::kRequestCreated)));
  EXPECT_EQ(created["class_uid"], 6003);
  EXPECT_EQ(created["type_uid"], 600301);
  EXPECT_EQ(created["api"]["operation"], "request.created");
  json denied = json::parse(OcsfJson(Event(AuditType::kRequestDenied)));
  EXPECT_EQ(denied["type_uid"], 600303);
  EXPECT_EQ(denied["status"], "Failure");
  json loaded = json::parse(OcsfJson(Event(AuditType::kPolicyLoaded)));
  EXPECT_EQ(loaded["activity_id"], 99);
  EXPECT_EQ(loaded["activity_name"], "policy.loaded");
}

TEST(OcsfTest, InvalidUtf8BecomesValidJson) {
  AuditEvent e = Event();
  e.subject =
      "bo\xff"
      "b";
  e.data = "not json \xfe";
  json o = json::parse(OcsfJson(e));  // throws on invalid UTF-8
  EXPECT_EQ(o["user"]["name"],
            "bo\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(o["unmapped"]["jitd"]["data"], "not json \xEF\xBF\xBD");
}

// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
const std::regex kSyslog(
    R"(<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[(?:[^\]\\]|\\.)*\]) (.*))");

TEST(SyslogTest, HeaderFieldsFollowRfc5424) {
  const std::string line =
      SyslogMessage(Event(AuditType::kGrantActivated), 10, "jit-host");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kSyslog)) << line;
  EXPECT_EQ(m[1], "85");  // authpriv (10) * 8 + notice (5)
  EXPECT_EQ(m[2], "2026-11-23T12:00:00.250Z");
  EXPECT_EQ(m[3], "jit-host");
  EXPECT_EQ(m[4], "jitd");
  EXPECT_EQ(m[5], "-");
  EXPECT_EQ(m[6], "grant.activated");
  EXPECT_THAT(m[7].str(), StartsWith("[jitd@32473 seq=\"42\" actor=\"alice\""));
  json msg = json::parse(m[8].str());
  EXPECT_EQ(msg["seq"], 42);
  EXPECT_EQ(msg["hash"], Event().hash);
}

TEST(SyslogTest, SeverityFollowsTheEventType) {
  auto pri = [](AuditType t, int facility) {
    std::smatch m;
    std::string line = SyslogMessage(Event(t), facility, "h");
    EXPECT_TRUE(std::regex_match(line, m, kSyslog)) << line;
    return std::stoi(m[1]);
  };
  EXPECT_EQ(pri(AuditType::kGrantRevokeFailed, 4), 4 * 8 + 3);
  EXPECT_EQ(pri(AuditType::kEmergencyUsed, 4), 4 * 8 + 4);
  EXPECT_EQ(pri(AuditType::kRequestCreated, 4), 4 * 8 + 6);
  EXPECT_EQ(pri(AuditType::kRequestCreated, 0), 6);
  EXPECT_EQ(pri(AuditType::kRequestCreated, 99), 23 * 8 + 6);  // clamped
}

TEST(SyslogTest, StructuredDataValuesAreEscaped) {
  AuditEvent e = Event();
  e.actor = R"(a"] [evil@1 x="y)";
  e.subject = "back\\slash]";
  const std::string line = SyslogMessage(e, 10, "h");
  EXPECT_THAT(line, HasSubstr(R"(actor="a\"\] [evil@1 x=\"y")"));
  EXPECT_THAT(line, HasSubstr(R"(subject="back\\slash\]")"));
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kSyslog)) << line;
  // One SD element: the only unescaped ] is the last character.
  const std::string sd = m[7].str();
  int closing = 0;
  for (size_t i = 0; i < sd.size(); ++i) {
    if (sd[i] == '\\')
      ++i;
    else if (sd[i] == ']')
      ++closing;
  }
  EXPECT_EQ(closing, 1);
  EXPECT_EQ(sd.back(), ']');
  EXPECT_EQ(json::parse(m[8].str())["actor"], e.actor);
}

TEST(SyslogTest, HostileTextCannotBreakTheLine) {
  AuditEvent e = Event();
  e.actor = "line\nbreak\xff";
  e.data = "{\"note\":\"x\\ny\"}";
  const std::string line = SyslogMessage(e, 10, "bad host\nname");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kSyslog)) << line;
  EXPECT_EQ(m[3], "badhostname");
  EXPECT_THAT(m[7].str(), HasSubstr("actor=\"line\xEF\xBF\xBD"
                                    "break\xEF\xBF\xBD\""));
  for (char c : m[8].str()) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_EQ(json::parse(m[8].str())["actor"], "line\nbreak\xEF\xBF\xBD");
}

TEST(SyslogTest, EmptyHostnameIsNilValue) {
  std::smatch m;
  std::string line = SyslogMessage(Event(), 10, "");
  ASSERT_TRUE(std::regex_match(line, m, kSyslog));
  EXPECT_EQ(m[3], "-");
}

}  // namespace
}  // namespace jit
