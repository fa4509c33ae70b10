// The console's routes through the real ApiRoutes: a requester's history
// for approvers, audit search and export, policies and explain.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "jit/api/authenticator.h"
#include "jit/api/routes.h"
#include "jit/workflow/audit_query.h"
#include "jit/workflow/test_rig.h"

namespace jit {
namespace {

using nlohmann::json;

class ConsoleRoutesTest : public ::testing::Test {
 protected:
  ConsoleRoutesTest()
      : auth_(Tokens(), RoleGroups{{"secops"}, {"audit"}, {"hosts"}}),
        audit_(rig_.store, rig_.metrics),
        deps_{auth_,      rig_.requests, audit_,     feed_,      rig_.policies,
              rig_.store, rig_.metrics,  rig_.index, rig_.clock, ready_},
        routes_(deps_) {}

  static std::vector<TokenEntry> Tokens() {
    std::vector<TokenEntry> out;
    for (auto [name, groups] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"alice", {"dev"}},
             {"bob", {"sre"}},
             {"mallory", {}},
             {"olga", {"audit"}},
             {"erin", {"secops"}}}) {
      out.push_back({Subject{name, name, groups}, Sha256Hex("t-" + name)});
    }
    return out;
  }

  HttpResponse Call(const std::string& who, const std::string& method,
                    const std::string& path,
                    std::map<std::string, std::string> query = {},
                    const std::string& body = "") {
    HttpRequest http;
    http.method = method;
    http.path = path;
    http.query = std::move(query);
    http.body = body;
    http.remote_address = "127.0.0.1";
    http.headers["authorization"] = "Bearer t-" + who;
    return routes_.Handle(http);
  }

  // Runs a streamed answer to its end and returns the body.
  static std::string Drain(const HttpResponse& r) {
    std::string out;
    if (!r.stream) return r.body;
    r.stream([&out](std::string_view chunk) {
      out += chunk;
      return true;
    });
    return out;
  }

  std::string Ask(const std::string& entitlement) {
    HttpResponse r = Call("alice", "POST", "/v1/requests", {},
                          json{{"entitlement", entitlement},
                               {"duration", "30m"},
                               {"justification", std::string(kGoodReason)}}
                              .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("id", "");
  }

  static std::string ErrorCode(const HttpResponse& r) {
    return json::parse(r.body)["error"]["code"];
  }

  TestRig rig_;
  Authenticator auth_;
  AuditFeed feed_;
  AuditQuery audit_;
  std::atomic<bool> ready_{true};
  ApiDeps deps_;
  ApiRoutes routes_;
};

TEST_F(ConsoleRoutesTest, ApproverSeesEarlierRequestsOfTheRequesterOnly) {
  std::string shell = Ask("dev-shell");  // auto-approved: bob cannot see it
  std::string first = Ask("db-write");
  std::string pending = Ask("db-write");
  ASSERT_EQ(Call("bob", "GET", "/v1/requests/" + shell).status, 404);

  HttpResponse h = Call("bob", "GET", "/v1/requests/" + pending + "/history");
  ASSERT_EQ(h.status, 200) << h.body;
  json items = json::parse(h.body)["items"];
  ASSERT_EQ(items.size(), 2u) << h.body;
  EXPECT_EQ(items[0]["id"], first);  // newest first, without `pending`
  EXPECT_EQ(items[1]["id"], shell);
  EXPECT_EQ(items[1]["entitlement"], "dev-shell");

  HttpResponse one = Call("bob", "GET", "/v1/requests/" + pending + "/history",
                          {{"limit", "1"}});
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["items"].size(), 1u);
  for (const char* bad : {"0", "51", "x", "-1"}) {
    EXPECT_EQ(Call("bob", "GET", "/v1/requests/" + pending + "/history",
                   {{"limit", bad}})
                  .status,
              400)
        << bad;
  }
}

