#include "jit/cli/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "jit/api/http_server.h"
#include "jit/audit/checkpoint.h"
#include "jit/audit/event.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Json = nlohmann::json;

const SystemTime kNow = ParseTime("2026-11-23T12:00:00Z").value();

// A stand-in for jitd: answers canned responses per "METHOD /path" and
// records every request it gets.
class FakeJitd {
 public:
  static HttpServerOptions AnyPort() {
    HttpServerOptions o;
    o.port = 0;
    return o;
  }
  FakeJitd()
      : server_(AnyPort(), [this](const HttpRequest& r) { return Handle(r); }) {
  }

  Status Start() { return server_.Start(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port());
  }

  // Answers `method path` with `responses` in turn; the last one repeats.
  void On(const std::string& method, const std::string& path, int status,
          const std::string& body) {
    std::lock_guard lock(mu_);
    HttpResponse response;
    response.status = status;
    response.body = body;
    routes_[method + " " + path].push_back(std::move(response));
  }
  void On(const std::string& method, const std::string& path,
          const Json& body) {
    On(method, path, 200, body.dump());
  }
  // Answers GET `path` with a text/event-stream of `chunks`, then closes.
  void OnStream(const std::string& path, std::vector<std::string> chunks) {
    std::lock_guard lock(mu_);
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.stream = [chunks](const StreamWriter& write) {
      for (const std::string& chunk : chunks) {
        if (!write(chunk)) return;
      }
    };
    routes_["GET " + path].push_back(std::move(response));
  }

  std::vector<HttpRequest> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  HttpRequest last() const {
    std::lock_guard lock(mu_);
    return received_.empty() ? HttpRequest{} : received_.back();
  }

 private:
  HttpResponse Handle(const HttpRequest& request) {
    std::lock_guard lock(mu_);
    received_.push_back(request);
    auto route = routes_.find(request.method + " " + request.path);
    if (route == routes_.end()) {
      HttpResponse not_found;
      not_found.status = 404;
      not_found.body = R"({"error":{"code":"not_found","message":"no route"}})";
      return not_found;
    }
    HttpResponse response = route->second.front();
    if (route->second.size() > 1) route->second.pop_front();
    return response;
  }

  mutable std::mutex mu_;
  std::map<std::string, std::deque<HttpResponse>> routes_;  // guarded by mu_
  std::vector<HttpRequest> received_;                       // guarded by mu_
  HttpServer server_;
};

Json RequestJson(const std::string& id, const std::string& state) {
  return {{"id", id},
          {"subject", "alice"},
          {"entitlement", "prod-db-read"},
          {"duration", "30m"},
          {"justification", "investigating OPS-12 slow queries"},
          {"ticket", "OPS-12"},
          {"start_at", nullptr},
          {"emergency", false},
          {"state", state},
          {"policy", "dev-prod-read"},
          {"approvals_required", 1},
          {"approvals", Json::array()},
          {"created_at", "2026-11-23T11:59:00.000Z"},
          {"updated_at", "2026-11-23T11:59:00.000Z"},
          {"approval_deadline", nullptr},
          {"extends", nullptr},
          {"grant_id", state == "active" ? Json("grt_1") : Json(nullptr)}};
}

Json GrantJson(const std::string& id, const std::string& state,
               SystemTime expires_at) {
  return {{"id", id},
          {"request_id", "req_1"},
          {"subject", "alice"},
          {"entitlement", "prod-db-read"},
          {"connector", "prod-pg"},
          {"starts_at", "2026-11-23T11:44:00.000Z"},
          {"expires_at", FormatTime(expires_at)},
          {"state", state},
          {"ended_reason", state == "ended" ? Json("revoked") : Json(nullptr)},
          {"ended_at", nullptr}};
}

Json EventJson(int64_t seq, const std::string& type) {
  return {{"seq", seq},          {"time", "2026-11-23T11:00:00.000Z"},
          {"type", type},        {"actor", "alice"},
          {"subject", "alice"},  {"request_id", "req_1"},
          {"grant_id", nullptr}, {"data", Json::object()},
          {"prev_hash", "00"},   {"hash", "11"}};
}

Json List(Json items, Json next_cursor = nullptr) {
  return {{"items", std::move(items)}, {"next_cursor", std::move(next_cursor)}};
}

