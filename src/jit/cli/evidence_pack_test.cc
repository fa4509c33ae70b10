#include "jit/cli/evidence_pack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace jit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Json Event(int64_t seq, const std::string& type, const std::string& rid,
           Json data, const std::string& actor = "alice") {
  return {{"seq", seq},          {"time", "2026-11-03T10:00:00.000Z"},
          {"type", type},        {"actor", actor},
          {"subject", "alice"},  {"request_id", rid},
          {"grant_id", nullptr}, {"data", std::move(data)}};
}

EvidenceInput Input() {
  EvidenceInput in;
  in.from = "2026-11-01T00:00:00Z";
  in.to = "2026-12-01T00:00:00Z";
  in.generated_at = "2026-12-01T08:00:00Z";
  in.server = "http://127.0.0.1:8420";
  in.key_id = "9e0b3c1a7d22f4e8";
  in.verdict.ok = true;
  in.verdict.events = 4;
  in.verdict.first_seq = 1;
  in.verdict.last_seq = 4;
  in.events = {
      Event(1, "request.created", "req_1",
            {{"entitlement", "db-write"},
             {"justification", "<script>alert(1)</script> fix index"},
             {"ticket", "OPS-1"}}),
      Event(2, "request.approved", "req_1", {{"final", true}}, "dave"),
      Event(3, "grant.activated", "req_1",
            {{"starts_at", "2026-11-03T10:00:00.000Z"}}),
      Event(4, "grant.expired", "req_1", {{"ended_reason", "expired"}}),
  };
  in.report = {
      {"grants", 1},
      {"by_entitlement", {{{"entitlement", "db-write"}, {"grants", 1}}}},
      {"emergencies", {{{"subject", "alice"}, {"justification", "<b>x</b>"}}}}};
  return in;
}

TEST(EvidencePackTest, HasTheVerdictEveryControlAndTheGrant) {
  const std::string html = EvidenceHtml(Input());
  EXPECT_THAT(html, HasSubstr("Audit record verified."));
  for (const char* control :
       {"SOC 2 CC6.1", "SOC 2 CC6.2", "SOC 2 CC6.3", "PCI DSS 7.2",
        "PCI DSS 10.2", "HIPAA 164.312(b)", "SOX ITGC", "GDPR art. 32"}) {
    EXPECT_THAT(html, HasSubstr(control));
  }
  EXPECT_THAT(html, HasSubstr("request.approved</span>: 1 (seq 2)"));
  EXPECT_THAT(html, HasSubstr("OPS-1"));
  EXPECT_THAT(html, HasSubstr("dave 10:00:00"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv=\"refresh\"")));
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));  // nothing from a network
}

TEST(EvidencePackTest, TextFromTheLogIsEscaped) {
  const std::string html = EvidenceHtml(Input());
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>x</b>")));
}

TEST(EvidencePackTest, FieldsOfTheWrongTypeDoNotStopThePage) {
  EvidenceInput in = Input();
  in.events.push_back(Event(5, "request.created", "req_2",
                            "{\"justification\":\"x\"} "));  // data as text
  in.events.push_back(Event(6, "request.created", "req_3",
                            {{"entitlement", 5}, {"ticket", nullptr}}));
  in.events.push_back(
      Event(7, "request.approved", "req_3", {{"final", "yes"}}));
  Json odd = Event(8, "grant.activated", "req_3", {{"starts_at", 7}});
  odd["time"] = "short";
  in.events.push_back(odd);
  in.report["grants"] = "many";
  in.report["emergencies"] = "none";
  const std::string html = EvidenceHtml(in);
  EXPECT_THAT(html, HasSubstr("</html>"));
}

TEST(EvidencePackTest, ABrokenRecordSaysSoFirst) {
  EvidenceInput in = Input();
  in.verdict.ok = false;
  in.verdict.first_bad_seq = 3;
  in.verdict.bad_line = 4;
  in.verdict.reason = "hash does not match <edited>";
  const std::string html = EvidenceHtml(in);
  EXPECT_THAT(html, HasSubstr("NOT verified</b> at seq 3 (line 4)"));
  EXPECT_THAT(html, HasSubstr("&lt;edited&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("Audit record verified.")));
}

}  // namespace
}  // namespace jit