TEST_F(ConsoleRoutesTest, NonApproverCannotReadAnotherRequestersHistory) {
  std::string shell = Ask("dev-shell");
  std::string pending = Ask("db-write");
  // No approver of the policy: the request does not exist for them.
  HttpResponse r =
      Call("mallory", "GET", "/v1/requests/" + pending + "/history");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.body.find(shell), std::string::npos);
  // Approvers only while the request waits for them.
  ASSERT_EQ(Call("bob", "POST", "/v1/requests/" + pending + "/deny", {},
                 R"({"comment":"no"})")
                .status,
            200);
  EXPECT_EQ(Call("bob", "GET", "/v1/requests/" + pending + "/history").status,
            404);
  // The requester and auditors always.
  EXPECT_EQ(Call("alice", "GET", "/v1/requests/" + pending + "/history").status,
            200);
  HttpResponse olga =
      Call("olga", "GET", "/v1/requests/" + pending + "/history");
  ASSERT_EQ(olga.status, 200);
  EXPECT_EQ(json::parse(olga.body)["items"][0]["id"], shell);
  EXPECT_EQ(Call("bob", "GET", "/v1/requests/req_00000000000000000000/history")
                .status,
            404);
}

TEST_F(ConsoleRoutesTest, AuditSearchFiltersByRequestTypeSubjectAndTime) {
  std::string a = Ask("db-write");
  std::string b = Ask("db-write");
  ASSERT_EQ(
      Call("bob", "POST", "/v1/requests/" + a + "/approve", {}, "{}").status,
      200);
  HttpResponse r = Call("olga", "GET", "/v1/audit", {{"request_id", a}});
  ASSERT_EQ(r.status, 200) << r.body;
  json items = json::parse(r.body)["items"];
  ASSERT_GE(items.size(), 3u);  // created, approved, activated
  for (const json& e : items) EXPECT_EQ(e["request_id"], a) << e;

  r = Call("olga", "GET", "/v1/audit",
           {{"type", "request.approved"}, {"subject", "bob"}});
  ASSERT_EQ(r.status, 200);
  items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 1u) << r.body;  // bob as actor
  EXPECT_EQ(items[0]["request_id"], a);

  r = Call("olga", "GET", "/v1/audit",
           {{"from", "2000-01-01T00:00:00Z"}, {"to", "2000-01-02T00:00:00Z"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["items"].empty());

  // A requester still sees only their own events, whatever they filter.
  r = Call("mallory", "GET", "/v1/audit", {{"request_id", b}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["items"].empty()) << r.body;
}

std::vector<int64_t> Seqs(const json& items) {
  std::vector<int64_t> out;
  for (const json& e : items) out.push_back(e["seq"].get<int64_t>());
  return out;
}

TEST_F(ConsoleRoutesTest, AuditPagesNewestFirstDownToTheFirstEvent) {
  for (int i = 0; i < 3; ++i) Ask("db-write");
  std::string approved = Ask("db-write");
  ASSERT_EQ(
      Call("bob", "POST", "/v1/requests/" + approved + "/approve", {}, "{}")
          .status,
      200);
  HttpResponse all = Call("olga", "GET", "/v1/audit", {{"limit", "1000"}});
  ASSERT_EQ(all.status, 200) << all.body;
  std::vector<int64_t> want = Seqs(json::parse(all.body)["items"]);
  ASSERT_GE(want.size(), 6u);
  std::reverse(want.begin(), want.end());

  // Pages of two, each next_cursor the next page's `before`.
  std::vector<int64_t> got;
  std::map<std::string, std::string> query = {{"order", "newest"},
                                              {"limit", "2"}};
  for (int page = 0; page < 50; ++page) {
    HttpResponse r = Call("olga", "GET", "/v1/audit", query);
    ASSERT_EQ(r.status, 200) << r.body;
    json body = json::parse(r.body);
    EXPECT_LE(body["items"].size(), 2u);
    for (int64_t seq : Seqs(body["items"])) got.push_back(seq);
    if (body["next_cursor"].is_null()) break;
    query["before"] = body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(got, want);

  // Filters and visibility hold backwards too.
  HttpResponse r = Call("olga", "GET", "/v1/audit",
                        {{"order", "newest"}, {"type", "request.created"}});
  ASSERT_EQ(r.status, 200);
  json items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 4u) << r.body;
  EXPECT_EQ(items[0]["request_id"], approved);
  EXPECT_GT(items[0]["seq"], items[3]["seq"]);
  EXPECT_TRUE(json::parse(r.body)["next_cursor"].is_null());
  r = Call("mallory", "GET", "/v1/audit", {{"order", "newest"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["items"].empty()) << r.body;
  r = Call("olga", "GET", "/v1/audit", {{"order", "newest"}, {"before", "1"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["items"].empty()) << r.body;

  for (const auto& bad : std::vector<std::map<std::string, std::string>>{
           {{"order", "sideways"}},
           {{"order", "newest"}, {"before", "x"}},
           {{"order", "newest"}, {"before", "-3"}},
           {{"before", "5"}},
           {{"order", "newest"}, {"after", "2"}}}) {
    HttpResponse b = Call("olga", "GET", "/v1/audit", bad);
    EXPECT_EQ(b.status, 400) << b.body;
    EXPECT_EQ(ErrorCode(b), "invalid_request") << b.body;
  }
}

// More events than one call scans (10 000), few of them the caller's: the
// first page stops at the scan bound with a cursor, the next goes on from
// there, and nothing is skipped or repeated.
TEST_F(ConsoleRoutesTest, AuditNewestFirstCrossesTheScanBoundWithACursor) {
  std::vector<int64_t> want;
  for (int batch = 0; batch < 21; ++batch) {
    ChangeSet cs;
    for (int i = 0; i < 500; ++i) {
      const int n = batch * 500 + i;  // seq n + 1
      AuditEvent e;
      e.time = rig_.clock.Now();
      e.type = AuditType::kPolicyLoaded;
      e.actor = "jitd";
      e.subject = n == 3 || n == 10'300 || n == 10'301 ? "mallory" : "alice";
      cs.events.push_back(e);
    }
    ASSERT_TRUE(rig_.store.Commit(cs).ok());
    for (const AuditEvent& e : cs.events)
      if (e.subject == "mallory") want.push_back(e.seq);
  }
  ASSERT_EQ(want.size(), 3u);
  std::reverse(want.begin(), want.end());

  std::vector<int64_t> got;
  std::map<std::string, std::string> query = {{"order", "newest"},
                                              {"limit", "2"}};
  int calls = 0;
  for (; calls < 10; ++calls) {
    HttpResponse r = Call("mallory", "GET", "/v1/audit", query);
    ASSERT_EQ(r.status, 200) << r.body;
    json body = json::parse(r.body);
    for (int64_t seq : Seqs(body["items"])) got.push_back(seq);
    if (body["next_cursor"].is_null()) break;
    query["before"] = body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(calls, 2);  // 2 found; then the scan bound; then the rest
}

// The events a stream sends before it would wait for more.
std::vector<json> StreamedEvents(const HttpResponse& r) {
  std::vector<json> out;
  if (!r.stream) return out;
  r.stream([&out](std::string_view chunk) {
    size_t data = chunk.find("\ndata: ");
    if (data == std::string_view::npos) return false;  // keep-alive: done
    out.push_back(json::parse(chunk.substr(data + 7)));
    return out.size() < 50;
  });
  return out;
}

TEST_F(ConsoleRoutesTest, StreamStartsAtTheLatestEventsTheCallerMaySee) {
  std::string a = Ask("db-write");
  std::string b = Ask("db-write");
  std::string c = Ask("db-write");
  feed_.Shutdown();  // nothing new comes: each stream ends at the log's end

  HttpResponse r = Call("olga", "GET", "/v1/audit/stream",
                        {{"latest", "2"}, {"type", "request.created"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<json> got = StreamedEvents(r);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["request_id"], b);
  EXPECT_EQ(got[1]["request_id"], c);

  // Without a type the newest single event is c's creation; mallory, who
  // sees none of it, gets nothing rather than someone else's events.
  got = StreamedEvents(
      Call("olga", "GET", "/v1/audit/stream", {{"latest", "1"}}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["request_id"], c);
  EXPECT_TRUE(StreamedEvents(
                  Call("mallory", "GET", "/v1/audit/stream", {{"latest", "5"}}))
                  .empty());

  // More than the log holds replays all of it.
  got = StreamedEvents(Call("alice", "GET", "/v1/audit/stream",
                            {{"latest", "1000"}, {"type", "request.created"}}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["request_id"], a);

  for (const char* bad : {"0", "1001", "x", ""}) {
    HttpResponse refused =
        Call("olga", "GET", "/v1/audit/stream", {{"latest", bad}});
    EXPECT_EQ(refused.status, 400) << bad;
  }
}

TEST_F(ConsoleRoutesTest, AuditSearchRefusesBadFilters) {
  for (const auto& q : std::vector<std::map<std::string, std::string>>{
           {{"type", "request.nonsense"}},
           {{"from", "yesterday"}},
           {{"to", "2026-13-01T00:00:00Z"}},
           {{"from", "2026-11-24T00:00:00Z"}, {"to", "2026-11-23T00:00:00Z"}},
           {{"subject", std::string(300, 'x')}}}) {
    for (const char* path : {"/v1/audit", "/v1/audit/export"}) {
      HttpResponse r = Call("olga", "GET", path, q);
      EXPECT_EQ(r.status, 400) << path << " " << q.begin()->first;
      EXPECT_EQ(ErrorCode(r), "invalid_request");
    }
  }
  HttpResponse r = Call("olga", "GET", "/v1/audit/export", {{"format", "xml"}});
  EXPECT_EQ(r.status, 400);
}

TEST_F(ConsoleRoutesTest, ExportWritesTheFilteredEventsAsCsvOrJsonLines) {
  std::string a = Ask("db-write");
  Ask("db-write");
  HttpResponse csv = Call("olga", "GET", "/v1/audit/export",
                          {{"format", "csv"}, {"request_id", a}});
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.headers["Content-Disposition"],
            "attachment; filename=jitd-audit.csv");
  std::istringstream lines(Drain(csv));
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  EXPECT_EQ(line.rfind("seq,time,type,", 0), 0u) << line;
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    EXPECT_NE(line.find(a), std::string::npos) << line;
  }
  EXPECT_EQ(rows, 1);  // request.created only

  HttpResponse jl = Call("olga", "GET", "/v1/audit/export");
  ASSERT_EQ(jl.status, 200);
  std::istringstream all(Drain(jl));
  int events = 0;
  while (std::getline(all, line)) {
    json e = json::parse(line);
    EXPECT_EQ(e["seq"], ++events);  // everything, in order, nothing skipped
  }
  EXPECT_EQ(events, static_cast<int>(rig_.Audit().size()));

  // Visibility as GET /v1/audit: mallory exports nothing of alice's.
  EXPECT_EQ(Drain(Call("mallory", "GET", "/v1/audit/export")), "");
}

TEST_F(ConsoleRoutesTest, PoliciesShowTheRulesInForce) {
  HttpResponse r = Call("mallory", "GET", "/v1/policies");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["version"], rig_.policies.Get()->policies->version_hash());
  ASSERT_EQ(body["policies"].size(), 4u);
  const json& p = body["policies"][1];
  EXPECT_EQ(p["name"], "db-write-one-sre");
  EXPECT_EQ(p["subjects"]["groups"], json::array({"dev"}));
  EXPECT_EQ(p["entitlements"], json::array({"db-write"}));
  EXPECT_EQ(p["max_duration"], "1h");
  EXPECT_EQ(p["require"]["justification_min_chars"], 15);
  EXPECT_EQ(p["approval"]["groups"], json::array({"sre"}));
  EXPECT_EQ(p["approval"]["count"], 1);
  EXPECT_EQ(p["approval"]["timeout"], "1h");
  const json& glass = body["policies"][3];
  EXPECT_TRUE(glass["emergency"]["allowed"]);
  EXPECT_EQ(glass["emergency"]["max_duration"], "15m");
  EXPECT_EQ(glass["emergency"]["notify"], json::array({"sec-oncall"}));
  ASSERT_EQ(body["entitlements"].size(), 4u);
  EXPECT_EQ(body["entitlements"][0]["name"], "dev-shell");
  EXPECT_EQ(body["entitlements"][0]["max_duration"], "4h");
  EXPECT_FALSE(body["entitlements"][0].contains("params"));
}

TEST_F(ConsoleRoutesTest, ExplainSaysWhyNotAndRecordsNothing) {
  size_t events = rig_.Audit().size();
  HttpResponse r =
      Call("alice", "POST", "/v1/policies/explain", {},
           R"({"entitlement":"db-write","duration":"2h","justification":"x"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json d = json::parse(r.body);
  EXPECT_FALSE(d["allowed"]);
  EXPECT_EQ(d["policy"], nullptr);
  EXPECT_EQ(d["subject"]["name"], "alice");
  std::string reasons = d["reasons"].dump();
  EXPECT_NE(reasons.find("justification"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("1h"), std::string::npos) << reasons;

  r = Call("alice", "POST", "/v1/policies/explain", {},
           json{{"entitlement", "db-write"},
                {"duration", "30m"},
                {"justification", std::string(kGoodReason)}}
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  d = json::parse(r.body);
  EXPECT_TRUE(d["allowed"]);
  EXPECT_EQ(d["policy"], "db-write-one-sre");
  EXPECT_EQ(d["approvals_required"], 1);
  EXPECT_EQ(d["approvers"]["groups"], json::array({"sre"}));
  EXPECT_EQ(d["max_duration"], "1h");
  EXPECT_EQ(rig_.Audit().size(), events);  // a dry run writes nothing
}

TEST_F(ConsoleRoutesTest, ExplainForOthersNeedsAuditorOrAdmin) {
  std::string body = json{{"subject", "alice"},
                          {"entitlement", "dev-shell"},
                          {"duration", "30m"},
                          {"justification", std::string(kGoodReason)}}
                         .dump();
  HttpResponse r = Call("bob", "POST", "/v1/policies/explain", {}, body);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "forbidden");
  // Nor may anyone try other groups for themselves.
  r = Call("mallory", "POST", "/v1/policies/explain", {},
           R"({"groups":["dev"],"entitlement":"dev-shell","duration":"1m"})");
  EXPECT_EQ(r.status, 403) << r.body;

  // Auditors: the directory's groups, or the ones they name.
  r = Call("olga", "POST", "/v1/policies/explain", {}, body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["allowed"]);
  EXPECT_EQ(json::parse(r.body)["subject"]["groups"], json::array({"dev"}));
  r = Call("erin", "POST", "/v1/policies/explain", {},
           R"({"subject":"ghost","entitlement":"dev-shell","duration":"5m",
               "justification":"long enough here"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(json::parse(r.body)["allowed"]);
  EXPECT_NE(r.body.find("no policy lets ghost"), std::string::npos) << r.body;
  r = Call("erin", "POST", "/v1/policies/explain", {},
           R"({"subject":"ghost","groups":["dev"],"entitlement":"dev-shell",
               "duration":"5m","justification":"long enough here"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["allowed"]) << r.body;
}

TEST_F(ConsoleRoutesTest, ExplainRefusesBadInputWithA400) {
  for (const std::string& bad : std::vector<std::string>{
           "", "not json", "[]", R"({"duration":"5m"})",
           R"({"entitlement":"dev-shell"})",
           R"({"entitlement":"dev-shell","duration":"soon"})",
           R"({"entitlement":"dev-shell","duration":"0s"})",
           R"({"entitlement":"dev-shell","duration":"5m","x":1})",
           R"({"entitlement":7,"duration":"5m"})",
           R"({"entitlement":"dev-shell","duration":"5m","groups":"dev"})",
           R"({"entitlement":"dev-shell","duration":"5m","emergency":"yes"})",
           json{{"entitlement", "dev-shell"},
                {"duration", "5m"},
                {"justification", std::string(5000, 'j')}}
               .dump()}) {
    HttpResponse r = Call("alice", "POST", "/v1/policies/explain", {}, bad);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_request") << bad;
  }
}

}  // namespace
}  // namespace jit