Json BodyOf(const HttpRequest& request) {
  return Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
}

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(jitd_.Start().ok());
    char dir[] = "/tmp/jit_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    home_ = dir;
    vars_["JIT_SERVER"] = jitd_.url();
    vars_["JIT_TOKEN"] = "t0ken";
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), "jit");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    std::ostringstream out;
    std::ostringstream err;
    const CliEnv env{
        .get_env =
            [this](const std::string& name) -> std::optional<std::string> {
          auto it = vars_.find(name);
          if (it == vars_.end()) return std::nullopt;
          return it->second;
        },
        .home_dir = home_,
        .clock = clock_,
        .sleep =
            [this](Duration d) {
              slept_.push_back(d);
              clock_.Advance(d);
            },
        .stop_requested = [this] { return stop_checks_++ >= stop_after_; },
    };
    const int code =
        RunCli(static_cast<int>(argv.size()), argv.data(), out, err, env);
    out_ = out.str();
    err_ = err.str();
    return code;
  }

  void WriteFile(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = std::filesystem::path(home_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  std::string Testdata(const std::string& name) {
    return std::string(JIT_CLI_TESTDATA) + "/" + name;
  }

  FakeJitd jitd_;
  FakeClock clock_{kNow};
  std::map<std::string, std::string> vars_;
  std::string home_;
  std::vector<Duration> slept_;
  int stop_checks_ = 0;
  int stop_after_ = 1;  // `audit tail -f` runs one round
  std::string out_;
  std::string err_;
};

// --- server and token
// ---------------------------------------------------------

TEST_F(CliTest, MissingServerIsAUsageErrorThatSaysWhatToSet) {
  vars_.clear();
  EXPECT_EQ(Run({"ls"}), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("JIT_SERVER"));
  EXPECT_THAT(err_, HasSubstr(".config/jit/config"));
  EXPECT_TRUE(jitd_.received().empty());
}

TEST_F(CliTest, SendsTheTokenFromTheEnvironmentAsBearer) {
  jitd_.On("GET", "/v1/requests", List(Json::array()));
  ASSERT_EQ(Run({"ls"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().Header("authorization").value_or(""), "Bearer t0ken");
}

TEST_F(CliTest, ConfigFileSuppliesServerAndToken) {
  vars_.clear();
  WriteFile(".config/jit/config",
            "server: " + jitd_.url() + "\ntoken: from-file\n");
  jitd_.On("GET", "/v1/requests", List(Json::array()));
  ASSERT_EQ(Run({"ls"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().Header("authorization").value_or(""),
            "Bearer from-file");
}

TEST_F(CliTest, FlagsWinOverEnvironmentAndEnvironmentOverConfigFile) {
  vars_["JIT_SERVER"] = "http://127.0.0.1:1";
  WriteFile(".config/jit/config", "server: http://127.0.0.1:2\ntoken: file\n");
  jitd_.On("GET", "/v1/requests", List(Json::array()));
  ASSERT_EQ(Run({"ls", "--server", jitd_.url(), "--token", "flag"}), kExitOk)
      << err_;
  EXPECT_EQ(jitd_.last().Header("authorization").value_or(""), "Bearer flag");

  ASSERT_EQ(Run({"--server", jitd_.url(), "ls"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().Header("authorization").value_or(""), "Bearer t0ken");
}

TEST_F(CliTest, MalformedConfigFileNamesFileAndLine) {
  vars_.clear();
  WriteFile(".config/jit/config", "server: http://x\nservre: typo\n");
  EXPECT_EQ(Run({"ls"}), kExitUsage);
  EXPECT_THAT(err_, HasSubstr(".config/jit/config:2:"));
  EXPECT_THAT(err_, HasSubstr("servre"));
}

TEST_F(CliTest, ServerUrlWithoutSchemeIsAUsageError) {
  vars_["JIT_SERVER"] = "127.0.0.1:8420";
  EXPECT_EQ(Run({"ls"}), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("http://127.0.0.1:8420"));
}

TEST_F(CliTest, UnreachableServerFailsNamingIt) {
  vars_["JIT_SERVER"] = "http://127.0.0.1:1";
  EXPECT_EQ(Run({"ls"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("cannot reach http://127.0.0.1:1"));
}

TEST_F(CliTest, UnknownCommandOrMissingArgumentIsAUsageError) {
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_EQ(Run({"request", "prod-db-read", "--for", "30m"}), kExitUsage);
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_TRUE(jitd_.received().empty());
}

TEST_F(CliTest, HelpExitsZero) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  EXPECT_THAT(out_, HasSubstr("request"));
}

// --- errors
// -------------------------------------------------------------------

TEST_F(CliTest, PolicyDeniedPrintsCodeMessageAndEachReasonOnItsOwnLine) {
  jitd_.On("POST", "/v1/requests", 403,
           R"({"error":{"code":"policy_denied","message":"not allowed",)"
           R"("reasons":["duration 2h exceeds 30m","ticket missing"]}})");
  EXPECT_EQ(Run({"request", "prod-db-read", "--for", "2h", "--reason", "x"}),
            kExitFailure);
  EXPECT_THAT(err_, HasSubstr("policy_denied: not allowed\n"));
  EXPECT_THAT(err_, HasSubstr("\n  - duration 2h exceeds 30m\n"));
  EXPECT_THAT(err_, HasSubstr("\n  - ticket missing\n"));
}

TEST_F(CliTest, ConflictExitsWithFailure) {
  jitd_.On("POST", "/v1/requests/req_1/approve", 409,
           R"({"error":{"code":"conflict","message":"request is denied"}})");
  EXPECT_EQ(Run({"approve", "req_1"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("conflict: request is denied"));
}

TEST_F(CliTest, ErrorBodyThatIsNotJsonStillFailsWithTheHttpStatus) {
  jitd_.On("GET", "/v1/requests", 502, "<html>bad gateway</html>");
  EXPECT_EQ(Run({"ls"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("http_502"));
}

TEST_F(CliTest, ServerErrorTextIsSanitizedBeforePrinting) {
  jitd_.On("POST", "/v1/requests/req_1/deny", 403,
           R"({"error":{"code":"forbidden","message":"\u001b[2Jgone",)"
           R"("reasons":["\u202eevil"]}})");
  EXPECT_EQ(Run({"deny", "req_1", "--reason", "no"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("\\x1b[2Jgone"));
  EXPECT_THAT(err_, HasSubstr("\\u202Eevil"));
  EXPECT_THAT(err_, Not(HasSubstr("\x1b")));
  EXPECT_THAT(err_, Not(HasSubstr("\u202E")));
}

// --- request
// --------------------------------------------------------------------

TEST_F(CliTest, RequestPostsTheAskAndPrintsIdAndState) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  ASSERT_EQ(Run({"request", "prod-db-read", "--for", "30m", "--reason",
                 "investigating OPS-12", "--ticket", "OPS-12"}),
            kExitOk)
      << err_;
  const HttpRequest sent = jitd_.last();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/requests");
  EXPECT_EQ(BodyOf(sent), Json({{"entitlement", "prod-db-read"},
                                {"duration", "30m"},
                                {"justification", "investigating OPS-12"},
                                {"ticket", "OPS-12"}}));
  EXPECT_EQ(out_, "req_1: pending\n");
}

TEST_F(CliTest, RequestSendsEmergencyAndStartAtWhenGiven) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  ASSERT_EQ(Run({"request", "web-ssh", "--for", "1h30m", "--reason", "outage",
                 "--emergency", "--start-at", "2026-11-24T08:00:00Z"}),
            kExitOk)
      << err_;
  const Json body = BodyOf(jitd_.last());
  EXPECT_EQ(body["duration"], "1h30m");
  EXPECT_EQ(body["emergency"], true);
  EXPECT_EQ(body["start_at"], "2026-11-24T08:00:00.000Z");
  EXPECT_FALSE(body.contains("ticket"));
}

TEST_F(CliTest, RequestWithBadDurationSendsNothing) {
  EXPECT_EQ(Run({"request", "prod-db-read", "--for", "soon", "--reason", "x"}),
            kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--for"));
  EXPECT_TRUE(jitd_.received().empty());
}

TEST_F(CliTest, RequestWaitPollsUntilActiveAndPrintsEachChange) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "pending"));
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "approved"));
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "active"));
  ASSERT_EQ(Run({"request", "prod-db-read", "--for", "30m", "--reason", "x",
                 "--wait"}),
            kExitOk)
      << err_;
  EXPECT_EQ(out_,
            "req_1: pending\n"
            "req_1: approved\n"
            "req_1: active (grant grt_1)\n");
  EXPECT_EQ(slept_.size(), 3u);
}

TEST_F(CliTest, RequestWaitFailsWhenTheRequestIsDenied) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "denied"));
  EXPECT_EQ(Run({"request", "prod-db-read", "--for", "30m", "--reason", "x",
                 "--wait"}),
            kExitFailure);
  EXPECT_THAT(out_, HasSubstr("req_1: denied"));
}

TEST_F(CliTest, RequestWaitGivesUpAfterTheWaitTimeout) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "pending"));
  EXPECT_EQ(Run({"request", "prod-db-read", "--for", "30m", "--reason", "x",
                 "--wait", "--wait-timeout", "5s"}),
            kExitFailure);
  EXPECT_EQ(slept_.size(), 5u);
  EXPECT_THAT(err_, HasSubstr("still pending"));
}

TEST_F(CliTest, RequestWaitWithJsonPrintsTheFinalRequest) {
  jitd_.On("POST", "/v1/requests", 201, RequestJson("req_1", "pending").dump());
  jitd_.On("GET", "/v1/requests/req_1", RequestJson("req_1", "active"));
  ASSERT_EQ(Run({"request", "prod-db-read", "--for", "30m", "--reason", "x",
                 "--wait", "--json"}),
            kExitOk);
  EXPECT_EQ(Json::parse(out_), RequestJson("req_1", "active"));
}

// --- ls, show, approve, deny, cancel
// ------------------------------------------

TEST_F(CliTest, ListPrintsATableWithTheJustificationCutTo40Characters) {
  Json r = RequestJson("req_1", "pending");
  r["justification"] = std::string(50, 'j');
  jitd_.On("GET", "/v1/requests", List({r}));
  ASSERT_EQ(Run({"ls"}), kExitOk) << err_;
  EXPECT_THAT(out_,
              HasSubstr("ID     SUBJECT  ENTITLEMENT   DURATION  STATE    "
                        "CREATED                   JUSTIFICATION\n"));
  EXPECT_THAT(out_,
              HasSubstr("req_1  alice    prod-db-read  30m       pending  "
                        "2026-11-23T11:59:00.000Z  " +
                        std::string(37, 'j') + "...\n"));
}

TEST_F(CliTest, ListSanitizesServerText) {
  Json r = RequestJson("req_1", "pending");
  r["justification"] = "fix \u202Egnp.exe \x1b[8m";
  r["subject"] = "eve\r";
  jitd_.On("GET", "/v1/requests", List({r}));
  ASSERT_EQ(Run({"ls"}), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("fix \\u202Egnp.exe \\x1b[8m"));
  EXPECT_THAT(out_, HasSubstr("eve\\r"));
  EXPECT_THAT(out_, Not(HasSubstr("\x1b")));
  EXPECT_THAT(out_, Not(HasSubstr("\u202E")));
}

TEST_F(CliTest, ListPassesFiltersAsQuery) {
  jitd_.On("GET", "/v1/requests", List(Json::array()));
  ASSERT_EQ(Run({"ls", "--state", "pending", "--subject", "bob smith"}),
            kExitOk);
  const HttpRequest sent = jitd_.last();
  EXPECT_EQ(sent.Query("state").value_or(""), "pending");
  EXPECT_EQ(sent.Query("subject").value_or(""), "bob smith");
}

TEST_F(CliTest, ListAllFollowsNextCursor) {
  jitd_.On("GET", "/v1/requests",
           List({RequestJson("req_1", "pending")}, "c2"));
  jitd_.On("GET", "/v1/requests", List({RequestJson("req_2", "active")}));
  ASSERT_EQ(Run({"ls", "--all"}), kExitOk) << err_;
  const std::vector<HttpRequest> sent = jitd_.received();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_FALSE(sent[0].Query("cursor").has_value());
  EXPECT_EQ(sent[1].Query("cursor").value_or(""), "c2");
  EXPECT_THAT(out_, HasSubstr("req_1"));
  EXPECT_THAT(out_, HasSubstr("req_2"));
}

TEST_F(CliTest, ListWithoutAllReadsOnePage) {
  jitd_.On("GET", "/v1/requests",
           List({RequestJson("req_1", "pending")}, "c2"));
  ASSERT_EQ(Run({"ls"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.received().size(), 1u);
}

TEST_F(CliTest, JsonFlagPrintsTheServerJson) {
  const Json page = List({RequestJson("req_1", "pending")}, "c2");
  jitd_.On("GET", "/v1/requests", page);
  ASSERT_EQ(Run({"ls", "--json"}), kExitOk) << err_;
  EXPECT_EQ(Json::parse(out_), page);
}

TEST_F(CliTest, JsonOutputIsAsciiSoItCannotDriveTheTerminal) {
  Json r = RequestJson("req_1", "pending");
  r["justification"] = "\u202Eevil ü";
  jitd_.On("GET", "/v1/requests/req_1", r);
  ASSERT_EQ(Run({"show", "req_1", "--json"}), kExitOk) << err_;
  EXPECT_EQ(Json::parse(out_), r);
  for (const char c : out_) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST_F(CliTest, ShowPrintsDetailsAndApprovals) {
  Json r = RequestJson("req_1", "approved");
  r["approvals"] = Json::array({{{"approver", "dave"},
                                 {"decision", "approve"},
                                 {"comment", "ok \x1b[31m"},
                                 {"at", "2026-11-23T11:59:30.000Z"}}});
  jitd_.On("GET", "/v1/requests/req_1", r);
  ASSERT_EQ(Run({"show", "req_1"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().path, "/v1/requests/req_1");
  EXPECT_THAT(out_, HasSubstr("state:              approved\n"));
  EXPECT_THAT(out_, HasSubstr("approvals:          1 of 1 required\n"));
  EXPECT_THAT(
      out_,
      HasSubstr(
          "dave      approve   2026-11-23T11:59:30.000Z  ok \\x1b[31m\n"));
}

TEST_F(CliTest, ApproveDenyAndCancelPostToTheirRoutes) {
  jitd_.On("POST", "/v1/requests/req_1/approve",
           RequestJson("req_1", "active"));
  jitd_.On("POST", "/v1/requests/req_2/deny", RequestJson("req_2", "denied"));
  jitd_.On("POST", "/v1/requests/req_3/cancel",
           RequestJson("req_3", "cancelled"));

  ASSERT_EQ(Run({"approve", "req_1", "--comment", "looks fine"}), kExitOk)
      << err_;
  EXPECT_EQ(BodyOf(jitd_.last()), Json({{"comment", "looks fine"}}));
  EXPECT_EQ(out_, "req_1: active (grant grt_1)\n");

  ASSERT_EQ(Run({"deny", "req_2", "--reason", "no ticket"}), kExitOk) << err_;
  EXPECT_EQ(BodyOf(jitd_.last()), Json({{"comment", "no ticket"}}));
  EXPECT_EQ(out_, "req_2: denied\n");

  ASSERT_EQ(Run({"cancel", "req_3"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().path, "/v1/requests/req_3/cancel");
  EXPECT_EQ(BodyOf(jitd_.last()), Json::object());
}

TEST_F(CliTest, DenyNeedsAReason) {
  EXPECT_EQ(Run({"deny", "req_1"}), kExitUsage);
  EXPECT_TRUE(jitd_.received().empty());
}

TEST_F(CliTest, IdsAndQueryValuesAreEncodedSoTheyCannotAddParameters) {
  jitd_.On("GET", "/v1/requests/req 1", RequestJson("req 1", "pending"));
  ASSERT_EQ(Run({"show", "req 1"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().path, "/v1/requests/req 1");

  jitd_.On("GET", "/v1/requests", List(Json::array()));
  ASSERT_EQ(Run({"ls", "--subject", "bob&state=active"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().Query("subject").value_or(""), "bob&state=active");
  EXPECT_FALSE(jitd_.last().Query("state").has_value());
}

// --- grants
// ---------------------------------------------------------------------

TEST_F(CliTest, GrantsTableShowsTimeRemaining) {
  jitd_.On(
      "GET", "/v1/grants",
      List({GrantJson("grt_1", "active", kNow + std::chrono::minutes(14)),
            GrantJson("grt_2", "ended", kNow - std::chrono::minutes(3)),
            GrantJson("grt_3", "ended", kNow + std::chrono::minutes(20))}));
  ASSERT_EQ(Run({"grants", "--active", "--subject", "alice"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().Query("active").value_or(""), "true");
  EXPECT_EQ(jitd_.last().Query("subject").value_or(""), "alice");
  EXPECT_THAT(out_, HasSubstr("ID     SUBJECT  ENTITLEMENT   STATE   EXPIRES"));
  EXPECT_THAT(out_, HasSubstr("2026-11-23T12:14:00.000Z (in 14m)"));
  EXPECT_THAT(out_, HasSubstr("2026-11-23T11:57:00.000Z (3m ago)  revoked"));
  // Ended early: no "in 20m" for a grant that no longer counts down.
  EXPECT_THAT(out_, HasSubstr("2026-11-23T12:20:00.000Z"));
  EXPECT_THAT(out_, Not(HasSubstr("(in 20m)")));
}

TEST_F(CliTest, RevokeSendsTheReason) {
  jitd_.On("POST", "/v1/grants/grt_1/revoke",
           GrantJson("grt_1", "ended", kNow));
  ASSERT_EQ(Run({"revoke", "grt_1", "--reason", "incident over"}), kExitOk)
      << err_;
  EXPECT_EQ(BodyOf(jitd_.last()), Json({{"reason", "incident over"}}));
  EXPECT_EQ(out_, "grt_1: ended (revoked)\n");
}

TEST_F(CliTest, DoneRevokesWithTaskDone) {
  jitd_.On("POST", "/v1/grants/grt_1/revoke",
           GrantJson("grt_1", "ended", kNow));
  ASSERT_EQ(Run({"done", "grt_1"}), kExitOk) << err_;
  EXPECT_EQ(BodyOf(jitd_.last()), Json({{"reason", "task done"}}));
}

TEST_F(CliTest, ExtendPostsDurationAndJustification) {
  Json r = RequestJson("req_9", "pending");
  r["extends"] = "grt_1";
  jitd_.On("POST", "/v1/grants/grt_1/extend", 201, r.dump());
  ASSERT_EQ(
      Run({"extend", "grt_1", "--for", "15m", "--reason", "migration slow"}),
      kExitOk)
      << err_;
  EXPECT_EQ(BodyOf(jitd_.last()),
            Json({{"duration", "15m"}, {"justification", "migration slow"}}));
  EXPECT_EQ(out_, "req_9: pending (extends grt_1)\n");
}

TEST_F(CliTest, CheckExitsZeroWhenAllowedAndOneWhenDenied) {
  jitd_.On("POST", "/v1/check",
           Json({{"allowed", true},
                 {"grant_id", "grt_1"},
                 {"expires_at", "2026-11-23T12:14:00.000Z"}}));
  jitd_.On("POST", "/v1/check", Json({{"allowed", false}}));

  EXPECT_EQ(Run({"check", "alice", "prod-db-read"}), kExitOk) << err_;
  EXPECT_EQ(BodyOf(jitd_.last()),
            Json({{"subject", "alice"}, {"entitlement", "prod-db-read"}}));
  EXPECT_THAT(out_, HasSubstr("allowed (grant grt_1"));
  EXPECT_THAT(out_, HasSubstr("in 14m"));

  EXPECT_EQ(Run({"check", "alice", "prod-db-read"}), kExitFailure);
  EXPECT_EQ(out_, "denied\n");
}

TEST_F(CliTest, SshCertWritesTheCertificateBesideTheKey) {
  WriteFile("id_ed25519.pub", "ssh-ed25519 AAAAkey alice@laptop\n");
  jitd_.On(
      "POST", "/v1/grants/grt_1/ssh-cert",
      Json({{"certificate", "ssh-ed25519-cert-v01@openssh.com AAAAcert"}}));
  const std::string key = home_ + "/id_ed25519.pub";
  ASSERT_EQ(Run({"ssh-cert", "grt_1", "--public-key", key}), kExitOk) << err_;
  EXPECT_EQ(BodyOf(jitd_.last()),
            Json({{"public_key", "ssh-ed25519 AAAAkey alice@laptop\n"}}));
  std::ifstream cert(home_ + "/id_ed25519-cert.pub");
  std::stringstream text;
  text << cert.rdbuf();
  EXPECT_EQ(text.str(), "ssh-ed25519-cert-v01@openssh.com AAAAcert\n");
  EXPECT_THAT(out_, HasSubstr("id_ed25519-cert.pub"));
}

TEST_F(CliTest, SshCertWithMissingKeyFileSendsNothing) {
  EXPECT_EQ(Run({"ssh-cert", "grt_1", "--public-key", home_ + "/nope.pub"}),
            kExitUsage);
  EXPECT_TRUE(jitd_.received().empty());
}

TEST_F(CliTest, SshCertPassesTheSourceAddress) {
  WriteFile("id_ed25519.pub", "ssh-ed25519 AAAAkey alice@laptop\n");
  jitd_.On("POST", "/v1/grants/grt_1/ssh-cert",
           Json({{"certificate", "ssh-ed25519-cert-v01@openssh.com AAAA"}}));
  ASSERT_EQ(Run({"ssh-cert", "grt_1", "--public-key", home_ + "/id_ed25519.pub",
                 "--source-address", "10.0.0.0/8"}),
            kExitOk)
      << err_;
  EXPECT_EQ(BodyOf(jitd_.last()),
            Json({{"public_key", "ssh-ed25519 AAAAkey alice@laptop\n"},
                  {"source_address", "10.0.0.0/8"}}));
}

TEST_F(CliTest, SshPicksTheCallersLongestActiveGrantOfTheEntitlement) {
  WriteFile(".ssh/id_ed25519.pub", "ssh-ed25519 AAAAkey alice@laptop\n");
  jitd_.On("GET", "/v1/whoami", Json({{"subject", "alice"}}));
  jitd_.On("GET", "/v1/grants",
           List({{{"id", "grt_old"},
                  {"subject", "alice"},
                  {"entitlement", "web-ssh"},
                  {"state", "active"},
                  {"expires_at", "2026-11-23T10:05:00.000Z"}},
                 {{"id", "grt_db"},
                  {"subject", "alice"},
                  {"entitlement", "db"},
                  {"state", "active"},
                  {"expires_at", "2026-11-23T11:00:00.000Z"}},
                 {{"id", "grt_new"},
                  {"subject", "alice"},
                  {"entitlement", "web-ssh"},
                  {"state", "active"},
                  {"expires_at", "2026-11-23T10:30:00.000Z"}},
                 {{"id", "grt_bobs"},
                  {"subject", "bob"},
                  {"entitlement", "web-ssh"},
                  {"state", "active"},
                  {"expires_at", "2026-11-23T11:30:00.000Z"}},
                 {{"id", "grt_ended"},
                  {"subject", "alice"},
                  {"entitlement", "web-ssh"},
                  {"state", "ended"},
                  {"expires_at", "2026-11-23T12:00:00.000Z"}}}));
  jitd_.On("POST", "/v1/grants/grt_new/ssh-cert",
           Json({{"certificate", "ssh-ed25519-cert-v01@openssh.com AAAA"}}));
  ASSERT_EQ(Run({"ssh", "web-ssh", "--source-address", "192.0.2.7"}), kExitOk)
      << err_;
  const std::vector<HttpRequest> sent = jitd_.received();
  ASSERT_GE(sent.size(), 3u);
  EXPECT_EQ(sent[1].path, "/v1/grants");
  EXPECT_EQ(sent[1].Query("subject").value_or(""), "alice");
  EXPECT_EQ(jitd_.last().path, "/v1/grants/grt_new/ssh-cert");
  EXPECT_EQ(BodyOf(jitd_.last())["source_address"], "192.0.2.7");
  EXPECT_TRUE(std::filesystem::exists(home_ + "/.ssh/id_ed25519-cert.pub"));
}

TEST_F(CliTest, SshWithoutAnActiveGrantSaysHowToAsk) {
  jitd_.On("GET", "/v1/whoami", Json({{"subject", "alice"}}));
  jitd_.On("GET", "/v1/grants",
           List({{{"id", "grt_bobs"},
                  {"subject", "bob"},
                  {"entitlement", "web-ssh"},
                  {"state", "active"},
                  {"expires_at", "2026-11-23T11:30:00.000Z"}}}));
  EXPECT_EQ(Run({"ssh", "web-ssh"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("no active grant of web-ssh"));
  EXPECT_THAT(err_, HasSubstr("jit request web-ssh"));
}

TEST_F(CliTest, EntitlementsTableShowsLimits) {
  jitd_.On("GET", "/v1/entitlements",
           List({{{"entitlement", "prod-db-read"},
                  {"description", "read prod"},
                  {"max_duration", "30m"},
                  {"auto_approve", false},
                  {"approvals_required", 1},
                  {"emergency_allowed", true},
                  {"emergency_max_duration", "15m"}}}));
  ASSERT_EQ(Run({"entitlements"}), kExitOk) << err_;
  EXPECT_EQ(
      out_,
      "ENTITLEMENT   MAX_DURATION  APPROVAL       EMERGENCY      DESCRIPTION\n"
      "prod-db-read  30m           1 approver(s)  yes (max 15m)  read prod\n");
}

// --- audit
// ----------------------------------------------------------------------

TEST_F(CliTest, AuditTailPrintsTheLastNEvents) {
  jitd_.On("GET", "/v1/audit/verify",
           Json({{"ok", true}, {"events", 5}, {"head", "ab"}}));
  jitd_.On(
      "GET", "/v1/audit",
      List({EventJson(4, "request.created"), EventJson(5, "grant.activated")}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  ASSERT_EQ(Run({"audit", "tail", "-n", "2"}), kExitOk) << err_;
  const std::vector<HttpRequest> sent = jitd_.received();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[1].path, "/v1/audit");
  EXPECT_EQ(sent[1].Query("after").value_or(""), "3");
  std::istringstream lines(out_);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_THAT(header, HasSubstr("SEQ"));
  EXPECT_THAT(first, HasSubstr("request.created"));
  EXPECT_THAT(first, HasSubstr("req_1"));
  EXPECT_THAT(second, HasSubstr("grant.activated"));
}

TEST_F(CliTest, AuditTailReadsEverythingWhenVerifyIsNotAllowed) {
  jitd_.On("GET", "/v1/audit/verify", 403,
           R"({"error":{"code":"forbidden","message":"auditors only"}})");
  jitd_.On("GET", "/v1/audit",
           List({EventJson(1, "a.one"), EventJson(2, "a.two"),
                 EventJson(3, "a.three")}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  ASSERT_EQ(Run({"audit", "tail", "-n", "1"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.received()[1].Query("after").value_or(""), "0");
  EXPECT_THAT(out_, Not(HasSubstr("a.two")));
  EXPECT_THAT(out_, HasSubstr("a.three"));
}

TEST_F(CliTest, AuditTailFollowPrintsStreamedEvents) {
  jitd_.On("GET", "/v1/audit/verify",
           Json({{"ok", true}, {"events", 1}, {"head", "h"}}));
  jitd_.On("GET", "/v1/audit", List({EventJson(1, "request.created")}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  jitd_.OnStream(
      "/v1/audit/stream",
      {"id: 1\nevent: audit\ndata: " + EventJson(1, "request.created").dump() +
           "\n\n",
       "id: 2\nevent: audit\ndata: " + EventJson(2, "grant.activated").dump() +
           "\n\n"});
  ASSERT_EQ(Run({"audit", "tail", "-f"}), kExitOk) << err_;
  EXPECT_EQ(jitd_.last().path, "/v1/audit/stream");
  EXPECT_EQ(jitd_.last().Query("after").value_or(""), "1");
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 3);  // header + 2
  EXPECT_THAT(out_, HasSubstr("grant.activated"));
}

TEST_F(CliTest, AuditTailFollowPollsWhenTheStreamIsUnavailable) {
  jitd_.On("GET", "/v1/audit/verify",
           Json({{"ok", true}, {"events", 0}, {"head", ""}}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  jitd_.On("GET", "/v1/audit", List({EventJson(1, "request.created")}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  stop_after_ = 2;  // the failed stream, then one poll
  ASSERT_EQ(Run({"audit", "tail", "-f"}), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("request.created"));
  EXPECT_EQ(slept_.size(), 1u);
}

TEST_F(CliTest, AuditVerifyReportsAnIntactChain) {
  jitd_.On("GET", "/v1/audit/verify",
           Json({{"ok", true},
                 {"events", 42},
                 {"head", "9f86d0"},
                 {"checkpoints", 3}}));
  EXPECT_EQ(Run({"audit", "verify"}), kExitOk) << err_;
  EXPECT_EQ(out_, "ok: 42 events, head 9f86d0, 3 signed checkpoints\n");
}

TEST_F(CliTest, AuditVerifyReportsTheFirstBadSeq) {
  jitd_.On(
      "GET", "/v1/audit/verify",
      Json(
          {{"ok", false}, {"first_bad_seq", 17}, {"reason", "hash mismatch"}}));
  EXPECT_EQ(Run({"audit", "verify"}), kExitFailure);
  EXPECT_EQ(out_, "BROKEN at seq 17: hash mismatch\n");
}

// A real hash chain of `n` events at `first` + i minutes, as GET /v1/audit
// shows them.
std::vector<Json> ChainJson(int n, SystemTime first) {
  std::vector<Json> out;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= n; ++i) {
    AuditEvent e;
    e.seq = i;
    e.time = first + std::chrono::minutes(i);
    e.type = AuditType::kRequestCreated;
    e.actor = "alice";
    e.subject = "alice";
    e.request_id = "req_" + std::to_string(i);
    e.data = R"({"entitlement":"db"})";
    e.prev_hash = prev;
    e.hash = ComputeEventHash(e);
    prev = e.hash;
    out.push_back({{"seq", e.seq},
                   {"time", FormatTime(e.time)},
                   {"type", "request.created"},
                   {"actor", e.actor},
                   {"subject", e.subject},
                   {"request_id", e.request_id},
                   {"grant_id", nullptr},
                   {"data", Json::parse(e.data)},
                   {"prev_hash", e.prev_hash},
                   {"hash", e.hash}});
  }
  return out;
}

class AuditExportTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    signer_ = std::move(CheckpointSigner::Ephemeral()).value();
    chain_ = ChainJson(6, kNow - std::chrono::hours(1));
    jitd_.On("GET", "/v1/audit", List(Json(chain_)));
    jitd_.On("GET", "/v1/audit", List(Json::array()));
    key_path_ = home_ + "/audit.pub";
    std::ofstream(key_path_) << signer_->public_key().pem();
  }
  // Answers the next two checkpoint requests: the export's start after
  // `start` and its end at `end`, for the range [from, to) ("" = open; the
  // CLI makes an open end "now").
  void SignFor(int64_t start, int64_t end, const std::string& from = "",
               const std::string& to = FormatTime(kNow)) {
    for (auto [seq, which] : {std::pair{start, "start"}, {end, "end"}}) {
      std::string hash(kGenesisHash);
      if (seq > 0) hash = chain_[seq - 1]["hash"];
      jitd_.On("GET", "/v1/audit/checkpoint",
               Json::parse(CheckpointToJson(signer_->Sign(
                   seq, hash, kNow, ExportScope(which, from, to)))));
    }
  }
  std::string Export(std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "export"});
    EXPECT_EQ(Run(args), kExitOk) << err_;
    std::string file = home_ + "/export.jsonl";
    std::ofstream(file) << out_;
    return file;
  }
  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::unique_ptr<CheckpointSigner> signer_;
  std::vector<Json> chain_;
  std::string key_path_;
};

TEST_F(AuditExportTest, WritesTheRangeBetweenASignedAnchorAndEnd) {
  // Events at -59m .. -54m; the range keeps seq 3 and 4.
  const std::string from = FormatTime(kNow - std::chrono::minutes(57));
  const std::string to = FormatTime(kNow - std::chrono::minutes(55));
  SignFor(2, 4, from, to);
  std::string file = Export({"--from", from, "--to", to});
  std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 4u) << out_;
  EXPECT_EQ(Json::parse(lines[0])["anchor"]["seq"], 2);
  EXPECT_EQ(Json::parse(lines[1])["seq"], 3);
  EXPECT_EQ(Json::parse(lines[2])["seq"], 4);
  EXPECT_EQ(Json::parse(lines[3])["jitd_audit_export_end"]["events"], 2);
  std::vector<HttpRequest> sent = jitd_.received();
  std::vector<std::string> signed_seqs;
  for (const HttpRequest& r : sent) {
    if (r.path != "/v1/audit/checkpoint") continue;
    signed_seqs.push_back(r.Query("boundary").value_or("") + " " +
                          r.Query("seq").value_or(""));
    EXPECT_EQ(r.Query("from").value_or(""), from);
    EXPECT_EQ(r.Query("to").value_or(""), to);
  }
  EXPECT_THAT(signed_seqs, ElementsAre("start 2", "end 4"));

  EXPECT_EQ(Run({"audit", "verify", "--offline", file, "--pubkey", key_path_}),
            kExitOk)
      << out_ << err_;
  EXPECT_THAT(out_, HasSubstr("ok: 2 events (seq 3..4)"));
}

TEST_F(AuditExportTest, OfflineVerifyNamesTheFirstBadSeqOfAnEditedFile) {
  SignFor(0, 6);
  std::string file = Export({});
  std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 8u);
  Json edited = Json::parse(lines[4]);  // seq 4
  edited["actor"] = "mallory";
  lines[4] = edited.dump();
  std::ofstream out(file, std::ios::trunc);
  for (const std::string& line : lines) out << line << '\n';
  out.close();
  EXPECT_EQ(Run({"audit", "verify", "--offline", file, "--pubkey", key_path_}),
            kExitFailure);
  EXPECT_THAT(out_, HasSubstr("BROKEN at seq 4 (line 5)"));
  EXPECT_EQ(jitd_.received().size(), 4u);  // verify asked the server nothing
}

TEST_F(AuditExportTest, OfflineVerifyRefusesAnotherKey) {
  SignFor(0, 6);
  std::string file = Export({});
  auto other = std::move(CheckpointSigner::Ephemeral()).value();
  std::ofstream(key_path_, std::ios::trunc) << other->public_key().pem();
  EXPECT_EQ(Run({"audit", "verify", "--offline", file, "--pubkey", key_path_}),
            kExitFailure);
  EXPECT_THAT(out_, HasSubstr("BROKEN at header"));
}

TEST_F(AuditExportTest, OfflineVerifyWithoutAKeyIsAUsageError) {
  EXPECT_EQ(Run({"audit", "verify", "--offline", home_ + "/none.jsonl"}),
            kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--pubkey"));
  EXPECT_EQ(Run({"audit", "verify", "--offline", home_ + "/none.jsonl",
                 "--pubkey", key_path_}),
            kExitUsage);
  EXPECT_THAT(err_, HasSubstr("cannot read"));
}

TEST_F(CliTest, AuditExportStopsWhenSeqDoesNotAdvance) {
  jitd_.On("GET", "/v1/audit", List({EventJson(1, "a")}));  // repeats forever
  jitd_.On("GET", "/v1/audit/checkpoint", Json::object());
  EXPECT_EQ(Run({"audit", "export"}), kExitFailure);
  int pages = 0;
  for (const HttpRequest& r : jitd_.received()) pages += r.path == "/v1/audit";
  EXPECT_EQ(pages, 2);
}

TEST_F(CliTest, ReportPrintsEachSectionAndSendsThePeriod) {
  jitd_.On("GET", "/v1/reports/summary", Json::parse(R"({
        "from": "2026-11-01T00:00:00.000Z", "to": "2026-11-23T00:00:00.000Z",
        "requests": {"created": 3, "approved": 2, "rejected": 1},
        "grants": 2, "grant_seconds_total": 5400, "emergency_uses": 1,
        "revoke_failures": 0,
        "seconds_to_approve": {"count": 1, "p50": 420, "p90": 420, "max": 420},
        "revoke_latency_ms": {"count": 2, "p50": 3, "p90": 9, "max": 9},
        "by_entitlement": [{"entitlement": "db-write", "requests": 3,
          "grants": 2, "rejected": 1, "emergency": 0,
          "held_seconds_total": 5400, "held_seconds_max": 3600,
          "recent_purposes": ["=cmd|' /C calc'!A0 rotate keys"]}],
        "by_user": [{"subject": "alice", "requests": 3, "grants": 2,
          "emergency": 1, "held_seconds_total": 5400}],
        "by_approver": [{"approver": "dave", "approvals": 1, "denials": 0,
          "seconds_to_decide": {"p50": 420}}],
        "denied": [{"reason": "duration 5h exceeds 1h", "count": 1}],
        "emergencies": [{"time": "2026-11-02T03:00:00.000Z",
          "subject": "alice", "entitlement": "break-glass",
          "ticket": "INC-9", "justification": "db down\u001b[31m"}],
        "standing_privileges": [{"connector": "pg", "target_user": "bob",
          "privilege": "app_admin", "since": "2026-01-01T00:00:00.000Z",
          "first_seen": "2026-11-03T00:00:00.000Z",
          "last_seen": "2026-11-04T00:00:00.000Z", "last_action": "reported"}]
      })"));
  ASSERT_EQ(Run({"report", "--from", "2026-11-01T00:00:00Z", "--to",
                 "2026-11-23T00:00:00Z"}),
            kExitOk)
      << err_;
  EXPECT_EQ(jitd_.last().Query("from").value_or(""), "2026-11-01T00:00:00Z");
  EXPECT_THAT(out_, HasSubstr("time to approve"));
  EXPECT_THAT(out_, HasSubstr("p50 7m"));
  EXPECT_THAT(out_, HasSubstr("p50 3 ms, p90 9 ms"));
  EXPECT_THAT(out_, HasSubstr("db-write"));
  EXPECT_THAT(out_, HasSubstr("1h30m"));
  EXPECT_THAT(out_, HasSubstr("duration 5h exceeds 1h"));
  EXPECT_THAT(out_, HasSubstr("INC-9"));
  EXPECT_THAT(out_, HasSubstr("app_admin"));
  EXPECT_THAT(out_, Not(HasSubstr("\x1b[")));  // terminal escapes removed
  EXPECT_EQ(Run({"report", "--from", "last tuesday"}), kExitUsage);
}

// --- policy (offline)
// -----------------------------------------------------------

TEST_F(CliTest, PolicyLintSummarisesAGoodFileWithoutAServer) {
  vars_.clear();
  EXPECT_EQ(Run({"policy", "lint", Testdata("policy.yaml")}), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("ok: 2 entitlements, 2 policies"));
}

TEST_F(CliTest, PolicyLintNamesFileAndLineOfABadFile) {
  EXPECT_EQ(Run({"policy", "lint", Testdata("broken_policy.yaml")}),
            kExitFailure);
  EXPECT_THAT(err_, HasSubstr("error: "));
  EXPECT_THAT(err_, HasSubstr("broken_policy.yaml:6:"));
  EXPECT_THAT(err_, HasSubstr("prod-db-raed"));
}

TEST_F(CliTest, PolicyTestPassesWhenEveryCaseHolds) {
  EXPECT_EQ(Run({"policy", "test", Testdata("policy.yaml"),
                 Testdata("cases_pass.yaml")}),
            kExitOk)
      << err_ << out_;
  EXPECT_EQ(out_, "2 passed, 0 failed\n");
}

TEST_F(CliTest, PolicyTestPrintsEachFailureAndExitsOne) {
  EXPECT_EQ(Run({"policy", "test", Testdata("policy.yaml"),
                 Testdata("cases_fail.yaml")}),
            kExitFailure);
  EXPECT_THAT(out_, HasSubstr("FAIL "));
  EXPECT_THAT(out_, HasSubstr("wrongly expects two hours to pass"));
  EXPECT_THAT(out_, HasSubstr("1 passed, 1 failed\n"));
}

TEST_F(CliTest, PolicyExplainAllowsAndNamesThePolicy) {
  EXPECT_EQ(
      Run({"policy", "explain", Testdata("policy.yaml"), "--subject", "alice",
           "--groups", "dev,ops", "prod-db-read", "--for", "20m", "--reason",
           "investigating OPS-12 slow queries", "--ticket", "OPS-12"}),
      kExitOk)
      << err_ << out_;
  EXPECT_THAT(out_, HasSubstr("dev-prod-read"));
}

TEST_F(CliTest, PolicyExplainDeniesAndGivesReasons) {
  EXPECT_EQ(Run({"policy", "explain", Testdata("policy.yaml"), "--subject",
                 "alice", "--groups", "dev", "prod-db-read", "--for", "2h",
                 "--reason", "investigating OPS-12 slow queries", "--ticket",
                 "OPS-12", "--at", "2026-11-23T10:00:00Z"}),
            kExitFailure);
  EXPECT_THAT(out_, HasSubstr("denied"));
  EXPECT_THAT(out_, HasSubstr("reason:"));
}

TEST_F(CliTest, PolicyExplainRejectsABadTime) {
  EXPECT_EQ(Run({"policy", "explain", Testdata("policy.yaml"), "--subject",
                 "alice", "prod-db-read", "--for", "20m", "--at", "yesterday"}),
            kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--at"));
}

// --- audit export --format csv|ocsf
// ---------------------------------------------------------------

TEST_F(AuditExportTest, CsvWritesAHeaderAndTheEventsWithoutSignatures) {
  ASSERT_EQ(Run({"audit", "export", "--format", "csv"}), kExitOk) << err_;
  std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 7u) << out_;
  EXPECT_EQ(lines[0],
            "seq,time,type,actor,subject,request_id,grant_id,data,prev_hash,"
            "hash\r");
  EXPECT_THAT(lines[3], StartsWith("3," + chain_[2]["time"].get<std::string>() +
                                   ",request.created,alice,alice,req_3,,"));
  EXPECT_THAT(lines[3], HasSubstr(chain_[2]["hash"].get<std::string>()));
  for (const HttpRequest& r : jitd_.received())
    EXPECT_EQ(r.path, "/v1/audit");  // no checkpoints asked for
}

TEST_F(CliTest, CsvExportNeutralisesFormulasInServerText) {
  Json e = EventJson(1, "request.created");
  e["actor"] = "=HYPERLINK(\"http://x\",\"y\")";
  e["subject"] = "@SUM(1)\nnext";
  jitd_.On("GET", "/v1/audit", List({e}));
  jitd_.On("GET", "/v1/audit", List(Json::array()));
  ASSERT_EQ(Run({"audit", "export", "--format", "csv"}), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","
                              "\"'@SUM(1)\nnext\","));
}

TEST_F(AuditExportTest, OcsfWritesOneObjectPerEventInTheRange) {
  ASSERT_EQ(Run({"audit", "export", "--format", "ocsf", "--from",
                 FormatTime(kNow - std::chrono::minutes(57)), "--to",
                 FormatTime(kNow - std::chrono::minutes(55))}),
            kExitOk)
      << err_;
  std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 2u) << out_;
  Json first = Json::parse(lines[0]);
  EXPECT_EQ(first["class_uid"], 6003);
  EXPECT_EQ(first["metadata"]["uid"], "3");
  EXPECT_EQ(first["unmapped"]["jitd"]["hash"], chain_[2]["hash"]);
  EXPECT_EQ(Json::parse(lines[1])["metadata"]["uid"], "4");
}

TEST_F(CliTest, ExportRefusesAnUnknownFormatAndBadEvents) {
  EXPECT_EQ(Run({"audit", "export", "--format", "xlsx"}), kExitUsage);
  EXPECT_TRUE(jitd_.received().empty());
  jitd_.On("GET", "/v1/audit", List({EventJson(1, "no.such.type")}));
  EXPECT_EQ(Run({"audit", "export", "--format", "ocsf"}), kExitFailure);
  EXPECT_THAT(err_, HasSubstr("no.such.type"));
}

}  // namespace
}  // namespace jit
