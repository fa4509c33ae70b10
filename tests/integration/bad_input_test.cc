// Bad input of every kind gets the right code and error body, and creates
// nothing (DESIGN invariant 8).
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using nlohmann::json;

struct BadCase {
  std::string name;
  std::string body;
  int status;
  std::string code;
};

class BadInputTest : public JitdTest {};

TEST_F(BadInputTest, EveryKindOfBadRequestBodyIsRefusedAndChangesNothing) {
  const std::vector<BadCase> cases = {
      {"malformed json", "{\"entitlement\": ", 400, "invalid_request"},
      {"not an object", "[1,2]", 400, "invalid_request"},
      {"wrong type",
       R"({"entitlement": 5, "duration": "5m", "justification": "look at logs"})",
       400, "invalid_request"},
      {"emergency wrong type",
       R"({"entitlement": "read", "duration": "5m", "justification": "look at logs", "emergency": "yes"})",
       400, "invalid_request"},
      {"unknown field",
       R"({"entitlement": "read", "duration": "5m", "justification": "look at logs", "role": "root"})",
       400, "invalid_request"},
      {"missing duration",
       R"({"entitlement": "read", "justification": "look at logs"})", 400,
       "invalid_request"},
      {"bad duration",
       R"({"entitlement": "read", "duration": "5 minutes", "justification": "look at logs"})",
       400, "invalid_request"},
      {"negative duration",
       R"({"entitlement": "read", "duration": "-5m", "justification": "look at logs"})",
       400, "invalid_request"},
      {"zero duration",
       R"({"entitlement": "read", "duration": "0s", "justification": "look at logs"})",
       400, "invalid_request"},
      {"overflow duration",
       R"({"entitlement": "read", "duration": "99999999999999999999h", "justification": "look at logs"})",
       400, "invalid_request"},
      {"bad start_at",
       R"({"entitlement": "read", "duration": "5m", "justification": "look at logs", "start_at": "tomorrow"})",
       400, "invalid_request"},
      {"unknown entitlement",
       R"({"entitlement": "everything", "duration": "5m", "justification": "look at logs"})",
       403, "policy_denied"},
      {"vague justification",
       R"({"entitlement": "read", "duration": "5m", "justification": "x"})",
       403, "policy_denied"},
      {"over the maximum",
       R"({"entitlement": "read", "duration": "2h", "justification": "look at logs"})",
       403, "policy_denied"},
      {"2 MB body",
       "{\"justification\": \"" + std::string(2 << 20, 'a') + "\"}", 413,
       "too_large"},
  };
  for (const BadCase& c : cases) {
    Reply r = jitd_->Call("POST", "/v1/requests", kAlice, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.raw.substr(0, 300);
    ASSERT_TRUE(r.body.is_object()) << c.name << ": " << r.raw.substr(0, 300);
    EXPECT_EQ(r.body["error"]["code"], c.code) << c.name;
    EXPECT_FALSE(r.body["error"]["message"].get<std::string>().empty())
        << c.name;
  }
  EXPECT_EQ(jitd_->Get("/v1/requests", kAuditor).body["items"].size(), 0u);
  EXPECT_EQ(jitd_->Get("/v1/grants", kAuditor).body["items"].size(), 0u);
  EXPECT_EQ(CountEvents("request.created"), 0);
}

TEST_F(BadInputTest, PolicyDenialListsEveryReason) {
  Reply r = Ask(kAlice, "admin", "5h", "x", "JIRA-1");
  ASSERT_EQ(r.status, 403);
  EXPECT_EQ(r.body["error"]["code"], "policy_denied");
  EXPECT_GE(r.body["error"]["reasons"].size(), 3u)
      << r.raw;  // duration, reason, ticket
}

TEST_F(BadInputTest, AuthenticationErrorsAre401) {
  EXPECT_EQ(jitd_->Get("/v1/requests", "").status, 401);
  Reply wrong = jitd_->Get("/v1/requests", "not-a-token-of-anyone");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body["error"]["code"], "unauthenticated");
}

TEST_F(BadInputTest, UnknownIdsAndRoutesAre404AndWrongStatesAre409) {
  EXPECT_EQ(
      jitd_->Get("/v1/requests/req_00000000000000000000000000000000", kAlice)
          .status,
      404);
  EXPECT_EQ(jitd_->Get("/v1/requests/../../etc/passwd", kAlice).status, 404);
  EXPECT_EQ(
      Decide(kBob, "req_00000000000000000000000000000000", "approve").status,
      404);
  EXPECT_EQ(jitd_->Get("/v1/nothing", kAlice).status, 404);
  EXPECT_EQ(jitd_->Get("/v1/requests?limit=5000", kAlice).status, 400);
  EXPECT_EQ(jitd_->Get("/v1/requests?state=happy", kAlice).status, 400);
  EXPECT_EQ(jitd_->Get("/v1/audit?after=-1", kAuditor).status, 400);
  std::string id =
      Ask(kAlice, "read", "5m", "look at the slow query log").body["id"];
  Reply cancel = Decide(kAlice, id, "cancel");  // already active
  EXPECT_EQ(cancel.status, 409);
  EXPECT_EQ(cancel.body["error"]["code"], "conflict");
  Reply bad_comment = jitd_->Call("POST", "/v1/requests/" + id + "/approve",
                                  kBob, R"({"comment": 12})");
  EXPECT_EQ(bad_comment.status, 400);
}

}  // namespace
}  // namespace jit::testing
